"""Flags per workload container, overcommit (kubernetes-mixin N-1 rule and by limits), quotas.

Examples
--------
>>> wl = pl.DataFrame({
...     "namespace": ["a"], "workload_kind": ["Deployment"], "workload": ["x"], "container": ["c"],
...     "cpu_request": [1.0], "memory_request": [None], "cpu_limit": [None],
...     "memory_limit": [None], "cpu_p95": [0.05], "memory_p95": [1e8],
...     "throttled_ratio": [None], "oom_events": [0], "oom_killed": [False]},
...     schema_overrides={"memory_request": pl.Float64, "cpu_limit": pl.Float64,
...                       "memory_limit": pl.Float64, "throttled_ratio": pl.Float64})
>>> nodes = pl.DataFrame({"cpu_allocatable": [4.0], "memory_allocatable": [16e9]})
>>> flags(wl, nodes)["flag"].to_list()
['idle', 'no_memory_limit', 'no_requests']
"""

from __future__ import annotations

import polars as pl

from ..._errors import CapacityDataError
from .usage import WORKLOAD_KEYS, CapacityUsage

__all__ = ["FLAGS", "SEVERITY", "Thresholds", "flags", "overcommit", "quota_overcommit",
           "quota_use", "worst_flags"]

#: Every flag :func:`flags` can raise, with what it means.
FLAGS = {
    "no_requests": "a CPU or memory request is missing (BestEffort or partly unscheduled)",
    "no_memory_limit": "no memory limit: the container can take a node's memory",
    "p95_above_request": "p95 CPU or memory usage above the request",
    "throttled": "CFS throttled periods above the threshold over the window (CPUThrottlingHigh)",
    "oom_killed": "OOM-killed in the window",
    "idle": "p95 CPU below a tenth of the request",
    "request_above_node": "a request larger than every node's allocatable (unschedulable)",
}


#: The flags, most serious first (what breaks now, then what will, then hygiene).
SEVERITY = ("oom_killed", "request_above_node", "throttled", "p95_above_request", "no_requests",
            "idle", "no_memory_limit")


