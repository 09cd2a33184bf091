"""Trends of cluster requests and usage, the dates they cross allocatable and the N-1 line, and
first-fit-decreasing packing of recommended requests onto today's nodes.

Examples
--------
>>> import datetime as dt
>>> t0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
>>> ts = [t0 + dt.timedelta(days=d) for d in range(5)]
>>> tr = pl.DataFrame({"timestamp": ts * 3, "resource": ["cpu"] * 15,
...     "series": ["requests"] * 5 + ["allocatable"] * 5 + ["largest_node"] * 5,
...     "value": [10.0, 11, 12, 13, 14] + [20.0] * 5 + [5.0] * 5})
>>> f = forecast(tr)
>>> f.filter(pl.col("series") == "requests").select("line", pl.col("days").round(6)).rows()
[('allocatable', 6.0), ('n_minus_1', 1.0)]
>>> pack([(3.0, 1.0), (2.0, 1.0), (2.0, 1.0)], [("a", 4.0, 8.0), ("b", 4.0, 8.0)])
{'nodes_now': 2, 'nodes_needed': 2, 'unplaced': 0, 'assignment': {'a': 1, 'b': 2}}
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import polars as pl

from ...frames import TIMESTAMP
from .usage import CapacityUsage

__all__ = ["daily_means", "forecast", "pack", "pack_recommendations"]

#: Whole days of usage a usage trend needs (fewer: no trend, rather than the daily cycle's slope).
MIN_USAGE_DAYS = 2


def _fit(ts: pl.Series, vs: pl.Series) -> tuple[float, float, float] | None:
    """Least-squares line: (slope per day, value at the last time, last time in s)."""
    x = ts.dt.epoch("ms").to_numpy().astype(np.float64) / 1000
    y = vs.to_numpy().astype(np.float64)
    ok = np.isfinite(y)
    x, y = x[ok], y[ok]
    if len(x) < 2 or np.ptp(x) == 0:
        return None
    slope, icpt = np.polyfit(x - x[-1], y, 1)
    return float(slope) * 86400, float(icpt), float(x[-1])


def daily_means(ts: pl.Series, vs: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Means over whole days counted back from the last time (a first, partial day is dropped):
    usage follows a daily cycle, and a line through its raw points extrapolates the cycle.

    >>> import datetime as dt
    >>> t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    >>> ts = pl.Series([t0 + dt.timedelta(hours=h) for h in range(0, 61, 6)])
    >>> t, v = daily_means(ts, pl.Series([float(h) for h in range(0, 61, 6)]))
    >>> [f"{x:%d %H:%M}" for x in t], v.to_list()
    (['02 03:00', '03 03:00'], [27.0, 51.0])
    """
    f = pl.DataFrame({"t": ts, "v": vs}).filter(pl.col("v").is_finite())
    if f.height == 0:
        return f["t"], f["v"]
    end = f["t"].max()
    g = (f.with_columns(((pl.lit(end) - pl.col("t")).dt.total_seconds() // 86400).alias("day"))
         .group_by("day").agg(pl.col("t").mean(), pl.col("v").mean(), pl.len().alias("n"))
         .sort("t"))
    g = g.filter(pl.col("n") >= 0.9 * pl.col("n").max())  # a day with 10 % of points missing
    return g["t"], g["v"]


def forecast(trend: CapacityUsage | pl.DataFrame, horizon_days: float = 365.0) -> pl.DataFrame:
    """When do requests and usage (linear trends) cross allocatable and the N-1 line?

    One row per (resource, series in requests/usage, line in allocatable/n_minus_1): the
    trend's ``slope_per_day`` and ``now`` (fitted value at the window's end), the line's
    ``limit`` (its last value), ``days`` to the crossing (0 if already above, null if never within
    ``horizon_days``) and its date ``crossing``.
    """
    tr = trend.trend if isinstance(trend, CapacityUsage) else trend
    rows: list[dict[str, Any]] = []
    for res in ("cpu", "memory"):
        r = tr.filter(pl.col("resource") == res)
        last = {s: g.sort("timestamp")["value"][-1] for (s,), g in r.group_by("series")
                if g.height}
        if "allocatable" not in last:
            continue
        lines = {"allocatable": last["allocatable"],
                 "n_minus_1": last["allocatable"] - last.get("largest_node", 0.0)}
        for series in ("requests", "usage"):
            g = r.filter(pl.col("series") == series).sort("timestamp")
            if series == "usage" and g.height:  # a daily cycle: a line through daily means
                t, v = daily_means(g["timestamp"], g["value"])
                fit = _fit(t, v) if t.len() >= MIN_USAGE_DAYS else None
            else:
                fit = _fit(g["timestamp"], g["value"]) if g.height else None
            for line, limit in lines.items():
                row: dict[str, Any] = {"resource": res, "series": series, "line": line,
                                       "limit": float(limit), "slope_per_day": None,
                                       "now": None, "days": None, "crossing": None}
                if fit is not None:
                    slope, now, t_end = fit
                    row.update(slope_per_day=slope, now=now)
                    if now >= limit:
                        days: float | None = 0.0
                    elif slope > 0:
                        days = (limit - now) / slope
                    else:
                        days = None
                    if days is not None and days <= horizon_days:
                        row["days"] = days
                        row["crossing"] = dt.datetime.fromtimestamp(t_end + days * 86400,
                                                                    tz=dt.UTC)
                rows.append(row)
    return pl.DataFrame(rows, schema={
        "resource": pl.String, "series": pl.String, "line": pl.String, "limit": pl.Float64,
        "slope_per_day": pl.Float64, "now": pl.Float64, "days": pl.Float64,
        "crossing": TIMESTAMP})


def pack(items: list[tuple[float, float]], nodes: list[tuple[str, float, float]]
         ) -> dict[str, Any]:
    """First-fit decreasing of (cpu, memory) items onto nodes (name, cpu, memory).

    Items are sorted by their larger share of the largest node, largest first; each goes on the
    first node (in the given order, largest first is usual) with room for both resources.
    ``nodes_needed`` counts the nodes used; items that fit nowhere are ``unplaced`` and each
    needs another node of the largest kind (added to ``nodes_needed``).
    """
    if not nodes:
        return {"nodes_now": 0, "nodes_needed": 0, "unplaced": len(items), "assignment": {}}
    cmax = max(n[1] for n in nodes) or 1.0
    mmax = max(n[2] for n in nodes) or 1.0
    order = sorted(items, key=lambda it: max(it[0] / cmax, it[1] / mmax), reverse=True)
    free = [[n[1], n[2]] for n in nodes]
    used = [0] * len(nodes)
    unplaced: list[tuple[float, float]] = []
    for c, m in order:
        for i, f in enumerate(free):
            if c <= f[0] + 1e-9 and m <= f[1] + 1e-9:
                f[0] -= c
                f[1] -= m
                used[i] += 1
                break
        else:
            unplaced.append((c, m))
    extra = 0
    if unplaced:  # more nodes of the largest kind, packed the same way
        extra_free: list[list[float]] = []
        for c, m in unplaced:
            for f in extra_free:
                if c <= f[0] and m <= f[1]:
                    f[0] -= c
                    f[1] -= m
                    break
            else:
                extra_free.append([cmax - c, mmax - m])
        extra = len(extra_free)
    return {"nodes_now": len(nodes), "nodes_needed": sum(1 for u in used if u) + extra,
            "unplaced": len(unplaced),
            "assignment": {n[0]: u for n, u in zip(nodes, used, strict=True) if u}}


def pack_recommendations(usage: CapacityUsage, recs: pl.DataFrame) -> dict[str, Any]:
    """Pack every active pod with its containers' recommended requests (current ones where there
    is no recommendation) onto today's nodes, largest node first."""
    r = recs.select("namespace", "workload_kind", "workload", "container",
                    pl.coalesce("cpu_request_rec", "cpu_request", pl.lit(0.0)).alias("c"),
                    pl.coalesce("memory_request_rec", "memory_request", pl.lit(0.0)).alias("m"))
    pods = (usage.containers.filter(pl.col("active"))
            .join(r, on=["namespace", "workload_kind", "workload", "container"], how="left")
            .group_by("namespace", "pod").agg(pl.col("c").fill_null(0.0).sum(),
                                              pl.col("m").fill_null(0.0).sum()))
    nodes = usage.nodes.sort("cpu_allocatable", "memory_allocatable", descending=True)
    return pack(list(pods.select("c", "m").iter_rows()),
                list(nodes.select("node", "cpu_allocatable", "memory_allocatable").iter_rows()))
