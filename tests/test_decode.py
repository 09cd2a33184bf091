"""The body decoder: the fast path equals the orjson reference on any shape of result."""

from __future__ import annotations

import math

import orjson
import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from workbench import ResponseDecodeError
from workbench.sources.prometheus.decode import decode_result, decode_result_generic
from workbench.testing.openmetrics import format_value

label_names = st.sampled_from(["__name__", "job", "instance", "cpu", "mode", "le", "value",
                               "timestamp", "a_b", "Zone"])
label_values = st.lists(
    st.sampled_from([*list('ab"\\{}[],:ü\n <>/'), '"values":[', "],[", '{"metric":']),
    max_size=8,
).map("".join)
floats = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(
    [0.0, -0.0, 1e-05, 1.5e300, 5e-324])


@st.composite
def series(draw: st.DrawFn, matrix: bool) -> dict:
    metric = draw(st.dictionaries(label_names, label_values, max_size=5))
    n = draw(st.integers(min_value=1, max_value=8)) if matrix else 1
    start = draw(st.integers(min_value=0, max_value=2_000_000_000_000))
    steps = draw(st.lists(st.integers(min_value=1, max_value=10**7), min_size=n, max_size=n))
    ts, t = [], start
    for s in steps:
        t += s
        ts.append(t)
    vals = draw(st.lists(floats, min_size=n, max_size=n))
    points = [[_ts(t), format_value(v)] for t, v in zip(ts, vals, strict=True)]
    return {"metric": metric, "values": points} if matrix else {"metric": metric, "value": points[0]}


def _ts(ms: int) -> float | int:
    return ms // 1000 if ms % 1000 == 0 else ms / 1000


def _body(kind: str, result: list, warnings: list[str] | None = None, indent: bool = False) -> bytes:
    doc: dict = {"status": "success", "data": {"resultType": kind, "result": result}}
    if warnings:
        doc["warnings"] = warnings
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2 if indent else 0)


def _expected(result: list, matrix: bool) -> pl.DataFrame:
    rows = []
    for s in result:
        pts = s["values"] if matrix else [s["value"]]
        for t, v in pts:
            labels = {("label_" + k if k in ("timestamp", "value") else k): x
                      for k, x in s["metric"].items()}
            rows.append({"timestamp": round(float(t) * 1000), "value": float(v), **labels})
    names = sorted({k for r in rows for k in r} - {"timestamp", "value"})
    return pl.DataFrame(
        {"timestamp": pl.Series([r["timestamp"] for r in rows], dtype=pl.Int64)
            .cast(pl.Datetime("ms", "UTC")),
         "value": pl.Series([r["value"] for r in rows], dtype=pl.Float64),
         **{n: pl.Series([r.get(n) for r in rows], dtype=pl.String) for n in names}},
    )


def _same(a: pl.DataFrame, b: pl.DataFrame) -> None:
    assert a.columns == b.columns
    assert a.schema == b.schema
    for col in a.columns:
        if col == "value":
            for x, y in zip(a[col].to_list(), b[col].to_list(), strict=True):
                assert (math.isnan(x) and math.isnan(y)) or (x == y and math.copysign(1, x)
                                                             == math.copysign(1, y))
        else:
            assert a[col].to_list() == b[col].to_list()


@settings(max_examples=150, deadline=None)
@given(st.lists(series(matrix=True), max_size=6), st.lists(st.text(max_size=10), max_size=2))
@example([{"metric": {"job": '"values":[[1,"2"]]'}, "values": [[1, "NaN"], [2, "+Inf"]]}], [])
def test_matrix_fast_equals_reference_and_truth(result: list, warns: list[str]) -> None:
    body = _body("matrix", result, warns)
    fast, w1 = decode_result(body)
    ref, w2 = decode_result_generic(body)
    pretty, w3 = decode_result(_body("matrix", result, warns, indent=True))
    _same(fast, ref)
    _same(pretty, ref)
    assert w1 == w2 == w3 == warns
    if result:
        _same(fast, _expected(result, matrix=True))
    else:
        assert fast.columns == ["timestamp", "value"] and fast.height == 0


@settings(max_examples=100, deadline=None)
@given(st.lists(series(matrix=False), max_size=6))
def test_vector_fast_equals_reference_and_truth(result: list) -> None:
    body = _body("vector", result)
    fast, _ = decode_result(body)
    _same(fast, decode_result_generic(body)[0])
    if result:
        _same(fast, _expected(result, matrix=False))


def test_label_named_value_is_renamed() -> None:
    f, _ = decode_result(_body("vector", [{"metric": {"value": "x", "timestamp": "y"},
                                           "value": [1, "2"]}]))
    assert f.columns == ["timestamp", "value", "label_timestamp", "label_value"]
    assert f.row(0)[1:] == (2.0, "y", "x")


def test_native_histograms_fall_back_with_a_warning() -> None:
    body = _body("matrix", [{"metric": {"a": "b"}, "values": [[1, "3"]],
                             "histograms": [[2, {"count": "1", "sum": "1", "buckets": []}]]}])
    with pytest.warns(UserWarning, match="native-histogram"):
        f, _ = decode_result(body)
    assert f["value"].to_list() == [3.0]


def test_vector_native_histogram_samples_are_skipped_with_a_warning() -> None:
    # Prometheus >= 2.40 with native histograms: an instant sample is {"metric", "histogram"}.
    # The fast path paired the histogram's metric with the next series' value and raised
    # orjson.JSONDecodeError; the generic path raised KeyError('value').
    hist = {"count": "3", "sum": "1.5", "buckets": [[0, "-0.001", "0.001", "3"]]}
    result = [{"metric": {"a": "h"}, "histogram": [1, hist]},
              {"metric": {"a": "f"}, "value": [2, "2"]}]
    for decode in (decode_result, decode_result_generic):
        with pytest.warns(UserWarning, match="1 series carry native-histogram"):
            f, _ = decode(_body("vector", result))
        assert f["a"].to_list() == ["f"] and f["value"].to_list() == [2.0]
        assert f["timestamp"].dt.epoch("ms").to_list() == [2000]


def test_series_in_another_key_order_are_not_dropped() -> None:
    # The byte search looks for '{"metric":' first; a server writing "values" first got an
    # empty frame back instead of its samples.
    body = (b'{"status":"success","data":{"resultType":"matrix","result":['
            b'{"values":[[1,"1"],[2,"5"]],"metric":{"a":"b"}}]}}')
    f, _ = decode_result(body)
    assert f["value"].to_list() == [1.0, 5.0] and f["a"].to_list() == ["b", "b"]


@pytest.mark.parametrize("body", [b"<html>", b'{"status":"error"}', b'{"status":"success",'
                                  b'"data":{"resultType":"weird","result":[]}}'])
def test_bad_bodies_raise_decode_errors(body: bytes) -> None:
    with pytest.raises(ResponseDecodeError):
        decode_result(body)
