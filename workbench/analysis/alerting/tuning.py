"""Threshold tuning: fetch a rule's left-hand side once, then recompute locally per candidate.

:func:`fetch_tuning` runs the one ``query_range``; :meth:`Tuning.evaluate` replays a candidate
(threshold, ``for``, ``keep_firing_for``) with the exact rule semantics of :func:`backtest`
(same code path: :func:`backtest_matrix`), scores it against incidents when given, and
:meth:`Tuning.heatmap` sweeps a threshold x ``for`` grid. :meth:`Tuning.series` and
:func:`episode_bands` give chart-ready frames (bounded row counts).

Examples
--------
>>> from workbench import Prometheus
>>> from workbench.analysis.alerting import Rule
>>> t = fetch_tuning(Prometheus("http://127.0.0.1:9090"),
...                  Rule(alert="HighLoad", expr="node_load1", op=">", threshold=4), "now-2d")
... # doctest: +SKIP
>>> t.evaluate(threshold=3, for_="5m").figures  # doctest: +SKIP
"""

from __future__ import annotations

import warnings
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from ..._errors import AlertRuleError
from ..._time import DurationLike, TimeLike, format_duration, parse_duration_ms
from ...frames import TIMESTAMP
from .advice import advice as rule_advice
from .backtest import (
    BacktestResult,
    _scrape_interval_ms,
    _server_version,
    evaluation_grid,
    fetch_matrix,
)
from .identity import AlertInput, SeriesMatrix, alert_input
from .incidents import FIGURE_SCHEMA, incident_figures, incidents_for_alert, load_incidents
from .rule import Rule
from .ruleset import threshold_rule
from .state import alert_episodes
from .sweep import sweep_matrix

if TYPE_CHECKING:
    from ...sources.prometheus.client import Prometheus

__all__ = ["Tuned", "Tuning", "episode_bands", "fetch_tuning", "nice_thresholds", "series_label"]

_DEFAULT_INTERVAL_MS = 60_000
#: Labels that name a series on their own, in order of preference (the first that tells the
#: charted series apart names them).
_NAMING = ("instance", "pod", "persistentvolumeclaim", "mountpoint", "device", "container",
           "namespace", "node", "job")


@dataclass
class Tuned:
    """One candidate: the backtest and its figures (summary, incidents when given)."""

    result: BacktestResult
    figures: dict[str, Any]


