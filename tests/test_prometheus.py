"""workbench.Prometheus against a real Prometheus 2.42 over series with known values.

Tests taking ``engine_url`` run twice: on Prometheus and on VictoriaMetrics holding the same series
(where the API promises the same answer); where they differ, see tests/test_backends.py."""

from __future__ import annotations

import math
import socket
import threading
import time
import traceback
from datetime import UTC, datetime

import orjson
import polars as pl
import pytest
import requests
from prometheus_api_client import PrometheusConnect

from workbench import (
    Prometheus,
    PrometheusWarning,
    QueryError,
    QueryTimeoutError,
    ServerHTTPError,
    ServerUnreachableError,
)
from workbench.sources.prometheus.cache import CacheWarning

from . import promdata as pd_
from .httpstub import closed_port_url, http_stub, stalling_server

pytestmark = pytest.mark.server

BASE = pd_.BASE_S
T100 = BASE + 100 * pd_.SCRAPE_S


def _dt(s: float) -> datetime:
    return datetime.fromtimestamp(s, tz=UTC)


def _counting(prom: Prometheus) -> list[str]:
    methods: list[str] = []
    prom.transport.session.hooks["response"].append(
        lambda r, *a, **k: methods.append(r.request.method)
    )
    return methods


# -- instant queries --------------------------------------------------------------------------


def test_instant_vector_exact_values_and_schema(engine_url: str) -> None:
    f = Prometheus(engine_url).query("wb_gauge", time=T100)
    assert f.columns == ["timestamp", "value", "__name__", "i", "job"]
    assert f.schema["timestamp"] == pl.Datetime("ms", "UTC")
    assert f.schema["value"] == pl.Float64
    f = f.sort("i")
    assert f["i"].to_list() == ["0", "1", "2"]
    assert f["value"].to_list() == [pd_.gauge_value(i, 100) for i in range(3)]
    assert f["timestamp"].to_list() == [_dt(T100)] * 3


def test_instant_counter_rate_is_the_planted_rate(engine_url: str) -> None:
    f = Prometheus(engine_url).query("rate(wb_requests_total[5m])", time=BASE + 3600).sort("path")
    assert f["path"].to_list() == sorted(pd_.COUNTER_RATES)
    for path, got in zip(f["path"], f["value"], strict=True):
        assert got == pytest.approx(pd_.COUNTER_RATES[path], rel=1e-12)
    assert "__name__" not in f.columns  # rate() drops the metric name


def test_scalar_and_string_results(prom_url: str) -> None:
    prom = Prometheus(prom_url)
    s = prom.query("1 + 1", time=BASE)
    assert s.columns == ["timestamp", "value"]
    assert s.rows() == [(_dt(BASE), 2.0)]
    st = prom.query('"hello"', time=BASE)
    assert st["value"].to_list() == ["hello"]


def test_empty_result_is_an_empty_frame(engine_url: str) -> None:
    prom = Prometheus(engine_url)
    for f in (prom.query("wb_does_not_exist", time=BASE),
              prom.query_range("wb_does_not_exist", BASE, BASE + 600, step=60)):
        assert f.height == 0
        assert f.schema == pl.Schema({"timestamp": pl.Datetime("ms", "UTC"), "value": pl.Float64})


def test_many_series_instant(engine_url: str) -> None:
    f = Prometheus(engine_url).query("wb_many", time=T100)
    assert f.height == pd_.MANY_SERIES
    assert f["value"].to_list() == [pd_.many_value(int(i), 100) for i in f["idx"]]


def test_label_value_needing_escapes_round_trips(engine_url: str) -> None:
    f = Prometheus(engine_url).query("wb_weird", time=T100)
    assert f["label"].to_list() == [pd_.WEIRD_LABEL]
    assert f["value"].to_list() == [7.0]


# -- range queries ----------------------------------------------------------------------------


