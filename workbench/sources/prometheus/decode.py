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

What it refuses
---------------
A body must be one complete JSON document of the API's shape. The fast path checks that series
are joined by single commas and that the bytes after the last one close the document (that
tail, usually ``}}``, is parsed exactly), so a body cut at a series boundary (a connection closed
early, a cut gzip stream) or followed by anything falls to the generic path, which raises
:class:`~workbench.ResponseDecodeError`. So do ``data`` of the wrong shape, samples that are not
``[time, "number"]`` and labels that are not text.
"""

from __future__ import annotations

import io
import math
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
#: Sample times beyond year ~5000 are not unix seconds (and would overflow milliseconds).
_MAX_UNIX_S = 1e11


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
        if bytes(body[:1]) in (b"{", b"["):
            msg = (
                f"The server's answer is not one complete JSON document ({exc}; {len(body)} bytes, "
                f"starting {preview[:60]!r}): the connection was probably closed early or a "
                "compressed stream was cut. Fix: retry; if it persists, check the proxies between "
                "here and the server (body size limits, idle timeouts)."
            )
        else:
            msg = (
                f"The server's answer is not JSON ({exc}); it starts with {preview!r}. Fix: point "
                "the client at the Prometheus base URL (e.g. http://host:9090), not a UI or proxy "
                "page."
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
    return ApiResponse(doc.get("data"), _strings(doc.get("warnings")), _strings(doc.get("infos")))


def _strings(value: Any) -> list[str]:
    """The envelope's ``warnings``/``infos``: a list of texts (anything else is malformed)."""
    if value is None:
        return []
    if not isinstance(value, list):
        msg = f"Malformed Prometheus API response: 'warnings' is {type(value).__name__}, not a list."
        raise ResponseDecodeError(msg)
    return [str(w) for w in value]


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
                return _decode_fast(body, m.end(), m.group(1) == b"matrix")
            except _FallBack:
                pass
        return decode_result_generic(body)


class _FallBack(Exception):
    """The body is not in the exact shape the fast path handles."""


def _tail_warnings(body: bytes, pos: int) -> list[str]:
    """Check what follows the result array (``body[pos:]``, just after its ``]``) closes the
    document, and return its warnings. A body cut at a series boundary, or followed by
    anything, does not close it: the generic path then names the error."""
    tail = body[pos:]
    if tail == b"}}":
        return []
    if not tail.startswith(b"}"):
        raise _FallBack
    try:
        rest = orjson.loads(b'{"_":0' + tail[1:])
    except orjson.JSONDecodeError:
        raise _FallBack from None
    if rest.get("isPartial") is True or not isinstance(rest.get("warnings", []), list):
        raise _FallBack
    return [str(w) for w in rest.get("warnings") or []]


def _decode_fast(body: bytes, pos: int, matrix: bool) -> tuple[pl.DataFrame, list[str]]:
    marker = _VALUES if matrix else _VALUE
    closer = b"]]" if matrix else b"]"
    metrics: list[memoryview] = []
    runs: list[memoryview] = []
    counts: list[int] = []
    view = memoryview(body)
    find, count = body.find, body.count
    if body[pos : pos + 1] != b"[":
        raise _FallBack
    i = find(_METRIC, pos)
    if i != pos + 1 and i != -1:
        raise _FallBack
    end_of_last = pos + 1  # just after the last series' closing brace
    while i != -1:
        if metrics and body[end_of_last:i] != b",":  # series are joined by one comma, nothing else
            raise _FallBack
        v = find(marker, i)
        if v == -1:
            raise _FallBack
        metrics.append(view[i + len(_METRIC) : v])
        start = v + len(marker)
        if matrix and body[start : start + 1] == b"]":  # "values":[] (never from Prometheus)
            counts.append(0)
            if body[start + 1 : start + 2] != b"}":
                raise _FallBack
            end_of_last = start + 2
            i = find(_METRIC, end_of_last)
            continue
        end = find(closer, start)
        if end == -1 or body[end + len(closer) : end + len(closer) + 1] != b"}":
            raise _FallBack
        runs.append(view[start - 1 if not matrix else start : end + 1])
        counts.append(count(b"],[", start, end) + 1 if matrix else 1)
        end_of_last = end + len(closer) + 1
        i = find(_METRIC, end_of_last)
    if not metrics:
        if body[pos : pos + 2] != b"[]":  # a result the byte search did not understand
            raise _FallBack
        return empty_frame(), _tail_warnings(body, pos + 2)
    if body[end_of_last : end_of_last + 1] != b"]":  # cut after a series, or more after it
        raise _FallBack
    warns = _tail_warnings(body, end_of_last + 1)
    try:
        labels = _label_frame(orjson.loads(b"[" + b",".join(metrics) + b"]"))
    except orjson.JSONDecodeError:  # a series without the expected key: let orjson read it all
        raise _FallBack from None
    # '[t,"v"],[t,"v"]' -> ',t,v\n,t,v\n' in one C pass: "]" becomes a newline, "[" and '"' go,
    # and the "," joining two pairs (or two series' runs) starts the next line's empty first field.
    csv = b",".join([b"", *runs]).translate(_CSV_TABLE, _CSV_DELETE)
    del runs
    try:
        return _samples(csv, counts, labels), warns
    except pl.exceptions.PolarsError:  # a non-numeric value or time: the generic path names it
        raise _FallBack from None


