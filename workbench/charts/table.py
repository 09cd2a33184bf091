"""HTML tables for reports: every cell escaped, numbers formatted, flagged rows marked."""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl

from ._theme import PALETTE

__all__ = ["HtmlTable", "bytes_rate", "fs_table", "hours", "html_table", "summary_table",
           "windows"]

Formatter = Callable[[Any], str]


def pct(v: Any) -> str:
    """Format a ratio as a percentage (``0.251`` → ``25.1%``)."""
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v * 100:.1f}%"


def num(v: Any) -> str:
    """Format a number compactly."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, float):
        out = f"{v:,.3g}" if abs(v) < 1000 else f"{v:,.0f}"
        return "0" if out.lstrip("-") == "0" else out  # no "-0" (negative zero or rounded)
    return str(v)


def bytes_rate(v: Any) -> str:
    """Format bytes per second with binary prefixes (``2097152.0`` → ``2.0 MiB/s``)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    x = float(v)
    for unit in ("B/s", "KiB/s", "MiB/s", "GiB/s"):
        if abs(x) < 1024 or unit == "GiB/s":
            return f"{x:.0f} {unit}" if unit == "B/s" else f"{x:.1f} {unit}"
        x /= 1024
    return f"{x:.1f} GiB/s"  # pragma: no cover


