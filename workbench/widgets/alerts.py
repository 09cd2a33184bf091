"""The alert-history report's views: a static list of displayables, or an ipywidgets tuner with
a window, severity / namespace filters and ``group_interval`` / ``repeat_interval`` sliders that
re-run the Alertmanager simulation.

Both paths call the same functions (:mod:`workbench.alert_history`,
:func:`workbench.alertmanager.simulate`), so the scheduled page and JupyterLab agree.
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import TYPE_CHECKING, Any

import polars as pl

from ..analysis.alert_history.report import (
    AlertReport,
    filter_episodes,
    messages_frame,
    simulate_messages,
)
from ..analysis.alert_history.summary import alert_summary, heatmap

if TYPE_CHECKING:
    import ipywidgets

__all__ = ["GROUP_INTERVALS", "REPEAT_INTERVALS", "alert_history_report", "alert_history_tuner",
           "alert_history_views"]

GROUP_INTERVALS = ["10s", "30s", "1m", "2m", "5m", "10m", "15m", "30m"]
REPEAT_INTERVALS = ["5m", "15m", "30m", "1h", "2h", "4h", "12h", "24h"]


def _html(text: str, tag: str = "h2", style: str = "") -> Any:
    from IPython.display import HTML

    st = f' style="{style}"' if style else ""
    return HTML(f"<{tag}{st}>{html.escape(text)}</{tag}>")


def _minutes(s: float | None) -> str:
    if s is None:
        return "n/a"
    return f"{s / 60:.0f} min" if s < 7200 else f"{s / 3600:.1f} h"


def _headline(report: AlertReport, episodes: pl.DataFrame,
              notifications: pl.DataFrame | None) -> str:
    fired = episodes.filter(pl.col("fired_at").is_not_null())
    resolved = fired.filter(pl.col("resolved_at").is_not_null())
    mttr = resolved["firing_s"].mean() if resolved.height else None
    summary = alert_summary(episodes)
    parts = [f"{fired.height:,} alerts fired ({episodes.height:,} episodes)"]
    if notifications is not None:
        parts.append(f"{notifications.height:,} messages sent")
    if fired.height:
        parts.append(f"noisiest: {summary['alertname'][0]}")
        parts.append(f"MTTR {_minutes(mttr)}")  # type: ignore[arg-type]
    h = report.history
    return (" · ".join(parts) + f" — {h.start:%Y-%m-%d %H:%M} to {h.end:%Y-%m-%d %H:%M} UTC")


#: Columns left out of the "firing now" tables (scrape plumbing, long URLs).
_NOISY = ("annotations", "generator_url", "fingerprint", "endpoint", "metrics_path", "service",
          "uid", "id", "image", "name", "fstype", "updated_at")


def _compact(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.drop([c for c in _NOISY if c in frame.columns])


def firing_counts(frame: pl.DataFrame) -> pl.DataFrame:
    """Alerts firing now per ``alertname`` and ``state``, most first: the line above the
    detailed table, which a cluster of 50 nodes fills with one row per node.

    Examples
    --------
    >>> f = pl.DataFrame({"alertname": ["A", "B", "A"], "state": ["firing"] * 3})
    >>> firing_counts(f).rows()
    [('A', 'firing', 2), ('B', 'firing', 1)]
    """
    keys = [c for c in ("alertname", "state") if c in frame.columns]
    if not keys or frame.height == 0:
        return pl.DataFrame(schema={"alertname": pl.String, "state": pl.String,
                                    "alerts": pl.UInt32})
    return (frame.group_by(keys).agg(pl.len().alias("alerts"))
            .sort(["alerts", *keys], descending=[True] + [False] * len(keys)))


def _message_samples(notifications: pl.DataFrame, n: int = 8) -> pl.DataFrame:
    """The distinct Slack titles and texts sent, most frequent first."""
    return (notifications.group_by("receiver", "title", "text").agg(
        messages=pl.len(), first=pl.col("time").min(), last=pl.col("time").max())
        .sort("messages", descending=True).head(n))


def alert_history_views(report: AlertReport, *, severity: str | None = None,
                        namespace: str | None = None, window: tuple[datetime, datetime] | None
                        = None, group_interval: str | None = None,
                        repeat_interval: str | None = None, charts: bool = True) -> list[Any]:
    """Everything the report shows, for ``IPython.display.display(*views)``.

    ``severity`` / ``namespace`` / ``window`` filter the episodes (and so the messages);
    ``group_interval`` / ``repeat_interval`` set the what-if timers (default: the report's).
    """
    from ..charts import (
        alert_heatmap_chart,
        alert_timeline_chart,
        events_chart,
        html_table,
        messages_chart,
        noisiest_chart,
        pvc_chart,
    )
    from ..charts.table import duration

    start, end = window if window else (None, None)
    ep = filter_episodes(report.history.episodes, severity=severity, namespace=namespace,
                         start=start, end=end)
    filtered = ep.height != report.history.episodes.height
    notifications, whatif = report.notifications, report.whatif
    gi = group_interval or report.whatif_timers["group_interval"]
    ri = repeat_interval or report.whatif_timers["repeat_interval"]
    if report.config is not None and (filtered or group_interval or repeat_interval):
        sim_end = report.history.end
        if filtered:
            notifications = simulate_messages(ep, report.config, sim_end,
                                              eval_interval=report.eval_interval)
        whatif = simulate_messages(ep, report.config, sim_end, eval_interval=report.eval_interval,
                                   group_interval=gi, repeat_interval=ri, detail=False)
    fmt = dict.fromkeys(("firing_s", "mttr_s", "p50_s", "p90_s", "pending_s"), duration)
    # values read "6h12m", so headers drop the _s unit suffix
    heads = {"firing_s": "firing", "mttr_s": "MTTR", "p50_s": "p50", "p90_s": "p90",
             "pending_s": "pending", "flapping": "re-fires <15 min",
             "still_firing": "still firing"}
    views: list[Any] = [_html(_headline(report, ep, notifications))]
    views += [_html(n, "p", "color:#8a6d3b") for n in report.notes]
    views.append(_html("Timeline", "h3"))
    if charts:
        views.append(alert_timeline_chart(ep, end=report.history.end))
        views.append(alert_heatmap_chart(heatmap(ep)))
    views.append(_html("Noisiest alerts", "h3"))
    by_name = alert_summary(ep)
    if charts:
        views.append(noisiest_chart(by_name))
    views.append(html_table(by_name, formats=fmt, labels=heads, max_rows=50,
                            caption="Per alert name, noisiest first (re-fires <15 min: "
                                    "episodes that fired again within 15 min of resolving)"))
    for col in ("severity", "namespace"):
        if col in ep.columns:
            views.append(html_table(alert_summary(ep, (col,)), formats=fmt, labels=heads,
                                    caption=f"Per {col}", max_rows=30))
    views.append(_html("Messages", "h3"))
    label = f"group_interval {gi}, repeat_interval {ri}"
    per_day = messages_frame(notifications, whatif, label)
    if report.config is None:
        views.append(_html("No Alertmanager configuration: " + report.config_source, "p"))
    else:
        views.append(_html(f"Routing from {report.config_source}; what-if: {label} on every "
                           "route.", "p"))
        if charts:
            views.append(messages_chart(per_day))
        totals = (per_day.group_by("scenario", "receiver").agg(
            pl.col("messages").sum(), pl.col("firing_messages").sum(),
            pl.col("resolved_messages").sum(), pl.len().alias("days"))
            .with_columns((pl.col("messages") / pl.col("days")).round(1).alias("per_day"))
            .sort("scenario", "receiver"))
        views.append(html_table(totals, caption="Messages per receiver"))
        if notifications is not None and notifications.height:
            views.append(html_table(_message_samples(notifications), wrap=("title", "text"),
                                    caption="What the messages said (distinct title and text, "
                                            "most frequent first)"))
    views.append(_html("Firing now", "h3"))
    if report.current.height == 0:
        still = report.history.episodes.filter(pl.col("fired_at").is_not_null()
                                               & pl.col("resolved_at").is_null()).height
        views.append(_html(
            "Nothing is pending or firing now, as Prometheus's /api/v1/alerts reports"
            + (f" (the history above still shows {still} alerts firing at its end, "
               f"{report.history.end:%Y-%m-%d %H:%M} UTC: they resolved since, or Prometheus "
               "has not evaluated its rules yet)." if still else "."), "p", "color:#8a6d3b"))
    if report.current.height > 20:
        views.append(html_table(firing_counts(report.current),
                                caption="Prometheus /api/v1/alerts per alert name"))
    views.append(html_table(_compact(report.current), caption="Prometheus /api/v1/alerts",
                            max_rows=20))
    if report.am_alerts is not None:
        views.append(html_table(_compact(report.am_alerts), caption="Alertmanager alerts",
                                max_rows=50))
    if report.am_silences is not None:
        views.append(html_table(report.am_silences, caption="Alertmanager silences",
                                max_rows=50))
    views.append(_html("Workload events", "h3"))
    if charts:
        views.append(events_chart(report.events))
    views.append(html_table(report.events.select(
        "reason", "kind", "namespace", "name", "container", "first_seen", "last_seen", "count",
        "message", "source"), caption="Crash loops, terminations, "
                            "restart bursts, failed/pending pods, image pulls, PVCs over "
                            f"{report.pvc_threshold:.0%}", max_rows=100,
                            wrap=("name", "message", "source")))
    views.append(_html("Persistent volume claims", "h3"))
    if charts:
        views.append(pvc_chart(report.pvc, report.pvc_threshold))
    return views


def alert_history_tuner(report: AlertReport) -> ipywidgets.VBox:
    """Window, severity and namespace filters and what-if timer sliders over the live report.

    The returned box has ``.controls`` (name -> widget), ``.output`` and ``.state`` (the last
    filters used).
    """
    import ipywidgets as w
    from IPython.display import display

    ep = report.history.episodes
    days = pl.datetime_range(report.history.start, report.history.end, "1d",
                             eager=True).to_list() or [report.history.start]
    if days[-1] < report.history.end:
        days.append(report.history.end)
    options = [(f"{d:%b %d %H:%M}", d) for d in days]

    def choices(col: str) -> list[str]:
        vals = sorted(v for v in ep[col].unique().to_list() if v) if col in ep.columns else []
        return ["(all)", *vals]

    controls: dict[str, Any] = {
        "window": w.SelectionRangeSlider(options=options, index=(0, len(options) - 1),
                                         description="window", layout=w.Layout(width="700px"),
                                         continuous_update=False),
        "severity": w.Dropdown(options=choices("severity"), description="severity"),
        "namespace": w.Dropdown(options=choices("namespace"), description="namespace"),
        "group_interval": w.SelectionSlider(
            options=GROUP_INTERVALS, value=report.whatif_timers["group_interval"]
            if report.whatif_timers["group_interval"] in GROUP_INTERVALS else "5m",
            description="group_interval", continuous_update=False,
            style={"description_width": "110px"}),
        "repeat_interval": w.SelectionSlider(
            options=REPEAT_INTERVALS, value=report.whatif_timers["repeat_interval"]
            if report.whatif_timers["repeat_interval"] in REPEAT_INTERVALS else "12h",
            description="repeat_interval", continuous_update=False,
            style={"description_width": "110px"}),
    }
    output = w.Output()
    state: dict[str, Any] = {}

    def redraw(_: Any = None) -> None:
        sev, ns = controls["severity"].value, controls["namespace"].value
        state.update(window=controls["window"].value,
                     severity=None if sev == "(all)" else sev,
                     namespace=None if ns == "(all)" else ns,
                     group_interval=controls["group_interval"].value,
                     repeat_interval=controls["repeat_interval"].value)
        output.clear_output(wait=True)
        with output:
            display(*alert_history_views(report, **state))

    for c in controls.values():
        c.observe(redraw, names="value")
    redraw()
    box = w.VBox([w.HTML("<b>Filters and what-if timers</b> (everything below follows them)"),
                  controls["window"], w.HBox([controls["severity"], controls["namespace"]]),
                  w.HBox([controls["group_interval"], controls["repeat_interval"]]), output])
    box.controls = controls
    box.output = output
    box.state = state
    return box


def alert_history_report(report: AlertReport, *, interactive: bool) -> list[Any]:
    """What the notebook displays: ``[alert_history_tuner(...)]`` in JupyterLab, else the static
    views (scheduled runs)."""
    if interactive:
        return [alert_history_tuner(report)]
    return alert_history_views(report)
