"""The capacity report's views: a static list of displayables, or an ipywidgets tuner.

Both call the same pure functions (:func:`workbench.capacity.recommend`, ...), so the scheduled
HTML and the JupyterLab session show the same numbers for the same parameters.
"""

from __future__ import annotations

import html
import warnings
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import polars as pl

from ..analysis.capacity import (
    FLAGS,
    CapacityUsage,
    flags,
    forecast,
    overcommit,
    pack_recommendations,
    quota_overcommit,
    quota_use,
    recommend,
    savings,
    storage_capacity,
    worst_flags,
)
from ._slider import slider

if TYPE_CHECKING:
    import ipywidgets

__all__ = ["CapacityParams", "capacity_report", "capacity_tuner", "capacity_views"]

GIB = 1024**3
#: Rows of each flag in the report's flag table (the rest: ``capacity.flags(usage)``).
FLAG_ROWS = 10


@dataclass(frozen=True)
class CapacityParams:
    """What the tuner changes: percentile, buffer, namespace regex; plus prices and retention."""

    cpu_percentile: float = 95.0
    memory_buffer: float = 0.15
    namespace: str = ""
    strategy: str = "krr-simple"
    cpu_core_hour: float | None = None
    memory_gib_hour: float | None = None
    retention_size: float = 10 * GIB
    retention_days: float = 5.0


def _readable(frame: pl.DataFrame) -> pl.DataFrame:
    """Quota quantities as cores / GiB / MiB (by the row's resource), booleans as ✓ / —."""
    mem = pl.col("resource").str.contains("memory")
    out = frame.with_columns(
        pl.when(pl.col(c)).then(pl.lit("✓")).otherwise(pl.lit("—")).alias(c)
        for c, dt in frame.schema.items() if dt == pl.Boolean)
    return out.with_columns(
        pl.when(pl.col(c).is_null()).then(pl.lit(""))
        .when(mem & (pl.col(c).abs() >= GIB)).then(pl.format("{} GiB", (pl.col(c) / GIB).round(1)))
        .when(mem).then(pl.format("{} MiB", (pl.col(c) / 1024**2).round(0).cast(pl.Int64)))
        .when(pl.col("resource").str.contains("cpu"))
        .then(pl.format("{} cores", pl.col(c).round(3)))
        .otherwise(pl.col(c).round(3).cast(pl.String).str.replace(r"\.0$", "")).alias(c)
        for c in ("hard", "used", "quota_hard", "allocatable") if c in frame.columns)


_QUANTITIES = ("hard", "used", "quota_hard", "allocatable")


def _h(text: str, level: int = 2) -> Any:
    from IPython.display import HTML

    return HTML(f"<h{level}>{html.escape(text)}</h{level}>")


def _p(text: str) -> Any:
    from IPython.display import HTML

    return HTML(f"<p>{html.escape(text)}</p>")


def _fmt(v: float | None, unit: str = "", digits: int = 2) -> str:
    return "n/a" if v is None else f"{v:,.{digits}f}{unit}"


def _headline(usage: CapacityUsage, recs: pl.DataFrame, p: CapacityParams) -> list[str]:
    sv = savings(recs, p.cpu_core_hour, p.memory_gib_hour).row(0, named=True)
    oc = {r["resource"]: r for r in overcommit(usage).iter_rows(named=True)}
    lines = [f"Reclaimable if every recommendation were applied: "
             f"{sv['reclaimable_cpu_cores']:.2f} cores and {sv['reclaimable_memory_gib']:.1f} GiB "
             f"(net {sv['cpu_cores']:.2f} cores, {sv['memory_gib']:.1f} GiB after raising "
             f"{sv['missing_cpu_cores']:.2f} cores / {sv['missing_memory_gib']:.1f} GiB that are "
             "short)."]
    if sv["total_per_month"] is not None:
        lines.append(f"At the given prices: {sv['total_per_month']:,.2f} per month.")
    for res, unit, scale in (("cpu", " cores", 1.0), ("memory", " GiB", GIB)):
        r = oc[res]
        state = "OVERCOMMITTED" if r["overcommitted"] else "fits"
        lines.append(
            f"{'CPU' if res == 'cpu' else res.capitalize()} requests {r['requests'] / scale:,.2f}{unit} = "
            f"{_fmt(None if r['requests_ratio'] is None else r['requests_ratio'] * 100, ' %', 1)} "
            f"of the {r['rule']} line ({r['line'] / scale:,.2f}{unit}): {state}; limits are "
            f"{_fmt(None if r['limits_ratio'] is None else r['limits_ratio'] * 100, ' %', 1)} "
            "of allocatable.")
    return lines