def worst_flags(flagged: pl.DataFrame, per_flag: int = 10) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A digest of :func:`flags` for a reader: (counts, worst).

    ``counts``: one row per flag, most serious first (:data:`SEVERITY`), with the number of
    workload containers and what the flag means; ``worst``: at most ``per_flag`` rows of each
    flag, the largest ``value`` first, in the same order.

    >>> fl = pl.DataFrame({"namespace": ["a"] * 4, "workload_kind": ["Deployment"] * 4,
    ...     "workload": list("wxyz"), "container": list("wxyz"),
    ...     "flag": ["no_memory_limit", "throttled", "throttled", "throttled"],
    ...     "value": [None, 0.3, 0.9, 0.5], "threshold": [None, 0.25, 0.25, 0.25],
    ...     "detail": ["", "", "", ""]})
    >>> counts, worst = worst_flags(fl, per_flag=2)
    >>> counts.select("flag", "containers").rows()
    [('throttled', 3), ('no_memory_limit', 1)]
    >>> worst.select("flag", "workload").rows()
    [('throttled', 'y'), ('throttled', 'z'), ('no_memory_limit', 'w')]
    """
    rank = {f: i for i, f in enumerate(SEVERITY)}
    f = flagged.with_columns(pl.col("flag").replace_strict(rank, default=len(rank),
                                                           return_dtype=pl.Int64).alias("_rank"))
    counts = (f.group_by("flag", "_rank").agg(pl.len().alias("containers"))
              .sort("_rank", "flag").select(
                  "flag", "containers",
                  pl.col("flag").replace_strict(FLAGS, default="").alias("meaning")))
    worst = (f.sort("_rank", "flag", "value", "namespace", "workload", "container",
                    descending=[False, False, True, False, False, False], nulls_last=True)
             .group_by("_rank", "flag", maintain_order=True).head(per_flag).drop("_rank"))
    return counts, worst.select(flagged.columns)


class Thresholds:
    """Flag thresholds (the kubernetes-mixin's 25 % throttling, 10 % idle, 90 % quota)."""

    throttled = 0.25
    idle = 0.10
    quota = 0.90


def flags(usage: CapacityUsage | pl.DataFrame, nodes: pl.DataFrame | None = None, *,
          throttled: float = Thresholds.throttled, idle: float = Thresholds.idle
          ) -> pl.DataFrame:
    """Long frame: one row per (workload container, flag) with ``value``, ``threshold``, ``detail``.

    ``usage`` is the bundle or its ``workloads`` frame (then pass ``nodes``).
    """
    if isinstance(usage, CapacityUsage):
        wl, nodes = usage.workloads, usage.nodes
    else:
        wl = usage
    if nodes is None:
        msg = "flags(workloads_frame) needs nodes=usage.nodes (or pass the whole bundle)."
        raise CapacityDataError(msg)
    big_cpu = nodes["cpu_allocatable"].max() if nodes.height else None
    big_mem = nodes["memory_allocatable"].max() if nodes.height else None
    req_c, req_m = pl.col("cpu_request"), pl.col("memory_request")
    f64 = pl.Float64
    rules: list[tuple[str, pl.Expr, pl.Expr, pl.Expr, pl.Expr]] = [
        ("no_requests", req_c.is_null() | req_m.is_null(), pl.lit(None, f64), pl.lit(None, f64),
         pl.when(req_c.is_null() & req_m.is_null()).then(pl.lit("no cpu and no memory request"))
         .when(req_c.is_null()).then(pl.lit("no cpu request"))
         .otherwise(pl.lit("no memory request"))),
        ("no_memory_limit", pl.col("memory_limit").is_null(), pl.lit(None, f64),
         pl.lit(None, f64), pl.lit("no memory limit")),
        ("p95_above_request", (pl.col("cpu_p95") > req_c) | (pl.col("memory_p95") > req_m),
         pl.max_horizontal(pl.col("cpu_p95") / req_c, pl.col("memory_p95") / req_m),
         pl.lit(1.0), pl.format("p95/request: cpu {}, memory {}",
                                (pl.col("cpu_p95") / req_c).round(2),
                                (pl.col("memory_p95") / req_m).round(2))),
        ("throttled", pl.col("throttled_ratio") > throttled, pl.col("throttled_ratio"),
         pl.lit(throttled), pl.format("{}% of CFS periods throttled",
                                      (pl.col("throttled_ratio") * 100).round(1))),
        ("oom_killed", pl.col("oom_killed") | (pl.col("oom_events") > 0),
         pl.col("oom_events").cast(f64), pl.lit(0.0),
         pl.format("{} OOM kill(s)", pl.col("oom_events"))),
        ("idle", (req_c > 0) & (pl.col("cpu_p95") < idle * req_c), pl.col("cpu_p95") / req_c,
         pl.lit(idle), pl.format("p95 cpu is {} of the request",
                                 (pl.col("cpu_p95") / req_c).round(3))),
        ("request_above_node", (req_c > (big_cpu or float("inf")))
         | (req_m > (big_mem or float("inf"))), pl.lit(None, f64), pl.lit(None, f64),
         pl.lit("larger than the largest node's allocatable")),
    ]
    parts = [wl.filter(cond.fill_null(False)).select(
        *WORKLOAD_KEYS, pl.lit(name).alias("flag"), value.cast(f64).alias("value"),
        thr.cast(f64).alias("threshold"), detail.cast(pl.String).alias("detail"))
        for name, cond, value, thr, detail in rules]
    return pl.concat(parts).sort([*WORKLOAD_KEYS, "flag"])


def overcommit(usage: CapacityUsage | pl.DataFrame) -> pl.DataFrame:
    """Per resource (cpu, memory): requests and limits against allocatable and the N-1 line.

    The kubernetes-mixin's KubeCPUOvercommit/KubeMemoryOvercommit: with fewer than three
    control-plane nodes visible but at least one (non-HA), requests must fit in the allocatable;
    otherwise (managed clusters show none) they must fit when the largest node is lost:
    ``excess = requests - (allocatable - largest node)`` and the cluster is overcommitted when
    it is above 0 (single-node clusters are not judged by the N-1 rule).
    """
    c = usage.cluster if isinstance(usage, CapacityUsage) else usage
    rows = []
    row = c.row(0, named=True) if c.height else {}
    n, cp = int(row.get("nodes") or 0), int(row.get("control_plane_nodes") or 0)
    non_ha = 0 < cp < 3
    for res in ("cpu", "memory"):
        alloc = float(row.get(f"{res}_allocatable") or 0.0)
        big = float(row.get(f"{res}_largest_node") or 0.0)
        req = float(row.get(f"{res}_requests") or 0.0)
        lim = float(row.get(f"{res}_limits") or 0.0)
        line = alloc if non_ha else alloc - big
        judged = non_ha or n > 1
        rows.append({"resource": res, "requests": req, "limits": lim, "allocatable": alloc,
                     "largest_node": big, "rule": "non-HA: allocatable" if non_ha else "N-1",
                     "line": line, "excess": req - line if judged else None,
                     "requests_ratio": req / line if line > 0 else None,
                     "overcommitted": bool(judged and req - line > 0),
                     "limits_ratio": lim / alloc if alloc > 0 else None,
                     "limits_overcommitted": bool(alloc > 0 and lim > alloc)})
    return pl.DataFrame(rows, schema={
        "resource": pl.String, "requests": pl.Float64, "limits": pl.Float64,
        "allocatable": pl.Float64, "largest_node": pl.Float64, "rule": pl.String,
        "line": pl.Float64, "excess": pl.Float64, "requests_ratio": pl.Float64,
        "overcommitted": pl.Boolean, "limits_ratio": pl.Float64,
        "limits_overcommitted": pl.Boolean})


def quota_use(usage: CapacityUsage | pl.DataFrame, almost_full: float = Thresholds.quota
              ) -> pl.DataFrame:
    """ResourceQuotas with ``state``: ``exceeded`` (>1), ``full`` (=1), ``almost full``
    (>= ``almost_full``, KubeQuotaAlmostFull's 90 %) or ``ok``; fullest first."""
    q = usage.quotas if isinstance(usage, CapacityUsage) else usage
    r = pl.col("ratio")
    return q.with_columns(
        pl.when(r > 1).then(pl.lit("exceeded")).when(r == 1).then(pl.lit("full"))
        .when(r >= almost_full).then(pl.lit("almost full")).otherwise(pl.lit("ok"))
        .alias("state")).sort("ratio", descending=True, nulls_last=True)


def quota_overcommit(usage: CapacityUsage, factor: float = 1.5) -> pl.DataFrame:
    """The kubernetes-mixin's KubeCPUQuotaOvercommit / KubeMemoryQuotaOvercommit: the sum over
    ResourceQuotas of their hard limit (the smaller of ``cpu`` and ``requests.cpu`` when a quota
    sets both; likewise memory) against the cluster's allocatable; overcommitted above
    ``factor`` (the mixin's ``namespaceOvercommitFactor``, 1.5)."""
    q = usage.quotas.filter(pl.col("resource").is_in(
        ["cpu", "requests.cpu", "memory", "requests.memory"])).with_columns(
        pl.col("resource").str.replace("requests.", "", literal=True).alias("res"))
    hard = (q.group_by("namespace", "resourcequota", "res").agg(pl.col("hard").min())
            .group_by("res").agg(pl.col("hard").sum()))
    c = usage.cluster.row(0, named=True) if usage.cluster.height else {}
    rows = []
    for res in ("cpu", "memory"):
        h = hard.filter(pl.col("res") == res)["hard"]
        total = float(h[0]) if h.len() else 0.0
        alloc = float(c.get(f"{res}_allocatable") or 0.0)
        ratio = total / alloc if alloc > 0 else None
        rows.append({"resource": res, "quota_hard": total, "allocatable": alloc,
                     "ratio": ratio, "overcommitted": bool(ratio is not None and ratio > factor)})
    return pl.DataFrame(rows, schema={"resource": pl.String, "quota_hard": pl.Float64,
                                      "allocatable": pl.Float64, "ratio": pl.Float64,
                                      "overcommitted": pl.Boolean})
