"""kwatch-style workload events from kube-state-metrics and kubelet metrics over a window.

Every query is a ``query_range`` at ``step`` that returns only the steps where something is
wrong (``== 1``, ``> 0``, ``> threshold``), so the volume follows the incidents, not the cluster.

==================  =====================================================================  =========
reason              from                                                                   kind
==================  =====================================================================  =========
waiting reasons     ``kube_pod_container_status_waiting_reason == 1`` (``CrashLoopBackOff``,  Pod
                    ``ImagePullBackOff``, ``ErrImagePull``, ``CreateContainerConfigError``,
                    ...); one occurrence per run of steps, ``count`` = occurrences
terminations        restarts in a step (``restarts_total - restarts_total offset step > 0``)   Pod
                    joined with ``kube_pod_container_status_last_terminated_reason == 1``
                    (``OOMKilled``, ``Error``, ...; ``Unknown`` without it); ``count`` =
                    restarts, first/last seen = first/last restart
``RestartBurst``    at least ``burst_restarts`` restarts of one container within               Pod
                    ``burst_window`` (kube-prometheus's KubePodCrashLooping looks at 5m)
``PodFailed``       ``kube_pod_status_phase{phase="Failed"} == 1``                              Pod
``PodPending``      ``kube_pod_status_phase{phase="Pending"} == 1`` for at least               Pod
                    ``pending_for``
``PVCUsageHigh``    ``kubelet_volume_stats_used_bytes / kubelet_volume_stats_capacity_bytes  PVC
                    > pvc_threshold`` (kwatch's pvcMonitor: 70 %); ``value`` = highest ratio
==================  =====================================================================  =========

A restart is dated at the first step whose sample shows it, so times are exact to one ``step``
(the scrape interval at most, when ``step`` equals it). Conditions read the last sample of the
step (``last_over_time(x[step - 1ms])``), not the 5-minute lookback, so a series that ends
without a staleness marker (a backfill, a remote-write gap) is not seen after its last sample.
``step`` must therefore be at least the scrape interval (the default 1m suits 15-60 s scrapes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from ..._time import DurationLike, TimeLike, parse_duration_ms, parse_time_ms
from ...sources.kubernetes.events import EVENT_SCHEMA, empty_events
from .occurrences import fold, occurrences, restart_bursts

if TYPE_CHECKING:
    from ...sources.prometheus.client import Prometheus

__all__ = ["QUERIES", "fetch_workload_events", "pvc_usage"]

_POD = ["namespace", "pod", "container"]

#: The PromQL behind each kind of event (``{step}``, ``{fresh}`` and ``{threshold}`` filled in).
QUERIES = {
    "waiting": "last_over_time(kube_pod_container_status_waiting_reason[{fresh}]) == 1",
    "restarts": (
        "(kube_pod_container_status_restarts_total - kube_pod_container_status_restarts_total "
        "offset {step}) > 0"),
    "terminated": "last_over_time(kube_pod_container_status_last_terminated_reason[{fresh}]) == 1",
    "phase": 'last_over_time(kube_pod_status_phase{{phase=~"Failed|Pending"}}[{fresh}]) == 1',
    "pvc": ("max by (namespace, persistentvolumeclaim) ("
            "last_over_time(kubelet_volume_stats_used_bytes[{fresh}]) / "
            "last_over_time(kubelet_volume_stats_capacity_bytes[{fresh}])) > {threshold}"),
    "pvc_usage": ("max by (namespace, persistentvolumeclaim) (kubelet_volume_stats_used_bytes / "
                  "kubelet_volume_stats_capacity_bytes)"),
}


def _range(prom: Prometheus, expr: str, start_ms: int, end_ms: int, step_ms: int) -> pl.DataFrame:
    return prom.query_range(expr, start_ms / 1000, end_ms / 1000, f"{step_ms}ms")


def _terminations(restarts: pl.DataFrame, reasons: pl.DataFrame) -> pl.DataFrame:
    """Each restart step with the container's last termination reason at that step."""
    r = restarts.select("timestamp", "value", *[c for c in _POD if c in restarts.columns])
    if reasons.height and "reason" in reasons.columns:
        why = reasons.select("timestamp", *[c for c in _POD if c in reasons.columns], "reason")
        why = why.unique(subset=[c for c in why.columns if c != "reason"], keep="last")
        on = ["timestamp", *[c for c in _POD if c in r.columns and c in why.columns]]
        r = r.join(why, on=on, how="left", nulls_equal=True)
    else:
        r = r.with_columns(pl.lit(None, dtype=pl.String).alias("reason"))
    return r.with_columns(pl.col("reason").fill_null("Unknown"))


