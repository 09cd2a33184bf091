"""Fetch node-exporter data from Prometheus into a :class:`~.analysis.NodeUse` (network I/O)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING

import polars as pl

from ..._errors import NodeDataError
from ..._time import (
    TimeLike,
    auto_step_ms,
    format_duration,
    parse_duration_ms,
    parse_time_ms,
    to_datetime,
)
from ...frames import TIMESTAMP
from . import queries as q
from .analysis import SERIES_SCHEMA, NodeUse, derive_series, node_names

if TYPE_CHECKING:
    from ...sources.prometheus.client import Prometheus

__all__ = ["MIN_STEP_S", "NodeDataError", "fetch_node_use"]

#: Smallest automatic step: kube-prometheus-stack scrapes node-exporter every 30 s, and the
#: availability measure needs at least one scrape per step.
MIN_STEP_S = 60
#: Points per series the automatic step aims at.
TARGET_POINTS = 720

_DEVICE_LABEL = {"disk_util": "device", "disk_queue": "device", "fs_used": "mountpoint"}
_FS_KEYS = ["instance", "device", "mountpoint", "fstype"]


def _labels(frame: pl.DataFrame, wanted: list[str]) -> pl.DataFrame:
    return frame.with_columns(pl.lit(None, pl.String).alias(c) for c in wanted
                              if c not in frame.columns)


def _to_long(frame: pl.DataFrame, resource: str, mapping: pl.DataFrame) -> pl.DataFrame:
    if frame.height == 0 or "instance" not in frame.columns:
        return pl.DataFrame(schema=SERIES_SCHEMA)
    dev = _DEVICE_LABEL.get(resource)
    f = frame.join(mapping.select("instance", "node"), on="instance", how="left").with_columns(
        pl.coalesce("node", "instance").alias("node"))
    device = pl.col(dev).fill_null("") if dev and dev in f.columns else pl.lit("")
    return (f.select("node", device.alias("device"), pl.col("timestamp").cast(TIMESTAMP), "value")
            .filter(pl.col("value").is_finite())  # x/0 in PromQL gives NaN/Inf: no sample
            .group_by("node", "device", "timestamp").agg(pl.col("value").mean())
            .select("node", pl.lit(resource).alias("resource"), "device", "timestamp", "value")
            .cast(SERIES_SCHEMA))


def fetch_node_use(
    prom: Prometheus,
    start: TimeLike = "now-24h",
    end: TimeLike = "now",
    *,
    step: str | float | None = None,
    job: str = "node-exporter",
    ksm_job: str = "kube-state-metrics",
    rate_window: str = "5m",
    fs_trend_window: str = "6h",
    max_workers: int = 4,
) -> NodeUse:
    """Fetch everything the USE report needs for one window, with node names joined in.

    Parameters
    ----------
    prom
        The Prometheus client.
    start, end
        The window (anything :class:`~workbench.Prometheus` accepts, e.g. ``"now-24h"``).
    step
        Query step; default (None or ""): a "nice" step giving at most 720 points, at least
        60 s.
    job
        The node-exporter scrape job (``node-exporter`` on kube-prometheus-stack, ``node`` in
        the plain node-mixin).
    ksm_job
        The kube-state-metrics job, used to turn exporter pods into node names.
    rate_window
        Range of ``rate()``; widened to the step when the step is longer. On such a step the
        gauges (load, memory) are averaged over the step too (``avg_over_time``).
    fs_trend_window
        Range of the filesystem trend line (``deriv``/``predict_linear``), 6h in the alerts.
    max_workers
        Queries sent at the same time.

    Returns
    -------
    NodeUse

    Raises
    ------
    NodeDataError
        No ``up`` series of ``job`` in the window (the message lists the jobs that exist).

    Examples
    --------
    >>> use = fetch_node_use(Prometheus("http://127.0.0.1:9090"), "now-6h")  # doctest: +SKIP
    """
    start_ms = parse_time_ms(start, now=prom.now)
    end_ms = parse_time_ms(end, now=prom.now)
    if end_ms <= start_ms:
        msg = f"The window must end after it starts (start={start!r}, end={end!r})."
        raise NodeDataError(msg)
    step_ms = (max(auto_step_ms(start_ms, end_ms, max_points=TARGET_POINTS), MIN_STEP_S * 1000)
               if step is None or step == "" else parse_duration_ms(step))
    if step_ms <= 0:
        msg = f"step must be positive, got {step!r}."
        raise NodeDataError(msg)
    rate = format_duration(max(parse_duration_ms(rate_window), step_ms))
    # Gauges (load, memory) on a step longer than the rate window: the step's mean, not the one
    # sample at its end, so a one-minute spike on a 30-minute step is not a "sustained" flag.
    gauge = format_duration(step_ms) if step_ms > parse_duration_ms(rate_window) else None
    sel = q.selector(job)
    s_s, e_s = start_ms / 1000, end_ms / 1000

    targets = prom.series(f"up{{{sel}}}", s_s, e_s)
    if targets.height == 0:
        jobs = prom.label_values("job", "up", s_s, e_s)["job"].to_list()
        msg = (f"No node-exporter targets with job={job!r} between {to_datetime(start_ms)} and "
               f"{to_datetime(end_ms)} at {prom.config.url}. Jobs with an 'up' series: "
               f"{', '.join(jobs) or 'none'}. Fix: pass job=... (kube-prometheus-stack uses "
               "'node-exporter'), or widen the window.")
        raise NodeDataError(msg)
    targets = _labels(targets, ["instance", "namespace", "pod", "node"])
    namespaces = sorted({n for n in targets["namespace"].to_list() if n})
    pod_info = _labels(prom.series(q.kube_pod_info(ksm_job, namespaces), s_s, e_s),
                       ["namespace", "pod", "node"])
    node_info = _labels(prom.series(q.kube_node_info(ksm_job), s_s, e_s), ["node", "internal_ip"])
    mapping = node_names(targets, pod_info, node_info)

    jobs_: dict[str, Callable[[], pl.DataFrame]] = {}
    for name, expr in q.RANGE_QUERIES(sel, rate, gauge).items():
        jobs_[name] = partial(prom.query_range, expr, s_s, e_s, step_ms / 1000)
    # One millisecond short of a step, so consecutive windows never share a sample (range
    # selectors include their left edge before Prometheus 3).
    up_window = format_duration(max(1, step_ms - 1))
    jobs_["up"] = partial(prom.query_range, q.up_fraction(sel, up_window), s_s, e_s,
                          step_ms / 1000)
    for name, expr in q.fs_instant_queries(sel, fs_trend_window).items():
        jobs_["fs:" + name] = partial(prom.query, expr, e_s)
    window = format_duration(end_ms - start_ms)
    jobs_["n_cpu"] = partial(prom.query, "count without (cpu, mode) (last_over_time("
                             f'node_cpu_seconds_total{{{sel},mode="idle"}}[{window}]))', e_s)
    with ThreadPoolExecutor(max_workers=max(1, max_workers),
                            thread_name_prefix="workbench-nodes") as pool:
        futures = {name: pool.submit(fn) for name, fn in jobs_.items()}
        results = {name: fut.result() for name, fut in futures.items()}

    parts = [_to_long(results[name], name, mapping)
             for name in [*q.RANGE_QUERIES(sel, rate, gauge), "up"]]
    series = derive_series(pl.concat(parts)).sort("resource", "node", "device", "timestamp")

    fs = _filesystems(results, mapping)
    ncpu = results["n_cpu"]
    ncpu = (ncpu.join(mapping, on="instance", how="left")
            .group_by("node").agg(pl.col("value").max().cast(pl.Int64).alias("n_cpu"))
            if ncpu.height and "instance" in ncpu.columns
            else pl.DataFrame(schema={"node": pl.String, "n_cpu": pl.Int64}))
    nodes = (mapping.join(ncpu, on="node", how="left")
             .select("node", "instance", "matched_by", "n_cpu").sort("node"))
    return NodeUse(series=series, filesystems=fs, nodes=nodes, start=to_datetime(start_ms),
                   end=to_datetime(end_ms), step_s=step_ms / 1000)


def _filesystems(results: dict[str, pl.DataFrame], mapping: pl.DataFrame) -> pl.DataFrame:
    schema = {"node": pl.String, "device": pl.String, "mountpoint": pl.String,
              "fstype": pl.String, "size_bytes": pl.Float64, "avail_bytes": pl.Float64,
              "readonly": pl.Boolean, "deriv_bytes_per_s": pl.Float64,
              "fitted_avail_bytes": pl.Float64}
    base = results["fs:size_bytes"]
    if base.height == 0:
        return pl.DataFrame(schema=schema)
    out = _labels(base, _FS_KEYS).select(*_FS_KEYS, pl.col("value").alias("size_bytes"))
    for name in ("avail_bytes", "readonly", "deriv_bytes_per_s", "fitted_avail_bytes"):
        f = results["fs:" + name]
        f = (_labels(f, _FS_KEYS).select(*_FS_KEYS, pl.col("value").alias(name)) if f.height
             else pl.DataFrame(schema={**dict.fromkeys(_FS_KEYS, pl.String), name: pl.Float64}))
        out = out.join(f.unique(subset=_FS_KEYS), on=_FS_KEYS, how="left", nulls_equal=True)
    out = out.join(mapping.select("instance", "node"), on="instance", how="left").with_columns(
        pl.coalesce("node", "instance").alias("node"),
        (pl.col("readonly") > 0).alias("readonly"))
    return out.select(list(schema)).cast(schema).sort("node", "mountpoint")  # type: ignore[arg-type]
