"""Right-sizing: :func:`recommend` (KRR's simple strategy, reproduced) and :func:`savings`.

``krr-simple`` (Robusta KRR's default strategy), per (namespace, workload, container):

* CPU request = the ``cpu_percentile`` of ``rate(container_cpu_usage_seconds_total[step])``
  sampled every ``step`` over the window, per pod, then the maximum over the workload's pods
  (``cpu_p95`` of :func:`~workbench.capacity.fetch_usage`); no CPU limit;
* memory request = memory limit = the maximum working set sampled every ``step`` (max over pods)
  times ``1 + memory_buffer``;
* with ``use_oomkill_data``: memory at least the OOM-killed container's limit x 1.25;
* no recommendation when the workload has fewer than ``points_required`` CPU samples (summed over
  its pods), or an HPA scales on that resource (unless ``allow_hpa``);
* values rounded up to 1 millicore and 1 MiB, then raised to 10 millicores and 100 MiB.

Examples
--------
>>> wl = pl.DataFrame({
...     "namespace": ["a", "a"], "workload_kind": ["Deployment"] * 2, "workload": ["x", "y"],
...     "container": ["c", "c"], "pods_now": [2, 1], "cpu_request": [1.0, None],
...     "cpu_limit": [None, None], "memory_request": [2.0 * 2**30, None],
...     "memory_limit": [None, None], "cpu_p95": [0.2004, 0.5], "memory_max": [2.0**29, 2.0**20],
...     "cpu_points": [4032, 12], "oom_memory_limit": [None, None],
...     "hpa": [[], []]}, schema_overrides={"hpa": pl.List(pl.String)})
>>> r = recommend(wl)
>>> r.select("workload", "cpu_request_rec", "memory_request_rec", "note").rows()
[('x', 0.201, 617611264.0, ''), ('y', None, None, 'not enough data (12 CPU samples < 100)')]
>>> round(savings(r)["cpu_cores"][0], 3)
1.598
"""

from __future__ import annotations

from typing import Any

import polars as pl

from ..._errors import CapacityDataError
from .usage import WORKLOAD_KEYS, CapacityUsage

__all__ = ["STRATEGIES", "recommend", "savings"]

STRATEGIES = ("krr-simple",)
MIB = 1024.0**2
GIB = 1024.0**3
CPU_MIN = 0.01
MEMORY_MIN = 100 * MIB
HOURS_PER_MONTH = 730.0


def _ceil(expr: pl.Expr, unit: float, minimum: float) -> pl.Expr:
    return pl.max_horizontal((expr / unit).ceil() * unit, pl.lit(minimum))