def hours(v: Any) -> str:
    """Format a time to full: hours below two days, then days, then years (``15150.6`` →
    ``1.7 y``: thousands of hours read as noise)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    h = float(v)
    if h < 48:
        return f"{h:.1f} h"
    if h < 24 * 365:
        return f"{h / 24:.0f} d"
    return f"{h / (24 * 365):.1f} y"


def windows(v: Any) -> str:
    """Format time windows compactly (``03-01 05:59–06:59``; the date again when it changes)."""
    if not v:
        return ""
    out = []
    for w in v:
        a, b = w["start"], w["end"]
        end = b.strftime("%H:%M") if a.date() == b.date() else b.strftime("%m-%d %H:%M")
        out.append(f"{a:%m-%d %H:%M}\u2013{end}")
    return "; ".join(out)


def duration(v: Any) -> str:
    """Format seconds as ``1h02m`` / ``5m`` / ``30s``."""
    if v is None:
        return ""
    s = round(float(v))
    if s == 0:
        return "0"
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else (f"{m}m" if not sec else f"{m}m{sec:02d}s") if m else f"{sec}s"


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, list):
        return ", ".join(_cell(x) for x in v)
    if isinstance(v, dict) and {"start", "end"} <= set(v):
        return f"{_cell(v['start'])} – {_cell(v['end'])}"
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, float):
        return num(v)
    return str(v)


@dataclass(frozen=True)
class HtmlTable:
    """A rendered table; Jupyter displays it through ``_repr_html_``."""

    html: str
    text: str

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return self.text


def html_table(frame: pl.DataFrame, *, formats: Mapping[str, Formatter] | None = None,
               flag_column: str | None = None, caption: str | None = None,
               max_rows: int = 500, labels: Mapping[str, str] | None = None,
               wrap: tuple[str, ...] = (), right: tuple[str, ...] = ()) -> HtmlTable:
    """Render a frame as an escaped HTML table.

    Parameters
    ----------
    frame
        The rows to show (at most ``max_rows``).
    formats
        Column -> formatter (default: numbers compact, lists joined, datetimes in UTC).
    flag_column
        Rows where this column is truthy (non-empty list, True) are highlighted.
    caption
        Table caption.
    labels
        Column -> header text (default: the column name). Headers wrap between words.
    wrap
        Columns whose cells may wrap (others stay on one line).
    right
        Text columns to right-align anyway (numbers formatted as text). Numeric columns are
        right-aligned, every other column left-aligned (JupyterLab right-aligns every cell).

    The table is at most as wide as the page: it sits in a block that scrolls sideways
    rather than widening the page when a screen is narrower than the table.

    Examples
    --------
    >>> t = html_table(pl.DataFrame({"mount": ["<script>alert(1)</script>"]}))
    >>> "<script>" in t.html, "&lt;script&gt;" in t.html
    (False, True)
    """
    fmts = dict(formats or {})
    shown = frame.head(max_rows)
    names = dict(labels or {})
    align = {c: "right" if c in right or (dt.is_numeric() and dt != pl.Boolean) else "left"
             for c, dt in shown.schema.items()}
    th = 'style="white-space:normal;vertical-align:bottom;text-align:{};padding:2px 4px"'
    head = "".join(f"<th {th.format(align[c])}>{html.escape(names.get(c, c))}</th>"
                   for c in shown.columns)
    body = []
    for row in shown.iter_rows(named=True):
        flagged = bool(row.get(flag_column)) if flag_column else False
        style = f' style="background:{PALETTE["bad"]}1a"' if flagged else ""
        cells = "".join(
            f'<td style="padding:2px 4px;text-align:{align[c]};'
            f'white-space:{"normal" if c in wrap else "nowrap"}">'
            f"{html.escape(fmts[c](v) if c in fmts else _cell(v))}</td>"
            for c, v in row.items())
        body.append(f"<tr{style}>{cells}</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    more = (f"<p>{frame.height - max_rows} more rows not shown.</p>"
            if frame.height > max_rows else "")
    markup = (
        '<div class="workbench-table-wrap" style="max-width:100%;overflow-x:auto">'
        '<table class="workbench-table" style="border-collapse:collapse;font-size:12px">'
        f"{cap}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
        f"{more}"
    )
    return HtmlTable(markup, str(shown))


_SUMMARY_FORMATS: dict[str, Formatter] = {
    "score": lambda v: "" if v is None else f"{v:.2f}",
    "availability": pct, "downtime_s": duration, "down_windows": windows,
    "cpu_util_mean": pct, "cpu_util_p95": pct,
    "load_per_cpu_p95": num, "mem_util_max": pct, "majfault_rate_p95": num,
    "disk_util_p95": pct, "disk_queue_p95": num, "net_rx_bytes_mean": bytes_rate,
    "net_tx_bytes_mean": bytes_rate, "net_err_ratio_max": pct, "net_drops_mean": num,
    "fs_used_max": pct, "fs_hours_to_full": hours,
}


#: Short headers: the summary has 21 columns and must fit a page.
_SUMMARY_LABELS = {
    "n_cpu": "CPUs", "availability": "avail\u00adability", "downtime_s": "down",
    "down_windows": "down windows", "cpu_util_mean": "CPU mean", "cpu_util_p95": "CPU p95",
    "load_per_cpu_p95": "load / CPU p95", "mem_util_max": "mem max",
    "majfault_rate_p95": "major faults/s p95", "disk_util_p95": "disk busy p95",
    "disk_queue_p95": "disk queue p95", "net_rx_bytes_mean": "net rx mean",
    "net_tx_bytes_mean": "net tx mean", "net_err_ratio_max": "net errors max",
    "fs_used_max": "fs used max", "fs_worst": "fullest fs", "fs_hours_to_full": "fs full in",
}


def summary_table(summary: pl.DataFrame) -> HtmlTable:
    """The USE summary (one row per node, worst first), flagged nodes highlighted."""
    cols = ["node", "flags", "n_cpu", "availability", "downtime_s", "down_windows", "reboots",
            "cpu_util_mean", "cpu_util_p95", "load_per_cpu_p95", "mem_util_max",
            "majfault_rate_p95", "disk_util_p95", "disk_queue_p95", "net_rx_bytes_mean",
            "net_tx_bytes_mean", "net_err_ratio_max", "fs_used_max", "fs_worst",
            "fs_hours_to_full", "score"]
    return html_table(summary.select([c for c in cols if c in summary.columns]),
                      formats=_SUMMARY_FORMATS, flag_column="flags",
                      caption="USE summary, one row per node, worst first",
                      labels=_SUMMARY_LABELS, wrap=("flags", "fs_worst", "down_windows"))


def fs_table(forecast: pl.DataFrame, *, max_rows: int = 60) -> HtmlTable:
    """Flagged filesystems first, then soonest full, then fullest (flagged ones highlighted).

    Only the first ``max_rows`` rows are shown (50 nodes have 150 filesystems or more, and a
    cluster can hold thousands: a tmpfs ``shm`` per pod under containerd), so an almost-full
    one with a flat trend must not sort behind them; the table says how many are left out.
    """
    f = forecast.with_columns((pl.col("filling") | pl.col("almost_full")).alias("flagged")).sort(
        ["flagged", "hours_to_full", pl.col("used_ratio").fill_nan(None)],
        descending=[True, False, True], nulls_last=True, maintain_order=True)
    cols = ["node", "mountpoint", "device", "fstype", "used_ratio", "avail_pct",
            "hours_to_full", "filling", "almost_full"]
    return html_table(
        f.select(*cols, "flagged"), flag_column="flagged",
        formats={"used_ratio": pct, "avail_pct": lambda v: "" if v is None else f"{v:.1f}%",
                 "hours_to_full": hours},
        caption="Filesystems: flagged first, then soonest full, then fullest",
        max_rows=max_rows)
