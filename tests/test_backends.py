"""Where VictoriaMetrics (MetricsQL) answers the Prometheus API differently from Prometheus.

Each test pins one difference listed in docs/backends.md on both real engines, holding the same
series (tests/promdata.py): Prometheus' answer and VictoriaMetrics' answer, both exact.
The tests where both engines agree are in tests/test_prometheus.py (the ``engine_url`` ones).
"""

from __future__ import annotations

import math
import warnings

import pytest

from workbench import Prometheus, QueryError
from workbench.sources.prometheus import Engine, EngineWarning, fetch_engine
from workbench.testing.servers import ManagedProcess

from . import promdata as pd_

pytestmark = pytest.mark.server

BASE = pd_.BASE_S


@pytest.fixture()
def vm_url(vm_server: ManagedProcess) -> str:
    return vm_server.url


def _epochs(frame) -> list[int]:  # type: ignore[no-untyped-def]
    return frame["timestamp"].dt.epoch("s").to_list()


def test_increase_is_not_extrapolated(prom_url: str, vm_url: str) -> None:
    # 100 s after the counters start, [5m] holds the samples at 0..90 s. Prometheus extrapolates
    # to the window's end (and to zero at its start): rate x 100. MetricsQL takes the real delta.
    expr = "increase(wb_requests_total[5m])"
    for url, seconds in ((prom_url, 100), (vm_url, 90)):
        f = Prometheus(url).query(expr, time=BASE + 100).sort("path")
        assert f["path"].to_list() == sorted(pd_.COUNTER_RATES)
        assert f["value"].to_list() == [pd_.COUNTER_RATES[p] * seconds for p in f["path"]]


def test_rate_uses_the_sample_before_the_window(prom_url: str, vm_url: str) -> None:
    # [15s] at 7 s past a scrape holds one sample: Prometheus needs two and returns nothing;
    # MetricsQL also uses the last sample before the window and returns the planted rate.
    expr = "rate(wb_requests_total[15s])"
    assert Prometheus(prom_url).query(expr, time=BASE + 3607).height == 0
    f = Prometheus(vm_url).query(expr, time=BASE + 3607).sort("path")
    assert f["value"].to_list() == [pd_.COUNTER_RATES[p] for p in f["path"]]


def test_range_lookback_follows_the_step(prom_url: str, vm_url: str) -> None:
    # wb_gappy stops at g0 - 15 s for 30 min. Prometheus keeps answering for the 5 min lookback;
    # MetricsQL's implicit window on a range query is the step (here 60 s).
    g0, g1 = pd_.GAP
    grid = range(g0 - 600, g1 + 601, 60)
    last = g0 - pd_.SCRAPE_S
    for url, lookback in ((prom_url, 300), (vm_url, 60)):
        f = Prometheus(url).query_range("count(wb_gappy)", g0 - 600, g1 + 600, step=60)
        assert set(_epochs(f)) == {t for t in grid if t <= last + lookback or t >= g1}


