"""Chart builders for the node-exporter (USE) report. They return altair charts; never display.

Every builder aggregates its input with :func:`workbench.nodes.chart_rows` first, so a
chart never carries more than ``max_rows`` rows (altair refuses more than 5,000 by default).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

import polars as pl

from ..analysis.nodes.analysis import chart_rows, top_devices
from ..frames import TIMESTAMP
from ._theme import PALETTE

if TYPE_CHECKING:
    import altair as alt

__all__ = ["availability_chart", "fs_forecast_chart", "overview_chart", "resource_chart"]

_PCT_UNITS = {"ratio"}

#: Width in px a report page gives a chart's plot area (the page is about 1,300 px wide in a
#: 1,400 px window); charts are sized to fill it.
PAGE_WIDTH = 1240

#: Numbers on value axes: SI prefixes from a thousand up (``1.5k``, ``2G``), plain decimals
#: below (``0.004``, never SI milli ``4m``, which reads as minutes or mega).
NUMBER_LABEL = ("abs(datum.value) >= 1000 ? format(datum.value, '.3~s') "
                ": format(datum.value, '.3~r')")


def value_axis(unit: str, title: str | None = None) -> alt.Axis:
    """The y axis of a value in ``unit``: percentages for ratios, :data:`NUMBER_LABEL` else."""
    import altair as alt

    if unit in _PCT_UNITS:  # 20%, 0.4%: as many decimals as the ticks need (never 1%, 1%, 1%)
        return alt.Axis(format=".2~%", title=title)
    return alt.Axis(labelExpr=NUMBER_LABEL, title=title)


def _unit_label(unit: str) -> str | None:
    return "%" if unit in _PCT_UNITS else (unit or None)


def _span(ts: pl.Series) -> timedelta:
    if ts.len() == 0:
        return timedelta(0)
    return cast(datetime, ts.max()) - cast(datetime, ts.min())


def time_axis(span: timedelta, width: int) -> alt.Axis:
    """A time axis whose labels never run together nor repeat: at most one label per 90 px,
    overlapping ones dropped (greedy), the outer ones kept inside the plot. With room for more
    than one label a day the labels are hours and midnight names its day (``Nov 26``);
    otherwise one label per day or per several days (never the same date at two ticks)."""
    import math

    import altair as alt

    ticks = max(2, width // 90)
    days = span.total_seconds() / 86400
    fmt = "%H:%M" if days < ticks else "%b %d"   # room for more than a label a day: hours
    if fmt == "%H:%M":
        expr = ("utchours(datum.value) == 0 && utcminutes(datum.value) == 0 ? "
                "utcFormat(datum.value, '%b %d') : datum.label")
        return alt.Axis(format=fmt, labelExpr=expr, labelOverlap="greedy", labelSeparation=8,
                        tickCount=ticks, labelFlush=True, title=None)
    step = max(1, math.ceil(days / ticks))
    return alt.Axis(format=fmt, labelOverlap="greedy", labelSeparation=8, labelFlush=True,
                    tickCount=alt.TickCount(interval="day", step=step), title=None)


def resource_chart(
    frame: pl.DataFrame,
    *,
    title: str,
    unit: str = "",
    threshold: float | None = None,
    columns: int = 3,
    max_rows: int = 4000,
    max_devices: int = 8,
    max_nodes: int = 12,
    width: int | None = None,
    height: int = 130,
) -> alt.FacetChart:
    """Small multiples of one resource: a panel per node, a line per device.

    Parameters
    ----------
    frame
        ``node``, ``device``, ``timestamp``, ``value`` (see
        :func:`workbench.nodes.resource_frame`).
    title, unit
        Chart title and the value unit (``"ratio"`` is shown as a percentage).
    threshold
        Draw the threshold as a rule and mark samples above it. The page shows a slider that
        moves both (a Vega parameter named ``threshold``), with no kernel behind it.
    columns
        Panels per row.
    max_rows
        Rows after aggregation (bucket means; the bucket maximum is in the tooltip).
    width, height
        Size of one panel; the default width fills :data:`PAGE_WIDTH` with ``columns`` panels.
    max_devices
        Lines per panel: a node with more devices shows the ``max_devices`` with the highest
        peak and the title says so. Filesystems come and go with pods (containerd mounts a
        tmpfs ``shm`` per pod sandbox), so a two-week window can hold thousands of mountpoints,
        more series than a chart has rows.
    max_nodes
        Panels at most. With more nodes, the ``max_nodes - 1`` with the highest peak get a
        panel each (busiest first) and the last panel, ``others (N nodes)``, shows the mean of
        the other nodes at each time, one line per device, so 50 nodes are 12 readable panels
        instead of 50.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> f = pl.DataFrame({"node": ["a"], "device": [""], "value": [0.5],
    ...                   "timestamp": [datetime(2026, 1, 1, tzinfo=UTC)]})
    >>> spec = resource_chart(f, title="CPU", unit="ratio", threshold=0.9).to_dict()
    >>> spec["params"][0]["name"], spec["params"][0]["value"]
    ('threshold', 0.9)
    """
    import altair as alt

    frame, dropped = top_devices(frame.select("node", "device", "timestamp", "value"),
                                 max_devices)
    if dropped:
        title = f"{title} (top {max_devices} per node by peak; {dropped} more not shown)"
    frame, order, others = _top_nodes(frame, max(2, max_nodes), max_devices)
    if others:
        title = (f"{title} ({len(order) - 1} of {len(order) - 1 + others} nodes with the "
                 f"highest peak, then the mean of the other {others})")
    data = chart_rows(frame, max_rows=max_rows)
    multi_device = data["device"].n_unique() > 1 or (data.height and data["device"][0] != "")
    # the y title is the unit only: a long title is wider than a row of panels is high, and the
    # titles of two facet rows ran into each other (the chart's title names the resource)
    if width is None:
        width = (PAGE_WIDTH - 60 - (columns - 1) * 18) // columns
    base = alt.Chart(data).properties(width=width, height=height)
    # the y scale reaches the threshold (a datum from a parameter does not widen the domain)
    data_max = cast(float, data["max"].max() or 0.0) if data.height else 0.0
    ymax = max(data_max, float(threshold)) * 1.05 if threshold is not None else None
    tooltip = [alt.Tooltip("node:N"), alt.Tooltip("timestamp:T", format="%Y-%m-%d %H:%M"),
               alt.Tooltip("value:Q", format=".3~f", title="mean"),
               alt.Tooltip("max:Q", format=".3~f", title="max")]
    if multi_device:
        tooltip.insert(1, alt.Tooltip("device:N"))
    enc: dict[str, Any] = {
        "x": alt.X("timestamp:T", title=None, axis=time_axis(_span(data["timestamp"]), width)),
        "y": alt.Y("value:Q", axis=value_axis(unit, _unit_label(unit)),
                   scale=alt.Scale(domainMax=ymax) if ymax else alt.Undefined),
        "tooltip": tooltip,
    }
    if multi_device:
        enc["color"] = alt.Color("device:N", legend=alt.Legend(orient="bottom", title=None))
    else:
        enc["color"] = alt.value(PALETTE["line"])
    layers: list[Any] = [base.mark_line().encode(**enc)]
    params: list[Any] = []
    if threshold is not None:
        top = max(float(threshold) * 3, data_max * 1.2, 1e-9)
        thr = alt.param(name="threshold", value=float(threshold),
                        bind=alt.binding_range(min=0, max=top, step=top / 300,
                                               name=f"{title} threshold "))
        params.append(thr)
        # one rule per panel (not one per row); samples above the threshold are shown by
        # opacity rather than filtered out, since an empty layer breaks the facet layout
        # the rule's y is a field computed from the parameter (a datum bound to a parameter
        # makes Vega log 'Infinite extent for field "data"' in the browser console)
        rule = base.transform_aggregate(n="count()", groupby=["node"]).transform_calculate(
            threshold=thr.name).mark_rule(color=PALETTE["bad"], strokeDash=[4, 3], clip=True)
        layers.append(rule.encode(y=alt.Y("threshold:Q")))
        layers.append(base.mark_circle(size=14, color=PALETTE["bad"], clip=True).encode(
            x="timestamp:T", y="value:Q", tooltip=tooltip,
            opacity=alt.condition(alt.datum.value > thr, alt.value(1.0), alt.value(0.0))))
    layered = alt.layer(*layers)
    if params:
        layered = layered.add_params(*params)
    return layered.facet(
        facet=alt.Facet("node:N", title=None, header=alt.Header(labelFontWeight="bold"),
                        sort=order),
        columns=columns, spacing={"row": 22, "column": 18},
    ).properties(title=title).resolve_scale(y="shared").resolve_axis(
        x="independent")  # each panel its own time axis: none under an empty last-row cell


def _top_nodes(frame: pl.DataFrame, max_nodes: int, max_devices: int
               ) -> tuple[pl.DataFrame, list[str], int]:
    """The frame with at most ``max_nodes`` nodes: the ``max_nodes - 1`` with the highest peak
    and one ``others (N nodes)`` pseudo-node: the other nodes' mean per device and time (the
    ``max_devices`` devices with the highest peak).
    Returns the frame, the panel order (busiest first, others last) and how many nodes were
    folded into ``others``."""
    peaks = (frame.group_by("node")
             .agg(pl.col("value").fill_nan(None).max().alias("_peak"))
             .sort(["_peak", "node"], descending=[True, False], nulls_last=True))
    nodes = peaks["node"].to_list()
    if len(nodes) <= max_nodes:
        return frame, nodes, 0
    keep = nodes[:max_nodes - 1]
    label = f"others ({len(nodes) - len(keep)} nodes)"
    inside = pl.col("node").is_in(keep)
    rest = (frame.filter(~inside).group_by("device", "timestamp")
            .agg(pl.col("value").fill_nan(None).mean())
            .select(pl.lit(label).alias("node"), "device", "timestamp", "value"))
    rest, _ = top_devices(rest, max_devices)
    return (pl.concat([frame.filter(inside), rest], how="vertical_relaxed"),
            [*keep, label], len(nodes) - len(keep))


def availability_chart(availability: pl.DataFrame, start: Any, end: Any, *,
                       max_rows: int = 4000, max_nodes: int = 20) -> alt.Chart:
    """Up/down history: one bar per node over the window, down windows in red.

    ``availability`` is the output of :func:`workbench.nodes.availability` (or the
    matching columns of ``use_summary``). Flaky scrapes give many short down windows (each step
    with a failed scrape is one); when there are more than ``max_rows`` bars, each node's windows
    are merged by time bucket, so the chart stays under altair's 5,000-row limit. The tooltip
    keeps the real downtime (``down minutes``) and the number of windows merged into a bar.
    With more than ``max_nodes`` nodes, those never down share one ``N nodes, always up`` bar
    (50 green bars say less than one), and every node that was down keeps its own.
    """
    import altair as alt

    nodes = availability["node"].to_list()
    if len(nodes) > max_nodes:
        was_down = availability["down_windows"].list.len().fill_null(0) > 0
        up_nodes = availability.filter(~was_down)
        if up_nodes.height > 1:
            label = f"{up_nodes.height} nodes, always up"
            availability = pl.concat([availability.filter(was_down).select("node", "down_windows"),
                                      pl.DataFrame({"node": [label], "down_windows": [[]]},
                                                   schema=availability.select(
                                                       "node", "down_windows").schema)])
            nodes = availability["node"].to_list()
    ts = TIMESTAMP
    down = availability.select("node", "down_windows").explode("down_windows").drop_nulls(
        "down_windows").unnest("down_windows")
    down = down.select("node", pl.col("start").cast(ts), pl.col("end").cast(ts)).with_columns(
        ((pl.col("end") - pl.col("start")).dt.total_seconds(fractional=True) / 60.0)
        .alias("down_minutes"), pl.lit(1, pl.Int64).alias("windows"))
    if nodes and len(nodes) + down.height > max_rows:
        per_node = max(1, (max_rows - len(nodes)) // len(nodes))
        t0 = pl.lit(start).cast(ts)
        span_ms = max(1, int((pl.Series([end]).cast(ts) - pl.Series([start]).cast(ts))
                             .dt.total_milliseconds()[0]))
        bucket_ms = math.ceil((span_ms + 1) / per_node)
        down = (down.with_columns(((pl.col("start") - t0).dt.total_milliseconds() // bucket_ms)
                                  .alias("_b"))
                .group_by("node", "_b")
                .agg(pl.col("start").min(), pl.col("end").max(), pl.col("down_minutes").sum(),
                     pl.col("windows").sum())
                .drop("_b"))
    up = pl.DataFrame({"node": nodes}, schema={"node": pl.String}).with_columns(
        pl.lit(start).cast(ts).alias("start"), pl.lit(end).cast(ts).alias("end"),
        pl.lit(0.0).alias("down_minutes"), pl.lit(0, pl.Int64).alias("windows"))
    data = pl.concat([up.with_columns(pl.lit("up").alias("state")),
                      down.with_columns(pl.lit("down").alias("state"))], how="diagonal")
    data = data.select("node", "start", "end", "state",
                       pl.col("down_minutes").round(1), "windows").sort("node", "state", "start")
    span = _span(pl.Series([start, end]).cast(ts))
    width = PAGE_WIDTH - 200  # node names take about 200 px
    return alt.Chart(data, title="Node up/down history").mark_bar(height=14).encode(
        x=alt.X("start:T", title=None, axis=time_axis(span, width),
                scale=alt.Scale(domainMin=_ms(start), domainMax=_ms(end))),
        x2="end:T",
        y=alt.Y("node:N", title=None, sort=nodes),
        color=alt.Color("state:N", scale=alt.Scale(domain=["up", "down"],
                                                   range=[PALETTE["ok"], PALETTE["bad"]]),
                        legend=alt.Legend(orient="bottom", title=None)),
        order=alt.Order("state:N", sort="descending"),
        tooltip=["node:N", "state:N", alt.Tooltip("start:T", format="%Y-%m-%d %H:%M:%S"),
                 alt.Tooltip("end:T", format="%Y-%m-%d %H:%M:%S"),
                 alt.Tooltip("down_minutes:Q", title="down minutes"), "windows:Q"],
    ).properties(width=width, height=alt.Step(22))


def _ms(t: Any) -> int:
    """Milliseconds since the epoch of a datetime (a Vega-Lite time scale's domain unit)."""
    return int(cast(datetime, pl.Series([t]).cast(TIMESTAMP)[0]).timestamp() * 1000)


def fs_forecast_chart(forecast: pl.DataFrame, *, max_bars: int = 40) -> alt.Chart:
    """Used fraction of each filesystem, coloured by status, with the time to full in the tooltip.

    ``forecast`` is the output of :func:`workbench.nodes.fs_forecast`. At most
    ``max_bars`` bars are drawn: flagged filesystems first, then the fullest, and a last
    ``others (N filesystems)`` bar at the fullest of the rest, coloured by the worst status among
    them (50 nodes have 150 filesystems or more; a node runs a tmpfs ``shm`` mount per pod
    under containerd, so a cluster can have thousands); the title says how many were folded.
    """
    import altair as alt

    title = "Filesystems: used, and hours until full at the recent trend"
    folded = forecast.height > max_bars
    if folded:
        keep = max(1, max_bars - 1)
        flagged = (pl.col("filling") | pl.col("almost_full")).fill_null(False)
        forecast = forecast.sort(
            [flagged, pl.col("used_ratio").fill_nan(None)], descending=[True, True],
            nulls_last=True)
        rest = forecast.slice(keep)
        others = rest.select(
            pl.lit(f"others ({rest.height} filesystems)").alias("node"),
            pl.lit("").alias("mountpoint"), pl.lit("").alias("device"),
            pl.lit("").alias("fstype"), pl.col("used_ratio").fill_nan(None).max(),
            pl.lit(None, pl.Float64).alias("size_bytes"),
            pl.lit(None, pl.Float64).alias("avail_bytes"),
            pl.col("hours_to_full").min(), pl.col("filling").fill_null(False).any(),
            pl.col("almost_full").fill_null(False).any())
        forecast = pl.concat([forecast.head(keep).select(others.columns), others],
                             how="vertical_relaxed")
        title += (f" (flagged, then fullest; the other {rest.height}: their fullest, "
                  "worst status)")
    data = forecast.with_columns(
        (pl.col("node") + " " + pl.col("mountpoint")).str.strip_chars_end().alias("filesystem"),
        pl.when(pl.col("almost_full")).then(pl.lit("almost full"))
        .when(pl.col("filling")).then(pl.lit("filling up")).otherwise(pl.lit("ok"))
        .alias("status"),
        (pl.col("size_bytes") / 1024**3).round(2).alias("size_gib"),
        (pl.col("avail_bytes") / 1024**3).round(2).alias("avail_gib"),
        pl.col("hours_to_full").round(1),
    ).select("filesystem", "node", "mountpoint", "device", "fstype", "status", "used_ratio",
             "size_gib", "avail_gib", "hours_to_full")
    # fullest first; a folded chart keeps flagged first and its others bar last
    order: Any = data["filesystem"].to_list() if folded else "-x"
    return alt.Chart(data, title=title).mark_bar().encode(
        x=alt.X("used_ratio:Q", title="used", axis=alt.Axis(format=".0%"),
                scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("filesystem:N", title=None, sort=order),
        color=alt.Color("status:N", scale=alt.Scale(
            domain=["ok", "filling up", "almost full"],
            range=[PALETTE["ok"], PALETTE["warn"], PALETTE["bad"]]),
            legend=alt.Legend(orient="bottom", title=None)),
        tooltip=["node:N", "mountpoint:N", "device:N", "fstype:N", "status:N",
                 alt.Tooltip("used_ratio:Q", format=".1%"), "size_gib:Q", "avail_gib:Q",
                 alt.Tooltip("hours_to_full:Q", title="hours to full")],
    ).properties(width=PAGE_WIDTH - 220, height=alt.Step(18))  # labels: at most 180 px


def overview_chart(summary: pl.DataFrame, thresholds: Any) -> alt.Chart:
    """Heat map, node × resource, of each resource's p95 as a fraction of its threshold.

    ``summary`` is :func:`workbench.nodes.use_summary`'s output; ``thresholds`` the
    :class:`~workbench.nodes.UseThresholds` it was computed with. Besides the sustained
    resources it has two columns for what the summary flags at once: ``filesystem`` (the fullest
    filesystem's used fraction against ``1 - fs_avail_pct``; at least 1 when a filesystem is
    flagged filling or almost full) and ``availability`` (0 when the node was always up, 2 when
    it was down: any downtime is a flag).
    """
    import altair as alt

    cols = {"CPU": ("cpu_util_p95", "cpu_util"), "load/CPU": ("load_per_cpu_p95", "load_per_cpu"),
            "memory": ("mem_util_max", "mem_util"), "major faults": ("majfault_rate_p95",
                                                                     "majfault_rate"),
            "disk busy": ("disk_util_p95", "disk_util"), "disk queue": ("disk_queue_p95",
                                                                        "disk_queue"),
            "net errors": ("net_err_ratio_max", "net_err_ratio")}
    parts = []
    for label, (col, th) in cols.items():
        limit = float(getattr(thresholds, th)) or float("inf")
        parts.append(summary.select(
            "node", pl.lit(label).alias("resource"), pl.col(col).alias("observed"),
            pl.lit(limit).alias("threshold"),
            (pl.col(col) / limit).alias("fraction_of_threshold")))
    flags = pl.col("flags").fill_null([])
    fs_limit = max(1e-9, 1 - float(thresholds.fs_avail_pct) / 100)
    fs_flagged = flags.list.contains("fs_filling") | flags.list.contains("fs_almost_full")
    parts.append(summary.select(
        "node", pl.lit("filesystem").alias("resource"),
        pl.col("fs_used_max").alias("observed"), pl.lit(fs_limit).alias("threshold"),
        pl.max_horizontal(pl.col("fs_used_max").fill_nan(None) / fs_limit,
                          pl.when(fs_flagged).then(1.0).otherwise(0.0))
        .alias("fraction_of_threshold")))
    parts.append(summary.select(
        "node", pl.lit("availability").alias("resource"),
        pl.col("availability").alias("observed"), pl.lit(1.0).alias("threshold"),
        pl.when(flags.list.contains("down")).then(2.0).otherwise(0.0)
        .alias("fraction_of_threshold")))
    data = pl.concat(parts, how="vertical_relaxed")
    order = summary["node"].to_list()
    return alt.Chart(data, title="p95 (max for memory, errors and filesystems) as a fraction of "
                                 "the threshold; availability red when the node was down"
                     ).mark_rect().encode(
        x=alt.X("resource:N", title=None, sort=[*cols, "filesystem", "availability"],
                axis=alt.Axis(labelAngle=0, orient="top")),
        y=alt.Y("node:N", title=None, sort=order),
        color=alt.Color("fraction_of_threshold:Q", title="of threshold",
                        scale=alt.Scale(domain=[0, 1, 2], range=["#f2f5f7", PALETTE["warn"],
                                                                  PALETTE["bad"]], clamp=True),
                        legend=alt.Legend(format=".0%")),
        tooltip=["node:N", "resource:N", alt.Tooltip("observed:Q", format=".4~f"),
                 alt.Tooltip("threshold:Q", format=".4~f"),
                 alt.Tooltip("fraction_of_threshold:Q", format=".0%")],
    ).properties(width=PAGE_WIDTH - 250, height=alt.Step(22))  # node names, legend: ~250 px
