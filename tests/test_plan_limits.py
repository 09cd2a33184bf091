"""Range queries too big to end well are refused up front (or after the first window), with
the size and the step that would fit; server texts quoted in errors are bounded."""

from __future__ import annotations

import orjson
import pytest

from workbench import ConfigError, Prometheus, QueryError, ServerHTTPError
from workbench._time import check_plan

from . import promdata as pd_
from .httpstub import http_stub

NOW_MS = 1_800_000_000_000


def test_a_century_at_one_second_is_refused_before_any_request() -> None:
    with http_stub(lambda req, n: (500, {}, b"must not be called")) as stub:
        prom = Prometheus(stub.url, now=lambda: NOW_MS)
        with pytest.raises(ConfigError) as ei:
            prom.query_range("up", "now-100y", "now", step="1s")
    text = str(ei.value)
    # 100 y = 3,153,600,000 s -> 3,153,600,001 steps / 11,000 per request = 286,691 requests.
    assert "286,691 requests" in text and "max_requests=10,000" in text
    assert "step='" in text and "Fix:" in text
    assert stub.requests == []


def test_one_series_beyond_max_points_total_is_refused_up_front() -> None:
    with http_stub(lambda req, n: (500, {}, b"")) as stub:
        prom = Prometheus(stub.url, now=lambda: NOW_MS, max_points_total=1_000_000,
                          max_requests=10**9)
        with pytest.raises(ConfigError, match=r"3,600,001 samples per series"):
            prom.query_range("up", "now-1h", "now", step="1ms")
    assert stub.requests == []


def test_suggested_step_fits_the_limits() -> None:
    start, end = NOW_MS - 3_153_600_000_000, NOW_MS
    with pytest.raises(ConfigError) as ei:
        check_plan(start, end, 1000)
    step = str(ei.value).split("step='")[1].split("'")[0]
    from workbench._time import parse_duration_ms

    assert check_plan(start, end, parse_duration_ms(step)) <= 10_000 * 11_000


@pytest.mark.server
def test_many_series_at_a_tiny_step_stop_after_the_first_window(prom_url: str) -> None:
    prom = Prometheus(prom_url, max_points_total=200_000)
    calls: list[str] = []
    prom.transport.session.hooks["response"].append(lambda r, *a, **k: calls.append(r.url))
    start = pd_.BASE_S
    # wb_many: 1,000 series. 1 h at 1 s = 3,601 steps; 100 per window -> 37 windows.
    with pytest.raises(ConfigError) as ei:
        prom.query_range("wb_many", start, start + 3600, step="1s", max_points=100)
    text = str(ei.value)
    assert "about 3,601,000 samples" in text and "1,000 series" in text
    assert "first of 37 requests" in text
    assert len(calls) == 1
    # Within the limit the same query runs.
    ok = prom.query_range("wb_many", start, start + 60, step="15s", max_points=2)
    assert ok.height == 1000 * 5


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "10"])
def test_limits_must_be_positive_whole_numbers(bad: object) -> None:
    with pytest.raises(ConfigError, match="positive whole number"):
        Prometheus("http://127.0.0.1:9", max_requests=bad)  # type: ignore[arg-type]


def test_server_texts_in_errors_are_bounded() -> None:
    huge = "E" * 100_000
    bodies = [orjson.dumps({"status": "error", "errorType": "bad_data", "error": huge}),
              b"<html>" + b"X" * 100_000]
    with http_stub(lambda req, n: (400, {}, bodies[n])) as stub:
        prom = Prometheus(stub.url)
        with pytest.raises(QueryError) as q:
            prom.query("up")
        with pytest.raises(ServerHTTPError) as h:
            prom.query("up")
    assert len(str(q.value)) < 1_000 and len(q.value.error) <= 500
    assert len(str(h.value)) < 1_000 and len(h.value.body) <= 500
