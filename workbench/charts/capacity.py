"""Chart builders for the capacity report. They return altair charts; never display.

Every builder keeps its marks readable at 50 nodes and 2,000 pods: the ``top`` entries and one
"others" row, or a capped number of points chosen by how far they are from the diagonal.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

import polars as pl

from ..analysis.capacity.recommend import GIB, MIB
from ..frames import TIMESTAMP
from ._theme import PALETTE
from .table import HtmlTable, html_table
from .use import time_axis

if TYPE_CHECKING:
    import altair as alt

__all__ = ["forecast_chart", "namespace_chart", "node_allocation_chart", "request_usage_chart",
           "rightsizing_table", "storage_chart", "throttling_chart", "top_with_others"]

_MEASURE_COLORS = {"requests": PALETTE["line"], "limits": PALETTE["muted"],
                   "usage (mean)": PALETTE["ok"], "usage (p95)": PALETTE["warn"]}


_LABEL = {"cpu": "CPU", "memory": "Memory"}


def _time_axis(timestamps: Any, width: int) -> alt.Axis:
    """The reports' time axis (:func:`workbench.charts.use.time_axis`: labels that never repeat
    nor run together) for these timestamps drawn ``width`` px wide.

    >>> import datetime as dt
    >>> t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    >>> _time_axis(pl.Series([t0, t0 + dt.timedelta(hours=12)]), 900).format
    '%H:%M'
    >>> _time_axis(pl.Series([t0, t0 + dt.timedelta(days=30)]), 400).format
    '%b %d'
    """
    ts = pl.Series(timestamps).drop_nulls()
    span = (cast(datetime, ts.max()) - cast(datetime, ts.min())) if ts.len() else timedelta(0)
    return time_axis(span, width)


def _num(v: Any, default: float) -> float:
    return float(v) if isinstance(v, int | float) and v > 0 else default


def top_with_others(frame: pl.DataFrame, key: str, by: str, top: int,
                    agg: str = "sum") -> pl.DataFrame:
    """The ``top`` rows by ``by`` and one ``others (n)`` row aggregating the rest (numeric
    columns summed, or averaged with ``agg="mean"``).

    Examples
    --------
    >>> f = pl.DataFrame({"k": ["a", "b", "c"], "v": [3.0, 2.0, 1.0]})
    >>> top_with_others(f, "k", "v", 1).rows()
    [('a', 3.0), ('others (2)', 3.0)]
    """
    f = frame.sort(by, descending=True, nulls_last=True)
    if f.height <= top + 1:
        return f
    head, rest = f.head(top), f.slice(top)
    nums = [c for c, t in rest.schema.items() if t.is_numeric() and c != key]
    fn = (lambda c: pl.col(c).sum()) if agg == "sum" else (lambda c: pl.col(c).mean())
    other = rest.select(pl.lit(f"others ({rest.height})").alias(key), *[fn(c) for c in nums])
    return pl.concat([head, other], how="diagonal_relaxed")


def namespace_chart(namespaces: pl.DataFrame, *, top: int = 15) -> alt.HConcatChart:
    """Requests, limits and mean usage per namespace (CPU cores, memory GiB), largest first."""
    import altair as alt

    ns = top_with_others(namespaces.select(
        "namespace", "cpu_requests", "cpu_limits", "cpu_usage_mean", "memory_requests",
        "memory_limits", "memory_usage_mean"), "namespace", "cpu_requests", top)
    order = ns["namespace"].to_list()
    panels = []
    for res, unit, scale in (("cpu", "cores", 1.0), ("memory", "GiB", GIB)):
        long = ns.select("namespace", *[pl.col(f"{res}_{m}").fill_null(0.0).truediv(scale)
                                        .alias(label) for m, label in (
            ("requests", "requests"), ("limits", "limits"), ("usage_mean", "usage (mean)"))]
        ).unpivot(index="namespace", variable_name="measure")
        panels.append(alt.Chart(long).mark_bar().encode(
            y=alt.Y("namespace:N", sort=order, title=None),
            yOffset=alt.YOffset("measure:N", sort=list(_MEASURE_COLORS)),
            x=alt.X("value:Q", title=f"{res} ({unit})"),
            color=alt.Color("measure:N", scale=alt.Scale(
                domain=["requests", "limits", "usage (mean)"],
                range=[_MEASURE_COLORS[k] for k in ("requests", "limits", "usage (mean)")]),
                legend=alt.Legend(orient="top", title=None)),
            tooltip=["namespace", "measure", alt.Tooltip("value:Q", format=".3~f")],
        ).properties(width=300, height=alt.Step(7), title=f"{_LABEL[res]} per namespace"))
    return alt.hconcat(*panels).resolve_scale(color="shared")


def node_allocation_chart(nodes: pl.DataFrame, *, top: int = 30) -> alt.HConcatChart:
    """Per node, requests and p95 usage as a share of allocatable (the ``top`` most requested
    nodes and the mean of the others), with the 100 % line."""
    import altair as alt

    n = nodes.with_columns(
        (pl.col("cpu_requests") / pl.col("cpu_allocatable")).alias("cpu_req"),
        (pl.col("cpu_usage_p95") / pl.col("cpu_allocatable")).alias("cpu_use"),
        (pl.col("memory_requests") / pl.col("memory_allocatable")).alias("memory_req"),
        (pl.col("memory_usage_p95") / pl.col("memory_allocatable")).alias("memory_use"),
    ).select("node", "pods", "cpu_req", "cpu_use", "memory_req", "memory_use")
    n = top_with_others(n, "node", "cpu_req", top, agg="mean")
    order = n["node"].to_list()
    panels = []
    for res in ("cpu", "memory"):
        long = n.select("node", pl.col(f"{res}_req").alias("requests"),
                        pl.col(f"{res}_use").alias("usage (p95)")).unpivot(
            index="node", variable_name="measure")
        # one node far above the rest (requests bound to a node that is gone, a mis-sized
        # DaemonSet) would squeeze every other bar: the axis stops at 1.5x the 90th percentile
        # (at least 150 %) and a clipped bar carries its value
        vals = long["value"].drop_nulls().drop_nans()
        cap = max(1.5, float(vals.quantile(0.9) or 0.0) * 1.5) if vals.len() else 1.5
        clipped = bool(vals.len()) and float(vals.max()) > cap  # type: ignore[arg-type]
        scale = alt.Scale(domain=[0, cap], clamp=True) if clipped else alt.Scale()
        bars = alt.Chart(long).mark_bar().encode(
            y=alt.Y("node:N", sort=order, title=None),
            yOffset=alt.YOffset("measure:N"),
            x=alt.X("value:Q", title=f"{res} share of allocatable", axis=alt.Axis(format="%"),
                    scale=scale),
            color=alt.Color("measure:N", scale=alt.Scale(
                domain=["requests", "usage (p95)"],
                range=[_MEASURE_COLORS["requests"], _MEASURE_COLORS["usage (p95)"]]),
                legend=alt.Legend(orient="top", title=None)),
            tooltip=["node", "measure", alt.Tooltip("value:Q", format=".1%")])
        rule = alt.Chart(pl.DataFrame({"x": [1.0]})).mark_rule(
            color=PALETTE["bad"], strokeDash=[4, 3]).encode(x="x:Q")
        if clipped:
            over = long.filter(pl.col("value") > cap).with_columns(
                pl.lit(cap).alias("x"), pl.format("{} %", (pl.col("value") * 100).round(0)
                                                  .cast(pl.Int64)).alias("label"))
            rule = rule + alt.Chart(over).mark_text(align="right", dx=-3, fontSize=9,
                                                    color="white").encode(
                x="x:Q", y=alt.Y("node:N", sort=order), yOffset="measure:N", text="label:N")
        panels.append((bars + rule).properties(width=300, height=alt.Step(7),
                                               title=f"{_LABEL[res]} allocation per node"))
    return alt.hconcat(*panels)


def request_usage_chart(workloads: pl.DataFrame, *, percentile: float = 95,
                        max_points: int = 400) -> alt.HConcatChart:
    """Request vs p95 usage per workload container, log-log with the diagonal (points above it
    use more than they request). At most ``max_points`` per panel: the farthest from the
    diagonal; containers without a request are left out (the flags list them)."""
    import altair as alt

    col = f"p{percentile:g}"
    panels = []
    for res, unit, scale in (("cpu", "cores", 1.0), ("memory", "GiB", GIB)):
        f = workloads.select(
            "namespace", "workload", "container",
            (pl.col(f"{res}_request") / scale).alias("request"),
            (pl.col(f"{res}_{col}") / scale).alias("usage"),
        ).filter(pl.col("request") > 0, pl.col("usage") > 0).with_columns(
            (pl.col("usage") / pl.col("request")).alias("ratio"),
            pl.when(pl.col("usage") > pl.col("request")).then(pl.lit("above request"))
            .when(pl.col("usage") < 0.1 * pl.col("request")).then(pl.lit("idle (< 10 %)"))
            .otherwise(pl.lit("within")).alias("state"))
        f = f.sort(pl.col("ratio").log().abs(), descending=True).head(max_points)
        lo = min(_num(f["request"].min(), 1e-3), _num(f["usage"].min(), 1e-3)) / 1.5
        hi = max(_num(f["request"].max(), 1.0), _num(f["usage"].max(), 1.0)) * 1.5
        diag = alt.Chart(pl.DataFrame({"x": [lo, hi], "y": [lo, hi]})).mark_line(
            color=PALETTE["muted"], strokeDash=[4, 3]).encode(x="x:Q", y="y:Q")
        dom = [lo, hi]
        pts = alt.Chart(f).mark_circle(size=36, opacity=0.75).encode(
            x=alt.X("request:Q", scale=alt.Scale(type="log", domain=dom),
                    title=f"{res} request ({unit})"),
            y=alt.Y("usage:Q", scale=alt.Scale(type="log", domain=dom),
                    title=f"{res} {col} usage ({unit})"),
            color=alt.Color("state:N", scale=alt.Scale(
                domain=["above request", "within", "idle (< 10 %)"],
                range=[PALETTE["bad"], PALETTE["line"], PALETTE["warn"]]),
                legend=alt.Legend(orient="top", title=None)),
            tooltip=["namespace", "workload", "container",
                     alt.Tooltip("request:Q", format=".3~f"),
                     alt.Tooltip("usage:Q", format=".3~f"), alt.Tooltip("ratio:Q", format=".2f")])
        panels.append((diag + pts).properties(width=320, height=280,
                                              title=f"{_LABEL[res]}: request vs {col} usage"))
    return alt.hconcat(*panels)


def throttling_chart(throttling: pl.DataFrame, *, top: int = 20, threshold: float = 0.25,
                     floor: float = 0.05) -> alt.Chart:
    """Heat map of the throttled ratio over time for the ``top`` most throttled workload
    containers (cells above ``threshold`` are what CPUThrottlingHigh fires on). Only containers
    throttled in at least ``floor`` of their periods at some step are shown (1 % is noise, and
    invisible on the colour scale); the title says so when none was."""
    import altair as alt

    f = throttling.with_columns(pl.format("{}/{} · {}", "namespace", "workload", "container")
                                .alias("container_of"))
    # only containers that were throttled at some step (the mean orders them)
    worst = (f.group_by("container_of").agg(pl.col("value").mean(), top=pl.col("value").max())
             .filter(pl.col("top") >= floor).sort("value", descending=True).head(top)["container_of"])
    f = f.filter(pl.col("container_of").is_in(worst.implode()))
    if f.height == 0:
        f = pl.DataFrame(schema={"timestamp": TIMESTAMP, "container_of": pl.String,
                                 "value": pl.Float64})
    return alt.Chart(f.select("timestamp", "container_of", "value")).mark_rect().encode(
        x=alt.X("timestamp:T", axis=_time_axis(f["timestamp"], 900)),
        y=alt.Y("container_of:N", sort=worst.to_list(), title=None),
        color=alt.Color("value:Q", title="throttled", scale=alt.Scale(
            domain=[0, threshold, 1], range=["#f7fbff", PALETTE["warn"], PALETTE["bad"]]),
            legend=alt.Legend(format="%")),
        tooltip=["container_of", alt.Tooltip("timestamp:T", format="%Y-%m-%d %H:%M"),
                 alt.Tooltip("value:Q", format=".1%")],
    ).properties(width=900, height=alt.Step(16),
                 title=f"CFS throttling, most throttled containers (> {threshold:.0%} flags)"
                 if f.height else "CFS throttling: no container was throttled in the window")


def _projection(t_end: Any, now: float, slope: float, days: float) -> list[dict[str, Any]]:
    return [{"timestamp": t_end, "value": now},
            {"timestamp": t_end + timedelta(days=days), "value": now + slope * days}]


def forecast_chart(trend: pl.DataFrame, forecast: pl.DataFrame, *,
                   horizon_days: float | None = None) -> alt.HConcatChart:
    """Cluster requests and usage over the window, their linear trends projected forward, the
    allocatable and N-1 lines, and the crossing dates within the horizon (default: as long as
    the window)."""
    import altair as alt

    panels = []
    for res, unit, scale in (("cpu", "cores", 1.0), ("memory", "GiB", GIB)):
        tr = trend.filter(pl.col("resource") == res, pl.col("series").is_in(["requests", "usage"]))
        if tr.height == 0:
            continue
        t0 = cast(datetime, tr["timestamp"].min())
        t1 = cast(datetime, tr["timestamp"].max())
        span = (t1 - t0).total_seconds() / 86400
        horizon = horizon_days or max(span, 7.0)
        fc = forecast.filter(pl.col("resource") == res)
        proj: list[dict[str, Any]] = []
        for r in fc.filter(pl.col("line") == "allocatable").iter_rows(named=True):
            if r["slope_per_day"] is not None:
                for p in _projection(t1, r["now"], r["slope_per_day"], horizon):
                    proj.append({**p, "series": r["series"]})
        lines = {r["line"]: r["limit"] for r in fc.iter_rows(named=True)}
        hist = tr.select("timestamp", "series", (pl.col("value") / scale).alias("value"))
        pj = pl.DataFrame(proj, schema={"timestamp": TIMESTAMP, "value": pl.Float64,
                                        "series": pl.String}).with_columns(
            pl.col("value") / scale)
        series_scale = alt.Scale(domain=["requests", "usage"],
                                 range=[PALETTE["line"], PALETTE["ok"]])
        color = alt.Color("series:N", scale=series_scale,
                          legend=alt.Legend(orient="top", title=None))
        layers = [alt.Chart(hist).mark_line().encode(
            x=alt.X("timestamp:T", axis=_time_axis(pl.concat([hist["timestamp"],
                                                                    pj["timestamp"]]), 400)),
            y=alt.Y("value:Q", title=f"{res} ({unit})"), color=color,
            tooltip=["series", alt.Tooltip("timestamp:T", format="%Y-%m-%d %H:%M"),
                     alt.Tooltip("value:Q", format=".3~f")]),
            alt.Chart(pj).mark_line(strokeDash=[5, 4]).encode(
                x="timestamp:T", y="value:Q", color=alt.Color(
                    "series:N", scale=series_scale, legend=None))]
        rules = pl.DataFrame({"line": ["allocatable", "N-1 (largest node lost)"],
                              "value": [lines.get("allocatable", math.nan) / scale,
                                        lines.get("n_minus_1", math.nan) / scale]})
        layers.append(alt.Chart(rules).mark_rule(strokeDash=[2, 2]).encode(
            y="value:Q", color=alt.Color("line:N", scale=alt.Scale(
                domain=["allocatable", "N-1 (largest node lost)"],
                range=[PALETTE["muted"], PALETTE["bad"]]), legend=alt.Legend(
                orient="bottom", title=None)), tooltip=["line", alt.Tooltip("value:Q",
                                                                            format=".3~f")]))
        cross = fc.filter(pl.col("crossing").is_not_null(), pl.col("days") > 0,
                          pl.col("days") <= horizon)
        if cross.height:
            pts = cross.select("crossing", "series", "line",
                               (pl.col("limit") / scale).alias("value"),
                               pl.col("crossing").dt.strftime("%Y-%m-%d").alias("date"))
            layers.append(alt.Chart(pts).mark_point(shape="diamond", size=90, filled=True,
                                                    color=PALETTE["bad"]).encode(
                x="crossing:T", y="value:Q", tooltip=["series", "line", "date"]))
            # allocatable is the upper line: its dates go above it, the N-1 line's below, and
            # a date closer than a tenth of the horizon to the previous one on its line is left
            # to the tooltip and the table (two labels would overlap)
            pts = pts.sort("line", "crossing").with_columns(
                pl.col("crossing").dt.strftime("%b %d").alias("label"),
                ((pl.col("crossing") - pl.col("crossing").shift(1).over("line"))
                 .dt.total_seconds() / 86400).fill_null(math.inf).alias("gap"))
            pts = pts.filter(pl.col("gap") >= horizon / 10).drop("gap")   # no inf in the data
            above = alt.Chart(pts.filter(pl.col("line") == "allocatable")).mark_text(
                dy=-9, baseline="bottom", fontSize=10)
            below = alt.Chart(pts.filter(pl.col("line") == "n_minus_1")).mark_text(
                dy=9, baseline="top", fontSize=10)
            layers += [m.encode(x="crossing:T", y="value:Q", text="label:N")
                       for m in (above, below)]
        panels.append(alt.layer(*layers).resolve_scale(color="independent").properties(
            width=400, height=200, title=f"{_LABEL[res]}: requests and usage, trend and lines"))
    return alt.hconcat(*panels)


def storage_chart(storage_trend: pl.DataFrame, storage: dict[str, Any]) -> alt.LayerChart:
    """Prometheus's persisted blocks over time, projected at today's growth to the retention
    size (the date it is reached is marked)."""
    import altair as alt

    b = storage_trend.filter(pl.col("series") == "blocks_bytes").select(
        "timestamp", (pl.col("value") / GIB).alias("GiB"))
    size = storage.get("retention_size") or 0.0
    per_day = storage.get("growth_bytes_per_day")
    pj = None
    if b.height and per_day:
        t1 = b["timestamp"].max()
        now = float(b["GiB"][-1])
        days = max(0.0, (size / GIB - now) / (per_day / GIB)) if size else 30.0
        pj = pl.DataFrame({"timestamp": [t1, t1 + timedelta(days=days)],  # type: ignore[operator]
                           "GiB": [now, now + per_day / GIB * days]},
                          schema={"timestamp": TIMESTAMP, "GiB": pl.Float64})
    xs = b["timestamp"] if pj is None else pl.concat([b["timestamp"], pj["timestamp"]])
    layers = [alt.Chart(b.with_columns(pl.lit("blocks").alias("what"))).mark_line(
        color=PALETTE["line"]).encode(
        x=alt.X("timestamp:T", axis=_time_axis(xs, 600)),
        y=alt.Y("GiB:Q", title="TSDB blocks (GiB)"),
        tooltip=[alt.Tooltip("timestamp:T", format="%Y-%m-%d %H:%M"),
                 alt.Tooltip("GiB:Q", format=".2f")])]
    if pj is not None:
        layers.append(alt.Chart(pj).mark_line(strokeDash=[5, 4], color=PALETTE["line"]).encode(
            x="timestamp:T", y="GiB:Q"))
        if size:
            layers.append(alt.Chart(pl.DataFrame({"GiB": [size / GIB],
                                                  "label": [f"retentionSize {size / GIB:g} GiB"]})
                                    ).mark_rule(color=PALETTE["bad"], strokeDash=[2, 2]).encode(
                y="GiB:Q", tooltip=["label"]))
    return cast("alt.LayerChart", alt.layer(*layers).properties(
        width=600, height=200, title="Prometheus storage: blocks on disk, growth projected"))


def _arrow(cur: pl.Expr, rec: pl.Expr, scale: float, fmt: str) -> pl.Expr:
    def f(v: pl.Expr) -> pl.Expr:
        x = (v / scale).round(3) if fmt == "cores" else (v / scale).round(0).cast(pl.Int64)
        return x.cast(pl.String).fill_null("–")
    return pl.format("{} → {}", f(cur), f(rec))


def rightsizing_table(recs: pl.DataFrame, *, top: int = 60) -> HtmlTable:
    """The recommendations sorted by saving (cores, then GiB / 4), as "current → recommended"
    (cores; MiB for memory), with the saving over the pods running now."""
    shown = recs.select(
        "namespace", pl.format("{} {}", "workload_kind", "workload").alias("workload"),
        "container", pl.col("pods_now").alias("pods"),
        _arrow(pl.col("cpu_request"), pl.col("cpu_request_rec"), 1.0, "cores")
        .alias("cpu request (cores)"),
        _arrow(pl.col("memory_request"), pl.col("memory_request_rec"), MIB, "MiB")
        .alias("memory request (MiB)"),
        _arrow(pl.col("memory_limit"), pl.col("memory_limit_rec"), MIB, "MiB")
        .alias("memory limit (MiB)"),
        pl.col("cpu_saving").round(3).alias("saving (cores)"),
        (pl.col("memory_saving") / GIB).round(2).alias("saving (GiB)"), "note")
    return html_table(shown, max_rows=top, caption=(
        "Right-sizing, largest saving first (current → recommended; a negative saving means "
        "the request is too small)"))
