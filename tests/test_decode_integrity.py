"""A body that is not one complete, well-formed Prometheus response is an error, never data.

Before: a matrix body cut right after a series (a connection closed early, a cut gzip stream)
decoded to the series that had arrived, silently; values that are not numbers and ``data`` of
the wrong shape escaped as polars/Python errors."""

from __future__ import annotations

import gzip
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench import Prometheus, ResponseDecodeError, WorkbenchError
from workbench.sources.prometheus.decode import decode_api_response, decode_result

from .test_decode import _body, series


def _two_series(kind: str = "matrix") -> bytes:
    key = "values" if kind == "matrix" else "value"
    pts = [[1, "1"], [2, "2"]] if kind == "matrix" else [1, "1"]
    return _body(kind, [{"metric": {"job": "a"}, key: pts}, {"metric": {"job": "b"}, key: pts}])


@pytest.mark.parametrize("kind", ["matrix", "vector"])
def test_body_cut_at_a_series_boundary_is_an_error(kind: str) -> None:
    body = _two_series(kind)
    frame, _ = decode_result(body)
    assert frame["job"].unique(maintain_order=True).to_list() == ["a", "b"]
    cut = body.index(b',{"metric":{"job":"b"}')
    for prefix in (body[:cut], body[: cut + 1], body[:cut] + b"]", body[:cut] + b"]}",
                   body[:-1]):
        with pytest.raises(ResponseDecodeError, match="complete JSON"):
            decode_result(prefix)


@settings(max_examples=60, deadline=None)
@given(st.lists(series(matrix=True), min_size=1, max_size=4), st.data())
def test_every_strict_prefix_of_a_body_is_an_error(result: list, data: st.DataObject) -> None:
    body = _body("matrix", result, data.draw(st.lists(st.text(max_size=6), max_size=2)))
    decode_result(body)
    cut = data.draw(st.integers(min_value=0, max_value=len(body) - 1))
    with pytest.raises(ResponseDecodeError):
        decode_result(body[:cut])


@pytest.mark.parametrize("extra", [b"]", b"}", b"{}", b',{"metric":{}}', b"\x00",
                                   b'{"status":"success"}'])
def test_anything_after_the_document_is_an_error(extra: bytes) -> None:
    with pytest.raises(ResponseDecodeError):
        decode_result(_two_series() + extra)


def test_trailing_whitespace_and_warnings_are_fine() -> None:
    body = _body("matrix", [{"metric": {"a": "b"}, "values": [[1, "1"]]}], ["w1", "w2"])
    frame, warns = decode_result(body + b"\n")
    assert frame["value"].to_list() == [1.0] and warns == ["w1", "w2"]


@pytest.mark.parametrize("body", [
    b'{"status":"success","data":[]}',
    b'{"status":"success","data":"x"}',
    b'{"status":"success","data":{"resultType":"matrix","result":{"a":1}}}',
    b'{"status":"success","data":{"resultType":"matrix","result":[1,2]}}',
    b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":3}]}}',
    b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1]]}]}}',
    b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"x"]]}]}}',
    b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[["a","1"]]}]}}',
    b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1e300,"1"]]}]}}',
    b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":1},"values":[[1,"1"]]}]}}',
    b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":[],"values":[[1,"1"]]}]}}',
    b'{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"abc"]}]}}',
    b'{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":null}]}}',
    b'{"status":"success","data":{"resultType":"scalar","result":[1]}}',
    b'{"status":"success","data":{"resultType":"scalar","result":[1,"one"]}}',
    b'{"status":"success","data":{"resultType":"scalar","result":null}}',
    b'{"status":"success","warnings":"not a list","data":{"resultType":"vector","result":[]}}',
])
def test_malformed_bodies_are_decode_errors(body: bytes) -> None:
    with pytest.raises(ResponseDecodeError, match=r"Malformed|Unexpected|Unknown"):
        decode_result(body)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200) | st.builds(
    lambda b: b'{"status":"success","data":{"resultType":"matrix","result":[' + b, st.binary()))
def test_garbage_bytes_raise_only_decode_errors(body: bytes) -> None:
    for fn in (decode_result, decode_api_response):
        with suppress(WorkbenchError):
            fn(body)


def _read_request(conn: socket.socket) -> None:
    """Read one HTTP request: headers, then Content-Length bytes of body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return
        body += chunk


@contextmanager
def _close_delimited(payload: bytes, headers: bytes = b"") -> Iterator[str]:
    """An HTTP/1.0-style server: no Content-Length, the body ends when the socket closes."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(4)
    stop = threading.Event()

    def serve() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            _read_request(conn)  # all of it: unread bytes would make close() send a reset
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + headers
                         + b"Connection: close\r\n\r\n" + payload)
            conn.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        stop.set()
        t.join()
        sock.close()


def _long_matrix() -> bytes:
    return _body("matrix", [{"metric": {"job": f"j{i}"}, "values": [[t, str(t)] for t in range(50)]}
                            for i in range(40)])


@pytest.mark.parametrize("gzipped", [False, True])
def test_connection_closed_early_is_an_error_not_fewer_series(gzipped: bool) -> None:
    body = _long_matrix()
    cut = body.index(b',{"metric":{"job":"j3"}')  # three whole series arrived
    if gzipped:
        z = gzip.compress(body)
        payload, headers = z[: len(z) // 3], b"Content-Encoding: gzip\r\n"
    else:
        payload, headers = body[:cut], b""
    with _close_delimited(payload, headers) as url, pytest.raises(ResponseDecodeError):
        Prometheus(url, max_retries=0).query("up")
    with _close_delimited(gzip.compress(body), b"Content-Encoding: gzip\r\n") as url:
        assert Prometheus(url).query("up")["job"].n_unique() == 40
    assert orjson.loads(body)["data"]["resultType"] == "matrix"


@pytest.mark.server
def test_value_and_label_value_labels_both_survive_a_real_prometheus(prom_url: str) -> None:
    expr = ('label_replace(label_replace(label_replace(vector(7), "value", "v1", "", ""), '
            '"label_value", "v2", "", ""), "timestamp", "t1", "", "")')
    prom = Prometheus(prom_url)
    instant = prom.query(expr, time=1_700_000_000)
    ranged = prom.query_range(expr, 1_700_000_000, 1_700_000_060, step=30)
    for frame in (instant, ranged):
        assert frame.columns == ["timestamp", "value", "label_label_value", "label_timestamp",
                                 "label_value"]
        assert set(frame["label_value"]) == {"v1"}
        assert set(frame["label_label_value"]) == {"v2"}
        assert set(frame["label_timestamp"]) == {"t1"}
        assert set(frame["value"]) == {7.0}
    assert ranged.height == 3
