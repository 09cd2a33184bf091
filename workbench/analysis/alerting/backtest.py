"""`backtest`: replay an alerting rule over history with Prometheus 2.x's exact rule semantics.

How the history is read, and what that can and cannot reveal
-------------------------------------------------------------
A rule evaluation is an instant query at each evaluation time. ``query_range`` with
``step = interval`` runs that same instant query at ``start + k*interval``, so its result *is* the
rule's input at those evaluations: gaps shorter than the lookback (5m) are bridged exactly as the
rule engine bridges them, staleness markers (failed scrapes, vanished targets) end a series
at once, and the server's own version decides closed (2.x) or left-open (3.x) windows. What the
response cannot show: staleness markers themselves (they only appear as absence), samples that
arrived late or out of order after the real evaluation ran, the real evaluation phase
(``hash(group, file) % interval``; pass ``offset=`` to pick one), and Prometheus restarts (the
first evaluations after a restart write nothing and ``for`` is restored from
``ALERTS_FOR_STATE``). The state machine itself is :mod:`workbench.analysis.alerting.state`.

Examples
--------
>>> from workbench import Prometheus, Rule, backtest
>>> rule = Rule(alert="HighLoad", expr="node_load1", op=">", threshold=4, for_="10m",
...             labels={"severity": "warning"}, annotations={"summary": "load is high"})
>>> bt = backtest(Prometheus("http://127.0.0.1:9090"), rule, "now-7d", "now")  # doctest: +SKIP
>>> bt.episodes  # doctest: +SKIP
>>> bt.summary()  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import polars as pl

from ..._errors import AlertRuleError, WorkbenchError
from ..._time import (
    DurationLike,
    TimeLike,
    format_duration,
    parse_duration_ms,
    parse_time_ms,
    to_datetime,
)
from ...frames import TIMESTAMP, empty_frame
from .advice import advice as rule_advice
from .identity import AlertInput, SeriesMatrix, alert_input, series_matrix
from .lookback import lookback_closed
from .rule import Rule
from .state import AlertStates, alert_episodes, alert_samples, alert_states

if TYPE_CHECKING:
    from ...sources.prometheus.client import Prometheus

__all__ = ["BacktestResult", "backtest", "backtest_matrix", "evaluation_grid", "fetch_matrix"]



def evaluation_grid(start: TimeLike, end: TimeLike, interval: DurationLike = "1m", *,
                    offset: DurationLike = 0, now: int | None = None) -> npt.NDArray[np.int64]:
    """Evaluation timestamps ``k*interval + offset`` (ms) within ``[start, end]``.

    Prometheus slots each group at ``k*interval + offset`` from the epoch; ``offset`` defaults
    to 0 (the grid ``promtool test rules`` uses).

    Examples
    --------
    >>> evaluation_grid(61, 250, "1m").tolist()
    [120000, 180000, 240000]
    """
    clock = (lambda: now) if now is not None else None
    s = parse_time_ms(start, now=clock)
    e = parse_time_ms(end, now=clock)
    i = parse_duration_ms(interval)
    o = parse_duration_ms(offset) % i if i else 0
    if i <= 0:
        msg = "interval must be positive."
        raise WorkbenchError(msg)
    if e < s:
        msg = (f"The backtest ends ({to_datetime(e).isoformat()}) before it starts "
               f"({to_datetime(s).isoformat()}). Fix: swap start and end.")
        raise AlertRuleError(msg)
    first = s + ((o - s) % i)
    if e < first:
        return np.zeros(0, np.int64)
    n = (e - first) // i + 1
    if n > MAX_EVALUATIONS:
        msg = (f"The backtest would evaluate the rule {n:,} times ({format_duration(e - s)} at "
               f"interval {format_duration(i)}), more than {MAX_EVALUATIONS:,}. Fix: use a "
               "shorter range or a longer interval.")
        raise AlertRuleError(msg)
    return np.arange(first, e + 1, i, dtype=np.int64)


#: A backtest evaluates the rule at most this many times (a year at 10 s is 3.2 million).
MAX_EVALUATIONS = 5_000_000



def _check_inputs(matrix: object, rule: object, interval_ms: object, where: str) -> None:
    """Refuse arguments of the wrong kind with an AlertRuleError naming them."""
    if not isinstance(matrix, SeriesMatrix):
        msg = (f"{where}: matrix must be a SeriesMatrix (from fetch_matrix or series_matrix), got "
               f"{type(matrix).__name__}.")
        raise AlertRuleError(msg)
    if not isinstance(rule, Rule):
        msg = f"{where}: rule must be a workbench Rule, got {type(rule).__name__}."
        raise AlertRuleError(msg)
    if isinstance(interval_ms, bool) or not isinstance(interval_ms, int | np.integer) \
            or interval_ms <= 0:
        msg = f"{where}: interval_ms must be a positive whole number, got {str(interval_ms)[:40]!r}."
        raise AlertRuleError(msg)


def fetch_matrix(prom: Prometheus, expr: str, eval_times_ms: npt.NDArray[np.int64],
                 interval_ms: int) -> SeriesMatrix:
    """``query_range(expr)`` on the evaluation grid (chunked by the client), as a matrix."""
    if eval_times_ms.size == 0:
        return series_matrix(empty_frame(),
                             eval_times_ms)
    frame = prom.query_range(expr, int(eval_times_ms[0]) / 1000, int(eval_times_ms[-1]) / 1000,
                             step=interval_ms / 1000)
    return series_matrix(frame, eval_times_ms)


def _server_version(prom: Prometheus) -> str | None:
    with contextlib.suppress(WorkbenchError, KeyError, IndexError):
        info = prom.build_info()
        if "version" in info.columns:
            return str(info["version"][0])
    return None


@dataclass
class BacktestResult:
    """What a rule would have done over a range.

    Attributes
    ----------
    rule
        The rule replayed.
    interval_ms
        Evaluation interval.
    eval_times_ms
        The evaluation grid.
    matrix
        The fetched left-hand side (threshold rules) or expression results.
    alerts
        The alert identities and their per-step presence.
    episodes
        One row per alert lifetime: ``alertname`` and the other alert labels, ``active_at``,
        ``fired_at`` (null if it never fired), ``resolved_at`` (null if still active at the
        end), ``pending_s``, ``firing_s`` (evaluations in that state x interval).
    server_version
        ``build_info`` version (``None`` if unknown); 2.x and 3.x differ in lookback windows.
    advice
        Review notes on the rule (short ``for``, short rate windows, missing labels ...).
    """

    rule: Rule
    interval_ms: int
    eval_times_ms: npt.NDArray[np.int64]
    matrix: SeriesMatrix
    alerts: AlertInput
    raw_episodes: pl.DataFrame
    server_version: str | None = None
    advice: list[str] = field(default_factory=list)

    @property
    def episodes(self) -> pl.DataFrame:
        """One row per alert lifetime with its labels (see the class docstring)."""
        return episodes_frame(self.raw_episodes, self.alerts.identities, self.interval_ms,
                              self.eval_times_ms.shape[0])

    @property
    def lookback_closed(self) -> bool:
        """Whether the server used 2.x closed lookback windows."""
        return lookback_closed(self.server_version)

    def states(self) -> AlertStates:
        """Dense per-identity, per-step state (0 inactive, 1 pending, 2 firing)."""
        return alert_states(self.raw_episodes, self.alerts.identities.height, self.eval_times_ms)

    def samples(self) -> pl.DataFrame:
        """The ``ALERTS`` samples the rule would have written, with the alert labels."""
        s = alert_samples(self.raw_episodes, self.eval_times_ms)
        ident = self.alerts.identities.with_row_index("series_idx").with_columns(
            pl.col("series_idx").cast(pl.Int64))
        return s.join(ident, on="series_idx", how="left").with_columns(
            pl.col("timestamp").cast(TIMESTAMP), pl.col("active_at").cast(TIMESTAMP)).drop("series_idx")

    def summary(self, flap_gap: DurationLike = "15m") -> pl.DataFrame:
        """One-row overview: episodes, alerts fired, firing time, durations, rates, flapping.

        ``flapping`` counts alert identities that fired again less than ``flap_gap`` after
        resolving (Prometheus keeps re-sending a resolved alert for 15m, so such re-fires
        reach Alertmanager as a flap).
        """
        return summarise(self.raw_episodes, self.eval_times_ms.shape[0], self.interval_ms,
                         parse_duration_ms(flap_gap))

    def to_promtool_test(self, directory: str | Path, *, window: int = 120,
                         start: TimeLike | None = None, max_series: int = 50,
                         check: bool = True, stem: str | None = None) -> Path:
        """Write a ``promtool test rules`` file pinning this backtest on a sampled window.

        See :func:`workbench.analysis.alerting.promtool_test.write_promtool_test`.
        """
        from .promtool_test import write_promtool_test

        return write_promtool_test(self, directory, window=window, start=start,
                                   max_series=max_series, check=check, stem=stem)


def episodes_frame(raw: pl.DataFrame, identities: pl.DataFrame, interval_ms: int,
                   n_steps: int) -> pl.DataFrame:
    """Join episode timings with the alert labels; times as UTC datetimes, durations in s."""
    ident = identities.with_row_index("series_idx").with_columns(
        pl.col("series_idx").cast(pl.Int64))
    fire_or_end = pl.coalesce("fire_step", "end_step")
    out = raw.with_columns(
        pending_s=((fire_or_end - pl.col("start_step")) * interval_ms / 1000),
        firing_s=pl.when(pl.col("fire_step").is_null()).then(0.0)
        .otherwise((pl.col("end_step") - pl.col("fire_step")) * interval_ms / 1000),
    ).join(ident, on="series_idx", how="left")
    label_cols = list(identities.columns)
    return out.select(
        *label_cols,
        pl.col("active_at").cast(TIMESTAMP), pl.col("fired_at").cast(TIMESTAMP),
        pl.col("resolved_at").cast(TIMESTAMP), "pending_s", "firing_s",
    )


SUMMARY_SCHEMA = {"episodes": pl.Int64, "alerts_fired": pl.Int64, "pending_only": pl.Int64,
                  "identities_fired": pl.Int64, "firing_s": pl.Float64,
                  "firing_share": pl.Float64, "median_firing_s": pl.Float64,
                  "p90_firing_s": pl.Float64, "fired_per_day": pl.Float64, "flapping": pl.Int64,
                  "still_firing": pl.Int64}


def summary_row(series_idx: npt.NDArray[np.int64], fire_step: npt.NDArray[np.int64],
                start_step: npt.NDArray[np.int64], end_step: npt.NDArray[np.int64], n_steps: int,
                interval_ms: int, flap_gap_ms: int) -> dict[str, float | int | None]:
    """Summary figures from episode arrays (``fire_step`` -1 = never fired), numpy only.

    Durations count evaluations in the state times the interval (what
    ``count_over_time(ALERTS{alertstate="firing"}[...]) * interval`` gives).
    """
    fired = fire_step >= 0
    n_fired = int(fired.sum())
    dur = (end_step[fired] - fire_step[fired]) * interval_ms / 1000
    span_s = n_steps * interval_ms / 1000
    days = max(span_s, 1e-9) / 86_400
    flapping = 0
    if n_fired > 1:
        sid, st, en = series_idx[fired], start_step[fired], end_step[fired]  # sorted by sid, time
        same = sid[1:] == sid[:-1]
        gap_ms = (st[1:] - en[:-1]) * interval_ms
        flapping = int(np.unique(sid[1:][same & (gap_ms < flap_gap_ms)]).size)
    return {
        "episodes": int(series_idx.size),
        "alerts_fired": n_fired,
        "pending_only": int(series_idx.size - n_fired),
        "identities_fired": int(np.unique(series_idx[fired]).size),
        "firing_s": float(dur.sum()),
        "firing_share": float(dur.sum()) / span_s if span_s else 0.0,
        "median_firing_s": float(np.median(dur)) if n_fired else None,
        "p90_firing_s": float(np.quantile(dur, 0.9, method="closest_observation"))
        if n_fired else None,
        "fired_per_day": n_fired / days,
        "flapping": flapping,
        "still_firing": int((fired & (end_step >= n_steps)).sum()),
    }


def summarise(raw_episodes: pl.DataFrame, n_steps: int, interval_ms: int,
              flap_gap_ms: int) -> pl.DataFrame:
    """The :meth:`BacktestResult.summary` row from an :func:`alert_episodes` frame."""
    row = summary_row(
        raw_episodes["series_idx"].to_numpy(), raw_episodes["fire_step"].fill_null(-1).to_numpy(),
        raw_episodes["start_step"].to_numpy(), raw_episodes["end_step"].to_numpy(), n_steps,
        interval_ms, flap_gap_ms)
    return pl.DataFrame({k: [v] for k, v in row.items()}, schema=SUMMARY_SCHEMA)


def backtest_matrix(matrix: SeriesMatrix, rule: Rule, interval_ms: int, *,
                    server_version: str | None = None,
                    scrape_interval_ms: int | None = None,
                    external_labels: Mapping[str, str] | None = None) -> BacktestResult:
    """Backtest on already-fetched results (pure; :func:`backtest` fetches then calls this)."""
    _check_inputs(matrix, rule, interval_ms, "backtest_matrix")
    alerts = alert_input(matrix, rule, external_labels=external_labels)
    raw = alert_episodes(alerts.present, matrix.eval_times_ms, rule.for_ms,
                         rule.keep_firing_for_ms)
    notes = rule_advice(rule, interval_ms, scrape_interval_ms=scrape_interval_ms,
                        server_version=server_version)
    return BacktestResult(rule, interval_ms, matrix.eval_times_ms, matrix, alerts, raw,
                          server_version, notes)


def _scrape_interval_ms(prom: Prometheus) -> int | None:
    with contextlib.suppress(WorkbenchError, KeyError, ValueError):
        t = prom.targets()
        s = t["scrape_interval_s"].drop_nulls()
        if s.len():
            return round(float(s.to_numpy().max()) * 1000)
    return None


def backtest(prom: Prometheus, rule: Rule, start: TimeLike, end: TimeLike = "now",
             interval: DurationLike = "1m", *, offset: DurationLike = 0,
             scrape_interval: DurationLike | None = None,
             external_labels: Mapping[str, str] | None = None) -> BacktestResult:
    """Replay ``rule`` over ``[start, end]`` with Prometheus's rule semantics.

    Parameters
    ----------
    prom
        The server holding the history.
    rule
        The rule (threshold or full expression).
    start, end
        The range (any form :class:`~workbench.Prometheus` accepts).
    interval
        The rule group's evaluation interval.
    offset
        The evaluation phase within the interval (Prometheus: ``hash(group, file) % interval``;
        read it from ``lastEvaluation`` of a deployed group). Default 0.
    scrape_interval
        For the rate-window advice; read from the server's targets when omitted.
    external_labels
        ``$externalLabels`` for templates.

    Returns
    -------
    BacktestResult
        ``.episodes``, ``.summary()``, ``.states()``, ``.samples()``, ``.advice``,
        ``.to_promtool_test(...)``.

    Warns
    -----
    EngineWarning
        When the server is not a Prometheus-engine one (VictoriaMetrics): the replay is then
        approximate (see docs/backends.md).
    """
    interval_ms = parse_duration_ms(interval)
    from ...sources.prometheus.engine import warn_unless_promql_exact

    warn_unless_promql_exact(prom, "backtest")  # MetricsQL answers differently: say so
    grid = evaluation_grid(start, end, interval, offset=offset, now=prom.now())
    version = _server_version(prom)
    expr = rule.expr if rule.is_threshold else rule.condition
    matrix = fetch_matrix(prom, expr, grid, interval_ms)
    scrape_ms = (parse_duration_ms(scrape_interval) if scrape_interval is not None
                 else _scrape_interval_ms(prom))
    return backtest_matrix(matrix, rule, interval_ms, server_version=version,
                           scrape_interval_ms=scrape_ms, external_labels=external_labels)
