"""The capacity bundle (:class:`CapacityUsage`) and the pure shaping of raw query answers into it.

Frames (one row per ...):

* ``containers``: (namespace, pod, container) seen in the window: its workload, node, requests
  and limits, whether the pod is active (Pending/Running) at the end, CPU and memory statistics
  (``cpu_mean``, ``cpu_p95`` ..., ``cpu_max``, ``cpu_points``, ``memory_*``), ``throttled_ratio``,
  ``oom_events``, ``oom_killed``, ``restarts``;
* ``workloads``: (namespace, workload_kind, workload, container): pods in the window and now,
  requests/limits, the statistics' maximum over pods, summed points and events, ``hpa``;
* ``namespaces``: active requests/limits and mean usage, with ResourceQuota use (``quotas`` too);
* ``nodes``: allocatable, active requests/limits, pods, usage mean/p95;
* ``cluster``: one row of totals; ``trend``: cluster totals over time (long);
* ``throttling``: the most throttled workload containers' throttled ratio over time;
* ``storage``/``storage_trend``: Prometheus's own TSDB figures; ``top_metrics``: series per
  metric name; ``metrics_server``: metrics-server's "now" beside Prometheus's view (optional).

Examples
--------
>>> owners = pl.DataFrame({
...     "rel": ["pod", "pod", "replicaset", "pod", "job", "pod"],
...     "namespace": ["a"] * 6,
...     "pod": ["web-1-x", "db-0", None, "rep-1-y", None, "lone"],
...     "replicaset": [None, None, "web-1", None, None, None],
...     "job_name": [None, None, None, None, "rep-1", None],
...     "owner_kind": ["ReplicaSet", "StatefulSet", "Deployment", "Job", "CronJob", None],
...     "owner_name": ["web-1", "db", "web", "rep-1", "rep", None]})
>>> for row in resolve_workloads(owners).sort("pod").rows():
...     print(row)
('a', 'db-0', 'StatefulSet', 'db')
('a', 'lone', 'Pod', 'lone')
('a', 'rep-1-y', 'CronJob', 'rep')
('a', 'web-1-x', 'Deployment', 'web')
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl

__all__ = ["CapacityUsage", "resolve_workloads", "stat_wide"]

KEYS = ["namespace", "pod", "container"]
WORKLOAD_KEYS = ["namespace", "workload_kind", "workload", "container"]


@dataclass(frozen=True)
class CapacityUsage:
    """Everything :func:`~workbench.capacity.fetch_usage` read, as tidy frames (see module doc)."""

    containers: pl.DataFrame
    workloads: pl.DataFrame
    namespaces: pl.DataFrame
    quotas: pl.DataFrame
    nodes: pl.DataFrame
    cluster: pl.DataFrame
    trend: pl.DataFrame
    hpa: pl.DataFrame
    storage: pl.DataFrame
    storage_trend: pl.DataFrame
    throttling: pl.DataFrame
    top_metrics: pl.DataFrame
    metrics_server: pl.DataFrame | None
    start: datetime
    end: datetime
    step_s: float
    percentiles: tuple[float, ...]
    namespace: str = ""

    @property
    def window_days(self) -> float:
        return (self.end - self.start).total_seconds() / 86400


def _col(frame: pl.DataFrame, name: str, dtype: Any = pl.String) -> pl.Expr:
    """The column (as ``dtype``: an all-null answer column has the Null type), or nulls."""
    return (pl.col(name).cast(dtype) if name in frame.columns
            else pl.lit(None, dtype).alias(name))


def stat_wide(frame: pl.DataFrame, keys: list[str], label: str = "stat",
              names: list[str] | None = None) -> pl.DataFrame:
    """One row per ``keys``, one Float64 column per value of ``label`` (missing ones as null)."""
    names = names or []
    if frame.height == 0 or label not in frame.columns:
        return pl.DataFrame(schema={**dict.fromkeys(keys, pl.String),
                                    **dict.fromkeys(names, pl.Float64)})
    f = frame.select(*(_col(frame, k) for k in keys), pl.col(label), pl.col("value"))
    wide = f.pivot(on=label, index=keys, values="value", aggregate_function="max")
    for n in names:
        if n not in wide.columns:
            wide = wide.with_columns(pl.lit(None, pl.Float64).alias(n))
    return wide.with_columns(pl.col(c).cast(pl.Float64) for c in wide.columns if c not in keys)


def resolve_workloads(owners: pl.DataFrame) -> pl.DataFrame:
    """(namespace, pod) -> (workload_kind, workload) through the kube-state-metrics owner chain.

    Pod -> ReplicaSet -> Deployment (``kube_replicaset_owner``), Job -> CronJob
    (``kube_job_owner``), StatefulSet and DaemonSet as they are, a pod with no owner as ``Pod``
    (itself); a ReplicaSet or Job without an owner is the workload.
    """
    schema = {"namespace": pl.String, "pod": pl.String, "workload_kind": pl.String,
              "workload": pl.String}
    if owners.height == 0 or "rel" not in owners.columns:
        return pl.DataFrame(schema=schema)
    o = owners.select(*(_col(owners, c).cast(pl.String) for c in (
        "rel", "namespace", "pod", "replicaset", "job_name", "owner_kind", "owner_name")))
    pods = (o.filter(pl.col("rel") == "pod")
            .sort("owner_kind", nulls_last=True)
            .unique(["namespace", "pod"], keep="first", maintain_order=True))
    rs = (o.filter(pl.col("rel") == "replicaset", pl.col("owner_kind").is_not_null())
          .select("namespace", pl.col("replicaset").alias("owner_name"),
                  pl.col("owner_kind").alias("rs_kind"), pl.col("owner_name").alias("rs_owner"))
          .unique(["namespace", "owner_name"], keep="first"))
    jobs = (o.filter(pl.col("rel") == "job", pl.col("owner_kind").is_not_null())
            .select("namespace", pl.col("job_name").alias("owner_name"),
                    pl.col("owner_kind").alias("job_kind"), pl.col("owner_name").alias("job_owner"))
            .unique(["namespace", "owner_name"], keep="first"))
    out = pods.join(rs, on=["namespace", "owner_name"], how="left").join(
        jobs, on=["namespace", "owner_name"], how="left")
    kind, name = pl.col("owner_kind"), pl.col("owner_name")
    out = out.select(
        "namespace", "pod",
        pl.when(kind.is_null() | (kind == "<none>")).then(pl.lit("Pod"))
        .when((kind == "ReplicaSet") & pl.col("rs_kind").is_not_null()).then(pl.col("rs_kind"))
        .when((kind == "Job") & pl.col("job_kind").is_not_null()).then(pl.col("job_kind"))
        .otherwise(kind).alias("workload_kind"),
        pl.when(kind.is_null() | (kind == "<none>")).then(pl.col("pod"))
        .when((kind == "ReplicaSet") & pl.col("rs_kind").is_not_null()).then(pl.col("rs_owner"))
        .when((kind == "Job") & pl.col("job_kind").is_not_null()).then(pl.col("job_owner"))
        .otherwise(name).alias("workload"))
    return out.cast(schema)  # type: ignore[arg-type]


def containers_frame(cpu: pl.DataFrame, mem: pl.DataFrame, events: pl.DataFrame,
                     specs: pl.DataFrame, owners: pl.DataFrame,
                     percentiles: tuple[float, ...]) -> pl.DataFrame:
    """Join the per-container answers into the ``containers`` frame."""
    stats = ["mean", *[f"p{p:g}" for p in percentiles], "max", "points"]
    c = stat_wide(cpu, KEYS, names=stats).rename({s: f"cpu_{s}" for s in stats})
    m = stat_wide(mem, KEYS, names=stats).rename({s: f"memory_{s}" for s in stats})
    e = stat_wide(events, KEYS, names=["throttled_ratio", "oom_events", "oom_killed",
                                       "restarts"])
    s = specs.with_columns((pl.col("stat") + "_" + pl.col("resource")).alias("what")) \
        if specs.height and "resource" in specs.columns else specs
    sp = stat_wide(s, KEYS, label="what", names=["requests_cpu", "requests_memory",
                                                 "limits_cpu", "limits_memory"]).rename({
        "requests_cpu": "cpu_request", "requests_memory": "memory_request",
        "limits_cpu": "cpu_limit", "limits_memory": "memory_limit"})
    base = pl.concat([c.select(KEYS), m.select(KEYS), sp.select(KEYS)]).unique()
    wl = resolve_workloads(owners)
    o = owners if "rel" in owners.columns else pl.DataFrame({"rel": []}, schema={"rel": pl.String})
    node = (o.filter(pl.col("rel") == "node").select(_col(o, "namespace"), _col(o, "pod"),
                                                      _col(o, "node"))
            .unique(["namespace", "pod"], keep="first"))
    active = (o.filter(pl.col("rel") == "active").select(_col(o, "namespace"), _col(o, "pod"))
              .unique().with_columns(pl.lit(True).alias("active")))
    out = (base.join(wl, on=["namespace", "pod"], how="left")
           .join(node, on=["namespace", "pod"], how="left")
           .join(active, on=["namespace", "pod"], how="left")
           .join(sp, on=KEYS, how="left").join(c, on=KEYS, how="left")
           .join(m, on=KEYS, how="left").join(e, on=KEYS, how="left"))
    return out.with_columns(
        pl.col("workload_kind").fill_null("Pod"),
        pl.coalesce("workload", "pod").alias("workload"),
        pl.col("active").fill_null(False),
        pl.col("cpu_points").fill_null(0).cast(pl.Int64),
        pl.col("memory_points").fill_null(0).cast(pl.Int64),
        pl.col("oom_events").fill_null(0.0).round(0).cast(pl.Int64),
        (pl.col("oom_killed").fill_null(0) > 0).alias("oom_killed"),
        pl.col("restarts").fill_null(0.0).round(0).cast(pl.Int64),
    ).select("namespace", "workload_kind", "workload", "pod", "container", "node", "active",
             "cpu_request", "cpu_limit", "memory_request", "memory_limit",
             *[f"cpu_{s}" for s in stats], *[f"memory_{s}" for s in stats],
             "throttled_ratio", "oom_events", "oom_killed", "restarts").sort(
        "namespace", "workload", "pod", "container")


def hpa_frame(raw: pl.DataFrame) -> pl.DataFrame:
    """HPAs: (namespace, horizontalpodautoscaler, target_kind, target_name, metrics)."""
    schema: dict[str, Any] = {"namespace": pl.String, "horizontalpodautoscaler": pl.String,
              "target_kind": pl.String, "target_name": pl.String, "metrics": pl.List(pl.String)}
    if raw.height == 0 or "rel" not in raw.columns:
        return pl.DataFrame(schema=schema)
    t = raw.filter(pl.col("rel") == "target").select(
        _col(raw, "namespace"), _col(raw, "horizontalpodautoscaler"),
        _col(raw, "scaletargetref_kind").alias("target_kind"),
        _col(raw, "scaletargetref_name").alias("target_name"))
    m = (raw.filter(pl.col("rel") == "metric")
         .group_by(_col(raw, "namespace"), _col(raw, "horizontalpodautoscaler"))
         .agg(_col(raw, "metric_name").drop_nulls().unique().sort().alias("metrics")))
    return t.join(m, on=["namespace", "horizontalpodautoscaler"], how="left").with_columns(
        pl.col("metrics").fill_null(pl.lit([], pl.List(pl.String)))).cast(
        schema).sort("namespace", "horizontalpodautoscaler")  # type: ignore[arg-type]


def workloads_frame(containers: pl.DataFrame, hpa: pl.DataFrame) -> pl.DataFrame:
    """Aggregate containers to (namespace, workload_kind, workload, container)."""
    stat_cols = [c for c in containers.columns if c.startswith(("cpu_", "memory_"))
                 and c not in ("cpu_request", "cpu_limit", "memory_request", "memory_limit")
                 and not c.endswith("_points")]
    act = pl.col("active")
    spec = ["cpu_request", "cpu_limit", "memory_request", "memory_limit"]
    out = containers.group_by(WORKLOAD_KEYS).agg(
        pl.col("pod").n_unique().alias("pods"),
        act.sum().cast(pl.Int64).alias("pods_now"),
        # the spec of the pods running now, else the largest seen in the window
        *[pl.coalesce(pl.col(c).filter(act).max(), pl.col(c).max()).alias(c) for c in spec],
        *[pl.col(c).max() for c in stat_cols],
        pl.col("cpu_points").sum(), pl.col("memory_points").sum(),
        pl.col("throttled_ratio").max(),
        pl.col("oom_events").sum(), pl.col("oom_killed").any(), pl.col("restarts").sum(),
        pl.col("memory_limit").filter(pl.col("oom_killed")).max().alias("oom_memory_limit"),
    )
    h = (hpa.explode("metrics").filter(pl.col("metrics").is_not_null())
         .group_by(pl.col("namespace"), pl.col("target_kind").alias("workload_kind"),
                   pl.col("target_name").alias("workload"))
         .agg(pl.col("metrics").unique().sort().alias("hpa")))
    return (out.join(h, on=["namespace", "workload_kind", "workload"], how="left")
            .with_columns(pl.col("hpa").fill_null(pl.lit([], pl.List(pl.String))))
            .sort(WORKLOAD_KEYS))
