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

__all__ = ["HtmlTable", "fs_table", "html_table", "summary_table"]

Formatter = Callable[[Any], str]


def pct(v: Any) -> str:
    """Format a ratio as a percentage (``0.251`` → ``25.1%``)."""
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v * 100:.1f}%"


def num(v: Any) -> str:
    """Format a number compactly."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, float):
        return f"{v:,.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


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
               max_rows: int = 500) -> HtmlTable:
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

    Examples
    --------
    >>> t = html_table(pl.DataFrame({"mount": ["<script>alert(1)</script>"]}))
    >>> "<script>" in t.html, "&lt;script&gt;" in t.html
    (False, True)
    """
    fmts = dict(formats or {})
    shown = frame.head(max_rows)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in shown.columns)
    body = []
    for row in shown.iter_rows(named=True):
        flagged = bool(row.get(flag_column)) if flag_column else False
        style = f' style="background:{PALETTE["bad"]}1a"' if flagged else ""
        cells = "".join(
            f"<td>{html.escape(fmts[c](v) if c in fmts else _cell(v))}</td>"
            for c, v in row.items())
        body.append(f"<tr{style}>{cells}</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    more = (f"<p>{frame.height - max_rows} more rows not shown.</p>"
            if frame.height > max_rows else "")
    markup = (
        '<table class="workbench-table" style="border-collapse:collapse;font-size:12px">'
        f"{cap}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{more}"
    )
    return HtmlTable(markup, str(shown))


_SUMMARY_FORMATS: dict[str, Formatter] = {
    "score": lambda v: "" if v is None else f"{v:.2f}",
    "availability": pct, "downtime_s": duration, "cpu_util_mean": pct, "cpu_util_p95": pct,
    "load_per_cpu_p95": num, "mem_util_max": pct, "majfault_rate_p95": num,
    "disk_util_p95": pct, "disk_queue_p95": num, "net_rx_bytes_mean": num,
    "net_tx_bytes_mean": num, "net_err_ratio_max": pct, "net_drops_mean": num,
    "fs_used_max": pct, "fs_hours_to_full": lambda v: "" if v is None else f"{v:.1f} h",
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
                      caption="USE summary, one row per node, worst first")


def fs_table(forecast: pl.DataFrame) -> HtmlTable:
    """Flagged filesystems first, then soonest full, then fullest (flagged ones highlighted).

    Only the first 500 rows are shown, and a cluster can hold thousands of filesystems (a tmpfs
    ``shm`` per pod under containerd), so an almost-full one with a flat trend must not sort
    behind them.
    """
    f = forecast.with_columns((pl.col("filling") | pl.col("almost_full")).alias("flagged")).sort(
        ["flagged", "hours_to_full", pl.col("used_ratio").fill_nan(None)],
        descending=[True, False, True], nulls_last=True, maintain_order=True)
    cols = ["node", "mountpoint", "device", "fstype", "used_ratio", "avail_pct",
            "hours_to_full", "filling", "almost_full"]
    return html_table(
        f.select(*cols, "flagged"), flag_column="flagged",
        formats={"used_ratio": pct, "avail_pct": lambda v: "" if v is None else f"{v:.1f}%",
                 "hours_to_full": lambda v: "" if v is None else f"{v:.1f} h"},
        caption="Filesystems: flagged first, then soonest full, then fullest")
