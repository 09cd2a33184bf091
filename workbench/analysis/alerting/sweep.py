"""`sweep`: how a rule's alerts move with its threshold, ``for`` and ``keep_firing_for``.

The left-hand side is fetched once (``query_range`` at ``step = interval``, chunked by the
client); each threshold is applied locally with PromQL's comparison semantics
(:mod:`.compare`: NaN passes only ``!=``), which gives exactly the series the server would
return for ``expr op threshold``. Presence runs are computed once per threshold and reused for
every ``for`` / ``keep_firing_for`` value.

Examples
--------
>>> from workbench import Prometheus, Rule, sweep
>>> rule = Rule(alert="HighLoad", expr="node_load1", op=">", threshold=4, for_="10m")
>>> sweep(Prometheus("http://127.0.0.1:9090"), rule, thresholds=[2, 4, 8],
...       for_=["0s", "5m", "15m"], start="now-7d")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from ..._errors import AlertRuleError
from ..._time import DurationLike, TimeLike, parse_duration_ms
from .backtest import SUMMARY_SCHEMA, _check_inputs, evaluation_grid, fetch_matrix, summary_row
from .identity import SeriesMatrix, alert_input
from .incidents import (
    FIGURE_SCHEMA,
    incident_figures,
    incidents_for_alert,
    label_match,
    load_incidents,
)
from .rule import Rule
from .state import episodes_from_runs, presence_runs

if TYPE_CHECKING:
    from ...sources.prometheus.client import Prometheus

__all__ = ["sweep", "sweep_matrix"]


def _seq(values: object, what: str) -> list[Any]:
    """A sweep axis as a list (``None``: empty); text or a mapping is not a list of values."""
    if values is None:
        return []
    if isinstance(values, str | bytes | Mapping) or not isinstance(values, Sequence | set):
        msg = f"{what} must be a list of values to sweep, got {str(values)[:60]!r}."
        raise AlertRuleError(msg)
    return list(values)


def _numbers(values: object, what: str) -> list[float | None]:
    out: list[float | None] = []
    for x in _seq(values, what):
        try:
            out.append(float(x))
        except (TypeError, ValueError, OverflowError):
            msg = f"{what} must hold numbers, got {str(x)[:40]!r}."
            raise AlertRuleError(msg) from None
    return out


def sweep_matrix(matrix: SeriesMatrix, rule: Rule, thresholds: Sequence[float] | None = None,
                 for_: Sequence[DurationLike] | None = None,
                 keep_firing_for: Sequence[DurationLike] | None = None, *,
                 interval_ms: int, flap_gap: DurationLike = "15m",
                 external_labels: Mapping[str, str] | None = None,
                 incidents: pl.DataFrame | str | Path | None = None,
                 grace: DurationLike = "0s", alertname: str | None = None) -> pl.DataFrame:
    """Sweep on an already-fetched left-hand side (pure; :func:`sweep` fetches then calls this).

    Returns one row per (threshold, for, keep_firing_for): ``threshold``, ``for_s``,
    ``keep_firing_for_s`` and the :meth:`BacktestResult.summary` columns; with ``incidents``
    also the :func:`~workbench.alerting.incidents.incident_figures` columns and ``rank``, rows
    sorted best first (fewest missed incidents, then fewest alerts outside incidents, then the
    shortest median detection delay, then fewest alerts per day).
    """
    _check_inputs(matrix, rule, interval_ms, "sweep_matrix")
    if thresholds is not None and not rule.is_threshold:
        msg = (f"Rule {rule.alert} has no op/threshold, so thresholds cannot be swept. Fix: "
               "pass the left-hand side as expr= with op= and threshold=.")
        raise AlertRuleError(msg)
    thr_list: list[float | None] = (
        _numbers(thresholds, "thresholds") if thresholds is not None else [rule.threshold])
    for_list = [parse_duration_ms(f) for f in (
        _seq(for_, "for_") if for_ is not None else [rule.for_])]
    keep_list = [parse_duration_ms(k) for k in (
        _seq(keep_firing_for, "keep_firing_for") if keep_firing_for is not None
        else [rule.keep_firing_for])]
    flap_ms = parse_duration_ms(flap_gap)
    inc = None
    if incidents is not None:
        inc = incidents_for_alert(load_incidents(incidents), rule.alert, alertname)
    grace_ms = parse_duration_ms(grace)
    n_steps = matrix.eval_times_ms.shape[0]
    rows: list[dict[str, object]] = []
    for thr in thr_list:                       # a handful of thresholds: one pass each
        alerts = alert_input(matrix, rule, threshold=thr, external_labels=external_labels)
        runs = presence_runs(alerts.present)
        match = None if inc is None else label_match(alerts.identities, inc)
        for f in for_list:
            for k in keep_list:
                ep = episodes_from_runs(runs, matrix.eval_times_ms, f, k)
                row: dict[str, object] = {"threshold": thr, "for_s": f / 1000,
                                          "keep_firing_for_s": k / 1000}
                row.update(summary_row(ep["series_idx"], ep["fire_step"], ep["start_step"],
                                       ep["end_step"], n_steps, interval_ms, flap_ms))
                if inc is not None:
                    fig = incident_figures(alerts.identities, ep["series_idx"], ep["fire_step"],
                                           ep["end_step"], matrix.eval_times_ms, inc,
                                           grace_ms=grace_ms, match=match)
                    row.update({k: fig[k] for k in FIGURE_SCHEMA})
                rows.append(row)
    schema = {"threshold": pl.Float64, "for_s": pl.Float64, "keep_firing_for_s": pl.Float64,
              **SUMMARY_SCHEMA, **(FIGURE_SCHEMA if inc is not None else {})}
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    if inc is None:
        return frame
    return frame.sort(["incidents_missed", "alerts_outside", "median_delay_s", "fired_per_day"],
                      nulls_last=True, maintain_order=True).with_row_index("rank", offset=1)


def sweep(prom: Prometheus, rule: Rule, thresholds: Sequence[float] | None = None,
          for_: Sequence[DurationLike] | None = None, *,
          keep_firing_for: Sequence[DurationLike] | None = None, start: TimeLike = "now-7d",
          end: TimeLike = "now", interval: DurationLike = "1m", offset: DurationLike = 0,
          flap_gap: DurationLike = "15m",
          external_labels: Mapping[str, str] | None = None,
          incidents: pl.DataFrame | str | Path | None = None, grace: DurationLike = "0s",
          alertname: str | None = None) -> pl.DataFrame:
    """Backtest many variants of ``rule`` from one fetch.

    Parameters
    ----------
    prom
        The server holding the history.
    rule
        A threshold rule (``expr`` is the left-hand side); full-expression rules can sweep
        ``for_``/``keep_firing_for`` only.
    thresholds, for_, keep_firing_for
        Values to try (default: the rule's own).
    start, end, interval, offset
        The evaluation grid, as in :func:`~workbench.backtest`.
    incidents, grace, alertname
        Known incident windows (frame or CSV, see :mod:`workbench.alerting.incidents`): adds
        ``incidents_caught``, ``incidents_missed``, ``median_delay_s``, ``max_delay_s``,
        ``alerts_outside`` and ranks the rows, best first (``rank``).

    Returns
    -------
    polars.DataFrame
        One row per combination: ``threshold``, ``for_s``, ``keep_firing_for_s``,
        ``episodes``, ``alerts_fired``, ``pending_only``, ``identities_fired``, ``firing_s``,
        ``firing_share``, ``median_firing_s``, ``p90_firing_s``, ``fired_per_day``,
        ``flapping``, ``still_firing``.
    """
    interval_ms = parse_duration_ms(interval)
    grid = evaluation_grid(start, end, interval, offset=offset, now=prom.now())
    expr = rule.expr if rule.is_threshold else rule.condition
    matrix = fetch_matrix(prom, expr, grid, interval_ms)
    return sweep_matrix(matrix, rule, thresholds, for_, keep_firing_for,
                        interval_ms=interval_ms, flap_gap=flap_gap,
                        external_labels=external_labels, incidents=incidents, grace=grace,
                        alertname=alertname)
