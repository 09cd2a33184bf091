"""The node-exporter report's views: a static list of displayables, or an ipywidgets tuner.

Both call the same pure functions (:func:`workbench.nodes.use_summary`, ...), so the
scheduled HTML and the JupyterLab session show the same numbers for the same thresholds.
"""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING, Any

import polars as pl

from ..analysis.nodes.analysis import (
    RESOURCES,
    NodeUse,
    UseThresholds,
    availability,
    fs_forecast,
    resource_frame,
    use_summary,
)
from ._slider import slider

if TYPE_CHECKING:
    import ipywidgets

__all__ = ["SLIDERS", "node_use_report", "node_use_views", "use_tuner"]

#: Resources charted as small multiples, in report order.
CHARTED = ["cpu_util", "load_per_cpu", "mem_util", "majfault_rate", "disk_util", "disk_queue",
           "fs_used", "net_rx_bytes", "net_tx_bytes", "net_err_ratio", "net_drops"]

#: Rare events counted per second (a packet dropped every few minutes): drawn per hour, as the
#: mean over buckets of at least an hour (at most this many per panel); a per-step line of 0
#: and 1/240 reads as a barcode.
EVENT_RATES = {"net_drops": "Network drops per hour (mean over each hour or longer)"}
EVENT_BUCKETS = 96

#: Threshold -> (min, max, step) of its slider.
SLIDERS: dict[str, tuple[float, float, float]] = {
    "cpu_util": (0.05, 1.0, 0.01),
    "load_per_cpu": (0.1, 8.0, 0.1),
    "mem_util": (0.05, 1.0, 0.01),
    "majfault_rate": (1.0, 5000.0, 1.0),
    "disk_util": (0.05, 1.0, 0.01),
    "disk_queue": (0.5, 50.0, 0.5),
    "net_err_ratio": (0.0005, 0.2, 0.0005),
    "fs_avail_pct": (1.0, 50.0, 1.0),
    "fs_horizon_h": (1.0, 168.0, 1.0),
    "fs_almost_full_pct": (1.0, 20.0, 1.0),
    "sustain_min": (0.0, 240.0, 1.0),
}


def _heading(text: str, level: int = 2) -> Any:
    import html

    from IPython.display import HTML

    return HTML(f"<h{level}>{html.escape(text)}</h{level}>")


def node_use_views(use: NodeUse, thresholds: UseThresholds | None = None,
                   *, charts: bool = True) -> list[Any]:
    """Everything the report shows, as objects for ``IPython.display.display(*views)``.

    Summary table and overview heat map, filesystem forecast, up/down history, then one
    small-multiples chart per resource with its threshold.
    """
    from ..charts import (
        availability_chart,
        fs_forecast_chart,
        fs_table,
        overview_chart,
        resource_chart,
        summary_table,
    )

    th = thresholds or UseThresholds()
    summary = use_summary(use, th)
    forecast = fs_forecast(use.filesystems, th)
    flagged = summary.filter(summary["n_flags"] > 0)
    lines = [f"{r['node']}: {', '.join(r['flags'])}" for r in flagged.head(8).iter_rows(
        named=True)]
    if flagged.height > 8:  # 50 nodes: a paragraph of names; the table lists them all
        lines.append(f"and {flagged.height - 8} more in the table")
    views: list[Any] = [
        _heading(f"{summary.height} nodes, {flagged.height} flagged "
                 f"({use.start:%Y-%m-%d %H:%M} – {use.end:%Y-%m-%d %H:%M} UTC, "
                 f"step {use.step_s:g}s)"),
        _heading("; ".join(lines) if lines else "No node crossed a threshold.", 4),
        summary_table(summary),
    ]
    if not charts:
        return [*views, fs_table(forecast)]
    views.append(overview_chart(summary, th))
    views += [_heading("Filesystems"), fs_table(forecast)]
    if forecast.height:
        views.append(fs_forecast_chart(forecast))
    up = availability(resource_frame(use, "up", per_node=True), use.start, use.end, use.step_s)
    views += [_heading("Availability"), availability_chart(up, use.start, use.end)]
    views.append(_heading("Resources per node"))
    for res in CHARTED:
        frame = resource_frame(use, res)
        if frame.height == 0:
            continue
        title, unit, th_name = RESOURCES[res]
        max_rows = 4000
        if res in EVENT_RATES:
            title, unit = EVENT_RATES[res], "per hour"
            frame, max_rows = per_hour(frame, (use.end - use.start).total_seconds() / 3600)
        views.append(resource_chart(frame, title=title, unit=unit, max_rows=max_rows,
                                    threshold=getattr(th, th_name) if th_name else None))
    return views