def capacity_views(usage: CapacityUsage, params: CapacityParams | None = None, *,
                   charts: bool = True) -> list[Any]:
    """Everything the report shows, as objects for ``IPython.display.display(*views)``."""
    from ..charts import html_table
    from ..charts.capacity import (
        forecast_chart,
        namespace_chart,
        node_allocation_chart,
        request_usage_chart,
        rightsizing_table,
        storage_chart,
        throttling_chart,
    )

    p = params or CapacityParams()
    recs = recommend(usage, p.strategy, p.cpu_percentile, p.memory_buffer, namespace=p.namespace)
    wl = usage.workloads
    if p.namespace:
        wl = wl.filter(pl.col("namespace").str.contains(f"^(?:{p.namespace})$"))
    fl = flags(wl, usage.nodes)
    counts, worst = worst_flags(fl, per_flag=FLAG_ROWS)
    fc = forecast(usage)
    st = storage_capacity(usage, p.retention_size, p.retention_days)
    pk = pack_recommendations(usage, recs)
    unplaced = f" ({pk['unplaced']} pods fit on no node)" if pk["unplaced"] else ""
    per_day = st["growth_bytes_per_day"]
    ret = st["retention_bytes"]
    views: list[Any] = [
        _h(f"{usage.cluster['nodes'][0]} nodes, {wl.height} workload containers "
           f"({usage.start:%Y-%m-%d %H:%M} – {usage.end:%Y-%m-%d %H:%M} UTC, step "
           f"{usage.step_s:g}s, {p.strategy}: CPU p{p.cpu_percentile:g}, memory max + "
           f"{p.memory_buffer:.0%})"),
        *[_p(line) for line in _headline(usage, recs, p)],
        _p(f"Packing the recommended requests (first-fit decreasing) onto today's nodes needs "
           f"{pk['nodes_needed']} of {pk['nodes_now']} nodes{unplaced}."),
        _h("Right-sizing"), rightsizing_table(recs),
        _h("Flags"),
        html_table(counts, caption="Flags, most serious first (a workload container can carry "
                                   "several)"),
        html_table(worst, caption=(
            f"The worst {FLAG_ROWS} of each flag (largest value first)" if worst.height
            < fl.height else "Every flag"), max_rows=FLAG_ROWS * len(FLAGS)),
    ]
    if worst.height < fl.height:
        views.append(_p(f"{fl.height - worst.height} more flags are in capacity.flags(usage)."))
    q = quota_use(usage)
    if q.height:
        views += [_h("ResourceQuotas"),
                  html_table(_readable(q), caption="Quota use, fullest first",
                             right=_QUANTITIES),
                  html_table(_readable(quota_overcommit(usage)), right=_QUANTITIES, caption=(
                      "Quota overcommit: the quotas' hard limits against allocatable "
                      "(KubeCPUQuotaOvercommit / KubeMemoryQuotaOvercommit above 1.5)"))]
    if charts:
        views += [_h("Requests and usage per namespace"), namespace_chart(usage.namespaces),
                  _h("Node allocation"), node_allocation_chart(usage.nodes),
                  _h("Request vs usage per workload container"),
                  request_usage_chart(wl, percentile=p.cpu_percentile),
                  _h("CPU throttling"), throttling_chart(usage.throttling),
                  _h("Forecast"), forecast_chart(usage.trend, fc)]
    scale = pl.when(pl.col("resource") == "memory").then(pl.lit(float(GIB))).otherwise(1.0)
    shown = fc.select(
        "resource", "series", "line",
        pl.when(pl.col("resource") == "memory").then(pl.lit("GiB")).otherwise(pl.lit("cores"))
        .alias("unit"), (pl.col("limit") / scale).round(2).alias("line value"),
        (pl.col("now") / scale).round(2).alias("trend now"),
        (pl.col("slope_per_day") / scale).round(4).alias("per day"),
        pl.col("days").round(1), pl.col("crossing").dt.strftime("%Y-%m-%d").alias("crossing"))
    views.append(html_table(shown, caption="Trend crossings (days from the window's end; empty "
                                           "= not within a year; usage is fitted on daily "
                                           "means, so it needs two whole days)"))
    views += [_h("Prometheus's own storage"),
              _p(f"{_fmt(st['samples_per_s'], ' samples/s', 0)} ingested, "
                 f"{_fmt(st['head_series'], ' head series', 0)}, "
                 f"{_fmt(st['bytes_per_sample'], ' bytes/sample')} "
                 f"({st['bytes_per_sample_source'] or 'unknown'}): "
                 f"{_fmt(None if per_day is None else per_day / GIB, ' GiB/day')}; "
                 f"{_fmt(st['days_fit'], ' days', 1)} fit in {p.retention_size / GIB:g} GiB; "
                 f"retention {p.retention_days:g}d costs "
                 f"{_fmt(None if ret is None else ret / GIB, ' GiB')}.")]
    if charts and st["growth_bytes_per_day"]:
        views.append(storage_chart(usage.storage_trend, st))
    if usage.top_metrics.height:
        views.append(html_table(usage.top_metrics, caption="Metrics with the most series"))
    if usage.metrics_server is not None:
        views += [_h("metrics-server now vs Prometheus over the window"),
                  html_table(usage.metrics_server, max_rows=100)]
    return views


