"""Alert history read from real Prometheus servers: the demo's backfilled ALERTS give back every
planted incident with its times, and exactly the episodes a backtest of the same rules computes;
a live rule evaluated by Prometheus itself; a server without ALERTS gives an empty history that
says so."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import polars as pl
import pytest

from workbench import Prometheus, Rule, alert_history, backtest
from workbench.demo.rules import ALERT_RULES, EVAL_INTERVAL_S
from workbench.testing.servers import ManagedProcess

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def demo(small_demo: dict[str, Any]) -> Iterator[dict[str, Any]]:
    gt = small_demo["gt"]
    start, end = gt["history"]["start_s"] + 600, gt["history"]["end_s"]
    with Prometheus(small_demo["eps"]["prometheus"]) as prom:
        hist = alert_history.fetch_alert_history(prom, start, end)
        yield {"gt": gt, "prom": prom, "start": start, "end": end, "hist": hist,
               "ep": hist.episodes.with_columns(
                   pl.col("active_at", "fired_at", "resolved_at").dt.epoch("s"))}


def _of(demo: dict[str, Any], alertname: str) -> pl.DataFrame:
    return demo["ep"].filter(pl.col("alertname") == alertname).sort("active_at")


@pytest.mark.parametrize("rule", ALERT_RULES, ids=[r["alert"] for r in ALERT_RULES])
def test_history_equals_the_backtest_of_the_same_rule(demo: dict[str, Any],
                                                      rule: dict[str, Any]) -> None:
    bt = backtest(demo["prom"], Rule.from_dict(rule), demo["start"], demo["end"],
                  f"{EVAL_INTERVAL_S}s").episodes
    mine = demo["hist"].episodes.filter(pl.col("alertname") == rule["alert"])
    mine = mine.select([c for c in bt.columns if c in mine.columns])
    assert set(bt.columns) - set(mine.columns) <= {c for c in bt.columns
                                                    if bt[c].null_count() == bt.height}
    order = mine.columns
    assert mine.sort(order, nulls_last=True).equals(
        bt.select(order).sort(order, nulls_last=True))
    assert mine.height > 0


def test_node_down_found_with_its_times(demo: dict[str, Any]) -> None:
    sc = demo["gt"]["scenarios"]["node_down"]
    (row,) = _of(demo, "NodeExporterDown").iter_rows(named=True)
    assert row["instance"] == sc["instance"]
    assert row["active_at"] == sc["start_s"]
    assert row["fired_at"] == sc["start_s"] + 300  # for: 5m
    assert row["resolved_at"] == sc["end_s"]


def test_every_oom_kill_found(demo: dict[str, Any]) -> None:
    sc = demo["gt"]["scenarios"]["oom_kills"]
    ep = _of(demo, "KubeContainerOOMKilled")
    expected = [t for t in sc["times_s"] if t >= demo["start"]]
    assert ep["fired_at"].to_list() == expected
    assert set(ep["pod"]) == {sc["pod"]}
    assert (ep["resolved_at"] - ep["fired_at"]).to_list() == [600] * len(expected)  # [10m]


def test_pvc_crossing_70_percent_found(demo: dict[str, Any]) -> None:
    sc = demo["gt"]["scenarios"]["pvc_over_70"]
    (row,) = _of(demo, "KubePersistentVolumeUsageHigh").iter_rows(named=True)
    assert row["persistentvolumeclaim"] == sc["persistentvolumeclaim"]
    # used bytes are floored: at the crossing instant itself the ratio may be a hair under 0.70
    assert sc["crosses_70_at_s"] <= row["active_at"] <= sc["crosses_70_at_s"] + EVAL_INTERVAL_S
    assert row["fired_at"] == row["active_at"] + 60  # for: 1m
    assert row["resolved_at"] is None  # still over 70 % at the end


def test_flapping_alert_found_and_counted(demo: dict[str, Any]) -> None:
    sc = demo["gt"]["scenarios"]["flapping_alert"]
    ep = _of(demo, "NodeLoadFlapping")
    per_window = int((sc["daily_window_utc_hours"][1] - sc["daily_window_utc_hours"][0])
                     * 3600 // sc["period_s"])
    windows = [w for w in sc["windows_s"] if w[0] >= demo["start"] and w[1] <= demo["end"]]
    assert ep.height == per_window * len(windows)
    for w0, _ in windows:
        starts = ep.filter(pl.col("active_at").is_between(w0, w0 + 7200))["active_at"]
        assert starts.to_list() == [w0 + k * sc["period_s"] for k in range(per_window)]
    s = demo["hist"].summary().filter(pl.col("alertname") == "NodeLoadFlapping")
    # every re-fire 7 minutes after a resolve is a flap: all but the first of each window
    assert s["flapping"].item() == ep.height - len(windows)
    assert s["p50_s"].item() == sc["high_s"] - 120  # 8 min high, 2 min pending


def test_heatmap_places_the_flaps_in_their_hours(demo: dict[str, Any]) -> None:
    hm = demo["hist"].heatmap()
    flap = alert_history.heatmap(demo["hist"].episodes.filter(
        pl.col("alertname") == "NodeLoadFlapping"))
    assert set(flap.filter(pl.col("fired") > 0)["hour"]) == {9, 10}
    assert hm["fired"].sum() == demo["hist"].episodes["fired_at"].is_not_null().sum()


def test_live_rule_evaluated_by_prometheus(prom_url: str) -> None:
    """tests/conftest.py's Prometheus evaluates WbAlwaysFiring every second: one episode, still
    firing, whose active_at is the one Prometheus reports in /api/v1/alerts (to the second, as
    ALERTS_FOR_STATE stores it); the first evaluations after startup write no ALERTS sample, so
    the first one seen is already firing."""
    import time

    with Prometheus(prom_url) as prom:
        deadline = time.monotonic() + 20
        while prom.query("ALERTS").height == 0 and time.monotonic() < deadline:
            time.sleep(0.5)
        h = alert_history.fetch_alert_history(prom, "now-1h", "now",
                                              matchers='alertname="WbAlwaysFiring"')
        live = alert_history.fetch_current_alerts(prom).filter(
            pl.col("alertname") == "WbAlwaysFiring")
    assert h.episodes.height == 1
    row = h.episodes.row(0, named=True)
    assert row["severity"] == "info"
    assert row["active_at"] == live["active_at"].dt.truncate("1s").item()
    assert row["active_at"] <= row["fired_at"] <= row["active_at"] + timedelta(seconds=5)
    assert row["resolved_at"] is None
    assert h.message == ""


def test_no_alerts_series_is_an_empty_history_that_says_so(node_prom: ManagedProcess) -> None:
    with Prometheus(node_prom.url) as prom:
        h = alert_history.fetch_alert_history(prom, "now-2d", "now")
    assert h.empty
    assert h.episodes.columns[0] == "alertname"
    assert "No ALERTS series" in h.message
    assert h.summary().height == 0
    assert h.heatmap()["fired"].sum() == 0