def per_hour(frame: pl.DataFrame, hours: float) -> tuple[pl.DataFrame, int]:
    """A per-second event rate as events per hour, and the chart rows that make each bucket an
    hour or longer (at most :data:`EVENT_BUCKETS` per series).

    Examples
    --------
    >>> f = pl.DataFrame({"node": ["a", "a"], "device": ["", ""], "value": [0.0, 1 / 240]})
    >>> out, rows = per_hour(f, 24.0)
    >>> out["value"].to_list(), rows
    ([0.0, 15.0], 24)
    """
    series = max(1, frame.select("node", "device").n_unique())
    buckets = max(2, min(EVENT_BUCKETS, int(hours)))
    return frame.with_columns(pl.col("value") * 3600), buckets * series


def use_tuner(use: NodeUse, thresholds: UseThresholds | None = None, *,
              charts: bool = True) -> ipywidgets.VBox:
    """Sliders for every threshold over the live report: moving one recomputes the flags, the
    summary and the charts.

    The returned box has ``.sliders`` (name -> FloatSlider), ``.output`` (the Output widget),
    ``.state`` (a dict whose ``"thresholds"`` and ``"summary"`` follow the sliders) and
    ``.notes`` (what was said about values outside a slider's usual range: the range is widened
    to the value, never the value clamped, and the note is shown above the sliders).
    """
    import ipywidgets as w
    from IPython.display import display

    th = thresholds or UseThresholds()
    state: dict[str, Any] = {"thresholds": th}
    output = w.Output()
    sliders: dict[str, w.FloatSlider] = {}
    notes: list[str] = []
    for f in fields(UseThresholds):
        lo, hi, step = SLIDERS[f.name]
        sliders[f.name], note = slider(
            f.name, float(getattr(th, f.name)), lo, hi, step, continuous_update=False,
            readout_format=".4g", style={"description_width": "140px"},
            layout=w.Layout(width="420px"))
        if note:
            notes.append(note)

    def redraw(_: Any = None) -> None:
        current = UseThresholds(**{n: s.value for n, s in sliders.items()})
        state["thresholds"] = current
        state["summary"] = use_summary(use, current)
        output.clear_output(wait=True)
        with output:
            display(*node_use_views(use, current, charts=charts))

    for s in sliders.values():
        s.observe(redraw, names="value")
    redraw()
    import html

    box = w.VBox([w.HTML("<b>Thresholds</b> (flags and charts follow the sliders)"),
                  *[w.HTML(f'<span style="color:#b35c00">{html.escape(n)}</span>') for n in notes],
                  w.GridBox(list(sliders.values()),
                            layout=w.Layout(grid_template_columns="repeat(2, 440px)")),
                  output])
    box.sliders = sliders
    box.output = output
    box.state = state
    box.notes = notes
    return box


def node_use_report(use: NodeUse, thresholds: UseThresholds | None = None, *,
                    interactive: bool) -> list[Any]:
    """What the notebook displays: ``[use_tuner(...)]`` when interactive (JupyterLab), else the
    static views (scheduled runs)."""
    if interactive:
        return [use_tuner(use, thresholds)]
    return node_use_views(use, thresholds)