def capacity_tuner(usage: CapacityUsage, params: CapacityParams | None = None, *,
                   charts: bool = True) -> ipywidgets.VBox:
    """Percentile, buffer and namespace widgets over the live report: changing one recomputes
    the recommendations, savings, flags and charts.

    The returned box has ``.controls`` (name -> widget), ``.output`` and ``.state`` (a dict whose
    ``"params"`` and ``"recs"`` follow the widgets).
    """
    import ipywidgets as w
    from IPython.display import display

    p = params or CapacityParams()
    state: dict[str, Any] = {"params": p}
    output = w.Output()
    pcts = [float(x) for x in usage.percentiles]
    notes = []
    percentile = float(p.cpu_percentile)
    if percentile not in pcts:  # only fetched percentiles can be shown: say which one is used
        notes.append(f"cpu_percentile = {percentile:g} was not fetched (fetched: "
                     f"{', '.join(f'{x:g}' for x in pcts)}); showing {pcts[-1]:g}. Fix: pass "
                     f"percentiles=(..., {percentile:g}) to capacity.fetch_usage.")
        warnings.warn(notes[-1], UserWarning, stacklevel=2)
        percentile = pcts[-1]
    buffer, buffer_note = slider("memory buffer", float(p.memory_buffer), 0.0, 1.0, 0.05,
                                 continuous_update=False, readout_format=".0%")
    notes += [buffer_note] if buffer_note else []
    controls = {
        "cpu_percentile": w.Dropdown(options=pcts, value=percentile, description="CPU percentile"),
        "memory_buffer": buffer,
        "namespace": w.Text(value=p.namespace, description="namespace regex",
                            continuous_update=False),
    }

    def redraw(_: Any = None) -> None:
        current = replace(p, **{k: c.value for k, c in controls.items()})
        state["params"] = current
        output.clear_output(wait=True)
        with output:
            try:
                state["recs"] = recommend(usage, current.strategy, current.cpu_percentile,
                                          current.memory_buffer, namespace=current.namespace)
                display(*capacity_views(usage, current, charts=charts))
            except Exception as exc:  # a half-typed regex: say so, keep the widgets alive
                display(_p(f"Cannot show this: {exc}"))

    for c in controls.values():
        c.observe(redraw, names="value")
    redraw()
    box = w.VBox([w.HTML("<b>Right-sizing</b> (table, savings and charts follow)"),
                  *[w.HTML(f"<p><i>{html.escape(n)}</i></p>") for n in notes],
                  w.HBox(list(controls.values())), output])
    box.controls = controls
    box.output = output
    box.state = state
    return box


def capacity_report(usage: CapacityUsage, params: CapacityParams | None = None, *,
                    interactive: bool) -> list[Any]:
    """What the notebook displays: ``[capacity_tuner(...)]`` when interactive, else the static
    views (scheduled runs)."""
    if interactive:
        return [capacity_tuner(usage, params)]
    return capacity_views(usage, params)