def test_range_exact_values_at_scrape_step(engine_url: str) -> None:
    f = Prometheus(engine_url).query_range('wb_gauge{i="1"}', BASE, BASE + 3600, step="15s")
    assert f.height == 241
    assert f["value"].to_list() == [pd_.gauge_value(1, k) for k in range(241)]
    assert f["timestamp"].to_list() == [_dt(BASE + 15 * k) for k in range(241)]


def test_range_needing_three_chunks_has_clean_seams(engine_url: str) -> None:
    start, end = BASE + 7200, BASE + 7200 + 8 * 3600
    prom = Prometheus(engine_url, progress=False)
    methods = _counting(prom)
    f = prom.query_range('wb_gauge{i="2"}', start, end, step=1)
    assert len(methods) == 3  # 28,801 points at <= 11,000 per request
    assert set(methods) == {"POST"}
    assert f.height == 8 * 3600 + 1
    ts = f["timestamp"].dt.epoch("ms")
    assert ts.is_sorted() and ts.n_unique() == f.height
    assert ts.to_list() == [(start + j) * 1000 for j in range(f.height)]
    expected = [pd_.gauge_value(2, (start + j - BASE) // 15) for j in range(f.height)]
    assert f["value"].to_list() == expected
    # The same range cut into many more windows gives the identical frame.
    g = prom.query_range('wb_gauge{i="2"}', start, end, step=1, max_points=997)
    assert len(methods) == 3 + math.ceil(f.height / 997)
    assert g.equals(f)


def test_range_multi_series_chunked_equals_single_request(prom_url: str) -> None:
    prom = Prometheus(prom_url)
    one = prom.query_range("wb_many", BASE, BASE + 239 * 15, step=15)
    assert one.height == pd_.MANY_SERIES * pd_.MANY_N
    ks = ((one["timestamp"].dt.epoch("s") - BASE) // 15).to_list()
    expected = [pd_.many_value(int(i), k) for i, k in zip(one["idx"], ks, strict=True)]
    assert one["value"].to_list() == expected
    many = prom.query_range("wb_many", BASE, BASE + 239 * 15, step=15, max_points=50)
    cols = ["idx", "timestamp"]
    assert many.sort(cols).equals(one.select(many.columns).sort(cols))


def test_gap_longer_than_lookback_leaves_a_hole(prom_url: str) -> None:
    g0, g1 = pd_.GAP
    f = Prometheus(prom_url).query_range("wb_gappy", g0 - 600, g1 + 600, step=60)
    got = set(f["timestamp"].dt.epoch("s").to_list())
    grid = range(g0 - 600, g1 + 601, 60)
    expected = {t for t in grid if t <= g0 - 15 + 300 or t >= g1}
    assert got == expected


def test_special_float_values(prom_url: str) -> None:
    f = Prometheus(prom_url).query_range("wb_special", BASE, BASE + 75, step=15)
    v = f["value"].to_list()
    assert math.isnan(v[0])
    assert v[1:4] == [math.inf, -math.inf, 1e-05]
    assert v[4] == 0.0 and math.copysign(1, v[4]) == -1.0
    assert v[5] == 1.5e300


def test_time_forms_agree(engine_url: str) -> None:
    prom = Prometheus(engine_url, now=lambda: (BASE + 3600) * 1000)
    a = prom.query_range('wb_gauge{i="0"}', "now-1h", "now", step="1m")
    b = prom.query_range('wb_gauge{i="0"}', _dt(BASE), "2026-01-01T01:00:00Z", step=60)
    c = prom.query_range('wb_gauge{i="0"}', datetime(2026, 1, 1), BASE + 3600, step="60s")
    assert a.height == 61 and a.equals(b) and b.equals(c)


def test_steps_and_times_go_to_the_server_exactly(prom_url: str) -> None:
    # 16m40.001s: "%g" sent "1000" (six significant digits), so the server's grid drifted
    # 1 ms a step from the one the windows were planned on.
    prom = Prometheus(prom_url)
    step_ms = 1_000_001
    for max_points in (11_000, 2):
        f = prom.query_range('wb_gauge{i="0"}', BASE, BASE + 3 * 1000.001, step=1000.001,
                             max_points=max_points)
        ts = f["timestamp"].dt.epoch("ms").to_list()
        assert ts == [BASE * 1000 + k * step_ms for k in range(4)]
        assert f["value"].to_list() == [pd_.gauge_value(0, (t // 1000 - BASE) // 15) for t in ts]
    # A negative time: -1500 ms went out as "-2.500".
    assert prom.query("time()", time=-1.5)["value"].to_list() == [-1.5]


def test_automatic_step(engine_url: str) -> None:
    f = Prometheus(engine_url).query_range('wb_gauge{i="0"}', BASE, BASE + 6 * 3600)
    # 6h -> smallest nice step with <= 1,000 points is 30s (721 points)
    assert f.height == 721
    assert f["timestamp"].diff().drop_nulls().dt.total_seconds().unique().to_list() == [30]


def test_pandas_conversion(engine_url: str) -> None:
    f = Prometheus(engine_url).query_range("wb_gauge", BASE, BASE + 300, step=15)
    p = f.to_pandas()
    assert str(p["timestamp"].dtype) == "datetime64[ms, UTC]"
    assert str(p["value"].dtype) == "float64"
    assert p["value"].tolist() == f["value"].to_list()
    assert p["i"].tolist() == f["i"].to_list()
    assert len(p) == 3 * 21


def test_long_query_goes_by_post(prom_url: str) -> None:
    prom = Prometheus(prom_url)
    methods = _counting(prom)
    expr = 'wb_gauge{i="1"}' + " + 0" * 6000  # ~24 kB: too long for many proxies' URL limits
    f = prom.query(expr, time=T100)
    assert methods == ["POST"]
    assert f["value"].to_list() == [pd_.gauge_value(1, 100)]


# -- errors -----------------------------------------------------------------------------------


def test_bad_query_carries_query_and_position(prom_url: str) -> None:
    q = "sum(rate(wb_gauge[5m])"
    with pytest.raises(QueryError) as ei:
        Prometheus(prom_url).query(q)
    e = ei.value
    assert e.error_type == "bad_data" and e.status_code == 400
    assert e.query == q
    assert "1:" in e.error and "parse error" in e.error
    assert q in str(e) and prom_url in str(e)


def test_too_many_points_is_a_query_error(prom_url: str) -> None:
    with pytest.raises(QueryError) as ei:
        Prometheus(prom_url).query_range("wb_gauge", BASE, BASE + 20_000, step=1,
                                         max_points=20_001)
    assert "11,000" in ei.value.error


def test_closed_port_names_the_url() -> None:
    url = closed_port_url()
    with pytest.raises(ServerUnreachableError) as ei:
        Prometheus(url, max_retries=0).query("up")
    assert url in str(ei.value) and "Connection refused" in str(ei.value)


def test_stalled_server_times_out_with_the_query() -> None:
    with stalling_server() as url:
        prom = Prometheus(url, timeout=1)
        t0 = time.monotonic()
        with pytest.raises(QueryTimeoutError) as ei:
            prom.query("up == 1")
        assert time.monotonic() - t0 < 5
    assert "'up == 1'" in str(ei.value) and "1 s" in str(ei.value)
    assert ei.value.timeout == 1


@pytest.mark.parametrize("trickle", [False, True])
def test_timeout_bounds_the_whole_response(trickle: bool) -> None:
    # Headers at once, then the body stalls (a proxy) or trickles a byte every 0.3 s. requests'
    # timeout is per socket read: the stall was reported as "Cannot reach" and the trickle
    # (65 bytes) took ~20 s with timeout=1.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    done = threading.Event()

    def serve() -> None:
        conn, _ = sock.accept()
        conn.recv(65536)
        body = _success()
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     + f"Content-Length: {len(body)}\r\n\r\n".encode())
        for byte in body if trickle else ():
            if done.wait(0.3):
                break
            try:
                conn.sendall(bytes([byte]))
            except OSError:
                break
        done.wait(10)
        conn.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    prom = Prometheus(f"http://127.0.0.1:{sock.getsockname()[1]}", timeout=1, max_retries=0)
    t0 = time.monotonic()
    try:
        with pytest.raises(QueryTimeoutError) as ei:
            prom.query("up == 1")
        assert time.monotonic() - t0 < 2.5
    finally:
        done.set()
        t.join(5)
        sock.close()
    assert "'up == 1'" in str(ei.value) and ei.value.timeout == 1


def _success(value: str = "1") -> bytes:
    return orjson.dumps({"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"job": "x"}, "value": [1, value]}]}})


def test_retries_503_honouring_retry_after() -> None:
    def handler(req, n):  # type: ignore[no-untyped-def]
        if n < 2:
            return 503, {"Retry-After": "0"}, b"overloaded"
        return 200, {"Content-Type": "application/json"}, _success("42")

    with http_stub(handler) as stub:
        f = Prometheus(stub.url).query("up")
    assert len(stub.requests) == 3
    assert f["value"].to_list() == [42.0]


def test_429_retries_are_bounded() -> None:
    slept: list[float] = []
    with http_stub(lambda req, n: (429, {"Retry-After": "7"}, b"slow down")) as stub:
        prom = Prometheus(stub.url, max_retries=2)
        prom.transport._sleep = slept.append
        with pytest.raises(ServerHTTPError) as ei:
            prom.query("up")
    assert len(stub.requests) == 3
    assert slept == [7.0, 7.0]
    assert ei.value.status_code == 429


def test_connection_reset_is_retried() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(4)
    hits: list[int] = []

    def serve() -> None:
        for n in range(2):
            conn, _ = sock.accept()
            conn.recv(65536)
            hits.append(n)
            if n == 0:  # abortive close: the client sees a reset
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                conn.close()
                continue
            body = _success("5")
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                         + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
            conn.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    prom = Prometheus(f"http://127.0.0.1:{sock.getsockname()[1]}")
    prom.transport._sleep = lambda s: None
    f = prom.query("up")
    t.join(5)
    sock.close()
    assert hits == [0, 1]
    assert f["value"].to_list() == [5.0]


def test_api_warnings_become_python_warnings() -> None:
    body = orjson.loads(_success())
    body["warnings"] = ["partial response: store B unreachable"]
    with http_stub(lambda req, n: (200, {}, orjson.dumps(body))) as stub, pytest.warns(
        PrometheusWarning, match="store B unreachable"
    ):
        f = Prometheus(stub.url).query("up")
    assert f["value"].to_list() == [1.0]


def test_token_never_shows_in_repr_errors_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    token = "s3cr3t-t0ken-value-0123456789"
    caplog.set_level("DEBUG")
    with http_stub(lambda req, n: (401, {}, b"Unauthorized")) as stub:
        prom = Prometheus(stub.url, token=token)
        with pytest.raises(ServerHTTPError) as ei:
            prom.query(f'up{{job="{token[:3]}"}}')
    assert stub.requests[0].headers["Authorization"] == f"Bearer {token}"
    for text in (repr(prom), repr(prom.config), str(prom.config.token), str(ei.value),
                 repr(ei.value), caplog.text, repr(prom.transport)):
        assert token not in text
    assert "401" in str(ei.value) and "token" in str(ei.value)


def test_token_with_a_newline_is_sent_stripped_and_a_bad_one_never_echoed() -> None:
    from workbench import ConfigError

    token = "s3cr3t-t0ken-value-0123456789"
    with http_stub(lambda req, n: (200, {}, _success())) as stub:
        # open(path).read() keeps the trailing newline; requests would refuse the header and
        # quote the whole token in its InvalidHeader message.
        Prometheus(stub.url, token=token + "\n").query("up")
        assert stub.requests[0].headers["Authorization"] == f"Bearer {token}"
        for bad_token, headers in ((token[:8] + "\r\n" + token[8:], None),
                                   ("ok", {"X-Api-Key": token + "\nX-Evil: 1"})):
            with pytest.raises(ConfigError) as ei:
                Prometheus(stub.url, token=bad_token, headers=headers).query("up")
            text = "".join(traceback.format_exception(ei.value))
            assert token[8:] not in text and "Fix:" in str(ei.value)
        assert len(stub.requests) == 1


def test_not_prometheus_body_is_a_clear_error() -> None:
    from workbench import ResponseDecodeError

    with http_stub(lambda req, n: (200, {}, b"<html>Grafana</html>")) as stub, pytest.raises(
        ResponseDecodeError, match="base URL"
    ):
        Prometheus(stub.url).query("up")


def test_auth_and_tenant_headers_are_sent(tmp_path) -> None:  # type: ignore[no-untyped-def]
    tok = tmp_path / "token"
    tok.write_text("first\n")
    with http_stub(lambda req, n: (200, {}, _success())) as stub:
        prom = Prometheus(stub.url, token_file=tok, headers={"X-Scope-OrgID": "team-a"})
        prom.query("up")
        tok.write_text("rotated\n")
        import os

        os.utime(tok, (time.time() + 5, time.time() + 5))
        prom.query("up")
        Prometheus(stub.url, username="alice", password="pw").query("up")
    h = [r.headers for r in stub.requests]
    assert h[0]["Authorization"] == "Bearer first" and h[0]["X-Scope-OrgID"] == "team-a"
    assert h[1]["Authorization"] == "Bearer rotated"
    assert h[2]["Authorization"] == "Basic YWxpY2U6cHc="  # base64("alice:pw")
    assert stub.requests[0].method == "POST"
    assert b"query=up" in stub.requests[0].body


# -- other endpoints --------------------------------------------------------------------------


def test_series_labels_and_values(engine_url: str) -> None:
    prom = Prometheus(engine_url)
    s = prom.series("wb_gauge", BASE, BASE + 3600)
    assert s.columns == ["__name__", "i", "job"] and s.height == 3
    assert prom.label_values("i", match="wb_gauge")["i"].to_list() == ["0", "1", "2"]
    assert prom.labels(match="wb_requests_total") == ["__name__", "job", "path"]
    many = prom.series(["wb_many", "wb_gauge"], BASE, BASE + 60)
    assert many.height == pd_.MANY_SERIES + 3


def _eventually(fn, timeout: float = 20.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        try:
            return fn()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def test_targets_health(prom_url: str) -> None:
    prom = Prometheus(prom_url)

    def check() -> pl.DataFrame:
        t = prom.targets()
        assert t.filter(pl.col("job") == "prometheus")["health"].to_list() == ["up"]
        assert t.filter(pl.col("job") == "closed-port")["health"].to_list() == ["down"]
        return t

    t = _eventually(check)
    down = t.filter(pl.col("job") == "closed-port").row(0, named=True)
    assert "connection refused" in down["last_error"]
    assert down["instance"] == "127.0.0.1:1" and down["scrape_interval_s"] == 1.0
    up = t.filter(pl.col("job") == "prometheus").row(0, named=True)
    assert up["last_error"] is None and up["scrape_duration_s"] > 0
    assert abs(up["last_scrape"].timestamp() - time.time()) < 60


def test_rules_and_alerts(prom_url: str) -> None:
    prom = Prometheus(prom_url)
    r = _eventually(lambda: _rules_evaluated(prom))
    alert = r.filter(pl.col("type") == "alerting").row(0, named=True)
    assert alert["name"] == "WbAlwaysFiring" and alert["query"] == "vector(1)"
    assert alert["group"] == "wb-test" and alert["interval_s"] == 1.0
    assert orjson.loads(alert["annotations"]) == {"summary": "always firing"}
    rec = r.filter(pl.col("type") == "recording").row(0, named=True)
    assert rec["name"] == "wb:gauge:sum" and rec["query"] == "sum(wb_gauge)"
    assert prom.rules(type="record").height == 1

    def firing() -> pl.DataFrame:
        a = prom.alerts()
        assert a["state"].to_list() == ["firing"]
        return a

    a = _eventually(firing)
    assert a["alertname"].to_list() == ["WbAlwaysFiring"]
    assert a["severity"].to_list() == ["info"] and a["value"].to_list() == [1.0]
    assert a["annotations"].to_list() == [{"summary": "always firing"}]


def _rules_evaluated(prom: Prometheus) -> pl.DataFrame:
    r = prom.rules()
    assert r.height == 2 and r["health"].to_list() == ["ok", "ok"]
    return r


def test_build_info_and_tsdb_status(prom_url: str) -> None:
    prom = Prometheus(prom_url)
    b = prom.build_info()
    assert b["version"].to_list()[0].startswith("2.42")
    s = prom.tsdb_status()
    heads = dict(s.filter(pl.col("section") == "headStats").select("name", "value").rows())
    assert heads["numSeries"] >= 1
    assert "seriesCountByMetricName" in s["section"].to_list()


def test_from_prometheus_connect_shares_session(engine_url: str) -> None:
    pc = PrometheusConnect(url=engine_url, headers={"X-Scope-OrgID": "t1"})
    prom = Prometheus.from_prometheus_connect(pc)
    assert prom.transport.session is pc._session
    assert prom.config.headers == {"X-Scope-OrgID": "t1"}
    a = prom.query("wb_gauge", time=T100)
    b = Prometheus(engine_url).query("wb_gauge", time=T100)
    assert a.equals(b)


# -- cache ------------------------------------------------------------------------------------


def test_cache_reuses_settled_windows_and_survives_damage(engine_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    start, end = BASE, BASE + 4 * 3600
    prom = Prometheus(engine_url, cache_dir=tmp_path)
    methods = _counting(prom)
    first = prom.query_range("wb_gauge", start, end, step=5, max_points=1000)
    n_windows = math.ceil((4 * 3600 // 5 + 1) / 1000)
    assert len(methods) == n_windows
    files = sorted(tmp_path.rglob("*.parquet"))
    assert len(files) == n_windows
    again = prom.query_range("wb_gauge", start, end, step=5, max_points=1000)
    assert len(methods) == n_windows and again.equals(first)
    files[0].write_bytes(b"not parquet at all")
    with pytest.warns(CacheWarning, match="integrity"):
        third = prom.query_range("wb_gauge", start, end, step=5, max_points=1000)
    assert len(methods) == n_windows + 1 and third.equals(first)
    # Windows reaching into the last 5 minutes are neither stored nor reused.
    fresh = Prometheus(engine_url, cache_dir=tmp_path / "fresh", now=lambda: (end + 60) * 1000)
    fresh.query_range("wb_gauge", start, end, step=5, max_points=1000)
    assert len(list((tmp_path / "fresh").rglob("*.parquet"))) == n_windows - 1


def test_cache_keys_separate_tenants(prom_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    a = Prometheus(prom_url, cache_dir=tmp_path, headers={"X-Scope-OrgID": "a"})
    b = Prometheus(prom_url, cache_dir=tmp_path, headers={"X-Scope-OrgID": "b"})
    a.query_range("wb_gauge", BASE, BASE + 600, step=15)
    b.query_range("wb_gauge", BASE, BASE + 600, step=15)
    assert len(list(tmp_path.rglob("*.parquet"))) == 2


def _matrix(value: str, warnings: list[str] | None = None) -> bytes:
    doc: dict = {"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": {"a": "b"}, "values": [[1000, value], [1060, value]]}]}}
    if warnings:
        doc["warnings"] = warnings
    return orjson.dumps(doc)


def test_cache_keys_separate_credentials(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Grafana Cloud / Mimir gateways / prom-label-proxy: the same URL and query answer per user.
    import base64

    def per_user(req, n):  # type: ignore[no-untyped-def]
        kind, cred = req.headers["Authorization"].split()
        who = base64.b64decode(cred).decode().split(":")[0] if kind == "Basic" else cred
        return 200, {}, _matrix({"tenant-a": "1", "tenant-b": "2", "tok-c": "3"}[who])

    args = ("x", 1000, 1060, 60)
    with http_stub(per_user) as stub:
        a = Prometheus(stub.url, cache_dir=tmp_path, username="tenant-a", password="p")
        b = Prometheus(stub.url, cache_dir=tmp_path, username="tenant-b", password="p")
        c = Prometheus(stub.url, cache_dir=tmp_path, token="tok-c")
        got = [p.query_range(*args)["value"].to_list() for p in (a, b, c, a, b, c)]
    assert got == [[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]] * 2
    assert len(stub.requests) == 3  # the second round came from the cache
    assert len(list(tmp_path.rglob("*.parquet"))) == 3


def test_cache_never_keeps_a_partial_window(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bodies = [_matrix("1", ["partial response: store B unreachable"]),
              b'{"status":"success","isPartial":true,"data":{"resultType":"matrix","result":[]}}',
              _matrix("2"), _matrix("3")]
    with http_stub(lambda req, n: (200, {}, bodies[n])) as stub:
        prom = Prometheus(stub.url, cache_dir=tmp_path)
        with pytest.warns(PrometheusWarning, match="store B"):
            assert prom.query_range("x", 1000, 1060, 60)["value"].to_list() == [1.0, 1.0]
        with pytest.warns(PrometheusWarning, match="isPartial"):
            assert prom.query_range("x", 1000, 1060, 60).height == 0
        complete = [prom.query_range("x", 1000, 1060, 60)["value"].to_list() for _ in range(2)]
    assert complete == [[2.0, 2.0], [2.0, 2.0]]
    assert len(stub.requests) == 3


def test_requests_session_injection(prom_url: str) -> None:
    s = requests.Session()
    seen: list[str] = []
    s.hooks["response"].append(lambda r, *a, **k: seen.append(r.url))
    Prometheus(prom_url, session=s).query("up")
    assert seen == [f"{prom_url}/api/v1/query"]


def test_progress_bar_only_when_asked_or_interactive(prom_url: str,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    args = ('wb_gauge{i="0"}', BASE, BASE + 3600)
    Prometheus(prom_url).query_range(*args, step=1, max_points=1000)  # not a TTY: quiet
    assert capsys.readouterr().err == ""
    f = Prometheus(prom_url, progress=True).query_range(*args, step=1, max_points=1000)
    err = capsys.readouterr().err
    assert "query_range" in err and "4/4" in err
    assert f.height == 3601


def test_progress_environment_switch(prom_url: str, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    args = ('wb_gauge{i="0"}', BASE, BASE + 3600)
    monkeypatch.setenv("WORKBENCH_PROGRESS", "1")
    Prometheus(prom_url).query_range(*args, step=1, max_points=1000)
    assert "4/4" in capsys.readouterr().err
    monkeypatch.setenv("WORKBENCH_PROGRESS", "0")  # what the report runner sets for papermill
    Prometheus(prom_url).query_range(*args, step=1, max_points=1000)
    assert capsys.readouterr().err == ""


def _chain(exc: BaseException) -> list[BaseException]:
    out, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        out.append(exc)
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return out


def test_raised_errors_keep_no_request_with_its_headers() -> None:
    """Error reporters walk __context__ even when a traceback hides it: requests' exceptions hold
    the prepared request, Authorization header included, so none may ride along."""
    token = "tok-ctx-0123456789abcdef"
    with pytest.raises(ServerUnreachableError) as refused:
        Prometheus(closed_port_url(), token=token, max_retries=0).query("up")
    with stalling_server() as url, pytest.raises(QueryTimeoutError) as stalled:
        Prometheus(url, token=token, timeout=1).query("up")
    for info in (refused, stalled):
        chain = _chain(info.value)
        assert len(chain) == 1, chain
        assert token not in repr(vars(info.value))
