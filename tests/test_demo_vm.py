"""``workbench demo up --backend victoriametrics``: the simulated history imported into a real
VictoriaMetrics equals the simulator sample for sample, the planted scenarios read back, live
scrapes arrive through the demo Prometheus' remote_write, and ``down`` stops VictoriaMetrics too."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from workbench import Prometheus
from workbench.demo import stack, vm_backend
from workbench.demo.params import SMALL
from workbench.demo.procs import is_ours
from workbench.demo.sim import FAMILIES, Cluster
from workbench.sources.prometheus import fetch_engine

from .conftest import require_binary

pytestmark = pytest.mark.server

PARAMS = SMALL.with_options(interval_s=30)


@pytest.fixture(scope="module")
def vm_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    for b in ("victoria-metrics", "prometheus", "prometheus-alertmanager",
              "prometheus-node-exporter"):
        require_binary(b)
    d = tmp_path_factory.mktemp("vm-demo")
    eps = vm_backend.up(d, PARAMS, echo=lambda m: None)
    try:
        gt = json.loads(Path(eps["ground_truth"]).read_text())
        with Prometheus(eps["prometheus"]) as prom:
            yield {"eps": eps, "gt": gt, "prom": prom, "dir": d,
                   "cluster": Cluster(PARAMS, gt["history"]["end_s"])}
    finally:
        stack.down(d)


def test_history_equals_the_simulator(vm_demo: dict[str, Any]) -> None:
    prom, cluster = vm_demo["prom"], vm_demo["cluster"]
    assert fetch_engine(prom).name == "victoriametrics"
    for frac in (0.1, 0.5, 0.9):
        t = cluster.origin + round(frac * (cluster.end_s - cluster.origin) / 30) * 30
        want = {}
        for s in cluster.samples(np.array([float(t)])):
            if s.name in ("node_load1", "node_memory_MemAvailable_bytes",
                          "container_cpu_usage_seconds_total") and not np.isnan(s.values[0]):
                scale = FAMILIES[s.name][2]
                want[(s.name, tuple(sorted(s.labels.items())))] = (
                    float(np.rint(s.values[0] * scale) / scale))
        named = pl.concat([prom.query(f"{n}", time=t) for n in
                           ("node_load1", "node_memory_MemAvailable_bytes",
                            "container_cpu_usage_seconds_total")], how="diagonal_relaxed")
        labels = [c for c in named.columns if c not in ("timestamp", "value", "__name__")]
        have = {(r["__name__"], tuple(sorted((k, r[k]) for k in labels if r[k] is not None))):
                r["value"] for r in named.iter_rows(named=True)}
        assert len(want) > 30 and have.keys() == want.keys()
        for k, v in want.items():
            assert have[k] == pytest.approx(v, rel=1e-12, abs=1e-12), k


def test_planted_scenarios_read_back(vm_demo: dict[str, Any]) -> None:
    prom, gt = vm_demo["prom"], vm_demo["gt"]
    fs = gt["scenarios"]["filesystem_filling"]
    h = gt["history"]
    t = h["start_s"] + 0.5 * (h["end_s"] - h["start_s"])
    df = prom.query('deriv(node_filesystem_avail_bytes{job="node-exporter",mountpoint="/"}[6h])', t)
    rates = dict(zip(df["instance"], df["value"], strict=True))
    assert rates[fs["instance"]] == pytest.approx(-fs["fill_rate_bytes_per_s"], rel=1e-3)
    nd = gt["scenarios"]["node_down"]
    d0, d1 = nd["start_s"], nd["end_s"]
    up = prom.query_range(f'up{{job="node-exporter",instance="{nd["instance"]}"}}',
                          d0 - 3600, d1 + 3600, PARAMS.interval_s)
    zero = up.filter(pl.col("value") == 0)["timestamp"].dt.epoch("s").to_list()
    grid = np.arange(np.ceil(d0 / 30) * 30, d1, 30).astype(int).tolist()
    assert zero == grid
    # ALERTS were evaluated over the history (on MetricsQL) and imported: NodeExporterDown fires
    # only inside the planted down window.
    firing = prom.query_range('ALERTS{alertname="NodeExporterDown",alertstate="firing"}',
                              h["start_s"], h["end_s"], 60)
    ts = firing["timestamp"].dt.epoch("s").to_numpy()
    assert len(ts) > 0 and ts.min() >= d0 and ts.max() <= d1 + 60


def test_live_scrapes_arrive_by_remote_write(vm_demo: dict[str, Any]) -> None:
    prom, end = vm_demo["prom"], vm_demo["gt"]["history"]["end_s"]
    deadline = time.monotonic() + 4 * PARAMS.interval_s
    while True:
        now = time.time()
        live = prom.query(f'last_over_time(up{{job=~"node-exporter|kubelet|kube-state-metrics"}}'
                          f"[{int(now - end) - 1}s])", now)
        if live.height == 3 * PARAMS.nodes + 1 or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert live.height == 3 * PARAMS.nodes + 1 and live["value"].min() == 1.0
    rules = Prometheus(vm_demo["eps"]["rules_prometheus"]).rules()
    assert rules.height > 0 and set(rules["health"].to_list()) <= {"ok", "unknown"}
    # VictoriaMetrics answers /api/v1/rules with the live Prometheus's rules (vmalert.proxyURL),
    # so Prometheus("demo").rules() finds what the rules audit and tuning need
    via_vm = prom.rules()
    assert sorted(via_vm["name"].to_list()) == sorted(rules["name"].to_list())
    # one series per node across the history and the live scrapes: remote_write does not add
    # the external labels the imported history lacks
    both = prom.query(f'count by (instance) (count_over_time(up{{job="node-exporter"}}'
                      f'[{int(time.time() - end) + 600}s]))')
    assert both.height == PARAMS.nodes and both["value"].min() > 0
    per_node = prom.query(f'count(last_over_time(up{{job="node-exporter"}}'
                          f'[{int(time.time() - end) + 600}s]))')
    assert per_node["value"][0] == PARAMS.nodes      # (with a `cluster` label: twice as many)


def test_down_stops_victoria_metrics(tmp_path: Path) -> None:
    require_binary("victoria-metrics")
    small = SMALL.with_options(days=0.25)
    eps = vm_backend.up(tmp_path, small, echo=lambda m: None)
    rec = json.loads((tmp_path / "state.json").read_text())["processes"]["victoria-metrics"]
    assert is_ours(rec) and eps["prometheus"] == rec["url"]
    stopped = stack.down(tmp_path)
    assert "victoria-metrics" in stopped and not is_ours(rec)
