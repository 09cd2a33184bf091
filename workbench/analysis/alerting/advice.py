"""Review notes on an alerting rule, surfaced with every backtest (pure).

Examples
--------
>>> from workbench.analysis.alerting.rule import Rule
>>> for note in advice(Rule(alert="X", expr="rate(x_total[1m])", op=">", threshold=1,
...                         annotations={"description": "d"}), 60_000, scrape_interval_ms=30_000):
...     print(note.split(":")[0])
for
rate window
severity
summary
"""

from __future__ import annotations

import re

from ..._time import format_duration, parse_duration_ms
from .rule import Rule

__all__ = ["advice"]

_RANGE_FN = re.compile(
    r"\b(rate|irate|increase|delta|idelta|deriv|resets|changes)\s*\(\s*([^()\[\]]*?)"
    r"\[\s*((?:\d+(?:ms|s|m|h|d|w|y))+)\s*\]"
)


def _version_tuple(version: str | None) -> tuple[int, int] | None:
    m = re.match(r"v?(\d+)\.(\d+)", version or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


def advice(rule: Rule, interval_ms: int, *, scrape_interval_ms: int | None = None,
           server_version: str | None = None) -> list[str]:
    """Notes on ``rule`` evaluated every ``interval_ms``; each starts with its topic and a colon.

    Topics: ``for`` (shorter than two evaluation intervals), ``rate window`` (a rate-like range
    under four scrape intervals), ``severity`` (no severity label), ``summary`` (annotations
    without a summary), ``keep_firing_for`` (server older than 2.42), ``version`` (3.x windows).
    """
    notes: list[str] = []
    if rule.for_ms < 2 * interval_ms:
        notes.append(
            f"for: for={format_duration(rule.for_ms)} is shorter than two evaluation intervals "
            f"({format_duration(2 * interval_ms)}); the alert fires after "
            f"{-(-rule.for_ms // interval_ms) + 1} true evaluation(s), so one noisy evaluation "
            "can page. Consider for >= 2 x interval.")
    if scrape_interval_ms:
        for m in _RANGE_FN.finditer(rule.expr):
            window = parse_duration_ms(m.group(3))
            if window < 4 * scrape_interval_ms:
                notes.append(
                    f"rate window: {m.group(1)}(...[{m.group(3)}]) spans under four scrape "
                    f"intervals ({format_duration(4 * scrape_interval_ms)} at "
                    f"{format_duration(scrape_interval_ms)}); one missed scrape leaves too few "
                    "samples and the expression returns nothing (a pending alert is dropped). "
                    "Use a window of at least 4 x scrape interval.")
    if "severity" not in rule.labels:
        notes.append("severity: the rule has no 'severity' label; Alertmanager routes usually "
                     "match on it. Add labels={'severity': 'warning'} (or page/critical/info).")
    if rule.annotations and "summary" not in rule.annotations:
        notes.append("summary: annotations have no 'summary'; notification templates usually "
                     "show it first. Add a one-line summary.")
    if not rule.annotations:
        notes.append("summary: the rule has no annotations; add at least a 'summary'.")
    v = _version_tuple(server_version)
    if v is not None and rule.keep_firing_for_ms and v < (2, 42):
        notes.append(f"keep_firing_for: the server runs {server_version}; keep_firing_for needs "
                     "Prometheus 2.42 or later (older servers reject the rule file).")
    if v is not None and v[0] >= 3:
        notes.append(f"version: the server runs {server_version}: lookback and range windows are "
                     "left-open in 3.x (a [1m] window at 1m scrapes holds one sample), so "
                     "rate windows need more margin than on 2.x.")
    return notes
