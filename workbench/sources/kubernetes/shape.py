"""Frame shaping: raw decoded frames -> the public frames (kubectl's node and pod views, the
usage-vs-requests join). Pure.
"""



from __future__ import annotations

import polars as pl

from ..._errors import (
    ConfigError,
)
from .decode import _NANO

__all__ = ["finish_specs", "finish_usage", "sum_pods", "top_nodes_frame", "top_pods_frame",
           "usage_vs_requests"]






def _div(frame: pl.DataFrame, column: str, divisor: int, name: str) -> pl.Series:
    """``column / divisor`` as correctly rounded float64 (one IEEE division per value).

    polars turns division by a constant into multiplication by its reciprocal, which is off by
    one ulp for ~40% of values (``706041732 / 1e9`` -> ``0.7060417320000001``); numpy divides.
    """
    values = frame[column].cast(pl.Float64).to_numpy() / float(divisor)
    return pl.Series(name, values, dtype=pl.Float64).fill_nan(None)


def finish_usage(raw: pl.DataFrame) -> pl.DataFrame:
    """Exact internal columns -> the documented ``cpu_cores`` / ``memory_bytes``."""
    return raw.with_columns(
        _div(raw, "_cpu_n", _NANO, "cpu_cores"),
        # Go Value(): round up to a whole byte
        memory_bytes=(pl.col("_mem_m") + 999) // 1000,
    ).drop("_cpu_n", "_mem_m")


def sum_pods(raw: pl.DataFrame) -> pl.DataFrame:
    """Per-pod exact sums (kubectl adds the containers' quantities before rounding)."""
    return raw.group_by("namespace", "pod", maintain_order=True).agg(
        pl.col("timestamp").min(), pl.col("window_s").first(), pl.col("_cpu_n").sum(),
        pl.col("_mem_m").sum())


def usage_vs_requests(usage: pl.DataFrame, specs: pl.DataFrame) -> pl.DataFrame:
    """Join per-container usage with the pod specs (pure; see :meth:`MetricsServer.usage_vs_requests`).

    ``usage`` has ``namespace, pod, container, timestamp, window_s, cpu_cores, memory_bytes``;
    ``specs`` is :meth:`MetricsServer.pod_specs`. Containers without a request or limit get
    null (not zero) in the corresponding column and ratio; rows whose pod is missing from
    ``specs`` (deleted between the two reads) have ``spec_found`` false.

    Examples
    --------
    >>> import polars as pl
    >>> usage = pl.DataFrame({"namespace": ["a"], "pod": ["p"], "container": ["c"],
    ...                       "cpu_cores": [0.5], "memory_bytes": [100]})
    >>> specs = pl.DataFrame({"namespace": ["a"], "pod": ["p"], "container": ["c"],
    ...                       "cpu_request_cores": [0.25], "memory_request_bytes": [None]},
    ...                      schema_overrides={"memory_request_bytes": pl.Int64})
    >>> out = usage_vs_requests(usage, specs)
    >>> out["cpu_request_ratio"].to_list(), out["memory_request_ratio"].to_list()
    ([2.0], [None])
    """
    keys = ["namespace", "pod", "container"]
    spec_cols = [c for c in specs.columns if c not in keys]
    joined = usage.join(specs.with_columns(pl.lit(True).alias("_found")), on=keys, how="left")
    out = joined.with_columns(spec_found=pl.col("_found").fill_null(False)).drop("_found")
    ratios = []
    for res, unit, usage_col in (("cpu", "cores", "cpu_cores"), ("memory", "bytes", "memory_bytes")):
        for kind in ("request", "limit"):
            col = f"{res}_{kind}_{unit}"
            if col in out.columns:
                denom = pl.col(col).cast(pl.Float64)
                ratios.append(pl.when(denom > 0).then(pl.col(usage_col).cast(pl.Float64) / denom)
                              .otherwise(None).alias(f"{res}_{kind}_ratio"))
    front = list(usage.columns)
    return out.with_columns(ratios).select(
        front + [c for c in spec_cols if c in out.columns] + ["spec_found"]
        + [r.meta.output_name() for r in ratios])


def _kubectl_percent(usage_milli: pl.Expr, available_milli: pl.Expr) -> pl.Expr:
    """``int64(float64(usage.MilliValue()) / float64(available.MilliValue()) * 100)``."""
    ratio = usage_milli.cast(pl.Float64) / available_milli.cast(pl.Float64) * 100.0
    return (pl.when(available_milli == 0).then(pl.lit(0, pl.Int64))
            .otherwise(ratio.cast(pl.Int64, strict=False)))


