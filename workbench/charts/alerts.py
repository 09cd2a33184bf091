"""Chart builders for the alert-history report. They return altair charts; never display.

Each builder bounds its rows (top identities, top PVCs, one cell per weekday and hour), so a
history with thousands of alert identities still draws a readable chart under altair's
5,000-row limit.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import polars as pl

from ..analysis.alert_history.summary import WEEKDAYS, top_identities
from ._theme import PALETTE

if TYPE_CHECKING:
    import altair as alt

__all__ = ["alert_heatmap_chart", "alert_timeline_chart", "events_chart", "messages_chart",
           "noisiest_chart", "pvc_chart"]


def _empty(text: str) -> alt.Chart:
    import altair as alt

    return alt.Chart(pl.DataFrame({"t": [text]})).mark_text(
        align="left", color=PALETTE["muted"], fontSize=12).encode(
        text="t:N").properties(width=600, height=30)


def alert_timeline_chart(episodes: pl.DataFrame, *, top_n: int = 30,
                         end: datetime | None = None, width: int = 900,
                         max_rows: int = 4000) -> alt.Chart:
    """One row per alert identity (the ``top_n`` with most firing time), a bar per episode from
    ``fired_at`` (or ``active_at`` when it never fired) to ``resolved_at``, coloured by alert."""
    import altair as alt

    if episodes.height == 0:
        return _empty("No alert was pending or firing in this window.")
    rows = top_identities(episodes, top_n, end=end)
    if rows.height > max_rows:  # keep the longest episodes
        rows = rows.sort(pl.col("stop") - pl.col("start"), descending=True).head(max_rows)
    order = (rows.group_by("label").agg(pl.col("firing_s").sum())
             .sort(["firing_s", "label"], descending=[True, False])["label"].to_list())
    data = rows.select("identity", "label", "alertname", "state", "start", "stop", "firing_s",
                       pl.col("active_at"), pl.col("resolved_at")).with_columns(
        (pl.col("firing_s") / 60).round(1).alias("firing_min"))
    n = len(order)
    return alt.Chart(data).mark_bar(height={"band": 0.7}).encode(
        x=alt.X("start:T", title=None, axis=alt.Axis(format="%b %d %H:%M")),
        x2="stop:T",
        y=alt.Y("label:N", sort=order, title=None,
                axis=alt.Axis(labelLimit=360, labelFontSize=10)),
        color=alt.Color("alertname:N", title="alert", legend=alt.Legend(orient="bottom",
                                                                         columns=4)),
        opacity=alt.condition(alt.datum.state == "firing", alt.value(1.0), alt.value(0.35)),
        tooltip=["identity:N", "state:N", alt.Tooltip("active_at:T", format="%Y-%m-%d %H:%M"),
                 alt.Tooltip("start:T", title="fired", format="%Y-%m-%d %H:%M"),
                 alt.Tooltip("resolved_at:T", format="%Y-%m-%d %H:%M"),
                 alt.Tooltip("firing_min:Q", title="firing (min)")],
    ).properties(width=width - 300, height=max(60, 16 * n),
                 title=_timeline_title(episodes, n, rows))


def _timeline_title(episodes: pl.DataFrame, shown: int, rows: pl.DataFrame) -> str:
    """The timeline's title; with more identities than rows it says how many are left out and
    how many episodes and firing hours they hold (the noisiest tables list them all)."""
    from ..analysis.alert_history.episodes import episode_labels

    total = episodes.select(episode_labels(episodes)).n_unique()
    if total <= shown:
        return f"Alert episodes: the {shown} identities with most firing time"
    rest = episodes.join(rows.select(episode_labels(episodes)).unique(),
                         on=episode_labels(episodes), how="anti", nulls_equal=True)
    hours = float(rest["firing_s"].sum() or 0) / 3600
    return (f"Alert episodes: the {shown} of {total:,} identities with most firing time (the "
            f"other {total - shown:,}: {rest.height:,} episodes, {hours:,.1f} h firing)")


def alert_heatmap_chart(heat: pl.DataFrame, *, tz: str = "UTC") -> alt.Chart:
    """Alerts fired per weekday x hour (from :func:`workbench.alert_history.heatmap`)."""
    import altair as alt

    base = alt.Chart(heat).encode(
        x=alt.X("hour:O", title=f"hour of day ({tz})"),
        y=alt.Y("weekday:O", sort=list(WEEKDAYS), title=None))
    cells = base.mark_rect(stroke="white", strokeWidth=1).encode(
        color=alt.condition(alt.datum.fired > 0, alt.Color(
            "fired:Q", title="alerts fired", scale=alt.Scale(scheme="orangered")),
            alt.value("#f3f5f7")),
        tooltip=["weekday:O", "hour:O", "fired:Q",
                 alt.Tooltip("firing_s:Q", title="firing (s)", format=",.0f")])
    # The orangered scale is dark red above about half its range: white numbers there.
    top = heat["fired"].max() if heat.height else 0
    dark = max(1.0, 0.5 * float(top or 0))  # type: ignore[arg-type]
    text = base.mark_text(fontSize=9).encode(
        text=alt.condition(alt.datum.fired > 0, "fired:Q", alt.value("")),
        color=alt.condition(alt.datum.fired >= dark, alt.value("white"), alt.value("#333")))
    return (cells + text).properties(width=720, height=190,
                                     title="When alerts fire (weekday x hour)")


def noisiest_chart(summary: pl.DataFrame, *, top_n: int = 15, by: str = "alertname"
                   ) -> alt.HConcatChart | alt.Chart:
    """Alerts fired and firing hours of the ``top_n`` noisiest groups (from ``alert_summary``)."""
    import altair as alt

    if summary.height == 0:
        return _empty("Nothing fired.")
    data = summary.head(top_n).with_columns(
        (pl.col("firing_s") / 3600).round(1).alias("firing_h"))
    order = data[by].to_list()
    bars = alt.Chart(data).mark_bar(color=PALETTE["bad"]).encode(
        x=alt.X("fired:Q", title="alerts fired"),
        y=alt.Y(f"{by}:N", sort=order, title=None, axis=alt.Axis(labelLimit=300)),
        tooltip=[f"{by}:N", "fired:Q", "episodes:Q", "identities:Q", "flapping:Q",
                 alt.Tooltip("firing_h:Q", title="firing (h)")])
    hours = alt.Chart(data).mark_bar(color=PALETTE["line"]).encode(
        x=alt.X("firing_h:Q", title="firing time (h)"),
        y=alt.Y(f"{by}:N", sort=order, title=None, axis=None),
        tooltip=[f"{by}:N", alt.Tooltip("firing_h:Q", title="firing (h)")])
    return alt.hconcat(bars.properties(width=330, height=16 * len(order)),
                       hours.properties(width=330, height=16 * len(order))).properties(
        title=f"Noisiest alerts (top {len(order)})")


def messages_chart(per_day: pl.DataFrame) -> alt.Chart:
    """Messages per day under the configured routing and the what-if (``scenario``), side by
    side, summed over receivers (from :func:`workbench.alert_history.messages_frame`)."""
    import altair as alt

    if per_day.height == 0:
        return _empty("No Alertmanager configuration: no message counts.")
    data = (per_day.group_by("day", "scenario").agg(pl.col("messages").sum(),
                                                    pl.col("receiver").unique().sort()
                                                    .str.join(", ").alias("receivers"))
            .sort("day", "scenario"))
    # one band per day (ordinal): a time axis put a day's bar across two ticks and repeated
    # the date on windows of a day or two
    data = data.with_columns(pl.col("day").cast(pl.Date).dt.strftime("%a %b %d").alias("date"))
    days = data.unique("date", maintain_order=True)["date"].to_list()
    return alt.Chart(data).mark_bar().encode(
        x=alt.X("date:O", title=None, sort=days, axis=alt.Axis(labelAngle=0)),
        xOffset="scenario:N",
        y=alt.Y("messages:Q", title="messages per day"),
        color=alt.Color("scenario:N", title=None, legend=alt.Legend(orient="top",
                                                                    labelLimit=400)),
        tooltip=[alt.Tooltip("day:T", format="%Y-%m-%d"), "scenario:N", "messages:Q",
                 "receivers:N"],
    ).properties(width=min(900, 160 * len(days)), height=200,
                 title="Messages sent per day (all receivers)")


def events_chart(events: pl.DataFrame, *, top_n: int = 40, width: int = 900) -> alt.Chart:
    """Workload events: a bar from first to last seen per object and reason (most recent first)."""
    import altair as alt

    if events.height == 0:
        return _empty("No workload event in this window.")
    data = events.sort("last_seen", descending=True).head(top_n).with_columns(
        object=pl.concat_str(pl.col("namespace").fill_null(""), pl.lit("/"), pl.col("name"),
                             pl.when(pl.col("container").is_not_null()).then(
                                 pl.concat_str(pl.lit(" ["), pl.col("container"), pl.lit("]")))
                             .otherwise(pl.lit(""))))
    data = data.select("object", "reason", "kind", "first_seen", "last_seen", "count",
                       "message")
    rows = data["object"].n_unique()
    point = alt.Chart(data).mark_tick(thickness=3, size=14).encode(
        x="first_seen:T", y=alt.Y("object:N", title=None), color="reason:N")
    bars = alt.Chart(data).mark_bar(height={"band": 0.6}).encode(
        x=alt.X("first_seen:T", title=None, axis=alt.Axis(format="%b %d %H:%M")),
        x2="last_seen:T",
        y=alt.Y("object:N", title=None, axis=alt.Axis(labelLimit=420, labelFontSize=10)),
        color=alt.Color("reason:N", legend=alt.Legend(orient="bottom", columns=5)),
        tooltip=["reason:N", "kind:N", "object:N", "count:Q",
                 alt.Tooltip("first_seen:T", format="%Y-%m-%d %H:%M"),
                 alt.Tooltip("last_seen:T", format="%Y-%m-%d %H:%M"), "message:N"])
    return (bars + point).properties(width=width, height=max(60, 20 * rows),
                                     title="Workload events (first to last seen)")


def pvc_chart(usage: pl.DataFrame, threshold: float = 0.70, *, top_n: int = 10) -> alt.Chart:
    """Used ratio of the ``top_n`` fullest PVCs over time, with the threshold."""
    import altair as alt

    if usage.height == 0 or "persistentvolumeclaim" not in usage.columns:
        return _empty("No kubelet volume statistics (kubelet_volume_stats_*) in this window.")
    data = usage.with_columns(pvc=pl.concat_str(pl.col("namespace").fill_null(""), pl.lit("/"),
                                                pl.col("persistentvolumeclaim")))
    top = (data.group_by("pvc").agg(pl.col("value").max()).sort("value", descending=True)
           .head(top_n)["pvc"])
    data = data.filter(pl.col("pvc").is_in(top.implode())).select("timestamp", "pvc", "value")
    lines = alt.Chart(data).mark_line().encode(
        x=alt.X("timestamp:T", title=None),
        y=alt.Y("value:Q", title="used", axis=alt.Axis(format=".0%"),
                scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("pvc:N", title="PVC", legend=alt.Legend(orient="bottom")),
        tooltip=["pvc:N", alt.Tooltip("timestamp:T", format="%Y-%m-%d %H:%M"),
                 alt.Tooltip("value:Q", format=".1%")])
    rule = alt.Chart(pl.DataFrame({"y": [threshold]})).mark_rule(
        color=PALETTE["bad"], strokeDash=[4, 3]).encode(y="y:Q")
    return (lines + rule).properties(width=900, height=180,
                                     title=f"PVC usage (threshold {threshold:.0%})")
