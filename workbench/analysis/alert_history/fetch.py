"""Read ``ALERTS`` / ``ALERTS_FOR_STATE`` from Prometheus: :func:`fetch_alert_history`.

Raw samples are read with instant queries of range selectors (``ALERTS[6h]`` at successive
times), never ``query_range``, whose lookback would bridge gaps and lengthen episodes (see
:mod:`.episodes`). Only pending/firing evaluations have samples, so the volume follows the time
alerts spent active, not the number of identities times the window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import polars as pl

from ..._time import DurationLike, TimeLike, parse_duration_ms, parse_time_ms
from ...frames import DATA_COLUMNS
from .episodes import empty_episodes, episodes_from_samples, volatile_labels
from .summary import alert_summary, heatmap

if TYPE_CHECKING:
    from ...sources.prometheus.client import Prometheus

__all__ = ["AlertHistory", "fetch_alert_history", "fetch_current_alerts", "fetch_raw_samples"]


@dataclass
class AlertHistory:
    """What fired in a window, read from ``ALERTS`` / ``ALERTS_FOR_STATE``.

    Attributes
    ----------
    episodes
        Same schema as :attr:`workbench.alerting.BacktestResult.episodes`.
    start, end
        The window (UTC datetimes).
    samples
        ``ALERTS`` samples read.
    volatile
        Labels dropped per alert name because they template ``$value``.
    message
        Empty when alerts were found; otherwise what was (not) found and what to check.
    """

    episodes: pl.DataFrame
    start: datetime
    end: datetime
    samples: int = 0
    volatile: dict[str, list[str]] = field(default_factory=dict)
    message: str = ""

    @property
    def empty(self) -> bool:
        """Whether no alert was pending or firing in the window."""
        return self.episodes.height == 0

    def summary(self, by: tuple[str, ...] = ("alertname",), flap_gap: DurationLike = "15m"
                ) -> pl.DataFrame:
        """:func:`~workbench.alert_history.alert_summary` of the episodes."""
        return alert_summary(self.episodes, by, flap_gap_s=parse_duration_ms(flap_gap) / 1000)

    def heatmap(self, tz: str = "UTC") -> pl.DataFrame:
        """:func:`~workbench.alert_history.heatmap` of the episodes."""
        return heatmap(self.episodes, tz=tz)


def fetch_raw_samples(prom: Prometheus, selector: str, start_ms: int, end_ms: int, *,
                      chunk_ms: int = 6 * 3600_000) -> pl.DataFrame:
    """Every raw sample of ``selector`` in ``[start_ms, end_ms]`` (chunked range selectors).

    Each chunk is an instant query of ``selector[chunk]`` at the chunk's end; samples on a
    chunk boundary (closed windows in Prometheus 2.x) are de-duplicated.
    """
    frames = []
    t = end_ms
    while t > start_ms:
        width = min(chunk_ms, t - start_ms)
        f = prom.query(f"{selector}[{width}ms]", time=t / 1000)
        if f.height:
            frames.append(f)
        t -= width
    if not frames:
        return pl.DataFrame(schema={"timestamp": pl.Datetime("ms", "UTC"), "value": pl.Float64})
    out = pl.concat(frames, how="diagonal_relaxed")
    labels = sorted(c for c in out.columns if c not in DATA_COLUMNS)
    return out.unique(subset=[*labels, "timestamp"], keep="first").select(
        *DATA_COLUMNS, *labels)


def fetch_alert_history(
    prom: Prometheus,
    start: TimeLike,
    end: TimeLike = "now",
    *,
    matchers: str = "",
    gap_tolerance: DurationLike = "5m",
    volatile_labels_: dict[str, list[str]] | None = None,
    chunk: DurationLike = "6h",
) -> AlertHistory:
    """Alert episodes over ``[start, end]`` from the server's ``ALERTS`` history.

    Parameters
    ----------
    prom
        The Prometheus (or compatible) server that evaluated the rules, or stores their
        ``ALERTS`` series (Thanos, Mimir, VictoriaMetrics with vmalert).
    start, end
        The window.
    matchers
        Extra label matchers, e.g. ``'severity="critical"'`` or ``'namespace=~"prod-.*"'``.
    gap_tolerance
        Without ``ALERTS_FOR_STATE``, a gap in an identity's samples up to this long (a restart,
        a missed evaluation) does not end the episode (see :mod:`.episodes`).
    volatile_labels_
        Labels to drop per alert name (default: detected; see :func:`volatile_labels`).
    chunk
        Width of one range-selector query.

    Returns
    -------
    AlertHistory
        ``.episodes`` (the backtest schema), ``.summary()``, ``.heatmap()``, and a ``.message``
        saying so when the window holds no ``ALERTS`` at all.

    Examples
    --------
    >>> h = fetch_alert_history(Prometheus("demo"), "now-7d")  # doctest: +SKIP
    >>> h.summary().head()  # doctest: +SKIP
    """
    now = prom.now()
    start_ms = parse_time_ms(start, now=lambda: now)
    end_ms = parse_time_ms(end, now=lambda: now)
    inner = "{" + matchers + "}" if matchers else ""
    chunk_ms = parse_duration_ms(chunk)
    alerts = fetch_raw_samples(prom, f"ALERTS{inner}", start_ms, end_ms, chunk_ms=chunk_ms)
    t0 = datetime.fromtimestamp(start_ms / 1000, tz=UTC)
    t1 = datetime.fromtimestamp(end_ms / 1000, tz=UTC)
    if alerts.height == 0 or "alertname" not in alerts.columns:
        msg = (f"No ALERTS series between {t0:%Y-%m-%d %H:%M} and {t1:%Y-%m-%d %H:%M} UTC"
               f"{f' matching {inner}' if inner else ''}: no alert was pending or firing, or "
               "this server does not evaluate the alerting rules (point it at the Prometheus "
               "that does, or at the long-term store holding its ALERTS series).")
        return AlertHistory(empty_episodes(), t0, t1, 0, {}, msg)
    fs = fetch_raw_samples(prom, f"ALERTS_FOR_STATE{inner}", start_ms, end_ms,
                           chunk_ms=chunk_ms)
    vol = volatile_labels(alerts) if volatile_labels_ is None else volatile_labels_
    ep = episodes_from_samples(alerts, fs, end_ms=end_ms,
                               gap_tolerance_ms=parse_duration_ms(gap_tolerance), volatile=vol)
    return AlertHistory(ep, t0, t1, alerts.height, vol, "")


def fetch_current_alerts(prom: Prometheus) -> pl.DataFrame:
    """Alerts pending or firing right now (Prometheus ``/api/v1/alerts``), firing first."""
    f = prom.alerts()
    if f.height == 0:
        return f
    return f.sort(pl.col("state") != "firing", "alertname", "active_at")
