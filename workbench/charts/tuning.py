"""Chart builders for threshold tuning and the rules audit. They return altair charts; never display.

* :func:`tuning_chart` — the rule's expression over time, the threshold as a line, pending and
  firing alerts as shaded bands;
* :func:`heatmap_chart` — alerts per day over a threshold x ``for`` grid (a sweep);
* :func:`rules_audit_table` — the audit frame as an HTML table.

Inputs come from :mod:`workbench.analysis.alerting.tuning` (``Tuning.series``,
``episode_bands``) and are already bounded in rows.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import polars as pl

from ._theme import PALETTE
from .table import HtmlTable, duration, html_table, num, pct
from .use import NUMBER_LABEL, PAGE_WIDTH, time_axis

if TYPE_CHECKING:
    import altair as alt

__all__ = ["heatmap_chart", "rules_audit_table", "tuning_chart"]

STATE_COLOURS = {"pending": PALETTE["warn"], "firing": PALETTE["bad"]}


def tuning_chart(series: pl.DataFrame, bands: pl.DataFrame, *, threshold: float | None,
                 title: str, width: int = PAGE_WIDTH, height: int = 260,
                 max_bands: int = 200) -> alt.LayerChart:
    """The expression per series, the threshold line and the pending/firing bands.

    Parameters
    ----------
    series
        ``timestamp``, ``series``, ``value`` (see ``Tuning.series``).
    bands
        ``start``, ``end``, ``state``, ``alert`` (see ``episode_bands``).
    threshold
        Where to draw the threshold (``None``: a full-expression rule, no line).
    title
        Chart title.
    max_bands
        With more bands (a rule over 2,000 pods fires many alerts at once), the overlapping
        bands of each state are merged into one (the tooltip says how many alerts), so the
        chart draws a few hundred shaded spans, never thousands stacked on each other.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> t = [datetime(2026, 1, 1, h, tzinfo=UTC) for h in range(3)]
    >>> s = pl.DataFrame({"timestamp": t, "series": ["a"] * 3, "value": [1.0, 5.0, 2.0]})
    >>> b = pl.DataFrame({"start": t[1:2], "end": t[2:3], "state": ["firing"], "alert": ["a"]})
    >>> spec = tuning_chart(s, b, threshold=4, title="x").to_dict()
    >>> [layer["mark"]["type"] for layer in spec["layer"]]
    ['rect', 'line', 'rule']
    """
    import altair as alt

    seen = series.filter(pl.col("value").is_not_null())       # no empty stretch before the data
    # domainMin/Max in epoch ms: an explicit `domain` on a layer with x2 makes Vega-Lite warn
    # about conflicting domains and an infinite extent in the browser console
    lo = _epoch_ms(seen["timestamp"].min() if seen.height else None,
                   bands["start"].min() if bands.height else None, min)
    hi = _epoch_ms(seen["timestamp"].max() if seen.height else None,
                   bands["end"].max() if bands.height else None, max)
    x_scale = alt.Scale(domainMin=lo, domainMax=hi) if lo is not None and hi is not None \
        else alt.Scale()
    state_scale = alt.Scale(domain=list(STATE_COLOURS), range=list(STATE_COLOURS.values()))
    if bands.height > max_bands:
        bands = merged_bands(bands)
    rect = alt.Chart(bands if bands.height else _no_bands(seen)).mark_rect(opacity=0.22).encode(
        x=alt.X("start:T", title=None, scale=x_scale),
        x2="end:T",
        color=alt.Color("state:N", scale=state_scale, title="alert state",
                        legend=alt.Legend(orient="top")),
        tooltip=[alt.Tooltip("alert:N"), alt.Tooltip("state:N"),
                 alt.Tooltip("start:T", format="%Y-%m-%d %H:%M"),
                 alt.Tooltip("end:T", format="%Y-%m-%d %H:%M")],
    )
    span = timedelta(milliseconds=(hi - lo) if lo is not None and hi is not None else 0)
    line = alt.Chart(series).mark_line(strokeWidth=1.2).encode(
        x=alt.X("timestamp:T", title=None, scale=x_scale, axis=time_axis(span, width)),
        y=alt.Y("value:Q", title=None, axis=alt.Axis(labelExpr=NUMBER_LABEL)),
        color=alt.Color("series:N", title="series", legend=alt.Legend(orient="bottom",
                                                                     columns=4, labelLimit=280)),
        tooltip=[alt.Tooltip("series:N"), alt.Tooltip("timestamp:T", format="%Y-%m-%d %H:%M"),
                 alt.Tooltip("value:Q", format=".4~g")],
    )
    layers: list[Any] = [rect, line]
    if threshold is not None:
        layers.append(alt.Chart(pl.DataFrame({"threshold": [float(threshold)]})).mark_rule(
            color=PALETTE["bad"], strokeDash=[6, 3], strokeWidth=1.5).encode(
            y="threshold:Q", tooltip=[alt.Tooltip("threshold:Q", format=".4~g")]))
    return alt.layer(*layers).resolve_scale(color="independent").properties(
        title=title, width=width, height=height)


def merged_bands(bands: pl.DataFrame) -> pl.DataFrame:
    """Overlapping (or touching) bands of one state merged into one: ``start``, ``end``,
    ``state``, and ``alert`` saying how many alerts the span holds.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> t = [datetime(2026, 1, 1, h, tzinfo=UTC) for h in range(6)]
    >>> b = pl.DataFrame({"start": [t[0], t[1], t[4]], "end": [t[2], t[3], t[5]],
    ...                   "state": ["firing"] * 3, "alert": ["a", "b", "a"]})
    >>> [(r["start"].hour, r["end"].hour, r["alert"]) for r in merged_bands(b).to_dicts()]
    [(0, 3, '2 alerts'), (4, 5, '1 alert')]
    """
    f = bands.sort("state", "start")
    new_span = (pl.col("start") > pl.col("end").cum_max().shift(1).over("state")).fill_null(True)
    return (f.with_columns(new_span.cum_sum().over("state").alias("_span"))
            .group_by("state", "_span")
            .agg(pl.col("start").min(), pl.col("end").max(), pl.col("alert").n_unique().alias("_n"))
            .select("start", "end", "state",
                    pl.format("{} alert{}", "_n", pl.when(pl.col("_n") == 1).then(pl.lit(""))
                              .otherwise(pl.lit("s"))).alias("alert"))
            .sort("start", "state"))


def _epoch_ms(a: Any, b: Any, pick: Any) -> int | None:
    vals = [v for v in (a, b) if v is not None]
    return round(pick(vals).timestamp() * 1000) if vals else None


def _no_bands(seen: pl.DataFrame) -> pl.DataFrame:
    """No episode: one zero-width band at the first sample keeps the state legend and gives
    Vega a finite extent (an empty layer logs 'Infinite extent' warnings)."""
    from ..frames import TIMESTAMP

    at = seen["timestamp"].head(1).cast(TIMESTAMP)
    return pl.DataFrame({"start": at, "end": at, "state": ["pending"] * at.len(),
                         "alert": ["none"] * at.len()},
                        schema={"start": TIMESTAMP, "end": TIMESTAMP, "state": pl.String,
                                "alert": pl.String})


def _for_label(seconds: float) -> str:
    s = round(seconds)
    if s == 0:
        return "0s"
    if s % 3600 == 0:
        return f"{s // 3600}h"
    if s % 60 == 0:
        return f"{s // 60}m"
    return f"{s}s"


def heatmap_chart(sweep: pl.DataFrame, *, current: tuple[float | None, float] | None = None,
                  value: str = "fired_per_day", title: str = "Alerts per day",
                  width: int = 520, height: int = 260) -> alt.LayerChart:
    """Alerts per day (or another sweep column) over threshold x ``for``.

    Parameters
    ----------
    sweep
        A :func:`~workbench.sweep` frame (``threshold``, ``for_s``, ``value``).
    current
        ``(threshold, for_s)`` of the candidate shown above, outlined.

    Examples
    --------
    >>> f = pl.DataFrame({"threshold": [1.0, 1.0, 2.0, 2.0], "for_s": [0.0, 60, 0, 60],
    ...                   "fired_per_day": [9.0, 4, 2, 1]})
    >>> spec = heatmap_chart(f, current=(2.0, 60.0)).to_dict()
    >>> [layer["mark"]["type"] for layer in spec["layer"]]
    ['rect', 'text', 'rect']
    """
    import altair as alt

    f = sweep.select("threshold", "for_s", value).with_columns(
        for_=pl.col("for_s").map_elements(_for_label, return_dtype=pl.String),
        thr=pl.col("threshold").map_elements(lambda v: f"{v:.4g}", return_dtype=pl.String),
        label=pl.col(value).map_elements(_cell_label, return_dtype=pl.String))
    for_order = [_for_label(s) for s in sorted(set(f["for_s"].to_list()))]
    thr_order = [f"{v:.4g}" for v in sorted(set(f["threshold"].to_list()), reverse=True)]
    base = alt.Chart(f).encode(
        x=alt.X("for_:N", sort=for_order, title="for"),
        y=alt.Y("thr:N", sort=thr_order, title="threshold"))
    cells = base.mark_rect().encode(
        color=alt.Color(f"{value}:Q", title=value.replace("_", " "),
                        scale=alt.Scale(scheme="orangered", type="sqrt")),
        tooltip=[alt.Tooltip("thr:N", title="threshold"), alt.Tooltip("for_:N", title="for"),
                 alt.Tooltip(f"{value}:Q", format=".3g")])
    text = base.mark_text(fontSize=10).encode(
        text="label:N",
        color=alt.condition(f"datum['{value}'] > {_midpoint(f[value])}", alt.value("white"),
                            alt.value("#222")))
    layers: list[Any] = [cells, text]
    cur = pl.DataFrame({"for_": [_for_label(current[1]) if current else ""],
                        "thr": [f"{current[0]:.4g}" if current and current[0] is not None
                                else ""]})
    if cur.join(f, on=["for_", "thr"]).height == 0:
        cur = cur.clear()                         # the candidate is not on the grid: no outline
    layers.append(alt.Chart(cur).mark_rect(fill=None, stroke="#111", strokeWidth=2).encode(
        x=alt.X("for_:N", sort=for_order), y=alt.Y("thr:N", sort=thr_order)))
    return alt.layer(*layers).properties(  # type: ignore[return-value]
        title=title, width=width, height=height)


def _cell_label(v: float | None) -> str:
    """A heat-map cell's number: 3 significant digits, never scientific (``1,190``, not
    ``1.19e+03``: a rule over 50 nodes fires thousands of alerts a day).

    >>> [_cell_label(v) for v in (None, 0.25, 326.0, 1187.0, 23456.7)]
    ['', '0.25', '326', '1,187', '23,457']
    """
    if v is None:
        return ""
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}"


def _midpoint(col: pl.Series) -> float:
    v = col.drop_nulls()
    return float(v.max()) / 2 if v.len() else 0.0  # type: ignore[arg-type]


def _short(v: object, n: int = 24) -> str:
    t = "" if v is None else str(v)
    return t if len(t) <= n else t[:n - 1] + "…"


_AUDIT_FORMATS = {"severity": _short, "fired_per_day": num, "firing_share_per_alert": pct, "for_s": duration,
                  "interval_s": duration, "attention": lambda v: "" if v is None else f"{v:.0f}"}
_AUDIT_LABELS = {"fired_per_day": "fired / day", "firing_share_per_alert": "firing share",
                 "alerts_fired": "alerts fired", "still_firing": "still firing",
                 "for_s": "for", "interval_s": "interval",
                 # counts identities; alert_history's "re-fires <15 min" counts episodes
                 "flapping": "identities that flapped"}


def rules_audit_table(audit: pl.DataFrame, *, caption: str | None = None,
                      max_rows: int = 500) -> HtmlTable:
    """The rules audit (see ``workbench.alerting.audit.rules_audit``) as an HTML table; rows
    with findings are highlighted."""
    cols = [c for c in ("attention", "group", "alert", "severity", "alerts_fired",
                        "fired_per_day", "firing_share_per_alert", "flapping", "still_firing",
                        "for_s", "interval_s", "findings") if c in audit.columns]
    table = html_table(audit.select(cols), formats=_AUDIT_FORMATS, flag_column="findings",
                       caption=caption, max_rows=max_rows, labels=_AUDIT_LABELS,
                       wrap=("findings",))
    # Names and findings read left to right; numbers stay right-aligned.
    left = ",".join(f".workbench-audit td:nth-child({i + 1})" for i, c in enumerate(cols)
                    if c in ("group", "alert", "severity", "findings"))
    markup = table.html.replace('class="workbench-table"',
                                'class="workbench-table workbench-audit"', 1)
    return HtmlTable(f"<style>{left}{{text-align:left}}</style>{markup}", table.text)
