"""The demo simulation without servers: determinism, exporter shapes, planted truth, OpenMetrics."""

from __future__ import annotations

import io
import math
import re

import numpy as np
import pytest

from workbench import ConfigError
from workbench.demo import capacity_sim
from workbench.demo._signal import Wave, noise
from workbench.demo.history import block_duration_s, write_openmetrics
from workbench.demo.live import exposition
from workbench.demo.params import SMALL, DemoParams
from workbench.demo.sim import LEAK_LIMIT, OOM_PERIOD_S, Cluster

END = 1_764_000_000  # a multiple of 60


@pytest.fixture(scope="module")
def cluster() -> Cluster:
    return Cluster(SMALL, END)


def _grid(c: Cluster, n: int) -> np.ndarray:
    return c.end_s - np.arange(n)[::-1] * c.interval


def _by_key(samples):  # type: ignore[no-untyped-def]
    return {(s.name, tuple(sorted(s.labels.items()))): s.values for s in samples}


def test_same_seed_same_cluster_other_seed_differs(cluster: Cluster) -> None:
    t = _grid(cluster, 50)
    a = _by_key(cluster.samples(t))
    b = _by_key(Cluster(SMALL, END).samples(t))
    assert a.keys() == b.keys()
    assert all(np.array_equal(a[k], b[k], equal_nan=True) for k in a)
    c = _by_key(Cluster(SMALL.with_options(seed=7), END).samples(t))
    differing = [k for k in a.keys() & c.keys() if not np.array_equal(a[k], c[k], equal_nan=True)]
    assert len(differing) > len(a) // 4


def test_wave_integral_is_the_counter_of_its_rate() -> None:
    w = Wave.make("x", 0.3, daily=0.4, weekly=0.1, jitter=0.1)
    t = np.linspace(1.7e9, 1.7e9 + 3 * 86400, 200_001)
    numeric = np.sum((w.rate(t[1:]) + w.rate(t[:-1])) / 2 * np.diff(t))
    exact = w.integral(t[-1:])[0] - w.integral(t[:1])[0]
    assert numeric == pytest.approx(exact, rel=1e-8)
    assert w.rate(t).min() > 0
    nz = noise(5, t[:1000], 60.0)
    assert nz.min() >= -1 and nz.max() < 1 and len(np.unique(nz)) > 10


def test_exporter_names_jobs_and_labels(cluster: Cluster) -> None:
    s = list(cluster.samples(np.array([float(END)])))
    ne = [x for x in s if x.name.startswith("node_")]
    assert ne and all(x.labels["job"] == "node-exporter" for x in ne)
    assert all(re.fullmatch(r"10\.0\.\d+\.\d+:9100", x.labels["instance"]) for x in ne)
    assert not any("node" in x.labels for x in ne)
    cad = [x for x in s if x.name.startswith("container_")]
    assert cad and all(x.labels["job"] == "kubelet" and x.labels["metrics_path"] ==
                       "/metrics/cadvisor" and x.labels["container"] and x.labels["image"]
                       for x in cad)
    vol = [x for x in s if x.name.startswith("kubelet_volume_stats")]
    assert vol and all(x.labels["metrics_path"] == "/metrics" for x in vol)
    req = [x for x in s if x.name == "kube_pod_container_resource_requests"]
    assert {(x.labels["resource"], x.labels["unit"]) for x in req} == {("cpu", "core"),
                                                                       ("memory", "byte")}
    assert all(x.labels["job"] == "kube-state-metrics" for x in req)
    ups = [x for x in s if x.name == "up"]
    # every target has an `up`: node-exporter, kubelet /metrics and /metrics/cadvisor per node, KSM
    # + Prometheus scraping itself (capacity_sim) + the control plane (events_sim: 2 apiservers,
    # kube-scheduler, kube-controller-manager, 2 coredns, kube-proxy per node)
    assert len(ups) == 3 * SMALL.nodes + 2 + 6 + SMALL.nodes
    assert {x.labels["job"] for x in ups} >= {"apiserver", "kube-scheduler",
                                              "kube-controller-manager", "coredns", "kube-proxy"}
    modes = {x.labels["mode"] for x in s if x.name == "node_cpu_seconds_total"}
    assert modes == {"idle", "iowait", "user", "system", "nice", "irq", "softirq", "steal"}


def test_counters_never_decrease_except_planted_restarts(cluster: Cluster) -> None:
    t = _grid(cluster, 24 * 60)
    for s in cluster.samples(t):
        if not s.name.endswith("_total") or s.name.startswith("kube_"):
            continue
        v = s.values[~np.isnan(s.values)]
        drops = np.count_nonzero(np.diff(v) < 0)
        if s.labels.get("container") == "ledger":
            assert drops <= math.ceil(86400 / OOM_PERIOD_S), s.name
        else:
            assert drops == 0, (s.name, s.labels)


