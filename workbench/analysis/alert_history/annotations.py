"""Annotations for episodes read from ``ALERTS``, which stores labels only.

Alertmanager's messages show the alerts' annotations (``*Description:* ...``), so an
Alertmanager replay of ``ALERTS`` episodes needs them back: :func:`annotate_episodes` renders
the rules' annotation templates with each episode's labels, as ``annotation_<name>`` columns
(the columns :func:`workbench.analysis.alertmanager.simulate` reads). ``$value`` is not in
``ALERTS``, so an action that uses it renders as :data:`VALUE_UNKNOWN` and the notes say so.

Examples
--------
>>> import polars as pl
>>> from workbench.analysis.alerting import Rule
>>> rule = Rule(alert="PVCFull", expr="x > 0.7", annotations={
...     "description": "PVC {{ $labels.pvc }} is at {{ $value | humanizePercentage }}."})
>>> ep = pl.DataFrame({"alertname": ["PVCFull", "Other"], "pvc": ["data-0", None]})
>>> out, notes = annotate_episodes(ep, [rule])
>>> out["annotation_description"].to_list()
['PVC data-0 is at [value unknown].', None]
>>> len(notes)
2
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import polars as pl

from ..._errors import AlertRuleError
from ..alerting.rule import Rule
from ..alerting.templates import render, uses_value

__all__ = ["VALUE_UNKNOWN", "annotate_episodes"]

#: What a ``$value`` action renders as: ``ALERTS`` does not keep the value.
VALUE_UNKNOWN = "[value unknown]"
_ACTION = re.compile(r"\{\{-?(.*?)-?\}\}", re.S)


def _without_value(text: str) -> str:
    return _ACTION.sub(lambda m: VALUE_UNKNOWN if uses_value(m.group(1)) else m.group(0), text)


def _matches(rule: Rule, labels: Mapping[str, str | None]) -> bool:
    """Whether the rule's static labels agree with the episode's (templated ones are skipped)."""
    return all(labels.get(k) == v for k, v in rule.labels.items() if "{{" not in v)


def annotate_episodes(episodes: pl.DataFrame, rules: Sequence[Rule]
                      ) -> tuple[pl.DataFrame, list[str]]:
    """``episodes`` with ``annotation_<name>`` columns rendered from ``rules``, and notes.

    A rule matches an episode by ``alertname``; when several rules share it, the one whose static
    labels all agree with the episode's (group labels such as ``severity``) wins, else the first.
    Episodes with no rule get null annotations. The notes say which alert names had no rule,
    which annotations use ``$value`` (rendered as :data:`VALUE_UNKNOWN`) and which templates
    could not be rendered.
    """
    by_name: dict[str, list[Rule]] = {}
    for r in rules:
        by_name.setdefault(r.alert, []).append(r)
    if episodes.height == 0 or "alertname" not in episodes.columns:
        return episodes, []
    label_cols = [c for c, t in episodes.schema.items()
                  if t == pl.String and not c.startswith("annotation_")]
    names = sorted({n for r in rules for n in r.annotations})
    cols: dict[str, list[str | None]] = {n: [] for n in names}
    missing: set[str] = set()
    valued: set[str] = set()
    broken: set[str] = set()
    for row in episodes.select(label_cols).iter_rows(named=True):
        cands = by_name.get(row["alertname"] or "", [])
        rule = next((r for r in cands if _matches(r, row)), cands[0] if cands else None)
        if rule is None:
            missing.add(str(row["alertname"]))
        ann = rule.annotations if rule is not None else {}
        alert = rule.alert if rule is not None else ""
        labels = {k: v for k, v in row.items() if v is not None}
        for n in names:
            text = ann.get(n)
            if text is None:
                cols[n].append(None)
                continue
            if uses_value(text):
                valued.add(f"{alert}.{n}")
            try:
                cols[n].append(render(_without_value(text), labels, float("nan")))
            except AlertRuleError:
                broken.add(f"{alert}.{n}")
                cols[n].append(None)
    notes = []
    if missing:
        notes.append("No loaded rule for " + ", ".join(sorted(missing)) + ": their messages are "
                     "shown without annotations (the Slack text can't be reconstructed).")
    if valued:
        notes.append("ALERTS does not keep the alert's value: " + ", ".join(sorted(valued))
                     + f" show {VALUE_UNKNOWN} where the real message had $value.")
    if broken:
        notes.append("Annotation templates the workbench cannot render (left empty): "
                     + ", ".join(sorted(broken)) + ".")
    out = episodes.with_columns(
        pl.Series(f"annotation_{n}", v, dtype=pl.String) for n, v in cols.items())
    return out, notes
