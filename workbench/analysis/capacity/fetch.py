"""Fetch the capacity bundle from Prometheus (network I/O): :func:`fetch_usage`.

One server-side query per metric family (requests and limits, owners, events, HPAs, quotas,
nodes, storage; trends at a coarse step), sent four at a time, and the CPU and memory statistics
per container: by default (``aggregation="server"``) one ``*_over_time`` subquery per statistic,
taken per series (containers with several series in the window get KRR's ``max by`` shape in a
second pass); with ``aggregation="local"`` one range query per family and batch of namespaces,
whose samples are aggregated here. The owners and the cluster trend (the slowest query) go
first. docs/capacity.md has the measurements behind the default.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING, Any

import polars as pl

from ..._errors import CapacityDataError, WorkbenchError
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
from .usage import (
    KEYS,
    CapacityUsage,
    containers_frame,
    hpa_frame,
    stat_wide,
    workloads_frame,
)

if TYPE_CHECKING:
    from ...sources.prometheus.client import Prometheus

__all__ = ["DEFAULT_PERCENTILES", "duplicate_batches", "fetch_usage"]

#: CPU percentiles fetched by default (each is one server-side subquery over the whole window).
DEFAULT_PERCENTILES: tuple[float, ...] = (90.0, 95.0, 99.0)
#: Points of the trend range queries.
TREND_POINTS = 60


def _check(start_ms: int, end_ms: int, step_ms: int, namespace: str,
           percentiles: tuple[float, ...]) -> None:
    if step_ms <= 0:
        msg = f"step must be positive, got {step_ms / 1000:g}s. Fix: pass e.g. step='5m'."
        raise CapacityDataError(msg)
    if end_ms - start_ms < step_ms:
        msg = (f"The window ({format_duration(max(0, end_ms - start_ms))}) is shorter than the "
               f"step ({format_duration(step_ms)}): no sample would be taken. Fix: widen the "
               "window (start earlier) or shorten the step.")
        raise CapacityDataError(msg)
    try:
        re.compile(namespace)
    except re.error as exc:
        msg = f"namespace={namespace!r} is not a valid regular expression ({exc}). Fix it."
        raise CapacityDataError(msg) from None
    if not percentiles or any(not 0 < p < 100 for p in percentiles):
        msg = f"percentiles must lie strictly between 0 and 100, got {percentiles!r}."
        raise CapacityDataError(msg)


def fetch_usage(
    prom: Prometheus,
    start: TimeLike = "now-14d",
    end: TimeLike = "now",
    step: str | float | None = "5m",
    *,
    namespace: str = "",
    percentiles: tuple[float, ...] = DEFAULT_PERCENTILES,
    cadvisor: str = 'job="kubelet",metrics_path="/metrics/cadvisor"',
    ksm: str = 'job="kube-state-metrics"',
    prometheus_job: str = 'job="prometheus"',
    metrics_server: Any = None,
    max_workers: int = 4,
    max_pods_per_query: int = 400,
    aggregation: str = "server",
) -> CapacityUsage:
    """Read requests, limits, usage, owners, quotas and allocatable for one window.

    Parameters
    ----------
    prom
        The Prometheus client.
    start, end
        The window (default the last 14 days, KRR's default history).
    step
        Sampling step of the statistics (the rate window of CPU and the subquery resolution);
        ``None`` picks one giving about 1,000 points.
    namespace
        Regex of namespaces for containers, workloads and namespaces (nodes and cluster totals
        always cover the whole cluster); ``""`` = all.
    percentiles
        CPU and memory percentiles computed per container (``cpu_p95`` ...).
    cadvisor, ksm, prometheus_job
        Label matchers of the cAdvisor, kube-state-metrics and Prometheus self-scrape series.
    metrics_server
        A :class:`~workbench.MetricsServer`, or the path of a kubeconfig to build one from, for
        metrics-server's "now" beside Prometheus's view of the same containers (optional;
        ``None`` or ``""`` skips it).
    max_workers
        Queries sent at the same time.
    max_pods_per_query
        CPU and memory samples are fetched for namespaces holding at most this many pods (in
        the window) at a time, which bounds memory (a larger namespace goes alone).
    aggregation
        Where CPU and memory statistics are computed: ``"server"`` (default: Prometheus
        evaluates one ``*_over_time`` subquery per statistic and sends one number per container;
        only what the report uses: CPU mean, sample count and ``percentiles``, memory mean,
        maximum and p95) or ``"local"`` (one range query per family and batch of namespaces,
        every statistic, ``cpu_max`` and the memory percentiles too, computed here from the
        samples: cheaper on a small cluster, but the transfer grows with containers x steps).
        Same numbers either way (docs/capacity.md has the measurements).
    Returns
    -------
    CapacityUsage

    Raises
    ------
    CapacityDataError
        A window shorter than the step, no kube-state-metrics or cAdvisor series, or a
        namespace regex matching no container (each message says what to change).

    Examples
    --------
    >>> usage = fetch_usage(Prometheus("demo"), "now-14d", "now", "5m")  # doctest: +SKIP
    """
    start_ms = parse_time_ms(start, now=prom.now)
    end_ms = parse_time_ms(end, now=prom.now)
    step_ms = (auto_step_ms(start_ms, end_ms) if step is None or step == ""
               else parse_duration_ms(step))
    percentiles = tuple(sorted({float(p) for p in percentiles}))  # unique, ascending
    _check(start_ms, end_ms, step_ms, namespace, percentiles)
    if aggregation not in ("local", "server"):
        msg = f"aggregation must be 'local' or 'server', got {aggregation!r}."
        raise CapacityDataError(msg)
    sel = q.Selectors(cadvisor=cadvisor, ksm=ksm, namespace=namespace, prometheus=prometheus_job)
    w, s = format_duration(end_ms - start_ms), format_duration(step_ms)
    e_s = end_ms / 1000
    trend_ms = max(step_ms, auto_step_ms(start_ms, end_ms, max_points=TREND_POINTS))
    t = format_duration(trend_ms)
    instant = {
        "events": q.events(sel, w),
        "specs": q.specs(sel, w),
        "owners": q.owners(sel, w),
        "hpa": q.hpa(sel, w),
        "quotas": q.quotas(sel),
        "nodes": q.nodes(sel, w),
        "storage": q.storage(sel, w),
    }
    jobs: dict[str, Callable[[], pl.DataFrame]] = {
        k: partial(prom.query, e, e_s) for k, e in instant.items()}
    s0, s1 = start_ms / 1000, e_s
    jobs["trend"] = partial(prom.query_range, q.trend(sel, t), s0, s1, trend_ms / 1000)
    jobs["throttling"] = partial(prom.query_range, q.throttling(sel, t), s0, s1, trend_ms / 1000)
    jobs["node_usage"] = partial(prom.query_range, q.node_usage(sel, t), s0, s1, trend_ms / 1000)
    jobs["storage_trend"] = partial(prom.query_range, q.storage_trend(sel), s0, s1,
                                    trend_ms / 1000)
    with ThreadPoolExecutor(max_workers=max(1, max_workers),
                            thread_name_prefix="workbench-capacity") as pool:
        # The CPU and memory samples are the long pole: they start as soon as the owners (which
        # size the namespace batches) and the build info (the grid) are in, ahead of the rest.
        first = ("owners", "specs", "events") if aggregation == "local" else ("owners", "trend")
        futures = {k: pool.submit(jobs.pop(k)) for k in first}
        major = pool.submit(_prometheus_major, prom) if aggregation == "local" else None
        owners = futures["owners"].result()
        _require(prom, owners, lambda: jobs["nodes"](), sel, start_ms, end_ms)
        if aggregation == "server":  # one subquery per statistic, evaluated by Prometheus
            # per series (cheaper); the containers with several series in the window (the
            # check runs beside) are asked again in KRR's shape, or all are when most have
            dup_f = pool.submit(prom.query, q.duplicate_keys(sel, w), e_s)
            futs = [(fam, pool.submit(_stat, prom, e, k, e_s))
                    for fam, e, k in _server_queries(sel, w, s, percentiles, per_series=True)]
        else:  # samples on the subquery grid, aggregated here, a batch of namespaces at a time
            g0, g1 = grid(start_ms, end_ms, step_ms, major.result() if major else 2)
            batches = namespace_batches(owners, max_pods=max_pods_per_query)
            futs = [(fam, pool.submit(_series_stats, prom, expr, g0, g1, step_ms, percentiles))
                    for b in batches
                    for fam, expr in (("cpu", q.cpu_rate(sel.batch(b), s)),
                                      ("memory", q.memory_gauge(sel.batch(b))))]
        futures.update({k: pool.submit(fn) for k, fn in jobs.items()})
        if aggregation == "server":
            dup = _keys(dup_f.result())
            pods = owners.filter(pl.col("rel") == "pod").select("namespace", "pod").n_unique()
            per_series = dup.select("namespace", "pod").n_unique() * 2 < pods
            if not per_series:  # most have several: KRR's shape for every container
                for _, f in futs:
                    f.cancel()
                futs = [(fam, pool.submit(_stat, prom, e, k, e_s))
                        for fam, e, k in _server_queries(sel, w, s, percentiles, False)]
        r = {k: f.result() for k, f in futures.items()}
        r["cpu"] = _concat([f.result() for fam, f in futs if fam == "cpu"])
        r["memory"] = _concat([f.result() for fam, f in futs if fam == "memory"])
        if aggregation == "server" and per_series:
            r["cpu"], r["memory"] = _exact_duplicates(prom, pool, sel, w, s, e_s, percentiles,
                                                      dup, r["cpu"], r["memory"])
    if r["cpu"].height == 0:
        _no_cadvisor(prom, sel, start_ms, end_ms)
    containers = containers_frame(r["cpu"], r["memory"], r["events"], r["specs"], r["owners"],
                                  percentiles)
    hpa = hpa_frame(r["hpa"])
    nodes = nodes_frame(r["nodes"], r["node_usage"])
    quotas = quotas_frame(r["quotas"])
    top = _top_metrics(prom, e_s)
    ms = None
    if isinstance(metrics_server, str) and metrics_server:  # a kubeconfig path
        from ...sources.kubernetes import MetricsServer

        with MetricsServer.from_kubeconfig(metrics_server) as client:
            ms = metrics_server_frame(client, containers)
    elif metrics_server is not None and not isinstance(metrics_server, str):
        ms = metrics_server_frame(metrics_server, containers)
    return CapacityUsage(
        containers=containers, workloads=workloads_frame(containers, hpa),
        namespaces=namespaces_frame(containers, quotas), quotas=quotas, nodes=nodes,
        cluster=cluster_frame(nodes), trend=_trend(r["trend"]), hpa=hpa,
        storage=storage_frame(r["storage"]),
        storage_trend=_long(r["storage_trend"]),
        throttling=throttling_frame(r["throttling"], containers), top_metrics=top, metrics_server=ms,
        start=to_datetime(start_ms), end=to_datetime(end_ms), step_s=step_ms / 1000,
        percentiles=percentiles, namespace=namespace)


_STORAGE = ["samples_per_s", "head_series", "blocks_bytes", "wal_bytes", "blocks_growth",
            "appended", "chunk_bytes", "chunk_samples"]


def _server_stats(sel: q.Selectors, step: str, percentiles: tuple[float, ...]
                  ) -> list[tuple[str, str, tuple[str, ...]]]:
    """(family, per-series expression, statistics) of ``aggregation="server"``: only what the
    report uses (CPU: mean, sample count, the percentiles; memory: mean, maximum, p95), each a
    subquery Prometheus evaluates over the whole window."""
    pcts = tuple(f"p{p:g}" for p in percentiles)
    return [("cpu", q.cpu_rate_series(sel, step), ("mean", "points", *pcts)),
            ("memory", q.memory_series(sel), SERVER_MEMORY_STATS)]


#: The memory statistics ``aggregation="server"`` computes (the peak for right-sizing, the p95
#: for the usage-above-request flag, the mean for the namespace totals).
SERVER_MEMORY_STATS = ("mean", "max", "p95")


def _server_queries(sel: q.Selectors, w: str, s: str, percentiles: tuple[float, ...],
                    per_series: bool) -> list[tuple[str, str, str]]:
    """(family, expression, statistic): per series, or KRR's shape (``max by`` inside)."""
    out = []
    for fam, series, stats in _server_stats(sel, s, percentiles):
        if per_series:
            exprs = q.per_series_over_time(series, w, s, stats)
        else:
            inner = q.cpu_rate(sel, s) if fam == "cpu" else q.memory_gauge(sel)
            exprs = q.over_time(inner, w, s, tuple(float(k[1:]) for k in stats
                                                   if k not in ("mean", "max", "points")))
        out += [(fam, exprs[k], k) for k in stats]
    return out


def _keys(frame: pl.DataFrame) -> pl.DataFrame:
    if frame.height == 0 or "pod" not in frame.columns:
        return pl.DataFrame(schema=dict.fromkeys(KEYS, pl.String))
    return frame.select(*(pl.col(k).cast(pl.String) for k in KEYS)).unique()


def _stat(prom: Prometheus, expr: str, stat: str, at: float) -> pl.DataFrame:
    """One statistic per (namespace, pod, container), long by ``stat``."""
    f = prom.query(expr, at)
    schema = {**dict.fromkeys(KEYS, pl.String), "stat": pl.String, "value": pl.Float64}
    if f.height == 0:
        return pl.DataFrame(schema=schema)
    return f.select(*(pl.col(k).cast(pl.String) for k in KEYS), pl.lit(stat).alias("stat"),
                    pl.col("value").cast(pl.Float64))


def _exact_duplicates(prom: Prometheus, pool: ThreadPoolExecutor, sel: q.Selectors, w: str,
                      s: str, at: float, percentiles: tuple[float, ...], keys: pl.DataFrame,
                      cpu: pl.DataFrame, memory: pl.DataFrame
                      ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Containers with several cAdvisor series in the window (``keys``): their statistics again,
    with the ``max by`` inside the subquery (KRR's shape), one query per statistic and batch of
    pods."""
    if keys.height == 0:
        return cpu, memory
    seen = pl.concat([cpu.select(KEYS), memory.select(KEYS)]).unique()
    subs = duplicate_batches(keys, seen, sel)
    out = []
    for family, frame in (("cpu", cpu), ("memory", memory)):
        futs = [pool.submit(_stat, prom, e, k, at) for sub in subs
                for fam, e, k in _server_queries(sub, w, s, percentiles, per_series=False)
                if fam == family]
        exact = _concat([f.result() for f in futs]).join(keys, on=KEYS, how="semi")
        out.append(pl.concat([frame.join(keys, on=KEYS, how="anti"), exact],
                             how="diagonal_relaxed"))
    return out[0], out[1]


def duplicate_batches(keys: pl.DataFrame, seen: pl.DataFrame, sel: q.Selectors,
                      max_chars: int = 6000) -> list[q.Selectors]:
    """Selectors covering the pods of ``keys`` (namespace, pod, container) in few queries: a
    namespace where at least half the pods are in ``keys`` is taken whole, the others by pod
    names, batched so that no regex is longer than ``max_chars`` (VictoriaMetrics refuses
    queries over 16 KiB by default).

    >>> seen = pl.DataFrame({"namespace": ["a", "a", "b", "b", "b"], "pod": list("pqxyz"),
    ...                      "container": ["c"] * 5})
    >>> keys = seen.filter(pl.col("pod").is_in(["p", "q", "x"]))
    >>> [(s.namespace, s.pods) for s in duplicate_batches(keys, seen, q.Selectors())]
    [('a', ''), ('b', 'x')]
    """
    dup = keys.group_by("namespace").agg(pl.col("pod").unique().sort())
    total = dict(seen.group_by("namespace").agg(pl.col("pod").n_unique()).iter_rows())
    whole = sorted(ns for ns, pods in dup.iter_rows() if len(pods) * 2 >= total.get(ns, 0))
    out = [sel.batch(whole[i:i + 50]) for i in range(0, len(whole), 50)]
    batch: dict[str, list[str]] = {}
    size = 0
    for ns, pods in dup.sort("namespace").iter_rows():
        if ns in whole:
            continue
        for pod in pods:
            if size + len(pod) + 1 > max_chars and batch:
                out.append(_pods_of(sel, batch))
                batch, size = {}, 0
            batch.setdefault(ns, []).append(pod)
            size += len(pod) + 1
    if batch:
        out.append(_pods_of(sel, batch))
    return out


def _pods_of(sel: q.Selectors, pods: dict[str, list[str]]) -> q.Selectors:
    return sel.batch(sorted(pods)).only_pods(sorted({p for ps in pods.values() for p in ps}))


def storage_frame(raw: pl.DataFrame) -> pl.DataFrame:
    """One row: Prometheus's ingestion and storage figures (null where a metric is missing)."""
    vals = dict.fromkeys(_STORAGE)
    if raw.height and "stat" in raw.columns:
        for k, v in raw.select("stat", "value").iter_rows():
            if k in vals:
                vals[k] = float(v)
    return pl.DataFrame({k: [v] for k, v in vals.items()}, schema=dict.fromkeys(_STORAGE,
                                                                               pl.Float64))


def _require(prom: Prometheus, owners: pl.DataFrame, nodes: Callable[[], pl.DataFrame],
             sel: q.Selectors, start_ms: int, end_ms: int) -> None:
    span = f"between {to_datetime(start_ms)} and {to_datetime(end_ms)} at {prom.config.url}"
    if owners.height == 0 or "rel" not in owners.columns or \
            owners.filter(pl.col("rel") == "pod").height == 0:
        if sel.namespace and nodes().height:
            msg = (f"No pod in a namespace matching {sel.namespace!r} {span}. Fix: check the "
                   "namespace regex (it must match the whole name, e.g. 'payments|search').")
        else:
            msg = (f"No kube-state-metrics series (kube_pod_owner{{{sel.ks()}}}) {span}. Fix: "
                   "install kube-state-metrics, or pass ksm='job=\"...\"' with its job label.")
        raise CapacityDataError(msg)


def _no_cadvisor(prom: Prometheus, sel: q.Selectors, start_ms: int, end_ms: int) -> None:
    span = f"between {to_datetime(start_ms)} and {to_datetime(end_ms)} at {prom.config.url}"
    msg = (f"No cAdvisor series (container_cpu_usage_seconds_total{{{sel.cad()}}}) {span}. "
           "Fix: pass cadvisor='job=\"...\"' (kube-prometheus-stack: job=\"kubelet\", "
           "metrics_path=\"/metrics/cadvisor\"; the kubernetes-mixin default: "
           "job=\"cadvisor\"), or widen the window.")
    raise CapacityDataError(msg)


def _prometheus_major(prom: Prometheus) -> int:
    try:
        version = prom.build_info()["version"][0]
        return int(str(version).split(".")[0])
    except (WorkbenchError, KeyError, IndexError, ValueError, pl.exceptions.PolarsError):
        return 2


def grid(start_ms: int, end_ms: int, step_ms: int, major: int = 2) -> tuple[int, int]:
    """First and last evaluation time (ms) of the subquery ``[end - start : step]`` at ``end``.

    Prometheus aligns subquery steps on the epoch: the multiples of ``step`` in the window;
    Prometheus 2 includes a multiple falling exactly on the window's start, Prometheus 3 (whose
    ranges are left-open) does not.

    >>> grid(1_000, 1_000_000, 300_000)
    (300000, 900000)
    >>> grid(0, 900_000, 300_000, major=2), grid(0, 900_000, 300_000, major=3)
    ((0, 900000), (300000, 900000))
    """
    first = -(-start_ms // step_ms) * step_ms
    if major >= 3 and first == start_ms:
        first += step_ms
    return first, end_ms // step_ms * step_ms


def namespace_batches(owners: pl.DataFrame, max_pods: int = 400) -> list[list[str]]:
    """Namespaces (from the owners answer) grouped so a group holds at most ``max_pods`` pods.

    >>> o = pl.DataFrame({"rel": ["pod"] * 5, "namespace": ["a", "a", "b", "c", "c"],
    ...                   "pod": list("vwxyz")})
    >>> namespace_batches(o, max_pods=3)
    [['a', 'b'], ['c']]
    """
    counts = (owners.filter(pl.col("rel") == "pod").group_by("namespace")
              .agg(pl.col("pod").n_unique()).sort("namespace"))
    out: list[list[str]] = []
    size = 0
    for ns, n in counts.iter_rows():
        if not out or size + n > max_pods:
            out.append([])
            size = 0
        out[-1].append(ns)
        size += n
    return out


def _series_stats(prom: Prometheus, expr: str, g0: int, g1: int, step_ms: int,
                  percentiles: tuple[float, ...]) -> pl.DataFrame:
    """Range query on the grid, then per (namespace, pod, container): mean, percentiles (linear
    interpolation, as ``quantile_over_time``), max and the number of samples, long by ``stat``."""
    f = prom.query_range(expr, g0 / 1000, g1 / 1000, step_ms / 1000)
    if f.height == 0:
        return pl.DataFrame(schema={**dict.fromkeys(KEYS, pl.String), "stat": pl.String,
                                    "value": pl.Float64})
    v = pl.col("value")
    aggs = [v.mean().alias("mean"), v.max().alias("max"), v.len().cast(pl.Float64).alias("points"),
            *[v.quantile(p / 100, "linear").alias(f"p{p:g}") for p in percentiles]]
    wide = f.filter(v.is_not_nan()).group_by(KEYS).agg(aggs)
    return wide.unpivot(index=KEYS, variable_name="stat", value_name="value")


def _concat(frames: list[pl.DataFrame]) -> pl.DataFrame:
    frames = [f for f in frames if f.height]
    return pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame(
        schema={**dict.fromkeys(KEYS, pl.String), "stat": pl.String, "value": pl.Float64})


def _long(frame: pl.DataFrame) -> pl.DataFrame:
    schema: dict[str, Any] = {"timestamp": TIMESTAMP, "series": pl.String, "value": pl.Float64}
    if frame.height == 0 or "series" not in frame.columns:
        return pl.DataFrame(schema=schema)
    return frame.select(pl.col("timestamp").cast(TIMESTAMP), "series", "value").sort(
        "series", "timestamp")


def _trend(frame: pl.DataFrame) -> pl.DataFrame:
    schema: dict[str, Any] = {"timestamp": TIMESTAMP, "series": pl.String, "resource": pl.String,
              "value": pl.Float64}
    if frame.height == 0 or "series" not in frame.columns or "resource" not in frame.columns:
        return pl.DataFrame(schema=schema)
    return frame.select(pl.col("timestamp").cast(TIMESTAMP), "series", "resource",
                        "value").sort("resource", "series", "timestamp")


def nodes_frame(raw: pl.DataFrame, usage: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per node: allocatable, active requests/limits, pods, usage mean/p95 (of the
    trend step's means, from the ``node_usage`` range answer)."""
    if raw.height and "resource" in raw.columns:
        raw = raw.with_columns(pl.when(pl.col("resource").is_not_null())
                               .then(pl.col("stat") + "_" + pl.col("resource"))
                               .otherwise(pl.col("stat")).alias("stat"))
    names = ["allocatable_cpu", "allocatable_memory", "allocatable_pods", "requests_cpu",
             "requests_memory", "limits_cpu", "limits_memory", "pods", "control_plane"]
    wide = stat_wide(raw, ["node"], names=names).filter(pl.col("node").is_not_null())
    use_cols = {"node": pl.String, "cpu_mean": pl.Float64, "cpu_p95": pl.Float64,
                "memory_mean": pl.Float64, "memory_p95": pl.Float64}
    if usage is not None and usage.height and "node" in usage.columns:
        v = pl.col("value")
        u = (usage.filter(v.is_not_nan()).group_by("node", "stat")
             .agg(v.mean().alias("mean"), v.quantile(0.95, "linear").alias("p95"))
             .unpivot(index=["node", "stat"], variable_name="s")
             .with_columns((pl.col("stat") + "_" + pl.col("s")).alias("stat")))
        u = stat_wide(u, ["node"], names=list(use_cols)[1:])
    else:
        u = pl.DataFrame(schema=use_cols)
    wide = wide.join(u, on="node", how="left")
    return wide.select(
        "node",
        pl.col("allocatable_cpu").alias("cpu_allocatable"),
        pl.col("allocatable_memory").alias("memory_allocatable"),
        pl.col("allocatable_pods").alias("pods_allocatable"),
        pl.col("requests_cpu").fill_null(0.0).alias("cpu_requests"),
        pl.col("limits_cpu").fill_null(0.0).alias("cpu_limits"),
        pl.col("requests_memory").fill_null(0.0).alias("memory_requests"),
        pl.col("limits_memory").fill_null(0.0).alias("memory_limits"),
        pl.col("pods").fill_null(0.0).cast(pl.Int64),
        (pl.col("control_plane").fill_null(0) > 0).alias("control_plane"),
        pl.col("cpu_mean").alias("cpu_usage_mean"), pl.col("cpu_p95").alias("cpu_usage_p95"),
        pl.col("memory_mean").alias("memory_usage_mean"),
        pl.col("memory_p95").alias("memory_usage_p95"),
    ).filter(pl.col("cpu_allocatable").is_not_null()).sort("node")


def throttling_frame(raw: pl.DataFrame, containers: pl.DataFrame) -> pl.DataFrame:
    """Throttled ratio over time per (namespace, workload, container): the worst pod per step."""
    schema: dict[str, Any] = {"timestamp": TIMESTAMP, "namespace": pl.String, "workload": pl.String,
              "container": pl.String, "value": pl.Float64}
    if raw.height == 0 or "pod" not in raw.columns:
        return pl.DataFrame(schema=schema)
    wl = containers.select(*KEYS, "workload").unique(KEYS)
    return (raw.select(pl.col("timestamp").cast(TIMESTAMP), *KEYS, "value")
            .join(wl, on=KEYS, how="left")
            .with_columns(pl.coalesce("workload", "pod").alias("workload"))
            .group_by("timestamp", "namespace", "workload", "container")
            .agg(pl.col("value").max()).select(list(schema)).sort(
                "namespace", "workload", "container", "timestamp"))


def cluster_frame(nodes: pl.DataFrame) -> pl.DataFrame:
    """One row of cluster totals (sums over nodes, the largest node, node count)."""
    num = [c for c in nodes.columns if c not in ("node", "control_plane")]
    return nodes.select(
        pl.len().alias("nodes"),
        pl.col("control_plane").sum().cast(pl.Int64).alias("control_plane_nodes"),
        *[pl.col(c).sum() for c in num],
        pl.col("cpu_allocatable").max().alias("cpu_largest_node"),
        pl.col("memory_allocatable").max().alias("memory_largest_node"))


def quotas_frame(raw: pl.DataFrame) -> pl.DataFrame:
    """ResourceQuota use: (namespace, resourcequota, resource, hard, used, ratio)."""
    schema = {"namespace": pl.String, "resourcequota": pl.String, "resource": pl.String,
              "hard": pl.Float64, "used": pl.Float64, "ratio": pl.Float64}
    if raw.height == 0 or "type" not in raw.columns:
        return pl.DataFrame(schema=schema)
    keys = ["namespace", "resourcequota", "resource"]
    wide = stat_wide(raw, keys, label="type", names=["hard", "used"])
    return wide.select(*keys, "hard", "used", pl.when(pl.col("hard") > 0)
                       .then(pl.col("used") / pl.col("hard")).alias("ratio")).cast(
        schema).sort(keys)  # type: ignore[arg-type]


def namespaces_frame(containers: pl.DataFrame, quotas: pl.DataFrame) -> pl.DataFrame:
    """Per namespace: active requests/limits, mean usage, pods now, worst quota use."""
    act = containers.filter(pl.col("active"))
    out = containers.group_by("namespace").agg(
        pl.col("pod").filter(pl.col("active")).n_unique().alias("pods_now"),
        pl.col("workload").n_unique().alias("workloads"),
    ).join(act.group_by("namespace").agg(
        pl.col("cpu_request").sum().alias("cpu_requests"),
        pl.col("cpu_limit").sum().alias("cpu_limits"),
        pl.col("memory_request").sum().alias("memory_requests"),
        pl.col("memory_limit").sum().alias("memory_limits"),
        pl.col("cpu_mean").sum().alias("cpu_usage_mean"),
        pl.col("memory_mean").sum().alias("memory_usage_mean")), on="namespace", how="left")
    qmax = quotas.group_by("namespace").agg(pl.col("ratio").max().alias("quota_max_ratio"))
    return out.join(qmax, on="namespace", how="left").sort("namespace")


def _top_metrics(prom: Prometheus, end_s: float, n: int = 15) -> pl.DataFrame:
    """The metrics with most series: the head's ``tsdb_status``, or when the head is empty (a
    server just started on old blocks) a count by metric name at the window's end."""
    st = prom.tsdb_status()
    top = (st.filter(pl.col("section") == "seriesCountByMetricName")
           .select(pl.col("name").alias("metric"), pl.col("value").alias("series")))
    if top.height == 0:
        f = prom.query(f'topk({n}, count by (__name__) ({{__name__=~".+"}}))', end_s)
        if f.height and "__name__" in f.columns:
            top = f.select(pl.col("__name__").alias("metric"), pl.col("value").alias("series"))
    return top.sort("series", descending=True).head(n)


def metrics_server_frame(ms: Any, containers: pl.DataFrame) -> pl.DataFrame:
    """metrics-server's "now" per container beside Prometheus's mean and p95 for the same pods."""
    top = ms.pods(containers=True).select(
        "namespace", "pod", "container", pl.col("cpu_cores").alias("cpu_now"),
        pl.col("memory_bytes").cast(pl.Float64).alias("memory_now"))
    prom_view = containers.select("namespace", "pod", "container", "cpu_mean", "cpu_p95",
                                  "memory_mean", "memory_p95")
    joined: pl.DataFrame = top.join(prom_view, on=["namespace", "pod", "container"], how="left")
    return joined
