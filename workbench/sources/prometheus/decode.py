"""Decode Prometheus HTTP API bodies straight into the workbench frame schema.

Frames follow :mod:`workbench.frames` (timestamp, value, sorted label columns; labels that
would shadow a data column are renamed by :func:`workbench.frames.label_column`).

How it is fast
--------------
Matrix and vector bodies from Prometheus have a fixed shape. Instead of building one Python
object per sample (what ``json.loads`` plus a DataFrame constructor does), the decoder finds each
series' ``"values":[`` run with ``bytes.find`` (a literal ``"values":[`` cannot occur inside a JSON
string, since quotes there are escaped), parses the small ``metric`` objects with orjson in one call,
turns the concatenated ``[t,"v"],...`` runs into two-column CSV with C-level byte translation and
lets polars' multi-threaded CSV reader parse the numbers. Bodies of any other shape (pretty-printed,
native histograms, other key orders) take the general orjson path, which gives identical frames.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import polars as pl

from ..._errors import ResponseDecodeError
from ..._runtime import gc_paused
from ...frames import TIMESTAMP, empty_frame, label_column

__all__ = [
    "ApiResponse",
    "decode_api_response",
    "decode_result",
    "decode_result_generic",
]


_SUCCESS_PREFIX = re.compile(
    rb'^\{"status":"success","data":\{"resultType":"(matrix|vector|scalar|string)","result":'
)
_METRIC = b'{"metric":'
_VALUES = b',"values":['
_VALUE = b',"value":['
_CSV_DELETE = b'["'
_CSV_TABLE = bytes.maketrans(b"]", b"\n")


@dataclass(frozen=True)
class ApiResponse:
    """A decoded, successful Prometheus API envelope (non-query endpoints)."""

    data: Any
    warnings: list[str] = field(default_factory=list)
    infos: list[str] = field(default_factory=list)


def _loads(body: bytes | memoryview) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        preview = bytes(body[:120]).decode("utf-8", "replace")
        msg = (
            f"The server's answer is not JSON ({exc}); it starts with {preview!r}. Fix: point the "
            "client at the Prometheus base URL (e.g. http://host:9090), not a UI or proxy page."
        )
        raise ResponseDecodeError(msg) from None


def decode_api_response(body: bytes) -> ApiResponse:
    """Decode a small success envelope (labels, series, targets, rules, ...).

    Errors (``"status":"error"``) are handled by the client, which has the HTTP context.
    """
    doc = _loads(body)
    if not isinstance(doc, dict) or doc.get("status") != "success":
        msg = f"Unexpected Prometheus API response: {str(doc)[:200]!r}."
        raise ResponseDecodeError(msg)
    return ApiResponse(doc.get("data"), list(doc.get("warnings") or []), list(doc.get("infos") or []))


def decode_result(body: bytes) -> tuple[pl.DataFrame, list[str]]:
    """Decode a ``/query`` or ``/query_range`` success body into a frame and its warnings.

    Examples
    --------
    >>> body = (b'{"status":"success","data":{"resultType":"vector","result":['
    ...         b'{"metric":{"__name__":"up","job":"node"},"value":[1700000000,"1"]}]}}')
    >>> frame, warns = decode_result(body)
    >>> frame.columns
    ['timestamp', 'value', '__name__', 'job']
    >>> frame["value"].to_list()
    [1.0]
    """
    with gc_paused():
        m = _SUCCESS_PREFIX.match(body)
        if (m is not None and m.group(1) in (b"matrix", b"vector")
                and b'"histograms":' not in body and b'"histogram":' not in body):
            try:
                return _decode_fast(body, m.end(), m.group(1) == b"matrix"), _tail_warnings(body)
            except _FallBack:
                pass
        return decode_result_generic(body)


class _FallBack(Exception):
    """The body is not in the exact shape the fast path handles."""


def _tail_warnings(body: bytes) -> list[str]:
    i = body.rfind(b'"warnings":[')
    if i == -1:
        return []
    j = body.find(b"]", i)
    try:
        return list(orjson.loads(body[i + 11 : j + 1]))
    except orjson.JSONDecodeError:
        return list(_loads(body).get("warnings") or [])


def _decode_fast(body: bytes, pos: int, matrix: bool) -> pl.DataFrame:
    marker = _VALUES if matrix else _VALUE
    closer = b"]]" if matrix else b"]"
    metrics: list[memoryview] = []
    runs: list[memoryview] = []
    counts: list[int] = []
    view = memoryview(body)
    find, count = body.find, body.count
    i = find(_METRIC, pos)
    while i != -1:
        v = find(marker, i)
        if v == -1:
            raise _FallBack
        metrics.append(view[i + len(_METRIC) : v])
        start = v + len(marker)
        if matrix and body[start : start + 1] == b"]":  # "values":[] (never from Prometheus)
            counts.append(0)
            i = find(_METRIC, start)
            continue
        end = find(closer, start)
        if end == -1:
            raise _FallBack
        runs.append(view[start - 1 if not matrix else start : end + 1])
        counts.append(count(b"],[", start, end) + 1 if matrix else 1)
        i = find(_METRIC, end)
    if not metrics:
        if body[pos : pos + 2] != b"[]":  # a result the byte search did not understand
            raise _FallBack
        return empty_frame()
    try:
        labels = _label_frame(orjson.loads(b"[" + b",".join(metrics) + b"]"))
    except orjson.JSONDecodeError:  # a series without the expected key: let orjson read it all
        raise _FallBack from None
    # '[t,"v"],[t,"v"]' -> ',t,v\n,t,v\n' in one C pass: "]" becomes a newline, "[" and '"' go,
    # and the "," joining two pairs (or two series' runs) starts the next line's empty first field.
    csv = b",".join([b"", *runs]).translate(_CSV_TABLE, _CSV_DELETE)
    del runs
    samples = pl.read_csv(
        io.BytesIO(csv),
        has_header=False,
        schema={"column_1": pl.String, "column_2": pl.Float64, "column_3": pl.Float64},
        columns=["column_2", "column_3"],
    ).rename({"column_2": "t", "column_3": "v"})
    del csv
    if samples.height != sum(counts):
        raise _FallBack
    frame = samples.select(
        (pl.col("t") * 1000).round().cast(pl.Int64).cast(TIMESTAMP).alias("timestamp"),
        pl.col("v").alias("value"),
    )
    return _attach_labels(frame, labels, counts)


def _label_frame(metrics: Sequence[dict[str, str]]) -> pl.DataFrame:
    names = sorted({k for m in metrics for k in m})
    if not names:
        return pl.DataFrame()
    cols = {
        out: pl.Series([m.get(n) for m in metrics], dtype=pl.String)
        for out, n in sorted((label_column(n), n) for n in names)
    }
    return pl.DataFrame(cols, height=len(metrics))


def _attach_labels(frame: pl.DataFrame, labels: pl.DataFrame, counts: Sequence[int]) -> pl.DataFrame:
    if labels.width == 0:
        return frame
    if all(c == 1 for c in counts):
        return frame.hstack(labels)
    idx = pl.Series(np.repeat(np.arange(len(counts), dtype=np.uint32), counts))
    return frame.hstack(labels.select(pl.all().gather(idx)))


def _floats(values: list[str]) -> pl.Series:
    return pl.Series(values, dtype=pl.String).cast(pl.Float64)


def decode_result_generic(body: bytes) -> tuple[pl.DataFrame, list[str]]:
    """Decode any query body with orjson; the reference the fast path is tested against."""
    with gc_paused():
        doc = _loads(body)
        if not isinstance(doc, dict) or doc.get("status") != "success":
            msg = f"Unexpected Prometheus API response: {str(doc)[:200]!r}."
            raise ResponseDecodeError(msg)
        data = doc.get("data") or {}
        kind, result = data.get("resultType"), data.get("result") or []
        warns = list(doc.get("warnings") or [])
        if doc.get("isPartial") is True:  # VictoriaMetrics cluster: some vmstorage nodes missed
            warns.append("partial response (isPartial: true): some storage nodes did not answer, "
                         "so series or samples may be missing")
        if kind in ("scalar", "string"):
            t, v = result
            value = pl.Series("value", [v], dtype=pl.String)
            frame = pl.DataFrame({"timestamp": pl.Series([round(float(t) * 1000)], dtype=pl.Int64)})
            frame = frame.with_columns(
                pl.col("timestamp").cast(TIMESTAMP),
                value if kind == "string" else value.cast(pl.Float64),
            )
            return frame, warns
        if kind not in ("matrix", "vector"):
            msg = f"Unknown resultType {kind!r} in the Prometheus response."
            raise ResponseDecodeError(msg)
        if not result:
            return empty_frame(), warns
        ts: list[float] = []
        vs: list[str] = []
        counts: list[int] = []
        skipped = 0
        for series in result:
            # A native-histogram sample has "histogram" (vector) / "histograms" (matrix) instead.
            points = (series.get("values") if kind == "matrix"
                      else [series["value"]] if "value" in series else []) or []
            if "histograms" in series or "histogram" in series:
                skipped += 1
            ts.extend(p[0] for p in points)
            vs.extend(p[1] for p in points)
            counts.append(len(points))
        if skipped:
            warnings.warn(
                f"{skipped} series carry native-histogram samples, which the frame schema does "
                "not hold; only their float samples were kept. Query histogram_quantile(), "
                "histogram_count() or histogram_sum() to get floats.",
                stacklevel=3,
            )
        frame = pl.DataFrame(
            {
                "timestamp": (pl.Series(ts, dtype=pl.Float64) * 1000)
                .round()
                .cast(pl.Int64)
                .cast(TIMESTAMP),
                "value": _floats(vs),
            }
        )
        labels = _label_frame([s.get("metric", {}) for s in result])
        return _attach_labels(frame, labels, counts), warns