def finish_specs(raw: pl.DataFrame) -> pl.DataFrame:
    out = raw.with_columns(
        _div(raw, "_cpu_req_n", _NANO, "cpu_request_cores"),
        _div(raw, "_cpu_lim_n", _NANO, "cpu_limit_cores"),
    ).drop("_cpu_req_n", "_cpu_lim_n")
    return out.select("namespace", "pod", "container", "node", "phase", "owner_kind",
                      "owner_name", "qos_class", "cpu_request_cores", "cpu_limit_cores",
                      "memory_request_bytes", "memory_limit_bytes")


def top_nodes_frame(raw: pl.DataFrame, specs: pl.DataFrame, *, show_capacity: bool = False,
                    sort_by: str | None = None) -> pl.DataFrame:
    """kubectl's node view from decoded metrics (exact columns) and decoded Node specs."""
    den = "cap" if show_capacity else "alloc"
    label = "capacity" if show_capacity else "allocatable"
    specs = specs.select("node", pl.col(f"_{den}_cpu_m").alias("_avail_cpu_m"),
                         pl.col(f"_{den}_mem_m").alias("_avail_mem_m"))
    joined = raw.join(specs, on="node", how="left")
    cpu_milli = (pl.col("_cpu_n") + 999_999) // 1_000_000  # MilliValue(): round up
    out = joined.with_columns(
        cpu_percent=_kubectl_percent(cpu_milli, pl.col("_avail_cpu_m")),
        memory_percent=_kubectl_percent(pl.col("_mem_m"), pl.col("_avail_mem_m")),
        _sort_cpu=cpu_milli,
        _sort_mem=(pl.col("_mem_m") + 999) // 1000,
    )
    if sort_by == "cpu":
        out = out.sort(["_sort_cpu", "node"], descending=[True, False])
    elif sort_by == "memory":
        out = out.sort(["_sort_mem", "node"], descending=[True, False])
    elif sort_by is None:
        out = out.sort("node")
    else:
        msg = f"sort_by must be 'cpu', 'memory' or None, got {sort_by!r}."
        raise ConfigError(msg)
    missing = specs.join(raw.select("node"), on="node", how="anti").sort("node")
    out = pl.concat([out, missing], how="diagonal_relaxed")
    out = out.with_columns(
        _div(out, "_avail_cpu_m", 1000, f"cpu_{label}_cores"),
        ((pl.col("_avail_mem_m") + 999) // 1000).alias(f"memory_{label}_bytes"),
    )
    return finish_usage(out).select("node", "timestamp", "window_s", "cpu_cores", "memory_bytes",
                               f"cpu_{label}_cores", f"memory_{label}_bytes", "cpu_percent",
                               "memory_percent")


def top_pods_frame(raw: pl.DataFrame, *, containers: bool = False,
                   sort_by: str | None = None) -> pl.DataFrame:
    """kubectl's pod view from decoded container metrics (exact sums, kubectl's ordering)."""
    pods = sum_pods(raw)
    order = pods.with_columns(
        _cpu_m=(pl.col("_cpu_n") + 999_999) // 1_000_000,
        _mem_b=(pl.col("_mem_m") + 999) // 1000,
    )
    if sort_by == "cpu":
        order = order.sort("_cpu_m", descending=True, maintain_order=True)
    elif sort_by == "memory":
        order = order.sort("_mem_b", descending=True, maintain_order=True)
    elif sort_by is None:
        order = order.sort("namespace", "pod")
    else:
        msg = f"sort_by must be 'cpu', 'memory' or None, got {sort_by!r}."
        raise ConfigError(msg)
    if not containers:
        return finish_usage(order.drop("_cpu_m", "_mem_b"))
    rank = order.select("namespace", "pod").with_row_index("_rank")
    ctr = raw.join(rank, on=["namespace", "pod"]).with_columns(
        _cpu_m=(pl.col("_cpu_n") + 999_999) // 1_000_000,
        _mem_b=(pl.col("_mem_m") + 999) // 1000,
    )
    if sort_by == "cpu":
        ctr = ctr.sort(["_rank", "_cpu_m"], descending=[False, True], maintain_order=True)
    elif sort_by == "memory":
        ctr = ctr.sort(["_rank", "_mem_b"], descending=[False, True], maintain_order=True)
    else:
        ctr = ctr.sort("_rank", "container")
    return finish_usage(ctr.drop("_rank", "_cpu_m", "_mem_b"))