def _samples(csv: bytes, counts: list[int], labels: pl.DataFrame) -> pl.DataFrame:
    samples = pl.read_csv(
        io.BytesIO(csv),
        has_header=False,
        schema={"column_1": pl.String, "column_2": pl.Float64, "column_3": pl.Float64},
        columns=["column_2", "column_3"],
    ).rename({"column_2": "t", "column_3": "v"})
    if samples.height != sum(counts) or samples["t"].null_count() or samples["v"].null_count() \
            or not samples["t"].abs().max() <= _MAX_UNIX_S:  # type: ignore[operator]
        raise _FallBack
    frame = samples.select(
        (pl.col("t") * 1000).round().cast(pl.Int64).cast(TIMESTAMP).alias("timestamp"),
        pl.col("v").alias("value"),
    )
    return _attach_labels(frame, labels, counts)


def _label_frame(metrics: Sequence[dict[str, str]]) -> pl.DataFrame:
    for m in metrics:
        if not isinstance(m, dict) or not all(isinstance(v, str) for v in m.values()):
            raise _malformed(f"a series' 'metric' is {str(m)[:80]!r}, not label names to texts")
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
    """Prometheus's value texts as floats (``NaN``, ``+Inf``, ``-Inf`` included)."""
    out = pl.Series(values, dtype=pl.String).cast(pl.Float64, strict=False)
    if out.null_count():
        bad = next(v for v, f in zip(values, out, strict=True) if f is None)
        raise _malformed(f"the sample value {bad[:40]!r} is not a number")
    return out


def _malformed(what: str) -> ResponseDecodeError:
    return ResponseDecodeError(
        f"Malformed Prometheus query response: {what}. Fix: check that the URL points at a "
        "Prometheus-compatible API (not a proxy rewriting bodies); if it does, report the server's "
        "version and this message."
    )


def _pair(p: Any, kind: str) -> tuple[float, str]:
    """One ``[unix seconds, "value"]`` sample, checked."""
    if not isinstance(p, list) or len(p) != 2:
        raise _malformed(f"a {kind} sample is {str(p)[:80]!r}, not [time, \"value\"]")
    t, v = p
    if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t) \
            or abs(t) > _MAX_UNIX_S:
        raise _malformed(f"a {kind} sample's time is {str(t)[:40]!r}, not unix seconds")
    if isinstance(v, int | float) and not isinstance(v, bool):  # unquoted: lenient, as the fast path
        v = repr(float(v))
    if not isinstance(v, str):
        raise _malformed(f"a {kind} sample's value is {str(v)[:40]!r}, not a quoted number")
    return float(t), v


def decode_result_generic(body: bytes) -> tuple[pl.DataFrame, list[str]]:
    """Decode any query body with orjson; the reference the fast path is tested against.

    Every part of the body is checked: a result of the wrong shape, a sample that is not
    ``[time, "number"]`` or a label that is not text raises :class:`ResponseDecodeError`.
    """
    with gc_paused():
        doc = _loads(body)
        if not isinstance(doc, dict) or doc.get("status") != "success":
            msg = f"Unexpected Prometheus API response: {str(doc)[:200]!r}."
            raise ResponseDecodeError(msg)
        data = doc.get("data")
        if not isinstance(data, dict):
            raise _malformed(f"'data' is {type(data).__name__}, not an object")
        kind, result = data.get("resultType"), data.get("result")
        warns = _strings(doc.get("warnings"))
        if doc.get("isPartial") is True:  # VictoriaMetrics cluster: some vmstorage nodes missed
            warns.append("partial response (isPartial: true): some storage nodes did not answer, "
                         "so series or samples may be missing")
        if kind in ("scalar", "string"):
            t, v = _pair(result, kind)
            value = pl.Series("value", [v], dtype=pl.String)
            if kind == "scalar":
                value = _floats([v])
            frame = pl.DataFrame({"timestamp": pl.Series([round(t * 1000)], dtype=pl.Int64)})
            frame = frame.with_columns(pl.col("timestamp").cast(TIMESTAMP), value.alias("value"))
            return frame, warns
        if kind not in ("matrix", "vector"):
            msg = f"Unknown resultType {str(kind)[:40]!r} in the Prometheus response."
            raise ResponseDecodeError(msg)
        if result is None:
            result = []
        if not isinstance(result, list):
            raise _malformed(f"a {kind} 'result' is {type(result).__name__}, not a list")
        if not result:
            return empty_frame(), warns
        ts: list[float] = []
        vs: list[str] = []
        counts: list[int] = []
        skipped = 0
        for series in result:
            if not isinstance(series, dict):
                raise _malformed(f"a series is {str(series)[:80]!r}, not an object")
            # A native-histogram sample has "histogram" (vector) / "histograms" (matrix) instead.
            if kind == "matrix":
                points = series.get("values") or []
                if not isinstance(points, list):
                    raise _malformed("a series' 'values' is not a list")
            else:
                points = [series["value"]] if "value" in series else []
            if "histograms" in series or "histogram" in series:
                skipped += 1
            for p in points:
                t, v = _pair(p, kind)
                ts.append(t)
                vs.append(v)
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
        labels = _label_frame([s.get("metric") or {} for s in result])
        return _attach_labels(frame, labels, counts), warns