def test_range_start_is_aligned_to_the_step_unless_nocache(prom_url: str, vm_url: str) -> None:
    # VictoriaMetrics rounds start down to a multiple of step (for its result cache) on longer
    # ranges; nocache=1 (query_params) keeps the grid the client asked for.
    args = ('wb_gauge{i="0"}', BASE + 7, BASE + 7 + 7200)
    asked = [BASE + 7 + 60 * k for k in range(121)]
    assert _epochs(Prometheus(prom_url).query_range(*args, step=60)) == asked
    aligned = Prometheus(vm_url).query_range(*args, step=60)
    assert _epochs(aligned) == [BASE + 60 * k for k in range(121)]
    exact = Prometheus(vm_url, query_params={"nocache": "1"}).query_range(*args, step=60)
    assert _epochs(exact) == asked
    assert exact["value"].to_list() == [pd_.gauge_value(0, (t - BASE) // 15) for t in asked]


def test_nan_is_dropped_and_values_are_decimals(prom_url: str, vm_url: str) -> None:
    p = Prometheus(prom_url).query_range("wb_special", BASE, BASE + 75, step=15)
    v = Prometheus(vm_url).query_range("wb_special", BASE, BASE + 75, step=15)
    assert math.isnan(p["value"][0]) and p["value"].to_list()[1:4] == [math.inf, -math.inf, 1e-05]
    # The NaN sample was not stored; 1e-05 shares a block with 1.5e300 and -0.0 loses its sign.
    assert _epochs(v) == [BASE + 15 * k for k in range(1, 6)]
    assert v["value"].to_list() == [math.inf, -math.inf, 0.0, 0.0, 1.5e300]
    assert math.copysign(1, v["value"][3]) == 1.0
    # Decimal storage: 7 + 137/1000 is 7.1370000000000005 as a double; VictoriaMetrics answers 7.137.
    expr, at = 'wb_many{idx="0007"}', BASE + 137 * pd_.SCRAPE_S
    assert Prometheus(prom_url).query(expr, time=at)["value"].to_list() == [pd_.many_value(7, 137)]
    assert Prometheus(vm_url).query(expr, time=at)["value"].to_list() == [7.137]
    assert pd_.many_value(7, 137) != 7.137


def test_string_literals_and_negative_times(prom_url: str, vm_url: str) -> None:
    prom, vm = Prometheus(prom_url), Prometheus(vm_url)
    assert prom.query('"hello"', time=BASE)["value"].to_list() == ["hello"]
    assert vm.query('"hello"', time=BASE).height == 0
    assert prom.query("time()", time=-1.5)["value"].to_list() == [-1.5]
    assert vm.query("time()", time=-1.5)["value"].to_list() == [0.0]


def test_errors_keep_the_query_but_not_the_error_type(prom_url: str, vm_url: str) -> None:
    q = "sum(rate(wb_gauge[5m])"
    got = {}
    for url in (prom_url, vm_url):
        with pytest.raises(QueryError) as ei:
            Prometheus(url).query(q, time=BASE)
        assert ei.value.query == q and url in str(ei.value)
        got[url] = (ei.value.status_code, ei.value.error_type)
    assert got == {prom_url: (400, "bad_data"), vm_url: (422, "422")}
    # -search.maxQueryLen (16 KB by default) refuses what Prometheus answers by POST.
    long_expr = 'wb_gauge{i="1"}' + " + 0" * 4200  # 16.8 KB, just over the limit
    assert len(long_expr) > 16 * 1024
    # a generous timeout: parsing 4,200 additions is slow on a busy 2-core machine
    assert Prometheus(prom_url, timeout=180).query(long_expr, time=BASE)["value"].to_list() == [
        1000.0]
    with pytest.raises(QueryError, match="too long query"):
        Prometheus(vm_url).query(long_expr, time=BASE)


def test_engine_is_detected(prom_url: str, vm_url: str) -> None:
    p = fetch_engine(Prometheus(prom_url))
    assert p.name == "prometheus" and p.version is not None and p.version.startswith("2.42")
    assert p.promql_exact
    assert fetch_engine(Prometheus(vm_url)) == Engine("victoriametrics", None)
    assert not fetch_engine(Prometheus(vm_url)).promql_exact


def test_backtest_says_when_the_engine_is_not_prometheus(prom_url: str, vm_url: str) -> None:
    from workbench.analysis.alerting.backtest import backtest
    from workbench.analysis.alerting.rule import Rule

    rule = Rule(alert="WbHigh", expr="wb_gauge", op=">", threshold=1500, for_="2m")
    start, end = BASE + 600, BASE + 3600
    with warnings.catch_warnings():
        warnings.simplefilter("error", EngineWarning)
        on_prom = backtest(Prometheus(prom_url), rule, start, end, scrape_interval="15s")
    with pytest.warns(EngineWarning, match=r"runs victoriametrics.*docs/backends\.md"):
        on_vm = backtest(Prometheus(vm_url), rule, start, end, scrape_interval="15s")
    # Only wb_gauge{i="2"} (2000 + k/2) is above 1500 in this hour: one alert, firing after 2m.
    for bt in (on_prom, on_vm):
        ep = bt.episodes
        assert ep["i"].to_list() == ["2"]
        assert ep["fired_at"].dt.epoch("s").to_list() == [start + 120]