def recommend(
    usage: CapacityUsage | pl.DataFrame,
    strategy: str = "krr-simple",
    cpu_percentile: float = 95,
    memory_buffer: float = 0.15,
    *,
    points_required: int = 100,
    allow_hpa: bool = False,
    use_oomkill_data: bool = False,
    oom_buffer: float = 0.25,
    round_values: bool = True,
    namespace: str = "",
) -> pl.DataFrame:
    """One recommendation per (namespace, workload_kind, workload, container).

    Parameters
    ----------
    usage
        The bundle (or its ``workloads`` frame).
    strategy
        ``"krr-simple"`` (see the module docstring).
    cpu_percentile
        Which CPU percentile becomes the request; must be one of the fetched percentiles.
    memory_buffer
        Added to the peak working set (0.15 = +15 %).
    points_required
        Fewer CPU samples than this (summed over pods) gives no recommendation.
    allow_hpa
        Recommend even for resources an HPA scales on.
    use_oomkill_data
        Memory at least the OOM-killed container's limit x (1 + ``oom_buffer``).
    round_values
        Round up to 1m / 1 MiB and raise to 10m / 100 MiB (KRR does).
    namespace
        Regex: keep only matching namespaces (``""`` = all).

    Returns
    -------
    polars.DataFrame
        Keys, ``pods_now``, current and recommended ``cpu_request``, ``cpu_limit``,
        ``memory_request``, ``memory_limit`` (``*_rec``), ``points``, ``note``, the per-pod
        ``cpu_delta``/``memory_delta`` (current - recommended) and ``cpu_saving``/
        ``memory_saving`` (x pods now), sorted by saving.

    Raises
    ------
    CapacityDataError
        An unknown strategy, a percentile that was not fetched, a negative buffer.
    """
    wl = usage.workloads if isinstance(usage, CapacityUsage) else usage
    if strategy not in STRATEGIES:
        msg = f"Unknown strategy {strategy!r}. Fix: use one of {', '.join(STRATEGIES)}."
        raise CapacityDataError(msg)
    col = f"cpu_p{float(cpu_percentile):g}"
    if col not in wl.columns:
        have = sorted(c[5:] for c in wl.columns if c.startswith("cpu_p") and c[5:6].isdigit())
        msg = (f"cpu_percentile={cpu_percentile:g} was not fetched (have {', '.join(have)}). "
               "Fix: pass percentiles=(..., {cpu_percentile:g}) to fetch_usage.")
        raise CapacityDataError(msg)
    if memory_buffer < 0 or oom_buffer < 0:
        msg = f"Buffers must be >= 0 (memory_buffer={memory_buffer}, oom_buffer={oom_buffer})."
        raise CapacityDataError(msg)
    if namespace:
        wl = wl.filter(pl.col("namespace").str.contains(f"^(?:{namespace})$"))
    hpa = pl.col("hpa") if "hpa" in wl.columns else pl.lit([], pl.List(pl.String))
    enough = pl.col("cpu_points") >= points_required
    cpu_hpa = hpa.list.contains("cpu") & (not allow_hpa)
    mem_hpa = hpa.list.contains("memory") & (not allow_hpa)
    cpu = pl.col(col)
    mem = pl.col("memory_max") * (1 + memory_buffer)
    if use_oomkill_data:
        mem = pl.max_horizontal(mem, pl.col("oom_memory_limit") * (1 + oom_buffer))
    if round_values:
        cpu = _ceil(cpu, 0.001, CPU_MIN)
        mem = _ceil(mem, MIB, MEMORY_MIN)
    out = wl.select(
        *WORKLOAD_KEYS, "pods_now",
        "cpu_request", pl.when(enough & ~cpu_hpa).then(cpu).alias("cpu_request_rec"),
        "cpu_limit", pl.lit(None, pl.Float64).alias("cpu_limit_rec"),
        "memory_request", pl.when(enough & ~mem_hpa).then(mem).alias("memory_request_rec"),
        "memory_limit", pl.when(enough & ~mem_hpa).then(mem).alias("memory_limit_rec"),
        pl.col("cpu_points").alias("points"),
        pl.when(~enough).then(pl.format("not enough data ({} CPU samples < {})",
                                        pl.col("cpu_points"), pl.lit(points_required)))
        .when(cpu_hpa & mem_hpa).then(pl.lit("HPA on cpu and memory"))
        .when(cpu_hpa).then(pl.lit("HPA on cpu")).when(mem_hpa).then(pl.lit("HPA on memory"))
        .otherwise(pl.lit("")).alias("note"),
    )
    n = pl.col("pods_now").cast(pl.Float64)
    out = out.with_columns(
        (pl.col("cpu_request").fill_null(0.0) - pl.col("cpu_request_rec")).alias("cpu_delta"),
        (pl.col("memory_request").fill_null(0.0) - pl.col("memory_request_rec"))
        .alias("memory_delta"),
    ).with_columns((pl.col("cpu_delta") * n).alias("cpu_saving"),
                   (pl.col("memory_delta") * n).alias("memory_saving"))
    return out.sort(pl.col("cpu_saving").fill_null(0.0) + pl.col("memory_saving").fill_null(0.0)
                    / GIB / 4, descending=True, maintain_order=True)


def savings(recs: pl.DataFrame, cpu_core_hour: float | None = None,
            memory_gib_hour: float | None = None) -> pl.DataFrame:
    """Δ cores and Δ GiB if every recommendation were applied to the pods running now.

    Positive = reclaimable. ``cpu_core_hour``/``memory_gib_hour`` (prices) add the monthly money
    (730 hours); without prices those columns are null. Also ``reclaimable_*`` (only the cuts)
    and ``missing_*`` (only the raises).
    """
    c, m = pl.col("cpu_saving"), pl.col("memory_saving") / GIB
    out = recs.select(
        c.sum().alias("cpu_cores"), m.sum().alias("memory_gib"),
        c.filter(c > 0).sum().alias("reclaimable_cpu_cores"),
        m.filter(m > 0).sum().alias("reclaimable_memory_gib"),
        (-c.filter(c < 0)).sum().alias("missing_cpu_cores"),
        (-m.filter(m < 0)).sum().alias("missing_memory_gib"),
        pl.col("cpu_request_rec").is_not_null().sum().alias("recommended"),
        pl.len().alias("containers"))
    price: dict[str, Any] = {"cpu_per_month": None, "memory_per_month": None,
                             "total_per_month": None}
    if cpu_core_hour is not None or memory_gib_hour is not None:
        cpu_m = (cpu_core_hour or 0.0) * out["cpu_cores"][0] * HOURS_PER_MONTH
        mem_m = (memory_gib_hour or 0.0) * out["memory_gib"][0] * HOURS_PER_MONTH
        price = {"cpu_per_month": cpu_m, "memory_per_month": mem_m,
                 "total_per_month": cpu_m + mem_m}
    return out.with_columns(pl.lit(v, pl.Float64).alias(k) for k, v in price.items())
