"""USE (utilisation, saturation, errors) analysis of node-exporter data: pure frame-in/frame-out.

Nothing here does I/O. :func:`workbench.analysis.nodes.fetch.fetch_node_use` builds a
:class:`NodeUse` from Prometheus; everything below works on it (or on frames built by hand).

The long series frame (``NodeUse.series``)
------------------------------------------
``node`` (String)
    Kubernetes node name (joined through kube-state-metrics; see :func:`node_names`).
``resource`` (String)
    One of :data:`RESOURCES`.
``device`` (String)
    Disk device, filesystem mountpoint, or ``""`` for node-level resources.
``timestamp`` (Datetime ms UTC), ``value`` (Float64)
    One sample per query step.

Thresholds and flags
--------------------
A node is flagged for a resource when the resource stayed above its threshold for at least
``sustain_min`` minutes in a row (the alerts' ``for:``). The defaults are the node-mixin alert
thresholds (kube-prometheus-stack values for the filesystem ones).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from typing import Any, cast

import polars as pl

from ..._errors import ConfigError
from ...frames import TIMESTAMP, check_frame

__all__ = [
    "FLAG_RESOURCES",
    "RESOURCES",
    "SERIES_SCHEMA",
    "NodeUse",
    "UseThresholds",
    "availability",
    "chart_rows",
    "derive_series",
    "fs_forecast",
    "key_figures",
    "node_names",
    "reboots",
    "resource_frame",
    "sustained",
    "top_devices",
    "use_summary",
]

SERIES_SCHEMA = pl.Schema({"node": pl.String(), "resource": pl.String(), "device": pl.String(),
                           "timestamp": TIMESTAMP, "value": pl.Float64()})

#: resource -> (title, unit, threshold field or None)
RESOURCES: dict[str, tuple[str, str, str | None]] = {
    "cpu_util": ("CPU utilisation", "ratio", "cpu_util"),
    "load_per_cpu": ("CPU saturation (load1 per CPU)", "per CPU", "load_per_cpu"),
    "mem_util": ("Memory utilisation", "ratio", "mem_util"),
    "majfault_rate": ("Major page faults", "1/s", "majfault_rate"),
    "disk_util": ("Disk IO utilisation", "ratio", "disk_util"),
    "disk_queue": ("Disk IO saturation (queue length)", "requests", "disk_queue"),
    "fs_used": ("Filesystem used", "ratio", None),
    "net_rx_bytes": ("Network receive", "bytes/s", None),
    "net_tx_bytes": ("Network transmit", "bytes/s", None),
    "net_packets": ("Network packets", "1/s", None),
    "net_errs": ("Network errors", "1/s", None),
    "net_drops": ("Network drops", "1/s", None),
    "net_err_ratio": ("Network errors per packet", "ratio", "net_err_ratio"),
    "up": ("Scrape success (up)", "ratio", None),
    "boot_time": ("Boot time", "unix s", None),
}

#: Resources flagged when sustained above their threshold, with the flag's name.
FLAG_RESOURCES = {
    "cpu_util": "cpu",
    "load_per_cpu": "load",
    "mem_util": "memory",
    "majfault_rate": "majfaults",
    "disk_util": "disk_util",
    "disk_queue": "disk_queue",
    "net_err_ratio": "net_errors",
}

_REBOOT_JUMP_S = 60.0


@dataclass(frozen=True)
class UseThresholds:
    """Thresholds for the USE flags (defaults: node-mixin alerts, kube-prometheus-stack values).

    Parameters
    ----------
    cpu_util
        Busy fraction (``NodeCPUHighUsage``: 0.90).
    load_per_cpu
        load1 per CPU (``NodeSystemSaturation``: 2).
    mem_util
        ``1 - MemAvailable/MemTotal`` (``NodeMemoryHighUtilization``: 0.90).
    majfault_rate
        Major page faults per second (``NodeMemoryMajorPagesFaults``: 500).
    disk_util
        Fraction of time a device is busy (no mixin alert; 0.90).
    disk_queue
        Average IO queue length (``NodeDiskIOSaturation``: 10).
    net_err_ratio
        Errors per packet (``NodeNetworkReceiveErrs``: 0.01).
    fs_avail_pct
        A filesystem is *filling* when less than this percent is available **and** the trend
        reaches zero within ``fs_horizon_h`` hours (``NodeFilesystemSpaceFillingUp``: 15, 24 h).
    fs_horizon_h
        Forecast horizon in hours.
    fs_almost_full_pct
        *Almost full* below this percent available, whatever the trend (5).
    sustain_min
        Minutes a resource must stay above its threshold to be flagged (the alerts' ``for``).

    Examples
    --------
    >>> UseThresholds(cpu_util=0.8).cpu_util
    0.8
    """

    cpu_util: float = 0.90
    load_per_cpu: float = 2.0
    mem_util: float = 0.90
    majfault_rate: float = 500.0
    disk_util: float = 0.90
    disk_queue: float = 10.0
    net_err_ratio: float = 0.01
    fs_avail_pct: float = 15.0
    fs_horizon_h: float = 24.0
    fs_almost_full_pct: float = 5.0
    sustain_min: float = 15.0

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) \
                    or v < 0:
                msg = (f"Threshold {f.name} must be a non-negative number, got {v!r}. "
                       f"Fix: pass e.g. {f.name}={f.default!r}.")
                raise ConfigError(msg)

    def with_values(self, **changes: Any) -> UseThresholds:
        """Return a copy with some thresholds changed."""
        return replace(self, **changes)


@dataclass(frozen=True)
class NodeUse:
    """Everything the node-exporter report needs, fetched once for a window.

    Attributes
    ----------
    series
        Long frame (see the module docstring).
    filesystems
        One row per (node, device, mountpoint, fstype) at the window's end: ``size_bytes``,
        ``avail_bytes``, ``readonly`` (bool), ``deriv_bytes_per_s`` and ``fitted_avail_bytes``
        (slope and value now of the least-squares line over the trend window).
    nodes
        ``node``, ``instance``, ``matched_by`` (how the name was found), ``n_cpu``.
    start, end
        The window.
    step_s
        Query step in seconds.
    """

    series: pl.DataFrame
    filesystems: pl.DataFrame
    nodes: pl.DataFrame
    start: datetime
    end: datetime
    step_s: float

    def __repr__(self) -> str:
        return (f"NodeUse({self.nodes.height} nodes, {self.series.height} samples, "
                f"{self.start.isoformat()} .. {self.end.isoformat()}, step {self.step_s:g}s)")


# -- node names ---------------------------------------------------------------------------------


def _number(value: object, what: str, *, positive: bool = True, whole: bool = False) -> None:
    """Refuse a parameter that is not a finite (positive, whole) number, naming it."""
    kind = int if whole else (int, float)
    ok = isinstance(value, kind) and not isinstance(value, bool) \
        and math.isfinite(value) and (value > 0 or not positive)
    if not ok:
        want = "a positive whole number" if whole else (
            "a positive finite number" if positive else "a finite number")
        msg = f"{what} must be {want}, got {str(value)[:40]!r}."
        raise ConfigError(msg)

def _host(instance: pl.Expr) -> pl.Expr:
    # "10.0.0.1:9100" -> "10.0.0.1", "[fd00::1]:9100" -> "fd00::1"
    return instance.str.replace(r":\d+$", "").str.strip_chars("[]")


def node_names(targets: pl.DataFrame, pod_info: pl.DataFrame | None = None,
               node_info: pl.DataFrame | None = None) -> pl.DataFrame:
    """Map each node-exporter ``instance`` to a Kubernetes node name.

    Tried in order: the target's own ``node`` label (scrape configs that relabel
    ``__meta_kubernetes_endpoint_address_target_name`` for Node targets); the exporter pod's
    node from ``kube_pod_info`` joined on (namespace, pod), as the kubernetes-mixin does; the
    instance host matched to ``kube_node_info``'s ``internal_ip``; the instance itself.

    Parameters
    ----------
    targets
        One row per target series: ``instance`` and, when present, ``namespace``, ``pod``,
        ``node``.
    pod_info
        ``kube_pod_info`` labels: ``namespace``, ``pod``, ``node``.
    node_info
        ``kube_node_info`` labels: ``node``, ``internal_ip``.

    Returns
    -------
    polars.DataFrame
        ``instance``, ``node``, ``matched_by`` (``label``, ``kube_pod_info``,
        ``kube_node_info`` or ``instance``), one row per instance.

    Examples
    --------
    >>> t = pl.DataFrame({"instance": ["10.0.0.1:9100"], "namespace": ["mon"], "pod": ["ne-x"]})
    >>> p = pl.DataFrame({"namespace": ["mon"], "pod": ["ne-x"], "node": ["node-a"]})
    >>> node_names(t, p).row(0)
    ('10.0.0.1:9100', 'node-a', 'kube_pod_info')
    """
    check_frame(targets, "node_names: targets")
    t = targets
    for col in ("namespace", "pod", "node"):
        if col not in t.columns:
            t = t.with_columns(pl.lit(None, pl.String).alias(col))
    t = t.select("instance", "namespace", "pod", pl.col("node").alias("label_node")).unique()
    if pod_info is not None and pod_info.height and {"namespace", "pod", "node"} <= set(
            pod_info.columns):
        pods = pod_info.select("namespace", "pod", pl.col("node").alias("pod_node")).unique(
            subset=["namespace", "pod"], keep="last")
        t = t.join(pods, on=["namespace", "pod"], how="left")
    else:
        t = t.with_columns(pl.lit(None, pl.String).alias("pod_node"))
    t = t.with_columns(_host(pl.col("instance")).alias("_host"))
    if node_info is not None and node_info.height and {"node", "internal_ip"} <= set(
            node_info.columns):
        ips = node_info.select(pl.col("internal_ip").alias("_host"),
                               pl.col("node").alias("ip_node")).unique(subset=["_host"])
        t = t.join(ips, on="_host", how="left")
    else:
        t = t.with_columns(pl.lit(None, pl.String).alias("ip_node"))
    nonempty = [(c, name) for c, name in (("label_node", "label"), ("pod_node", "kube_pod_info"),
                                          ("ip_node", "kube_node_info"))]
    node = pl.coalesce([pl.when(pl.col(c) != "").then(pl.col(c)) for c, _ in nonempty]
                       + [pl.col("instance")])
    how = pl.coalesce([pl.when(pl.col(c) != "").then(pl.lit(n)) for c, n in nonempty]
                      + [pl.lit("instance")])
    out = t.with_columns(node.alias("node"), how.alias("matched_by"))
    rank = pl.col("matched_by").replace_strict(
        {"label": 0, "kube_pod_info": 1, "kube_node_info": 2, "instance": 3}, return_dtype=pl.Int8)
    return (out.with_columns(rank.alias("_rank")).sort("instance", "_rank")
            .unique(subset=["instance"], keep="first", maintain_order=True)
            .select("instance", "node", "matched_by"))


# -- series helpers -----------------------------------------------------------------------------

def derive_series(series: pl.DataFrame) -> pl.DataFrame:
    """Add ``net_err_ratio`` (errors per packet) rows computed from ``net_errs``/``net_packets``.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> t = datetime(2026, 1, 1, tzinfo=UTC)
    >>> s = pl.DataFrame({"node": ["a", "a"], "resource": ["net_errs", "net_packets"],
    ...                   "device": ["", ""], "timestamp": [t, t], "value": [2.0, 100.0]},
    ...                  schema=SERIES_SCHEMA)
    >>> derive_series(s).filter(resource="net_err_ratio")["value"].to_list()
    [0.02]
    """
    check_frame(series, "derive_series: series")
    keys = ["node", "device", "timestamp"]
    errs = series.filter(pl.col("resource") == "net_errs").select(*keys, pl.col("value").alias("e"))
    pkts = series.filter(pl.col("resource") == "net_packets").select(*keys,
                                                                       pl.col("value").alias("p"))
    ratio = errs.join(pkts, on=keys, how="inner").select(
        "node", pl.lit("net_err_ratio").alias("resource"), "device", "timestamp",
        pl.when(pl.col("p") > 0).then(pl.col("e") / pl.col("p")).otherwise(0.0).alias("value"))
    return pl.concat([series.filter(pl.col("resource") != "net_err_ratio"),
                      ratio.cast(SERIES_SCHEMA)])


def resource_frame(use: NodeUse, resource: str, *, per_node: bool = False) -> pl.DataFrame:
    """The samples of one resource: ``node``, ``device``, ``timestamp``, ``value``.

    ``per_node=True`` collapses devices to their maximum at each step (the worst disk, the
    fullest filesystem), leaving ``device = ""``.
    """
    if not isinstance(use, NodeUse):
        msg = f"resource_frame: use must be a NodeUse (from fetch_node_use), got {type(use).__name__}."
        raise ConfigError(msg)
    if resource not in RESOURCES:
        msg = f"Unknown resource {resource!r}. Known: {', '.join(RESOURCES)}."
        raise ConfigError(msg)
    f = use.series.filter(pl.col("resource") == resource).drop("resource")
    if per_node:
        f = (f.group_by("node", "timestamp").agg(pl.col("value").max())
             .with_columns(pl.lit("").alias("device"))
             .select("node", "device", "timestamp", "value"))
    return f.sort("node", "device", "timestamp")


def sustained(frame: pl.DataFrame, threshold: float, step_s: float) -> pl.DataFrame:
    """Longest stretch each (node, device) stayed above ``threshold``, in seconds.

    Each sample stands for one step; a missing step breaks a stretch.

    Examples
    --------
    >>> from datetime import datetime, timedelta, UTC
    >>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
    >>> f = pl.DataFrame({"node": ["a"] * 5, "device": [""] * 5,
    ...                   "timestamp": [t0 + timedelta(minutes=i) for i in range(5)],
    ...                   "value": [0.95, 0.97, 0.5, 0.99, 0.2]})
    >>> sustained(f, 0.9, 60.0)["longest_s"].to_list()
    [120.0]
    """
    _number(threshold, "sustained: threshold", positive=False)
    _number(step_s, "sustained: step_s")
    check_frame(frame, "sustained: frame", ("node", "device", "timestamp", "value"))
    step_ms = round(step_s * 1000)
    f = frame.sort("node", "device", "timestamp").with_columns(
        (pl.col("value").fill_nan(None) > threshold).fill_null(False).alias("_above"))
    gap = pl.col("timestamp").diff().dt.total_milliseconds().fill_null(step_ms) > step_ms * 1.5
    f = f.with_columns(((~pl.col("_above")) | gap).cum_sum().over("node", "device").alias("_run"))
    runs = (f.filter(pl.col("_above")).group_by("node", "device", "_run")
            .agg(pl.len().alias("_n")))
    longest = runs.group_by("node", "device").agg((pl.col("_n").max() * step_s).cast(pl.Float64)
                                                  .alias("longest_s"))
    keys = frame.select("node", "device").unique()
    return (keys.join(longest, on=["node", "device"], how="left")
            .with_columns(pl.col("longest_s").fill_null(0.0)).sort("node", "device"))


def availability(up: pl.DataFrame, start: datetime, end: datetime, step_s: float) -> pl.DataFrame:
    """Downtime per node from the scrape-success fraction of each step.

    ``up`` holds ``node``, ``timestamp``, ``value`` where ``value`` is the fraction of successful
    scrapes in the step before ``timestamp`` (``avg_over_time(up[step])``). A step with no sample
    after the node was first seen counts as down (the target vanished), as does the rest of the
    window after its last sample.

    Returns
    -------
    polars.DataFrame
        ``node``, ``availability`` (0–1), ``downtime_s``, ``down_windows`` (list of structs
        ``start``/``end``, Datetime).

    Examples
    --------
    >>> from datetime import datetime, timedelta, UTC
    >>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
    >>> up = pl.DataFrame({"node": ["a"] * 4,
    ...                    "timestamp": [t0 + timedelta(minutes=i) for i in range(4)],
    ...                    "value": [1.0, 0.0, 0.5, 1.0]})
    >>> availability(up, t0, t0 + timedelta(minutes=3), 60.0)["downtime_s"].to_list()
    [90.0]

    Samples on another phase of the step (VictoriaMetrics' grid) are steps, not gaps:

    >>> late = up.with_columns(pl.col("timestamp") + timedelta(seconds=42))
    >>> availability(late, t0, t0 + timedelta(minutes=3), 60.0)["downtime_s"].to_list()
    [90.0]
    """
    _number(step_s, "availability: step_s")
    if not isinstance(start, datetime) or not isinstance(end, datetime):
        msg = "availability: start and end must be datetimes."
        raise ConfigError(msg)
    check_frame(up, "availability: up")
    step_ms = round(step_s * 1000)
    if up.height and step_ms > 0:
        # The steps are where the samples are: VictoriaMetrics puts a range query's points on
        # multiples of the step, not at start + k * step as Prometheus does, and every step of
        # a grid off by some seconds would read as a missing sample (the node down).
        first_t = cast(datetime, up["timestamp"].cast(TIMESTAMP).min())
        phase_ms = round((first_t - start) / timedelta(milliseconds=1)) % step_ms
        start = start + timedelta(milliseconds=phase_ms)
    n = int((end - start) / timedelta(milliseconds=step_ms)) + 1
    grid = pl.DataFrame({"timestamp": pl.datetime_range(
        start, start + timedelta(milliseconds=step_ms * (n - 1)), timedelta(milliseconds=step_ms),
        eager=True, time_unit="ms", time_zone="UTC")}).with_columns(pl.col("timestamp").cast(TIMESTAMP))
    u = up.select("node", pl.col("timestamp").cast(TIMESTAMP), "value").group_by("node", "timestamp").agg(
        pl.col("value").max())
    first = u.group_by("node").agg(pl.col("timestamp").min().alias("_first"))
    full = first.join(grid, how="cross").filter(pl.col("timestamp") >= pl.col("_first"))
    full = full.join(u, on=["node", "timestamp"], how="left").with_columns(
        (1.0 - pl.col("value").fill_null(0.0).clip(0.0, 1.0)).alias("_down")).sort(
        "node", "timestamp")
    full = full.with_columns(
        (pl.col("_down") == 0).cum_sum().over("node").alias("_run"))
    per = full.group_by("node").agg(
        (pl.col("_down").sum() * step_s).alias("downtime_s"),
        (1.0 - pl.col("_down").mean()).alias("availability"))
    runs = (full.filter(pl.col("_down") > 0).group_by("node", "_run")
            .agg(pl.col("timestamp").first().alias("_t0"), pl.col("_down").first().alias("_d0"),
                 (pl.col("_down").sum() * step_ms).alias("_dur_ms"))
            .with_columns((pl.col("_t0") - pl.duration(milliseconds=(pl.col("_d0") * step_ms)
                                                       .round().cast(pl.Int64))).alias("start"))
            .with_columns((pl.col("start") + pl.duration(
                milliseconds=pl.col("_dur_ms").round().cast(pl.Int64))).alias("end"))
            .sort("node", "start")
            .group_by("node", maintain_order=True)
            .agg(pl.struct("start", "end").alias("down_windows")))
    out = per.join(runs, on="node", how="left").sort("node")
    return out.with_columns(pl.col("down_windows").fill_null([])).select(
        "node", "availability", "downtime_s", "down_windows")


def reboots(boot: pl.DataFrame) -> pl.DataFrame:
    """Reboots per node: jumps of ``node_boot_time_seconds`` by more than a minute.

    Returns ``node``, ``reboots`` (count) and ``last_boot`` (Datetime, the latest boot time seen).

    Examples
    --------
    >>> from datetime import datetime, timedelta, UTC
    >>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
    >>> b = pl.DataFrame({"node": ["a"] * 3, "timestamp": [t0 + timedelta(minutes=i)
    ...                   for i in range(3)], "value": [1000.0, 1000.2, 5000.0]})
    >>> reboots(b)["reboots"].to_list()
    [1]
    """
    check_frame(boot, "reboots: boot")
    b = boot.sort("node", "timestamp")
    return b.group_by("node", maintain_order=True).agg(
        (pl.col("value").diff() > _REBOOT_JUMP_S).sum().cast(pl.Int64).alias("reboots"),
        pl.from_epoch((pl.col("value").max() * 1000).cast(pl.Int64), time_unit="ms")
        .dt.replace_time_zone("UTC").alias("last_boot"),
    ).sort("node")


def fs_forecast(filesystems: pl.DataFrame, thresholds: UseThresholds | None = None
                ) -> pl.DataFrame:
    """Fill-up forecast per filesystem, as ``NodeFilesystemSpaceFillingUp`` judges it.

    Adds ``used_ratio``, ``avail_pct``, ``hours_to_full`` (from the trend line; null when the
    filesystem is not filling), ``filling`` (avail% below ``fs_avail_pct`` and the line reaches
    zero within ``fs_horizon_h``, not read-only) and ``almost_full``. Sorted soonest-full first.

    Examples
    --------
    >>> fs = pl.DataFrame({"node": ["a"], "device": ["sda1"], "mountpoint": ["/"],
    ...     "fstype": ["ext4"], "size_bytes": [100.0], "avail_bytes": [10.0], "readonly": [False],
    ...     "deriv_bytes_per_s": [-1 / 3600], "fitted_avail_bytes": [10.0]})
    >>> fs_forecast(fs).select("avail_pct", "hours_to_full", "filling").row(0)
    (10.0, 10.0, True)
    """
    check_frame(filesystems, "fs_forecast: filesystems")
    th = thresholds or UseThresholds()
    horizon_s = th.fs_horizon_h * 3600.0
    # size 0 (fuse.lxcfs and other pseudo filesystems): no ratio, rather than NaN
    sized = pl.col("size_bytes") > 0
    f = filesystems.with_columns(
        pl.when(sized).then(1.0 - pl.col("avail_bytes") / pl.col("size_bytes")).alias("used_ratio"),
        pl.when(sized).then(pl.col("avail_bytes") / pl.col("size_bytes") * 100.0)
        .alias("avail_pct"),
        pl.when(pl.col("deriv_bytes_per_s") < 0)
        .then((pl.col("fitted_avail_bytes") / -pl.col("deriv_bytes_per_s") / 3600.0).clip(0.0))
        .alias("hours_to_full"),
    )
    predicted = pl.col("fitted_avail_bytes") + pl.col("deriv_bytes_per_s") * horizon_s
    f = f.with_columns(
        ((pl.col("avail_pct") < th.fs_avail_pct) & (predicted < 0)
         & ~pl.col("readonly").fill_null(False)).fill_null(False).alias("filling"),
        ((pl.col("avail_pct") < th.fs_almost_full_pct) & ~pl.col("readonly").fill_null(False))
        .fill_null(False).alias("almost_full"),
    )
    return f.sort(pl.col("hours_to_full"), "node", "mountpoint", nulls_last=True)


# -- summary ------------------------------------------------------------------------------------

def use_summary(use: NodeUse, thresholds: UseThresholds | None = None) -> pl.DataFrame:
    """One row per node over the window, worst first.

    Columns: ``node``, ``n_cpu``, ``flags`` (list of flag names), ``n_flags``, ``score`` (worst
    p95 / threshold ratio), ``availability``, ``downtime_s``, ``down_windows``, ``reboots``,
    ``cpu_util_mean``, ``cpu_util_p95``, ``load_per_cpu_p95``, ``mem_util_max``,
    ``majfault_rate_p95``, ``disk_util_p95``, ``disk_queue_p95``, ``net_rx_bytes_mean``,
    ``net_tx_bytes_mean``, ``net_err_ratio_max``, ``net_drops_mean``, ``fs_used_max``,
    ``fs_worst``, ``fs_hours_to_full``, and ``<resource>_above_s`` (longest stretch above the
    threshold) for each flagged resource.

    Flags: ``cpu``, ``load``, ``memory``, ``majfaults``, ``disk_util``, ``disk_queue``,
    ``net_errors`` (sustained for ``sustain_min``), ``fs_filling``, ``fs_almost_full``, ``down``
    (any downtime), ``rebooted``.
    """
    if not isinstance(use, NodeUse):
        msg = f"use_summary: use must be a NodeUse (from fetch_node_use), got {type(use).__name__}."
        raise ConfigError(msg)
    th = thresholds or UseThresholds()
    nodes = use.nodes.select("node", "n_cpu").unique(subset=["node"], keep="first")
    out = nodes
    sustain_s = max(th.sustain_min * 60.0, use.step_s)
    score_parts: list[pl.Expr] = []
    flag_parts: list[pl.Expr] = []
    for res, flag in FLAG_RESOURCES.items():
        thr = float(getattr(th, res))
        f = resource_frame(use, res, per_node=True)
        stats = f.group_by("node").agg(
            pl.col("value").mean().alias(f"{res}_mean"),
            pl.col("value").quantile(0.95, "linear").alias(f"{res}_p95"),
            pl.col("value").max().alias(f"{res}_max"),
        )
        above = sustained(f, thr, use.step_s).select(
            "node", pl.col("longest_s").alias(f"{res}_above_s"))
        out = out.join(stats, on="node", how="left").join(above, on="node", how="left")
        if thr > 0:
            score_parts.append(pl.col(f"{res}_p95") / thr)
        flag_parts.append(pl.when(pl.col(f"{res}_above_s").fill_null(0) >= sustain_s)
                          .then(pl.lit(flag)))
    for res in ("net_rx_bytes", "net_tx_bytes", "net_drops"):
        f = resource_frame(use, res, per_node=True)
        out = out.join(f.group_by("node").agg(pl.col("value").mean().alias(f"{res}_mean")),
                       on="node", how="left")
    up = resource_frame(use, "up", per_node=True)
    avail = availability(up, use.start, use.end, use.step_s)
    out = out.join(avail, on="node", how="left")
    boots = reboots(resource_frame(use, "boot_time", per_node=True))
    out = out.join(boots.select("node", "reboots"), on="node", how="left").with_columns(
        pl.col("reboots").fill_null(0))
    fs = fs_forecast(use.filesystems, th)
    fs_node = (fs.sort("used_ratio", descending=True, nulls_last=True)
               .group_by("node", maintain_order=True).agg(
        pl.col("used_ratio").first().alias("fs_used_max"),
        pl.col("mountpoint").first().alias("fs_worst"),
        pl.col("hours_to_full").min().alias("fs_hours_to_full"),
        pl.col("filling").any().alias("_fs_filling"),
        pl.col("almost_full").any().alias("_fs_almost_full"),
    ))
    out = out.join(fs_node, on="node", how="left")
    flag_parts += [
        pl.when(pl.col("_fs_filling").fill_null(False)).then(pl.lit("fs_filling")),
        pl.when(pl.col("_fs_almost_full").fill_null(False)).then(pl.lit("fs_almost_full")),
        pl.when(pl.col("downtime_s").fill_null(0) > 0).then(pl.lit("down")),
        pl.when(pl.col("reboots") > 0).then(pl.lit("rebooted")),
    ]
    out = out.with_columns(
        pl.concat_list(flag_parts).list.drop_nulls().alias("flags"),
        pl.max_horizontal(score_parts).fill_null(0.0).alias("score"),
    ).with_columns(pl.col("flags").list.len().cast(pl.Int64).alias("n_flags"))
    keep = ["node", "n_cpu", "flags", "n_flags", "score", "availability", "downtime_s",
            "down_windows", "reboots", "cpu_util_mean", "cpu_util_p95", "load_per_cpu_p95",
            "mem_util_max", "majfault_rate_p95", "disk_util_p95", "disk_queue_p95",
            "net_rx_bytes_mean", "net_tx_bytes_mean", "net_err_ratio_max", "net_drops_mean",
            "fs_used_max", "fs_worst", "fs_hours_to_full",
            *[f"{r}_above_s" for r in FLAG_RESOURCES]]
    return out.select(keep).sort(["n_flags", "score", "node"], descending=[True, True, False],
                                 nulls_last=True)


# -- charting helpers ---------------------------------------------------------------------------

def chart_rows(frame: pl.DataFrame, max_rows: int = 4000) -> pl.DataFrame:
    """Aggregate a series frame into time buckets so it has at most ``max_rows`` rows.

    Each (node, device) series is averaged into equal buckets (``value`` = mean, ``max`` =
    bucket maximum), so peaks stay visible. A frame already small enough is returned with
    ``max = value``. This keeps charts under altair's 5,000-row limit.

    Examples
    --------
    >>> from datetime import datetime, timedelta, UTC
    >>> t0 = datetime(2026, 1, 1, tzinfo=UTC)
    >>> f = pl.DataFrame({"node": ["a"] * 100, "device": [""] * 100,
    ...     "timestamp": [t0 + timedelta(minutes=i) for i in range(100)],
    ...     "value": [float(i) for i in range(100)]})
    >>> chart_rows(f, max_rows=10).height <= 10
    True
    """
    _number(max_rows, "chart_rows: max_rows", whole=True)
    check_frame(frame, "chart_rows: frame", ("node", "device", "timestamp", "value"))
    if frame.height <= max_rows:
        return frame.with_columns(pl.col("value").alias("max"))
    n_series = max(1, frame.select("node", "device").n_unique())
    per_series = max(1, max_rows // n_series)
    t_min, t_max = frame["timestamp"].min(), frame["timestamp"].max()
    assert isinstance(t_min, datetime) and isinstance(t_max, datetime)
    span_ms = max(1, int((t_max - t_min).total_seconds() * 1000))
    bucket_ms = max(1, math.ceil((span_ms + 1) / per_series))
    bucket = (pl.col("timestamp") - pl.lit(t_min)).dt.total_milliseconds() // bucket_ms
    return (frame.with_columns(bucket.alias("_b"))
            .group_by("node", "device", "_b")
            .agg(pl.col("timestamp").min(), pl.col("value").mean(),
                 pl.col("value").max().alias("max"))
            .drop("_b").sort("node", "device", "timestamp"))


def top_devices(frame: pl.DataFrame, per_node: int) -> tuple[pl.DataFrame, int]:
    """Keep, for each node, the ``per_node`` devices with the highest peak value.

    Returns the filtered frame and how many (node, device) series were left out.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> t = datetime(2026, 1, 1, tzinfo=UTC)
    >>> f = pl.DataFrame({"node": ["a", "a", "a"], "device": ["/", "/run", "/boot"],
    ...                   "timestamp": [t, t, t], "value": [0.5, 0.1, 0.3]})
    >>> kept, dropped = top_devices(f, 2)
    >>> sorted(kept["device"]), dropped
    (['/', '/boot'], 1)
    """
    _number(per_node, "top_devices: per_node", whole=True)
    check_frame(frame, "top_devices: frame", ("node", "device", "value"))
    peaks = frame.group_by("node", "device").agg(pl.col("value").fill_nan(None).max().alias("_p"))
    keep = (peaks.sort(["node", "_p", "device"], descending=[False, True, False],
                       nulls_last=True)
            .group_by("node", maintain_order=True).head(max(1, per_node))
            .select("node", "device"))
    dropped = peaks.height - keep.height
    if not dropped:
        return frame, 0
    return frame.join(keep, on=["node", "device"], how="semi"), dropped


def key_figures(summary: pl.DataFrame) -> dict[str, Any]:
    """The few numbers a report index shows for a run: node count, flagged nodes, the worst node,
    the soonest-full filesystem's hours to full, total downtime.

    Examples
    --------
    >>> key_figures(pl.DataFrame({"node": ["a"], "flags": [["cpu"]], "n_flags": [1],
    ...     "fs_hours_to_full": [None], "downtime_s": [0.0]},
    ...     schema_overrides={"fs_hours_to_full": pl.Float64}))["flagged_nodes"]
    1
    """
    check_frame(summary, "key_figures: summary")
    flagged = summary.filter(pl.col("n_flags") > 0)
    htf = summary["fs_hours_to_full"].drop_nulls()
    return {
        "nodes": summary.height,
        "flagged_nodes": flagged.height,
        "worst_node": flagged["node"][0] if flagged.height else None,
        "min_hours_to_full": round(float(htf.min()), 1) if htf.len() else None,  # type: ignore[arg-type]
        "downtime_min": round(float(summary["downtime_s"].fill_null(0).sum()) / 60, 1),
    }
