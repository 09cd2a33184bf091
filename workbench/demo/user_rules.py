"""``workbench demo up --rules FILE...``: a user's alerting rules evaluated over the demo history.

The rules (Prometheus rule files, PrometheusRule objects, directories or globs; see
:func:`workbench.alerting.load_rules`) are replayed over the backfilled history with the backtest
engine (Prometheus 2.x rule semantics) and their ``ALERTS`` / ``ALERTS_FOR_STATE`` samples
backfilled next to the demo's own, so the alert-history report can be tried on one's own rules.
The live Prometheus then evaluates them too (``user-rules.yml`` in the state directory).

Limits: only alerting rules are replayed (recording rules in the files are not; an alert on a
recorded series the demo does not have stays quiet over the history), and a rule the backtest
cannot evaluate is skipped with a message.

Examples
--------
>>> rules_suffix([])
''
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from ..testing.servers import backfill_openmetrics, move_blocks
from .history import _labels_text

__all__ = ["USER_RULES_FILE", "backfill_user_rules", "rules_suffix", "user_rule_files",
           "write_user_rules"]

USER_RULES_FILE = "user-rules.yml"
PathLike = str | os.PathLike[str]


def _load(paths: Sequence[PathLike]) -> list[Any]:
    from ..analysis.alerting import load_rules

    return load_rules([str(p) for p in paths]) if paths else []


def rules_suffix(paths: Sequence[PathLike]) -> str:
    """A fingerprint suffix for the rules' content ('' without rules): the history is
    regenerated when the rules change."""
    if not paths:
        return ""
    h = hashlib.sha256()
    for r in _load(paths):
        h.update(repr(sorted(r.to_dict().items(), key=str)).encode())
        h.update(str(r.interval).encode())
    return f"+rules-{h.hexdigest()[:12]}"


def write_user_rules(d: Path, paths: Sequence[PathLike]) -> Path | None:
    """Write the rules as one Prometheus rule file in ``d`` (or remove a stale one)."""
    target = d / USER_RULES_FILE
    rules = _load(paths)
    if not rules:
        target.unlink(missing_ok=True)
        return None
    groups: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
    for r in rules:
        interval = None if r.interval is None else str(r.interval)
        groups.setdefault((r.group or "user-rules", interval), []).append(r.to_dict())
    doc = {"groups": [{"name": name, **({"interval": iv} if iv else {}), "rules": rs}
                      for (name, iv), rs in groups.items()]}
    target.write_text(yaml.safe_dump(doc, sort_keys=False, width=200))
    return target


def user_rule_files(d: Path) -> list[str]:
    """The user rule file to list in ``prometheus.yml`` (none when ``up`` had no ``--rules``)."""
    f = d / USER_RULES_FILE
    return [str(f)] if f.is_file() else []


def _om_lines(samples: pl.DataFrame) -> tuple[list[str], list[str]]:
    labels = [c for c in samples.columns
              if c not in ("step", "timestamp", "alertstate", "active_at", "for_state")]
    alerts, for_state = [], []
    f = samples.with_columns(pl.col("timestamp").dt.epoch("ms").alias("_t"),
                             pl.col("active_at").dt.epoch("s").alias("_a"))
    for row in f.iter_rows(named=True):
        lab = {k: row[k] for k in labels if row[k] is not None}
        t = f"{row['_t'] / 1000:.3f}"
        alerts.append(f"ALERTS{{{_labels_text({**lab, 'alertstate': row['alertstate']})}}} "
                      f"1 {t}")
        for_state.append(f"ALERTS_FOR_STATE{{{_labels_text(lab)}}} {row['_a']} {t}")
    return alerts, for_state


def backfill_user_rules(prom: Any, paths: Sequence[PathLike], start_s: float, end_s: float,
                        tsdb: Path, work: Path, *, block_s: int,
                        say: Callable[[str], None] = lambda m: None) -> dict[str, int]:
    """Replay the rules over ``[start_s, end_s]`` on ``prom`` and backfill their ALERTS into
    ``tsdb``; returns firing evaluations per alert name."""
    from ..analysis.alerting.batch import backtest_rules

    rules = _load(paths)
    if not rules:
        return {}
    results: dict[int, Any] = {}
    table = backtest_rules(prom, rules, start_s, end_s, results=results)
    for row in table.filter(pl.col("error").is_not_null()).iter_rows(named=True):
        say(f"  skipped {row['alert']}: {row['error'][:200]}")
    counts: dict[str, int] = {}
    series: dict[str, list[str]] = {}  # OpenMetrics needs each series' samples together
    for bt in results.values():
        s = bt.samples()
        if s.height == 0:
            counts[bt.rule.alert] = counts.get(bt.rule.alert, 0)
            continue
        counts[bt.rule.alert] = counts.get(bt.rule.alert, 0) + int(
            (s["alertstate"] == "firing").sum())
        alerts, for_state = _om_lines(s.sort("timestamp"))
        for line in (*alerts, *for_state):
            series.setdefault(line.rsplit(" ", 2)[0], []).append(line)
    if not series:
        return counts
    work.mkdir(parents=True, exist_ok=True)
    path = work / "user-alerts.om"
    with open(path, "w") as fh:
        for family in ("ALERTS", "ALERTS_FOR_STATE"):
            fh.write(f"# TYPE {family} gauge\n")
            for key, lines in series.items():
                if key.split("{", 1)[0] == family:
                    fh.write("\n".join(lines) + "\n")
        fh.write("# EOF\n")
    out = work / "user-alert-blocks"
    backfill_openmetrics(path, out, max_block_duration=f"{block_s // 3600}h")
    move_blocks(out, tsdb)
    path.unlink()
    return counts
