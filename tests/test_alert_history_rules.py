"""``workbench demo up --rules``: a user's PrometheusRule (kube-prometheus-stack's control-plane
and workload alerts) evaluated over the demo history. The simulated control plane keeps its
``*Down`` alerts quiet, Watchdog fires throughout, the planted crash loop, stuck pod and failed
Job fire, the backfilled ALERTS read back equal the backtest, and the live Prometheus loads them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from workbench import Prometheus, alert_history
from workbench.analysis.alerting import load_rules
from workbench.analysis.alerting.batch import backtest_rules
from workbench.demo import stack
from workbench.demo.params import SMALL

from .conftest import require_binary

pytestmark = pytest.mark.server
RULES = Path(__file__).parent / "data" / "rules" / "kps-control-plane.yaml"
QUIET = ("KubeAPIDown", "KubeSchedulerDown", "KubeControllerManagerDown", "KubeProxyDown",
         "KubeletDown", "CoreDNSDown")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    import json

    for b in ("prometheus", "promtool", "prometheus-alertmanager", "prometheus-node-exporter"):
        require_binary(b)
    d = tmp_path_factory.mktemp("rules-demo")
    eps = stack.up(d, SMALL, echo=lambda m: None, rules=[RULES])
    try:
        gt = json.loads(Path(eps["ground_truth"]).read_text())
        start, end = gt["history"]["start_s"] + 600, gt["history"]["end_s"]
        with Prometheus(eps["prometheus"]) as prom:
            hist = alert_history.fetch_alert_history(prom, start, end)
            yield {"gt": gt, "prom": prom, "start": start, "end": end, "hist": hist, "dir": d}
    finally:
        stack.down(d)


def test_control_plane_is_quiet_and_watchdog_fires(demo: dict[str, Any]) -> None:
    names = set(demo["hist"].episodes["alertname"])
    assert not names & set(QUIET)
    wd = demo["hist"].episodes.filter(pl.col("alertname") == "Watchdog")
    assert wd.height == 1
    assert wd["resolved_at"].to_list() == [None]


def test_planted_workload_incidents_fire(demo: dict[str, Any]) -> None:
    we = demo["gt"]["workload_events"]
    ep = demo["hist"].episodes.with_columns(pl.col("active_at", "fired_at").dt.epoch("s"))
    for alert, inc in (("KubePodCrashLooping", we["crash_loop"]),
                       ("KubePodNotReady", we["image_pull"]), ("KubeJobFailed", we["failed_job"])):
        rows = ep.filter(pl.col("alertname") == alert)
        assert rows.height == 1, alert
        row = rows.row(0, named=True)
        assert inc["start_s"] <= row["active_at"] <= inc["start_s"] + 180, alert
        assert row["fired_at"] == row["active_at"] + 900, alert  # for: 15m


def test_backfilled_alerts_equal_the_backtest(demo: dict[str, Any]) -> None:
    rules = load_rules(RULES)
    results: dict[int, Any] = {}
    backtest_rules(demo["prom"], rules, demo["start"], demo["end"], results=results)
    for i, bt in results.items():
        b = bt.episodes
        mine = demo["hist"].episodes.filter(pl.col("alertname") == rules[i].alert)
        cols = [c for c in b.columns if c in mine.columns and b[c].null_count() < b.height]
        cols = [c for c in cols if c not in ("pending_s", "firing_s")] + ["pending_s"]
        assert mine.select(cols).sort(cols, nulls_last=True).equals(
            b.select(cols).sort(cols, nulls_last=True)), rules[i].alert


def test_live_prometheus_loads_the_rules(demo: dict[str, Any]) -> None:
    groups = set(demo["prom"].rules()["group"])
    assert {"kubernetes-apps", "general.rules", "kubernetes-system-apiserver"} <= groups
    assert (Path(demo["dir"]) / "user-rules.yml").is_file()
