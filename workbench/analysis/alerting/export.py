"""Write rules and tests in Prometheus's formats: rule files, PrometheusRule objects and
``promtool test rules`` files. Pure text builders; validation goes through :mod:`.promtool`.

Examples
--------
>>> series_values(np.array([1.0, 1.0, 1.0, np.nan, 2.0]), np.array([1, 1, 1, 1, 0], bool),
...               np.array([0, 0, 0, 0, 0], bool))
'1+0x2 NaN'
>>> series_values(np.array([0.0, 60, 120, 180, 7]), np.ones(5, bool))
'0+60x3 7'
>>> series_values(np.array([0.5, 0, 0, 0, 0.7]), np.array([1, 0, 0, 0, 1], bool),
...               np.array([0, 1, 0, 0, 0], bool))
'0.5 stale _x2 0.7'
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import yaml

from ..._errors import AlertRuleError
from ..._time import DurationLike, format_duration, parse_duration_ms
from .compare import format_threshold

if TYPE_CHECKING:
    from .rule import Rule

__all__ = [
    "prometheus_rule_text",
    "promtool_test_document",
    "rule_file_text",
    "selector",
    "series_values",
]


class _Dumper(yaml.SafeDumper):
    """Block-style YAML with multi-line strings as ``|`` blocks."""


#: Characters a YAML reader takes as line breaks (NEL, LS, PS): written raw, in a plain or block
#: scalar, they come back changed (U+0085 became a space or a newline). Such strings are written
#: double-quoted, where they are escapes (``\N``, ``\L``, ``\P``) and survive a round trip.
_YAML_BREAKS = frozenset("\x85\u2028\u2029")


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    if not _YAML_BREAKS.isdisjoint(data):
        style: str | None = '"'
    else:
        style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str_presenter)


def _dump(doc: Any) -> str:
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=100)


def _group(rules: Sequence[Rule], group: str, interval: DurationLike | None) -> dict[str, Any]:
    g: dict[str, Any] = {"name": group}
    if interval is not None:
        g["interval"] = format_duration(parse_duration_ms(interval))
    g["rules"] = [r.to_dict() for r in rules]
    return g


def rule_file_text(rules: Sequence[Rule], *, group: str = "workbench",
                   interval: DurationLike | None = None, check: bool = True) -> str:
    """A rule file with one group holding ``rules``; ``check`` runs ``promtool check rules``."""
    text = _dump({"groups": [_group(rules, group, interval)]})
    if check:
        from .promtool import check_rules_text

        check_rules_text(text)
    return text


def prometheus_rule_text(rules: Sequence[Rule], *, name: str, namespace: str,
                         labels: Mapping[str, str] | None = None, group: str | None = None,
                         interval: DurationLike | None = None, check: bool = True) -> str:
    """A ``monitoring.coreos.com/v1`` ``PrometheusRule`` manifest; ``check`` validates its
    ``spec`` (which is a rule file) with ``promtool check rules``.

    ``name`` and ``namespace`` must be valid Kubernetes names (RFC 1123: lowercase letters,
    digits and ``-``; names may also hold ``.``), or the API server would reject the object.
    """
    _check_k8s_name(name, "name", _DNS_SUBDOMAIN, 253)
    _check_k8s_name(namespace, "namespace", _DNS_LABEL, 63)
    for key, value in (labels or {}).items():
        _check_k8s_label(key, value)
    spec = {"groups": [_group(rules, group or name, interval)]}
    if check:
        from .promtool import check_rules_text

        check_rules_text(_dump(spec))
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels:
        meta["labels"] = dict(labels)
    return _dump({"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
                  "metadata": meta, "spec": spec})


# Used with fullmatch only: "$" would also match before a trailing newline.
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
# Kubernetes label names (after an optional "prefix/") and values: 63 characters at most,
# alphanumerics at both ends, "-", "_" and "." inside; a value may also be empty.
_LABEL_PART = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")


def _check_k8s_label(key: object, value: object) -> None:
    """Refuse a metadata label the API server would reject (``validation.IsQualifiedName`` for
    the key, ``IsValidLabelValue`` for the value)."""
    fix = ("Fix: use keys like 'team' or 'example.com/team' and values of at most 63 letters, "
           "digits, '-', '_' or '.', starting and ending with a letter or digit")
    if not isinstance(key, str) or not isinstance(value, str):
        msg = f"PrometheusRule label {key!r}: {value!r}: keys and values must be strings. {fix}."
        raise AlertRuleError(msg)
    prefix, _, name = key.rpartition("/")
    ok_key = (len(name) <= 63 and _LABEL_PART.fullmatch(name) is not None
              and (not key.count("/") or (len(prefix) <= 253
                                          and _DNS_SUBDOMAIN.fullmatch(prefix) is not None))
              and key.count("/") <= 1)
    if not ok_key:
        msg = f"PrometheusRule label key {key!r} is not valid in Kubernetes. {fix}."
        raise AlertRuleError(msg)
    if value and (len(value) > 63 or _LABEL_PART.fullmatch(value) is None):
        msg = (f"PrometheusRule label {key!r} has the value {value!r}, which Kubernetes rejects. "
               f"{fix}.")
        raise AlertRuleError(msg)


def _check_k8s_name(value: str, what: str, pattern: re.Pattern[str], limit: int) -> None:
    if not isinstance(value, str) or len(value) > limit or not pattern.fullmatch(value):
        value = str(value)
        suggestion = re.sub(r"[^a-z0-9.-]+", "-", value.lower()).strip("-.") or "workbench-rules"
        msg = (
            f"PrometheusRule {what} {value!r} is not a valid Kubernetes {what} (lowercase letters, "
            f"digits and '-', at most {limit} characters); the API server would reject it. "
            f"Fix: use e.g. {suggestion[:limit]!r}."
        )
        raise AlertRuleError(msg)


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def selector(name: str | None, labels: Mapping[str, str]) -> str:
    """Series notation ``name{a="1",b="2"}`` (labels sorted, values escaped)."""
    body = ",".join(f'{k}="{_escape(str(v))}"' for k, v in sorted(labels.items()))
    return f"{name or ''}{{{body}}}"


def _num(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return format_threshold(v)


def _progression(values: npt.NDArray[np.float64], kind: npt.NDArray[np.int_], i: int,
                 n: int) -> tuple[int, float]:
    """Longest run of samples from ``i`` that promtool's ``a+bxN`` reproduces exactly.

    promtool expands ``a+bxN`` by repeated float64 addition (``v = a; v += b`` N times), so the
    run is checked with the same additions; returns (end exclusive, b).
    """
    a = float(values[i])
    if i + 1 >= n or kind[i + 1] != 1 or not math.isfinite(float(values[i + 1])):
        return i + 1, 0.0
    b = float(values[i + 1]) - a
    if not math.isfinite(b):
        return i + 1, 0.0
    acc, j = a, i + 1
    while j < n and kind[j] == 1:
        acc += b
        if float(values[j]) != acc:
            break
        j += 1
    return j, b


def series_values(values: npt.NDArray[np.float64], present: npt.NDArray[np.bool_],
                  stale: npt.NDArray[np.bool_] | None = None) -> str:
    """Encode one series in promtool's expanding notation (``1+0x3 0+60x10 _x2 stale NaN``).

    ``present`` marks a sample at that step, ``stale`` a staleness marker; other steps are
    ``_``. Runs of three or more samples that repeat a value or grow by a constant step become
    ``a+bxN`` (promtool: N+1 samples ``a, a+b, ...``, computed by repeated float64 addition, and
    only written when that reproduces every sample exactly); runs of gaps become ``_xN``.
    """
    st = np.zeros(len(values), bool) if stale is None else stale
    tokens: list[str] = []
    kind = np.where(present, 1, np.where(st, 2, 0))
    n = len(values)
    i = 0
    while i < n:                     # run-length over at most n tokens
        k = int(kind[i])
        j = i + 1
        if k == 1:
            v = float(values[i])
            if math.isfinite(v):
                end, b = _progression(values, kind, i, n)
                if end - i >= 3:
                    sign = "-" if b < 0 or (b == 0 and math.copysign(1, b) < 0) else "+"
                    tokens.append(f"{_num(v)}{sign}{_num(abs(b))}x{end - i - 1}")
                    j = end
                else:
                    tokens.append(_num(v))
            else:
                tokens.append(_num(v))
        elif k == 2:
            tokens.append("stale")
        else:
            while j < n and kind[j] == 0:
                j += 1
            tokens.append("_" if j - i == 1 else f"_x{j - i}")
        i = j
    while tokens and tokens[-1].startswith("_"):
        tokens.pop()
    return " ".join(tokens)


def promtool_test_document(
    *,
    rule_files: Sequence[str],
    interval_ms: int,
    input_series: Iterable[tuple[str, str]],
    alert_checks: Iterable[tuple[int, str, Sequence[tuple[Mapping[str, str], Mapping[str, str]]]]],
    promql_checks: Iterable[tuple[int, str, Sequence[tuple[str, float]]]] = (),
    name: str = "workbench backtest",
    evaluation_interval_ms: int | None = None,
) -> str:
    """Build a ``promtool test rules`` file (block-style YAML a reviewer can diff) in one test
    group.

    Parameters
    ----------
    rule_files
        Rule file paths, relative to the test file.
    interval_ms
        Spacing of input samples (and the evaluation interval unless given).
    input_series
        ``(series notation, values notation)`` pairs.
    alert_checks
        ``(eval_time_ms, alertname, [(labels without alertname, annotations), ...])``: the
        firing alerts expected at that evaluation.
    promql_checks
        ``(eval_time_ms, expr, [(series notation, value), ...])``.
    evaluation_interval_ms
        promtool evaluates every rule group at multiples of this (the group's own interval is
        ignored by ``promtool test rules``).
    """
    def dur(ms: int) -> str:
        return format_duration(int(ms))

    test: dict[str, Any] = {
        "name": name,
        "interval": dur(interval_ms),
        "input_series": [{"series": s, "values": v} for s, v in input_series],
        "alert_rule_test": [
            {"eval_time": dur(t), "alertname": a,
             "exp_alerts": [{"exp_labels": dict(lb), "exp_annotations": dict(an)}
                            for lb, an in alerts]}
            for t, a, alerts in alert_checks
        ],
    }
    pq = [{"expr": e, "eval_time": dur(t),
           "exp_samples": [{"labels": s, "value": v} for s, v in samples]}
          for t, e, samples in promql_checks]
    if pq:
        test["promql_expr_test"] = pq
    doc = {"rule_files": list(rule_files),
           "evaluation_interval": dur(evaluation_interval_ms or interval_ms),
           "tests": [test]}
    return _dump(doc)