@dataclass
class Tuning:
    """A rule's fetched left-hand side, ready for local recomputation.

    Attributes
    ----------
    rule
        The rule, in threshold form when its expression is ``lhs op number``.
    matrix
        The fetched left-hand side (or whole expression) on the evaluation grid.
    interval_ms
        The evaluation interval.
    incidents
        Incident windows for this rule (or ``None``).
    """

    rule: Rule
    matrix: SeriesMatrix
    interval_ms: int
    incidents: pl.DataFrame | None = None
    server_version: str | None = None
    scrape_interval_ms: int | None = None
    _alerts: OrderedDict[float | None, AlertInput] = field(default_factory=OrderedDict,
                                                           repr=False)

    @property
    def days(self) -> float:
        """Length of the window in days (evaluations x interval)."""
        return float(max(self.matrix.eval_times_ms.shape[0] * self.interval_ms, 1)) / 86_400_000

    def alerts(self, threshold: float | None) -> AlertInput:
        """Identities and presence for ``threshold`` (cached: sliders revisit values)."""
        key = threshold if self.rule.is_threshold else None
        hit = self._alerts.get(key)
        if hit is None:
            hit = alert_input(self.matrix, self.rule, threshold=key)
            self._alerts[key] = hit
            if len(self._alerts) > 32:
                self._alerts.popitem(last=False)
        return hit

    def candidate(self, threshold: float | None = None, for_: DurationLike | None = None,
                  keep_firing_for: DurationLike | None = None) -> Rule:
        """The rule with these values (``None`` keeps the rule's own)."""
        changes: dict[str, Any] = {}
        if threshold is not None:
            if not self.rule.is_threshold:
                msg = (f"Rule {self.rule.alert} is not 'expr op number', so it has no threshold "
                       "to tune. Fix: type the left-hand side as expr with op and threshold.")
                raise AlertRuleError(msg)
            changes["threshold"] = float(threshold)
        if for_ is not None:
            changes["for_"] = format_duration(parse_duration_ms(for_))
        if keep_firing_for is not None:
            changes["keep_firing_for"] = format_duration(parse_duration_ms(keep_firing_for))
        return self.rule.with_(**changes) if changes else self.rule

    def evaluate(self, threshold: float | None = None, for_: DurationLike | None = None,
                 keep_firing_for: DurationLike | None = None, *,
                 flap_gap: DurationLike = "15m") -> Tuned:
        """Backtest one candidate locally (no fetch); figures are the summary columns plus the
        incident columns when incidents were given."""
        rule = self.candidate(threshold, for_, keep_firing_for)
        alerts = self.alerts(rule.threshold)
        t = self.matrix.eval_times_ms
        raw = alert_episodes(alerts.present, t, rule.for_ms, rule.keep_firing_for_ms)
        notes = rule_advice(rule, self.interval_ms, scrape_interval_ms=self.scrape_interval_ms,
                            server_version=self.server_version)
        result = BacktestResult(rule, self.interval_ms, t, self.matrix, alerts, raw,
                                self.server_version, notes)
        figures = result.summary(flap_gap=flap_gap).row(0, named=True)
        if self.incidents is not None:
            fig = incident_figures(alerts.identities, raw["series_idx"].to_numpy(),
                                   raw["fire_step"].fill_null(-1).to_numpy(),
                                   raw["end_step"].to_numpy(), t, self.incidents)
            figures.update({k: fig[k] for k in FIGURE_SCHEMA})
        return Tuned(result, figures)

    def threshold_range(self, n: int = 100) -> tuple[float, float, float]:
        """``(low, high, step)`` for a threshold slider: the span of the fetched values (and the
        rule's own threshold), in ``n`` steps."""
        v = self.matrix.values[self.matrix.present]
        v = v[np.isfinite(v)]
        thr = self.rule.threshold if self.rule.threshold is not None else 0.0
        lo = float(min(v.min(), thr)) if v.size else thr - 1
        hi = float(max(v.max(), thr)) if v.size else thr + 1
        if hi <= lo:
            lo, hi = lo - 1, hi + 1
        step = float(f"{(hi - lo) / n:.1g}")
        lo = np.floor(lo / step) * step
        hi = np.ceil(hi / step) * step
        return float(lo), float(hi), step

    def heatmap(self, thresholds: Sequence[float] | None = None,
                for_: Sequence[DurationLike] = ("0s", "1m", "2m", "5m", "10m", "15m", "30m",
                                                "1h"),
                keep_firing_for: DurationLike | None = None) -> pl.DataFrame:
        """:func:`~workbench.alerting.sweep.sweep_matrix` over a threshold x ``for`` grid
        (thresholds default to 10 values across :meth:`threshold_range`)."""
        if thresholds is None and self.rule.is_threshold:
            thresholds = nice_thresholds(*self.threshold_range()[:2],
                                         include=self.rule.threshold)
        keep = None if keep_firing_for is None else [keep_firing_for]
        return sweep_matrix(self.matrix, self.rule,
                            thresholds if self.rule.is_threshold else None, list(for_), keep,
                            interval_ms=self.interval_ms, incidents=self.incidents)

    def series(self, max_points: int = 4000, max_series: int = 8) -> pl.DataFrame:
        """The fetched values for charting: ``timestamp``, ``series`` (a short label), ``value``.

        At most ``max_series`` series (those with the most extreme values in the rule's
        direction first) and about ``max_points`` rows: the values are bucketed in time, keeping
        each bucket's maximum for ``>``/``>=`` rules, minimum for ``<``/``<=``, mean otherwise,
        so a threshold crossing stays visible.
        """
        m = self.matrix
        vals = np.where(m.present, m.values, np.nan)
        n, steps = vals.shape
        if n == 0 or steps == 0:
            return pl.DataFrame(schema={"timestamp": TIMESTAMP, "series": pl.String,
                                        "value": pl.Float64})
        op = self.rule.op or ">"
        with np.errstate(all="ignore"):
            finite = np.where(np.isfinite(vals), vals, np.nan)
            if op.startswith("<"):
                score = -np.nanmin(np.where(np.isnan(finite), np.inf, finite), axis=1)
            else:
                score = np.nanmax(np.where(np.isnan(finite), -np.inf, finite), axis=1)
        keep = np.argsort(-score, kind="stable")[:max_series]
        keep.sort()
        bucket = max(1, -(-steps * len(keep) // max_points))
        n_b = -(-steps // bucket)
        pad = n_b * bucket - steps
        sub = np.pad(finite[keep], ((0, 0), (0, pad)), constant_values=np.nan).reshape(
            len(keep), n_b, bucket)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)      # all-NaN buckets
            if op.startswith("<"):
                agg = np.nanmin(sub, axis=2)
            elif op.startswith(">"):
                agg = np.nanmax(sub, axis=2)
            else:
                agg = np.nanmean(sub, axis=2)
        t = m.eval_times_ms[::bucket][:n_b]
        shown = m.labels[keep]
        varying = [c for c in shown.columns
                   if c != "__name__" and shown[c].n_unique() > 1] or list(shown.columns)
        unique = next((c for c in _NAMING if c in varying
                       and shown[c].n_unique() == shown.height and shown[c].null_count() == 0),
                      None)
        labels = ([f"{unique}={v}" for v in shown[unique].to_list()] if unique else
                  [series_label(r) for r in shown.select(varying).iter_rows(named=True)])
        frame = pl.DataFrame({
            "timestamp": np.tile(t, len(keep)),
            "series": np.repeat(np.array(labels, dtype=object), n_b).tolist(),
            "value": agg.reshape(-1),
        }).with_columns(pl.col("timestamp").cast(TIMESTAMP))
        return frame.with_columns(pl.col("value").fill_nan(None))


def nice_thresholds(low: float, high: float, n: int = 10,
                    include: float | None = None) -> list[float]:
    """About ``n`` round thresholds in ``(low, high]`` (multiples of 1, 2 or 5 x 10^k), plus
    ``include`` (the rule's own).

    Examples
    --------
    >>> nice_thresholds(0.32, 7.92, include=6.0)
    [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    >>> nice_thresholds(0, 0.62, include=0.25)
    [0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6]
    """
    for name, v in (("low", low), ("high", high), ("include", include)):
        if v is None and name == "include":
            continue
        if isinstance(v, bool) or not isinstance(v, int | float | np.integer | np.floating) \
                or not abs(float(v)) <= 1e300:
            msg = (f"nice_thresholds: {name} must be a finite number, got {v!r:.60}. Fix: pass "
                   "the lowest and highest value of the series, e.g. nice_thresholds(0, 7.9).")
            raise AlertRuleError(msg)
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or not 1 <= n <= 1000:
        msg = f"nice_thresholds: n must be a whole number from 1 to 1000, got {n!r:.60}. Fix: n=10."
        raise AlertRuleError(msg)
    low, high = float(low), float(high)
    # a span below ~1e-9 of the values' size would step below float precision
    span = max(high - low, 1e-12, 1e-9 * max(abs(low), abs(high)))
    raw = span / n
    mag = 10 ** np.floor(np.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = np.floor(low / step) * step + step
    vals = {float(f"{v:.6g}") for v in np.arange(first, high + step / 2, step) if v <= high}
    if include is not None:
        vals.add(float(include))
    return sorted(vals)


def series_label(labels: dict[str, Any], max_len: int = 60) -> str:
    """A short name for a series: the labels that usually tell series apart, else all.

    Examples
    --------
    >>> series_label({"__name__": "up", "job": "node", "instance": "10.0.0.1:9100"})
    'instance=10.0.0.1:9100'
    """
    if not isinstance(labels, Mapping):
        msg = (f"series_label: labels must be a dict of label names to values, got "
               f"{type(labels).__name__}. Fix: pass e.g. {{'instance': '10.0.0.1:9100'}}.")
        raise AlertRuleError(msg)
    if isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 2:
        msg = f"series_label: max_len must be a whole number >= 2, got {max_len!r:.60}. Fix: 60."
        raise AlertRuleError(msg)
    items = {k: v for k, v in labels.items() if v is not None and k != "__name__"}
    for keys in (("namespace", "pod", "container"), ("instance", "mountpoint"), ("instance",),
                 ("persistentvolumeclaim",), ("namespace",), ("job",)):
        picked = [f"{k}={items[k]}" for k in keys if k in items]
        if picked:
            text = ",".join(picked)
            return text if len(text) <= max_len else text[:max_len - 1] + "…"
    text = ",".join(f"{k}={v}" for k, v in sorted(items.items(), key=lambda kv: str(kv[0])))
    text = text or "{}"
    return text if len(text) <= max_len else text[:max_len - 1] + "…"


def episode_bands(result: BacktestResult, max_bands: int = 2000) -> pl.DataFrame:
    """Pending and firing intervals of a backtest for shading: ``start``, ``end``, ``state``
    (``pending``/``firing``), ``alert`` (the alert's labels, short). Still-active alerts end at
    the last evaluation; at most ``max_bands`` rows (longest first)."""
    raw = result.raw_episodes
    t = result.eval_times_ms
    end_of_window = int(t[-1]) + result.interval_ms if t.size else 0
    ident = result.alerts.identities
    cols = [c for c in ident.columns if c != "alertname"]
    varying = [c for c in cols if ident[c].n_unique() > 1] or cols
    names = [series_label(r) for r in ident.select(varying).iter_rows(named=True)] \
        if varying else [result.rule.alert] * ident.height
    alert = pl.Series("alert", names, dtype=pl.String)
    ep = raw.select("series_idx", "active_at", "fired_at", "resolved_at").with_columns(
        alert=alert.gather(raw["series_idx"]) if raw.height else pl.lit(None, pl.String))
    stop = pl.coalesce("resolved_at", pl.lit(end_of_window))
    pending = ep.select(start=pl.col("active_at"), end=pl.coalesce("fired_at", stop),
                        state=pl.lit("pending"), alert="alert")
    firing = ep.filter(pl.col("fired_at").is_not_null()).select(
        start=pl.col("fired_at"), end=stop, state=pl.lit("firing"), alert="alert")
    bands = pl.concat([pending, firing]).filter(pl.col("end") > pl.col("start"))
    if bands.height > max_bands:
        bands = bands.sort(pl.col("end") - pl.col("start"), descending=True).head(max_bands)
    return bands.sort("start").with_columns(pl.col("start", "end").cast(TIMESTAMP))


def fetch_tuning(prom: Prometheus, rule: Rule, start: TimeLike, end: TimeLike = "now",
                 interval: DurationLike | None = None, *, offset: DurationLike = 0,
                 incidents: pl.DataFrame | str | Path | None = None,
                 alertname: str | None = None) -> Tuning:
    """Fetch ``rule``'s left-hand side once (the rule in threshold form when its expression is
    ``lhs op number``) for local tuning.

    Parameters
    ----------
    prom
        The server.
    rule
        The rule to tune.
    start, end, offset
        The range, as in :func:`~workbench.backtest`.
    interval
        Evaluation interval (default the rule's group interval, else 1m).
    incidents, alertname
        Incident windows to score against (frame or CSV); ``alertname`` picks incidents meant
        for another rule name (default: those for this rule, or all without an ``alertname``
        column).
    """
    tr = threshold_rule(rule)
    interval_ms = (parse_duration_ms(interval) if interval is not None
                   else rule.interval_ms or _DEFAULT_INTERVAL_MS)
    grid = evaluation_grid(start, end, interval_ms / 1000, offset=offset, now=prom.now())
    matrix = fetch_matrix(prom, tr.expr if tr.is_threshold else tr.condition, grid, interval_ms)
    inc = None
    if incidents is not None:
        inc = incidents_for_alert(load_incidents(incidents), tr.alert, alertname,
                                  warn=False)   # many rules have no incident: no noise
    return Tuning(tr, matrix, interval_ms, inc, _server_version(prom), _scrape_interval_ms(prom))