def fetch_workload_events(
    prom: Prometheus,
    start: TimeLike,
    end: TimeLike = "now",
    step: DurationLike = "1m",
    *,
    pvc_threshold: float = 0.70,
    pending_for: DurationLike = "5m",
    burst_restarts: int = 3,
    burst_window: DurationLike = "15m",
    gap: DurationLike = "3m",
) -> pl.DataFrame:
    """Workload events over ``[start, end]`` (see the module table), most recent first.

    A condition missing for at most ``gap`` (a failed scrape, a restart) stays one occurrence.

    Returns
    -------
    polars.DataFrame
        :data:`~workbench.events.EVENT_SCHEMA`; empty (with the columns) when nothing happened
        or the server has no kube-state-metrics / kubelet series.

    Examples
    --------
    >>> ev = fetch_workload_events(Prometheus("demo"), "now-7d")  # doctest: +SKIP
    >>> ev.filter(pl.col("reason") == "OOMKilled")  # doctest: +SKIP
    """
    now = prom.now()
    s = parse_time_ms(start, now=lambda: now)
    e = parse_time_ms(end, now=lambda: now)
    step_ms = parse_duration_ms(step)
    gap_ms = max(parse_duration_ms(gap), step_ms * 3 // 2)
    out = []

    fresh = f"{step_ms - 1}ms"  # the samples of this step only, on 2.x closed windows too
    waiting = _range(prom, QUERIES["waiting"].format(fresh=fresh), s, e, step_ms)
    if waiting.height and "reason" in waiting.columns:
        occ = occurrences(waiting, [*_POD, "reason"], step_ms=step_ms, gap_ms=gap_ms)
        out.append(fold(occ, source="kube-state-metrics", reason=pl.col("reason"), kind="Pod",
                        name="pod", container="container", message=pl.concat_str(
                            pl.lit("Container "), pl.col("_container").fill_null("?"),
                            pl.lit(" of pod "), pl.col("_ns"), pl.lit("/"), pl.col("_name"),
                            pl.lit(" waiting: "), pl.col("_reason"), pl.lit(" ("),
                            pl.col("count").cast(pl.String), pl.lit(" times)"))))

    restarts = _range(prom, QUERIES["restarts"].format(step=f"{step_ms}ms"), s, e, step_ms)
    if restarts.height and "pod" in restarts.columns:
        reasons = _range(prom, QUERIES["terminated"].format(fresh=fresh), s, e, step_ms)
        term = _terminations(restarts, reasons)
        occ = occurrences(term, [*_POD, "reason"], step_ms=step_ms, gap_ms=0)
        out.append(fold(occ, source="kube-state-metrics", reason=pl.col("reason"), kind="Pod",
                        name="pod", container="container", count="value_sum",
                        value=None, last="start", message=pl.concat_str(
                            pl.lit("Container "), pl.col("_container").fill_null("?"),
                            pl.lit(" of pod "), pl.col("_ns"), pl.lit("/"), pl.col("_name"),
                            pl.lit(" terminated: "), pl.col("_reason"), pl.lit(" ("),
                            pl.col("count").cast(pl.String), pl.lit(" restarts)"))))
        bursts = restart_bursts(restarts.select("timestamp", "value", *[
            c for c in _POD if c in restarts.columns]), [c for c in _POD if c in restarts.columns],
            window_ms=parse_duration_ms(burst_window), min_restarts=burst_restarts)
        out.append(fold(bursts, source="kube-state-metrics", reason="RestartBurst", kind="Pod",
                        name="pod", container="container", value="value_sum",
                        message=pl.concat_str(
                            pl.lit("Container "), pl.col("_container").fill_null("?"),
                            pl.lit(" of pod "), pl.col("_ns"), pl.lit("/"), pl.col("_name"),
                            pl.lit(f" restarted {burst_restarts}+ times within {burst_window}"),
                            pl.lit(" ("), pl.col("count").cast(pl.String), pl.lit(" bursts)"))))

    phase = _range(prom, QUERIES["phase"].format(fresh=fresh), s, e, step_ms)
    if phase.height and "phase" in phase.columns:
        occ = occurrences(phase, ["namespace", "pod", "phase"], step_ms=step_ms, gap_ms=gap_ms)
        long_enough = ((pl.col("phase") == "Failed")
                       | ((pl.col("end") - pl.col("start")).dt.total_milliseconds() + step_ms
                          >= parse_duration_ms(pending_for)))
        occ = occ.filter(long_enough)
        out.append(fold(occ, source="kube-state-metrics",
                        reason=pl.concat_str(pl.lit("Pod"), pl.col("phase")), kind="Pod",
                        name="pod", message=pl.concat_str(
                            pl.lit("Pod "), pl.col("_ns"), pl.lit("/"), pl.col("_name"),
                            pl.lit(" "), pl.col("_reason").str.slice(3).str.to_lowercase())))

    pvc = _range(prom, QUERIES["pvc"].format(threshold=repr(float(pvc_threshold)), fresh=fresh),
                 s, e, step_ms)
    if pvc.height and "persistentvolumeclaim" in pvc.columns:
        occ = occurrences(pvc, ["namespace", "persistentvolumeclaim"], step_ms=step_ms,
                          gap_ms=gap_ms)
        out.append(fold(occ, source="kubelet", reason="PVCUsageHigh",
                        kind="PersistentVolumeClaim", name="persistentvolumeclaim",
                        message=pl.concat_str(
                            pl.lit("PVC "), pl.col("_ns"), pl.lit("/"), pl.col("_name"),
                            pl.lit(" is "), (pl.col("value") * 100).round(1).cast(pl.String),
                            pl.lit(f"% full (threshold {pvc_threshold:.0%})"))))

    frames = [f for f in out if f.height]
    if not frames:
        return empty_events()
    return pl.concat(frames).cast(EVENT_SCHEMA).sort(  # type: ignore[arg-type]
        ["last_seen", "reason", "namespace", "name"], descending=[True, False, False, False],
        nulls_last=True)


def pvc_usage(prom: Prometheus, start: TimeLike, end: TimeLike = "now",
              step: DurationLike | None = None) -> pl.DataFrame:
    """Used ratio of every PVC over time: ``timestamp``, ``value``, ``namespace``,
    ``persistentvolumeclaim`` (for the report's PVC chart)."""
    return prom.query_range(QUERIES["pvc_usage"], start, end, step)
