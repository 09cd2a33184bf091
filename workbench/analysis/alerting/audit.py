"""The rules audit: findings per rule from a :func:`~workbench.alerting.backtest_rules` frame,
sorted by how much attention each rule needs (pure).

Findings and their weight in the ``attention`` score:

* ``error`` (100): the rule could not be backtested (bad PromQL, unsupported label template,
  duplicate alert identities) — it probably fails on the server too;
* ``noisy`` (20 + alerts per day): more than ``noisy_per_day`` alerts a day;
* ``flapping`` (15 + identities): alerts that fired again within the flap gap of resolving;
* ``mostly firing`` (10): each alert identity that fired was firing more than ``firing_share``
  of the window on average (``firing_share_per_alert``; an alert nobody acts on; a
  ``Watchdog``-style rule is expected to be here);
* ``never fired`` (8): no alert in the window — a dead rule, a wrong selector, or just a quiet
  period (check the expression);
* ``short for`` (5): ``for`` shorter than two evaluation intervals (one noisy evaluation pages);
* ``no severity`` (5), ``no summary`` (3): routing and notification text suffer.

Examples
--------
>>> f = pl.DataFrame({"alert": ["A", "B"], "alerts_fired": [0, 300], "fired_per_day": [0.0, 43.0],
...                   "firing_share": [0.0, 0.1], "flapping": [0, 2], "for_s": [300.0, 0.0],
...                   "interval_s": [60.0, 60.0], "severity": ["warning", None],
...                   "has_summary": [True, False], "error": [None, None]})
>>> out = rules_audit(f)
>>> out.select("alert", "attention").rows()
[('B', 93.0), ('A', 8.0)]
>>> for note in out["findings"][0]:
...     print(note)
noisy: 43 alerts/day
flapping: 2 alerts (label sets) fired again soon after resolving
short for: 0s < 2 x 1m
no severity
no summary
"""

from __future__ import annotations

import math

import polars as pl

from ..._errors import ConfigError
from ..._time import format_duration
from ...frames import check_frame

__all__ = ["rules_audit"]

_NUMERIC = ("alerts_fired", "fired_per_day", "firing_share", "flapping", "for_s", "interval_s",
            "identities_fired")


def _findings(row: dict[str, object], noisy: float, share: float) -> tuple[list[str], float]:
    notes: list[str] = []
    score = 0.0
    if row.get("error"):
        first = str(row["error"]).split(". ")[0].split("\n")[0]
        return [f"error: {first[:160]}"], 100.0
    per_day = float(row.get("fired_per_day") or 0)               # type: ignore[arg-type]
    if per_day > noisy:
        notes.append(f"noisy: {per_day:.3g} alerts/day")
        score += 20 + per_day
    flapping = int(row.get("flapping") or 0)                      # type: ignore[call-overload]
    if flapping:
        notes.append(f"flapping: {flapping} alert{'' if flapping == 1 else 's'} (label sets) "
                     "fired again soon after resolving")
        score += 15 + flapping
    fs = float(row.get("firing_share_per_alert") or 0)            # type: ignore[arg-type]
    if fs > share:
        notes.append(f"mostly firing: {fs:.0%} of the window")
        score += 10
    if int(row.get("alerts_fired") or 0) == 0:                    # type: ignore[call-overload]
        notes.append("never fired")
        score += 8
    interval = float(row.get("interval_s") or 0)                  # type: ignore[arg-type]
    for_s = float(row.get("for_s") or 0)                          # type: ignore[arg-type]
    if interval and for_s < 2 * interval:
        notes.append(f"short for: {format_duration(round(for_s * 1000))} < 2 x "
                     f"{format_duration(round(interval * 1000))}")
        score += 5
    if not row.get("severity"):
        notes.append("no severity")
        score += 5
    if row.get("has_summary") is False:
        notes.append("no summary")
        score += 3
    return notes, score


def rules_audit(rules: pl.DataFrame, *, noisy_per_day: float = 5.0,
                firing_share: float = 0.5) -> pl.DataFrame:
    """Add ``firing_share_per_alert``, ``findings`` (list of notes) and ``attention`` (a score) to a
    :func:`~workbench.alerting.backtest_rules` frame and sort it, most attention first (then
    most alerts per day, then group and alert name).

    Parameters
    ----------
    rules
        One row per rule (``alert``, ``alerts_fired``, ``fired_per_day``, ``firing_share``,
        ``flapping``, ``for_s``, ``interval_s``, ``severity``, ``has_summary``, ``error``).
    noisy_per_day
        More alerts a day than this is ``noisy``.
    firing_share
        Firing longer than this share of the window is ``mostly firing``.
    """
    check_frame(rules, "rules_audit: rules", ("fired_per_day", "firing_share"))
    for name, value in (("noisy_per_day", noisy_per_day), ("firing_share", firing_share)):
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            msg = f"rules_audit: {name} must be a number, got {value!r:.40}. Fix: pass e.g. 5.0."
            raise ConfigError(msg)
    wrong = [c for c in _NUMERIC if c in rules.columns
             and not (rules[c].dtype.is_numeric() or rules[c].dtype == pl.Null)]
    if wrong:
        msg = (f"rules_audit: column(s) {wrong} must be numeric, got "
               f"{[str(rules[c].dtype) for c in wrong]}. Fix: pass the frame "
               "workbench.alerting.backtest_rules returned.")
        raise ConfigError(msg)
    # firing_share sums every identity's firing time; per identity that fired is what a person
    # watching one alert sees (a rule firing for 3 pods all the time has firing_share 3.0).
    rules = rules.with_columns(firing_share_per_alert=pl.col("firing_share") / pl.max_horizontal(
        pl.col("identities_fired"), pl.lit(1)) if "identities_fired" in rules.columns
        else pl.col("firing_share"))
    finite = rules.with_columns(  # NaN/inf counts read as unknown (null) in the findings
        pl.when(pl.col(c).cast(pl.Float64).is_finite()).then(pl.col(c)).alias(c)
        for c in (*_NUMERIC, "firing_share_per_alert") if c in rules.columns)
    found = [_findings(r, noisy_per_day, firing_share) for r in finite.iter_rows(named=True)]
    out = rules.with_columns(
        findings=pl.Series([f for f, _ in found], dtype=pl.List(pl.String)),
        attention=pl.Series([s for _, s in found], dtype=pl.Float64))
    keys = ["attention", "fired_per_day"]
    desc = [True, True]
    for extra in ("group", "alert"):
        if extra in out.columns:
            keys.append(extra)
            desc.append(False)
    return out.sort(keys, descending=desc, nulls_last=True)
