"""Replaying the demo's own alerting rules over its backfilled history (``workbench demo up``):
the backtest recovers every planted incident of the simulator's ground truth, and agrees sample for
sample with the ``ALERTS`` / ``ALERTS_FOR_STATE`` series the demo wrote into the TSDB."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import polars as pl
import pytest

from workbench import Prometheus, Rule, backtest
from workbench.analysis.alerting import BacktestResult
from workbench.demo.rules import ALERT_RULES, EVAL_INTERVAL_S

pytestmark = pytest.mark.server

RULES = {r["alert"]: Rule.from_dict(r) for r in ALERT_RULES}


@pytest.fixture(scope="module")
def demo(small_demo: dict[str, Any]) -> Iterator[dict[str, Any]]:
    gt = small_demo["gt"]
    h = gt["history"]
    # The demo evaluates its rules from 10 minutes after the history starts (the first
    # rate windows need data) to the end of the backfill; live evaluation follows.
    start, end = h["start_s"] + 600, h["end_s"]
    with Prometheus(small_demo["eps"]["prometheus"]) as prom:
        results = {name: backtest(prom, rule, start, end, f"{EVAL_INTERVAL_S}s")
                   for name, rule in RULES.items()}
        yield {"gt": gt, "prom": prom, "start": start, "end": end, "bt": results}


def _episodes(bt: BacktestResult) -> pl.DataFrame:
    return bt.episodes.with_columns(pl.col("active_at", "fired_at", "resolved_at").dt.epoch("s"))


def _label_key(row: dict[str, Any]) -> frozenset[tuple[str, str]]:
    return frozenset((k, v) for k, v in row.items() if v is not None)


@pytest.mark.parametrize("alertname", sorted(RULES))
def test_backtest_agrees_with_the_alerts_series_the_demo_wrote(demo: dict[str, Any],
                                                               alertname: str) -> None:
    bt: BacktestResult = demo["bt"][alertname]
    prom: Prometheus = demo["prom"]
    end = demo["end"]
    span = int(end - demo["start"]) + EVAL_INTERVAL_S
    mine = {(_label_key({k: v for k, v in r.items()
                         if k not in ("step", "timestamp", "active_at", "for_state")}),
             int(r["timestamp"].timestamp()))
            for r in bt.samples().iter_rows(named=True)}
    stored = prom.query(f'ALERTS{{alertname="{alertname}"}}[{span}s]', time=end)
    theirs = {(_label_key({k: v for k, v in r.items()
                           if k not in ("timestamp", "value", "__name__")}),
               int(r["timestamp"].timestamp()))
              for r in stored.iter_rows(named=True)}
    assert mine == theirs
    assert len(mine) > 0
    for_state = prom.query(f'ALERTS_FOR_STATE{{alertname="{alertname}"}}[{span}s]', time=end)
    theirs_fs = {(_label_key({k: v for k, v in r.items()
                              if k not in ("timestamp", "value", "__name__")}),
                  int(r["timestamp"].timestamp()), r["value"])
                 for r in for_state.iter_rows(named=True)}
    mine_fs = {(_label_key({k: v for k, v in r.items() if k not in (
                "step", "timestamp", "active_at", "for_state", "alertstate")}),
                int(r["timestamp"].timestamp()), r["for_state"])
               for r in bt.samples().iter_rows(named=True)}
    assert mine_fs == theirs_fs


def test_node_down_recovered(demo: dict[str, Any]) -> None:
    nd = demo["gt"]["scenarios"]["node_down"]
    ep = _episodes(demo["bt"]["NodeExporterDown"])
    assert ep["instance"].to_list() == [nd["instance"]]
    row = ep.row(0, named=True)
    assert nd["start_s"] <= row["active_at"] < nd["start_s"] + 2 * EVAL_INTERVAL_S
    assert row["fired_at"] - row["active_at"] == 300                    # for: 5m
    assert nd["end_s"] <= row["resolved_at"] < nd["end_s"] + 2 * EVAL_INTERVAL_S


def test_oom_kills_recovered(demo: dict[str, Any]) -> None:
    oom = demo["gt"]["scenarios"]["oom_kills"]
    ep = _episodes(demo["bt"]["KubeContainerOOMKilled"])
    assert set(ep["pod"]) == {oom["pod"]} and set(ep["namespace"]) == {oom["namespace"]}
    expected = [t for t in oom["times_s"] if demo["start"] <= t <= demo["end"] - 600]
    assert len(expected) >= 2
    starts = sorted(ep["active_at"].to_list())
    assert len(starts) == len(expected)
    for t_kill, t_alert in zip(expected, starts, strict=True):
        assert t_kill <= t_alert < t_kill + 2 * EVAL_INTERVAL_S
    assert (ep["fired_at"] == ep["active_at"]).all()                    # for: 0m


def test_pvc_over_70_recovered(demo: dict[str, Any]) -> None:
    pvc = demo["gt"]["scenarios"]["pvc_over_70"]
    ep = _episodes(demo["bt"]["KubePersistentVolumeUsageHigh"])
    assert ep["persistentvolumeclaim"].to_list() == [pvc["persistentvolumeclaim"]]
    row = ep.row(0, named=True)
    assert pvc["crosses_70_at_s"] <= row["active_at"] < pvc["crosses_70_at_s"] + 2 * EVAL_INTERVAL_S
    assert row["fired_at"] == row["active_at"] + 60 and row["resolved_at"] is None


def test_filesystem_filling_and_throttling_recovered(demo: dict[str, Any]) -> None:
    fs = demo["gt"]["scenarios"]["filesystem_filling"]
    ep = _episodes(demo["bt"]["NodeFilesystemSpaceFillingUp"])
    assert ep.select("instance", "mountpoint").unique().rows() == [(fs["instance"], "/")]
    assert (ep["fired_at"] - ep["active_at"] == 3600).all()             # for: 1h
    thr = demo["gt"]["scenarios"]["cpu_throttling"]
    ep = _episodes(demo["bt"]["CPUThrottlingHigh"])
    assert set(ep.filter(pl.col("fired_at").is_not_null())["pod"]) == set(thr["pods"])
    assert set(ep["namespace"]) == {thr["namespace"]}


def test_flapping_alert_recovered(demo: dict[str, Any]) -> None:
    fl = demo["gt"]["scenarios"]["flapping_alert"]
    bt = demo["bt"]["NodeLoadFlapping"]
    ep = _episodes(bt)
    assert set(ep["instance"]) == {fl["instance"]}
    windows = [(w0, w1) for w0, w1 in fl["windows_s"] if w1 > demo["start"] and w0 < demo["end"]]
    for a in ep["active_at"].to_list():
        assert any(w0 <= a <= w1 for w0, w1 in windows)
    full = [(w0, w1) for w0, w1 in windows if w1 - w0 >= fl["period_s"] * 2]
    for w0, w1 in full:
        inside = ep.filter(pl.col("active_at").is_between(w0, w1))
        assert inside.height >= int((w1 - w0) // fl["period_s"]) - 1
    s = bt.summary().row(0, named=True)
    assert s["flapping"] == 1 and s["alerts_fired"] == ep.height