def test_planted_truth_matches_the_series(cluster: Cluster) -> None:
    gt = cluster.ground_truth()
    sc = gt["scenarios"]
    start, end = gt["history"]["start_s"], gt["history"]["end_s"]
    t = np.arange(start, end + 1, 60.0)
    series = list(cluster.samples(t))

    def find(name: str, **labels: str) -> np.ndarray:
        hits = [x.values for x in series if x.name == name
                and all(x.labels.get(k) == v for k, v in labels.items())]
        assert len(hits) == 1, (name, labels, len(hits))
        return hits[0]

    fs = sc["filesystem_filling"]
    avail = find("node_filesystem_avail_bytes", instance=fs["instance"], mountpoint="/")
    slope = np.polyfit(t - start, avail, 1)[0]
    assert slope == pytest.approx(-fs["fill_rate_bytes_per_s"], rel=1e-3)
    oom = sc["oom_kills"]
    restarts = find("kube_pod_container_status_restarts_total", pod=oom["pod"])
    jumps = t[1:][np.diff(restarts) > 0]
    assert jumps.tolist() == oom["times_s"]
    assert len(oom["times_s"]) == pytest.approx(SMALL.days * 86400 / OOM_PERIOD_S, abs=1)
    ws = find("container_memory_working_set_bytes", pod=oom["pod"])
    assert LEAK_LIMIT * 0.98 < ws.max() < LEAK_LIMIT
    ratio = sc["overprovisioned_namespace"]["cpu_ratio"]
    assert ratio == pytest.approx(5.0, rel=0.05)
    pvc = sc["pvc_over_70"]
    used = find("kubelet_volume_stats_used_bytes", persistentvolumeclaim=pvc["persistentvolumeclaim"])
    first = t[np.argmax(used / pvc["capacity_bytes"] > 0.7)]
    assert pvc["crosses_70_at_s"] < first <= pvc["crosses_70_at_s"] + 60
    d0, d1 = sc["node_down"]["start_s"], sc["node_down"]["end_s"]
    up = find("up", instance=sc["node_down"]["instance"])
    assert t[up == 0].tolist() == list(np.arange(d0, d1, 60.0))


def test_openmetrics_text_rules(cluster: Cluster) -> None:
    t = _grid(cluster, 5)
    buf = io.StringIO()
    n_samples, n_series = write_openmetrics(buf, cluster.samples(t), t)
    text = buf.getvalue()
    assert text.endswith("# EOF\n")
    families = re.findall(r"^# TYPE (\S+) ", text, flags=re.M)
    assert len(families) == len(set(families))  # each family contiguous, once
    lines = [ln for ln in text.splitlines() if not ln.startswith("#")]
    assert len(lines) == n_samples and n_series > 500
    stamps = {int(ln.rsplit(" ", 1)[1]) for ln in lines}
    assert stamps == {int(x) for x in t}  # seconds, not ms
    assert "node_vmstat_pgmajfault" in text and "# TYPE node_vmstat_pgmajfault unknown" in text


def test_live_exposition_continues_the_history_labels(cluster: Cluster) -> None:
    key = next(tg.key for tg in cluster.targets if tg.key.startswith("node-exporter/"))
    text = exposition(cluster, key, END + 600.0)
    live = {ln.rsplit(" ", 1)[0] for ln in text.splitlines() if not ln.startswith("#")}
    tg = next(tg for tg in cluster.targets if tg.key == key)
    hist = set()
    for s in cluster.samples(np.array([float(END)]), targets=[key]):
        lab = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items())
                       if k not in ("job", "instance"))
        hist.add(f"{s.name}{{{lab}}}")
    assert live == hist
    assert all(f'{k}="{v}"' in text for k, v in tg.labels.items() if k not in ("job", "instance"))


def test_snapshot_usage_agrees_with_cadvisor(cluster: Cluster) -> None:
    now = END + 3600.0
    snap = cluster.snapshot(now)
    assert len(snap.nodes) == SMALL.nodes
    key = next(k for k in snap.container_usage if k[2] == "ledger")
    pod = next(p for p in cluster.pods_between(now, now + 1) if p.name == key[1])
    c = pod.workload.containers[0]
    cpu = cluster._cpu_counter(pod, c, np.array([now - 15, now]))
    assert snap.container_usage[key].cpu_cores == pytest.approx((cpu[1] - cpu[0]) / 15)
    ws = cluster._working_set(pod, c, np.array([now]))[0]
    assert snap.container_usage[key].memory_bytes == int(ws)
    total_pods = len(snap.pods)
    # the capacity scenarios' pods come on top of the budget (capacity_sim.extra_workloads)
    extra = sum(w.replicas if w.kind != "DaemonSet" else SMALL.nodes
                for w in capacity_sim.extra_workloads(cluster, []))
    assert abs(total_pods - SMALL.pods - extra) <= 3


def test_sizes_are_validated_and_blocks_bounded() -> None:
    with pytest.raises(ConfigError, match="nodes=1"):
        DemoParams(nodes=1)
    for days in (float("nan"), float("inf"), 0.0, 401.0):
        with pytest.raises(ConfigError, match=r"days=.*need 0 < days <= 400"):
            DemoParams(days=days)
    d = block_duration_s(n_series=40_000, interval_s=60, max_samples=6_000_000,
                         span_s=30 * 86400)
    assert 40_000 * d / 60 <= 6_000_000 and d % 7200 == 0
