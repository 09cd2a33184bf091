"""Series frames as terminal text: one line per series, its labels in PromQL syntax.

A frame's label columns can be dozens (cAdvisor series carry 14), and a polars table of them on
an 80-column terminal wraps every cell into a tower of three-letter fragments. People read
Prometheus series as ``name{label="value", ...}``; :func:`console_text` prints them that way:
an instant query as ``value  series``, a range query as one line per series with its points,
min, mean, max and last value. ``--csv`` (in the CLI) stays the way to get every sample.
"""

from __future__ import annotations

import math
from datetime import datetime

import polars as pl

from ..frames import DATA_COLUMNS

__all__ = ["console_text", "series_selector"]


def series_selector(labels: dict[str, str | None]) -> str:
    """A series' labels in PromQL syntax, the metric name first (``__name__``).

    Examples
    --------
    >>> series_selector({"__name__": "up", "job": "node", "instance": 'a"b', "pod": None})
    'up{instance="a\\\\"b", job="node"}'
    >>> series_selector({})
    '{}'
    """
    name = labels.get("__name__") or ""
    pairs = sorted((k, v) for k, v in labels.items() if k != "__name__" and v is not None)
    body = ", ".join(f'{k}="{_escape(v)}"' for k, v in pairs)
    return f"{name}{{{body}}}" if body or not name else name


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _num(v: float | None) -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return str(v).replace("inf", "+Inf").replace("nan", "NaN").replace("-+", "-")
    return f"{v:.6g}"


def _fit(line: str, width: int | None) -> str:
    return line if width is None or len(line) <= width else line[:max(1, width - 1)] + "…"


def _time(t: object) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S UTC") if isinstance(t, datetime) else "-"


def console_text(frame: pl.DataFrame, *, width: int | None = None, max_series: int = 200) -> str:
    """Terminal text for a series frame (instant or range); lines cut at ``width`` with ``…``.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> t = datetime(2026, 1, 1, tzinfo=UTC)
    >>> f = pl.DataFrame({"timestamp": [t, t], "value": [1.0, 0.25],
    ...                   "instance": ["a:9100", "b:9100"], "job": ["node", "node"]})
    >>> print(console_text(f))
    2 series at 2026-01-01 00:00:00 UTC
    value  series
        1  {instance="a:9100", job="node"}
     0.25  {instance="b:9100", job="node"}
    >>> later = datetime(2026, 1, 1, 0, 5, tzinfo=UTC)
    >>> r = f.with_columns(pl.Series("timestamp", [t, later]),
    ...                    pl.lit("a:9100").alias("instance"))
    >>> print(console_text(r))
    1 series x 2 samples, 2026-01-01 00:00:00 UTC to 2026-01-01 00:05:00 UTC
    points   min   mean  max  last  series
         2  0.25  0.625    1  0.25  {instance="a:9100", job="node"}
    """
    if frame.height == 0:
        return "empty result: no series matched (check the selector and the time window)"
    labels = [c for c in frame.columns if c not in DATA_COLUMNS]
    numeric = frame.schema.get("value") != pl.String
    if labels:
        keyed = frame.with_columns(pl.struct(labels).alias("_key"))
    else:
        keyed = frame.with_columns(pl.lit(0).alias("_key"))
    agg = (keyed.group_by("_key", maintain_order=True)
           .agg(pl.len().alias("points"), pl.col("value").last().alias("last"),
                *([pl.col("value").min().alias("min"), pl.col("value").mean().alias("mean"),
                   pl.col("value").max().alias("max")] if numeric else []),
                pl.col("timestamp").min().alias("t0"), pl.col("timestamp").max().alias("t1")))
    names = [series_selector(k) if labels else "{}" for k in agg["_key"].to_list()]
    shown = agg.head(max_series)
    t0, t1 = frame["timestamp"].min(), frame["timestamp"].max()
    instant = int(agg["points"].max()) == 1                          # type: ignore[arg-type]
    lines: list[str] = []
    if instant:
        lines.append(f"{agg.height} series at {_time(t1)}" if t0 == t1 else
                     f"{agg.height} series, {_time(t0)} to {_time(t1)}")
        vals = [_num(v) if numeric else str(v) for v in shown["last"].to_list()]
        w = max(5, *(len(v) for v in vals))
        lines.append(f"{'value':>{w}}  series")
        lines += [f"{v:>{w}}  {n}" for v, n in zip(vals, names, strict=False)]
    else:
        lines.append(f"{agg.height} series x {int(agg['points'].max())} samples, "  # type: ignore[arg-type]
                     f"{_time(t0)} to {_time(t1)}")
        cols = ["points", "min", "mean", "max", "last"] if numeric else ["points", "last"]
        cells = [[str(r["points"]), *(_num(r[c]) if numeric else str(r[c]) for c in cols[1:])]
                 for r in shown.iter_rows(named=True)]
        widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(cols)]
        lines.append("  ".join(h.rjust(w) for h, w in zip(cols, widths, strict=True))
                     + "  series")
        lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) + "  " + n
                  for row, n in zip(cells, names, strict=False)]
    if agg.height > max_series:
        lines.append(f"... {agg.height - max_series} more series (use --csv for all of them)")
    return "\n".join(_fit(line, width) for line in lines)
