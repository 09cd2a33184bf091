"""`MetricsServer` against the Kubernetes API emulation, through the real ``kubernetes`` client.

Truth: the StaticCluster each server is built from (usage is whole nanocores and bytes, so the
frames must match it exactly), ``kubernetes.utils.parse_quantity`` for spec quantities, and
hand-computed ``kubectl top`` cells. kubectl's rules (from kubectl
``pkg/metricsutil/metrics_printer.go`` and ``pkg/cmd/top/top_node.go``):

* CPU cell = ``quantity.MilliValue()`` + "m": rounded **up** to a millicore;
* memory cell = ``quantity.Value() / (1024*1024)`` + "Mi": rounded **down** to a MiB;
* percent = ``int64(float64(usage.MilliValue()) / float64(available.MilliValue()) * 100)``,
  i.e. float64 arithmetic then truncation, against allocatable (capacity with --show-capacity),
  0 when available is 0;
* a pod's usage is the exact sum of its containers' quantities, rounded only when printed.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import subprocess
import sys
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from kubernetes.utils import parse_quantity as k8s_quantity

from workbench import (
    ConfigError,
    KubeAPIError,
    KubeForbiddenError,
    KubeUnauthorizedError,
    KubeUnreachableError,
    MetricsAPINotFoundError,
    MetricsAPIUnavailableError,
    MetricsServer,
    MetricsServerError,
)
from workbench.demo.kube_api import KubeApiServer, serve_kube_api, write_kubeconfig
from workbench.demo.model import Container, Node, Pod, Usage
from workbench.demo.static import (
    DEFAULT_TIMESTAMP_S,
    ScriptedSource,
    StaticCluster,
    synthetic_cluster,
)
from workbench.testing.servers import free_port

TOKEN = "ms-test-token-SECRET-4242"
TS = datetime.fromtimestamp(DEFAULT_TIMESTAMP_S, UTC)


def hand_cluster(timestamp_s: float = DEFAULT_TIMESTAMP_S) -> StaticCluster:
    """A small cluster whose kubectl output is computed by hand in the tests below."""
    nodes = [
        Node("node-a", "10.0.0.1", {"cpu": "4", "memory": "16Gi"},
             {"cpu": "3920m", "memory": "15364728Ki"}),
        Node("node-b", "10.0.0.2", {"cpu": "1", "memory": "1Gi"},
             {"cpu": "100m", "memory": "100Mi"}),
        Node("node-c", "10.0.0.3", {"cpu": "2", "memory": "4Gi"}, {"cpu": "2", "memory": "4Gi"}),
        Node("node-d", "10.0.0.4", {"cpu": "1", "memory": "2Gi"}, {"cpu": "0", "memory": "1Gi"}),
    ]
    pods = [
        Pod("batch", "job-1", "node-a", (Container("main", requests={"cpu": "0.5", "memory": "1Gi"},
                                                   limits={"memory": "2Gi"}),),
            labels={"app": "job"}, owner_kind="Job", owner_name="job"),
        Pod("shop", "web-1", "node-a", (
            Container("app"),
            Container("sidecar", limits={"cpu": "10m", "memory": "3Mi"}),
        ), labels={"app": "web"}, owner_kind="ReplicaSet", owner_name="web-5d9f"),
        Pod("shop", "web-2", "node-b", (
            Container("app", requests={"cpu": "100m", "memory": "107374182400m"}),
        ), labels={"app": "web"}),
        Pod("shop", "pending-1", "node-b", (Container("app"),), phase="Pending"),
    ]
    node_usage = {
        "node-a": Usage(0.137505512, 1842164 * 1024),
        "node-b": Usage(0.029, 29 * 2**20),
        "node-d": Usage(0.5, 2**29),
    }
    usage = {
        ("batch", "job-1", "main"): Usage(0.25, 512 * 2**20),
        ("shop", "web-1", "app"): Usage(0.0015, 1572864),
        ("shop", "web-1", "sidecar"): Usage(0.0015, 1572864),
        ("shop", "web-2", "app"): Usage(1e-9, 1048575),
    }
    return StaticCluster(nodes, pods, node_usage, usage, timestamp_s=timestamp_s)


@pytest.fixture(scope="module")
def hand_api() -> Iterator[KubeApiServer]:
    with serve_kube_api(hand_cluster(), token=TOKEN) as server:
        yield server


def connect(api: KubeApiServer, tmp_path: Path, token: str = TOKEN, **kwargs: object
            ) -> MetricsServer:
    kc = write_kubeconfig(tmp_path / "kubeconfig", api.url, token=token)
    return MetricsServer.from_kubeconfig(kc, **kwargs)  # type: ignore[arg-type]


@pytest.fixture()
def ms(hand_api: KubeApiServer, tmp_path: Path) -> Iterator[MetricsServer]:
    hand_api.metrics_api = "ok"
    with connect(hand_api, tmp_path) as client:
        yield client
    hand_api.metrics_api = "ok"
    hand_api.forbidden_resources.clear()


# -- kubectl parity on hand-computed cases -----------------------------------------------------------


def test_top_nodes_hand_cases(ms: MetricsServer) -> None:
    top = ms.top_nodes()
    assert top["node"].to_list() == ["node-a", "node-b", "node-d", "node-c"]  # no metrics: last
    rows = {r["node"]: r for r in top.iter_rows(named=True)}
    a = rows["node-a"]
    # raw values stay exact
    assert a["cpu_cores"] == 0.137505512 and a["memory_bytes"] == 1886375936
    assert a["timestamp"] == TS and a["window_s"] == 15.0
    assert a["cpu_allocatable_cores"] == 3.92 and a["memory_allocatable_bytes"] == 15733481472
    # CPU: MilliValue(137505512n) = 138 (ceil); 138 / 3920 * 100 = 3.52 -> 3
    # MEM: 1886375936000 / 15733481472000 * 100 = 11.99 -> 11 (truncated, not rounded to 12)
    assert (a["cpu_percent"], a["memory_percent"]) == (3, 11)
    # node-b: 29m / 100m: float64(29)/float64(100)*100 = 28.999999999999996 -> int64 -> 28,
    # the same for 29Mi / 100Mi. An exact-rational implementation would say 29.
    assert float(29) / float(100) * 100 < 29
    assert (rows["node-b"]["cpu_percent"], rows["node-b"]["memory_percent"]) == (28, 28)
    # node-d: allocatable cpu 0 -> 0 (kubectl's rule); memory 512Mi / 1Gi = 50
    assert (rows["node-d"]["cpu_percent"], rows["node-d"]["memory_percent"]) == (0, 50)
    c = rows["node-c"]
    assert c["cpu_cores"] is None and c["cpu_percent"] is None and c["timestamp"] is None
    assert c["cpu_allocatable_cores"] == 2.0


def test_top_nodes_show_capacity(ms: MetricsServer) -> None:
    top = ms.top_nodes(show_capacity=True)
    assert "cpu_capacity_cores" in top.columns and "cpu_allocatable_cores" not in top.columns
    got = {r["node"]: (r["cpu_percent"], r["memory_percent"]) for r in top.iter_rows(named=True)}
    # node-a: 138/4000*100 = 3.45 -> 3; 1886375936/17179869184*100 = 10.98 -> 10
    # node-b: float64(29)/float64(1000)*100 = 2.9000000000000004 -> 2; 29Mi/1Gi = 2.83 -> 2
    # node-d: 500/1000 -> 50; 512Mi/2Gi -> 25
    assert got == {"node-a": (3, 10), "node-b": (2, 2), "node-d": (50, 25),
                   "node-c": (None, None)}


def test_top_nodes_text_table(ms: MetricsServer) -> None:
    # Go tabwriter as kubectl sets it up: min width 6, padding 3, every cell tab-terminated
    # (so lines end in blanks). Header as kubectl >= 1.33 prints it; see also the kubectl
    # oracle test below.
    assert ms.top_nodes(text=True) == (
        "NAME     CPU(cores)   CPU(%)      MEMORY(bytes)   MEMORY(%)   \n"
        "node-a   138m         3%          1798Mi          11%         \n"
        "node-b   29m          28%         29Mi            28%         \n"
        "node-d   500m         0%          512Mi           50%         \n"
        "node-c   <unknown>    <unknown>   <unknown>       <unknown>   \n"
    )
    by_cpu = ms.top_nodes(sort_by="cpu")["node"].to_list()
    assert by_cpu == ["node-d", "node-a", "node-b", "node-c"]
    by_mem = ms.top_nodes(sort_by="memory")["node"].to_list()
    assert by_mem == ["node-a", "node-d", "node-b", "node-c"]


def test_top_pods_sums_before_rounding(ms: MetricsServer) -> None:
    # web-1 = 1.5m + 1.5m = 3m exactly (rounding each container first would give 2m + 2m = 4m);
    # memory 1.5Mi + 1.5Mi = 3Mi (flooring each first would give 1Mi + 1Mi = 2Mi).
    # web-2: 1n rounds up to 1m; 1048575 bytes floors to 0Mi. pending-1 has no metrics.
    assert ms.top_pods(text=True) == (
        "NAMESPACE   NAME    CPU(cores)   MEMORY(bytes)   \n"
        "batch       job-1   250m         512Mi           \n"
        "shop        web-1   3m           3Mi             \n"
        "shop        web-2   1m           0Mi             \n"
    )
    frame = ms.top_pods()
    assert frame.columns == ["namespace", "pod", "timestamp", "window_s", "cpu_cores",
                             "memory_bytes"]
    web1 = frame.row(1, named=True)
    assert web1["cpu_cores"] == 0.003 and web1["memory_bytes"] == 2 * 1572864
    assert ms.top_pods(sort_by="memory")["pod"].to_list() == ["job-1", "web-1", "web-2"]
    assert ms.top_pods(namespace="shop", containers=True, text=True) == (
        "POD     NAME      CPU(cores)   MEMORY(bytes)   \n"
        "web-1   app       2m           1Mi             \n"
        "web-1   sidecar   2m           1Mi             \n"
        "web-2   app       1m           0Mi             \n"
    )


def test_usage_vs_requests_hand_cases(ms: MetricsServer) -> None:
    frame = ms.usage_vs_requests()
    rows = {(r["pod"], r["container"]): r for r in frame.iter_rows(named=True)}
    assert set(rows) == {("job-1", "main"), ("web-1", "app"), ("web-1", "sidecar"),
                         ("web-2", "app")}
    job = rows[("job-1", "main")]
    assert (job["cpu_request_cores"], job["cpu_request_ratio"]) == (0.5, 0.5)
    assert (job["memory_request_bytes"], job["memory_request_ratio"]) == (2**30, 0.5)
    assert (job["memory_limit_bytes"], job["memory_limit_ratio"]) == (2**31, 0.25)
    assert job["cpu_limit_cores"] is None and job["cpu_limit_ratio"] is None
    assert (job["owner_kind"], job["node"], job["phase"]) == ("Job", "node-a", "Running")
    app = rows[("web-1", "app")]  # no requests, no limits: null, not zero
    assert app["spec_found"] is True
    for col in ("cpu_request_cores", "memory_request_bytes", "cpu_request_ratio",
                "memory_request_ratio", "cpu_limit_ratio", "memory_limit_ratio"):
        assert app[col] is None, col
    assert app["qos_class"] == "Burstable"
    side = rows[("web-1", "sidecar")]  # limits only: the API server copies them to requests
    assert side["cpu_request_cores"] == 0.01 and side["memory_request_bytes"] == 3 * 2**20
    assert side["cpu_request_ratio"] == pytest.approx(0.15, rel=1e-12)
    assert side["memory_request_ratio"] == 0.5
    web2 = rows[("web-2", "app")]
    # "107374182400m" bytes = 107374182.4 -> Value() rounds up to 107374183
    assert web2["memory_request_bytes"] == 107374183
    assert web2["memory_request_ratio"] == 1048575 / 107374183


# -- exact values against a synthetic cluster ---------------------------------------------------------


@pytest.fixture(scope="module")
def big() -> StaticCluster:
    return synthetic_cluster(pods=300, nodes=8, namespaces=5, seed=3)


@pytest.fixture(scope="module")
def big_ms(big: StaticCluster, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[MetricsServer]:
    with serve_kube_api(big) as api, connect(api, tmp_path_factory.mktemp("big")) as client:
        yield client


def test_values_equal_the_simulated_truth(big: StaticCluster, big_ms: MetricsServer) -> None:
    snap = big.snapshot(0)
    frame = big_ms.pods(containers=True)
    expected = dict(snap.container_usage)
    got = {(r["namespace"], r["pod"], r["container"]): Usage(r["cpu_cores"], r["memory_bytes"])
           for r in frame.iter_rows(named=True)}
    assert got == expected  # exact float and int equality, every container
    assert frame["timestamp"].unique().to_list() == [TS]
    assert frame["window_s"].unique().to_list() == [15.013]
    pods = big_ms.pods()
    for r in pods.iter_rows(named=True):
        parts = [u for k, u in expected.items() if k[:2] == (r["namespace"], r["pod"])]
        assert r["cpu_cores"] == sum(round(u.cpu_cores * 1e9) for u in parts) / 1e9
        assert r["memory_bytes"] == sum(u.memory_bytes for u in parts)
    nodes = big_ms.nodes()
    assert {r["node"]: Usage(r["cpu_cores"], r["memory_bytes"])
            for r in nodes.iter_rows(named=True)} == snap.node_usage
    one_ns = big_ms.pods(namespace="team-01", label_selector="tier in (web,batch)")
    assert sorted(one_ns["pod"].to_list()) == sorted(
        p.name for p in big.pods if p.namespace == "team-01"
        and p.labels["tier"] in ("web", "batch") and (p.namespace, p.name, p.containers[0].name)
        in expected)


def test_top_nodes_percent_matches_kubectl_formula(big: StaticCluster,
                                                   big_ms: MetricsServer) -> None:
    alloc = {n.name: n.allocatable for n in big.nodes}
    for r in big_ms.top_nodes().iter_rows(named=True):
        u = big.node_usage.get(r["node"])
        if u is None:
            assert r["cpu_percent"] is None
            continue
        cpu_milli = math.ceil(Decimal(round(u.cpu_cores * 1e9)) / 10**6)
        alloc_cpu_milli = math.ceil(k8s_quantity(alloc[r["node"]]["cpu"]) * 1000)
        alloc_mem_milli = math.ceil(k8s_quantity(alloc[r["node"]]["memory"]) * 1000)
        assert r["cpu_percent"] == int(float(cpu_milli) / float(alloc_cpu_milli) * 100)
        assert r["memory_percent"] == int(float(u.memory_bytes * 1000) / float(alloc_mem_milli)
                                          * 100)


def test_requests_and_limits_match_the_specs(big: StaticCluster, big_ms: MetricsServer) -> None:
    frame = big_ms.usage_vs_requests()
    specs = {(p.namespace, p.name, c.name): c for p in big.pods for c in p.containers}
    assert frame["spec_found"].all()
    nulls = 0
    for r in frame.iter_rows(named=True):
        c = specs[(r["namespace"], r["pod"], r["container"])]
        for res, col, lim_col, to in (
            ("cpu", "cpu_request_cores", "cpu_limit_cores", float),
            ("memory", "memory_request_bytes", "memory_limit_bytes", math.ceil),
        ):
            req = c.requests.get(res, c.limits.get(res))
            lim = c.limits.get(res)
            assert r[col] == (None if req is None else to(k8s_quantity(req)))
            assert r[lim_col] == (None if lim is None else to(k8s_quantity(lim)))
            nulls += req is None
        if r["cpu_request_cores"] is not None:
            assert r["cpu_request_ratio"] == r["cpu_cores"] / r["cpu_request_cores"]
        else:
            assert r["cpu_request_ratio"] is None
    assert nulls > 0  # the synthetic cluster has containers without requests


# -- kubectl itself as the oracle ------------------------------------------------------------------------


def _kubectl() -> str:
    """The kubectl binary; like conftest.require_binary: fails on CI, skips elsewhere."""
    path = shutil.which("kubectl")
    if path is None:
        msg = ("kubectl is not installed; install it with: sudo apt-get install -y "
               "kubernetes-client")
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return path


def _kubectl_top(kubectl: str, kubeconfig: Path, *args: str) -> str:
    out = subprocess.run([kubectl, f"--kubeconfig={kubeconfig}", "top", *args],
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    # kubectl < 1.33 titled the percentages CPU% / MEMORY%; the cells are unchanged
    return out.stdout.replace("CPU%  ", "CPU(%)").replace("MEMORY%  ", "MEMORY(%)")


@pytest.mark.parametrize("which", ["hand", "synthetic"])
def test_text_tables_equal_kubectl_top(which: str, tmp_path: Path) -> None:
    kubectl = _kubectl()
    if which == "hand":
        full = hand_cluster()
        # kubectl < 1.33 prints int64(NaN) for a zero allocatable: leave node-d out here
        cluster = StaticCluster([n for n in full.nodes if n.name != "node-d"], full.pods,
                                full.node_usage, full.container_usage)
    else:
        cluster = synthetic_cluster(pods=150, nodes=7, namespaces=4, seed=11)
    with serve_kube_api(cluster) as api:
        kc = write_kubeconfig(tmp_path / "kc", api.url)  # kubectl sends no token over http
        with MetricsServer.from_kubeconfig(kc) as client:
            assert client.top_nodes(text=True) == _kubectl_top(kubectl, kc, "node")
            assert client.top_nodes(show_capacity=True, text=True) == _kubectl_top(
                kubectl, kc, "node", "--show-capacity")
            assert client.top_pods(text=True) == _kubectl_top(kubectl, kc, "pod", "-A")
            ns = sorted({p.namespace for p in cluster.pods})[-1]
            assert client.top_pods(ns, containers=True, text=True) == _kubectl_top(
                kubectl, kc, "pod", "-n", ns, "--containers")
            for sel in ("app=web", "tier in (web,batch)", "app=nothing-matches"):
                assert client.top_pods(ns, label_selector=sel, text=True) == _kubectl_top(
                    kubectl, kc, "pod", "-n", ns, "-l", sel)
            if which == "hand":  # no ties in the hand cluster, so the sort order is defined
                for key in ("cpu", "memory"):
                    assert client.top_nodes(sort_by=key, text=True) == _kubectl_top(
                        kubectl, kc, "node", f"--sort-by={key}")
                    assert client.top_pods(sort_by=key, text=True) == _kubectl_top(
                        kubectl, kc, "pod", "-A", f"--sort-by={key}")


def test_chunked_core_lists_follow_continue(tmp_path: Path) -> None:
    cluster = synthetic_cluster(pods=60, nodes=5, namespaces=3, seed=5)
    with serve_kube_api(cluster) as api:
        with connect(api, tmp_path) as whole:
            expected = whole.pod_specs()
            expected_top = whole.top_nodes()
        before = len(api.requests)
        with connect(api, tmp_path, chunk_size=7) as paged:
            got = paged.pod_specs()
            got_top = paged.top_nodes()
        pages = [r for r in list(api.requests)[before:] if r.startswith("/api/v1/pods")]
    assert got.equals(expected) and got_top.equals(expected_top)
    assert got.select("namespace", "pod").unique().height == 60
    assert len(pages) == math.ceil(60 / 7)
    assert all("limit=7" in r for r in pages) and sum("continue=" in r for r in pages) == 8


def test_single_pod_and_label_selected_reads(ms: MetricsServer) -> None:
    one = ms.pods(namespace="shop", name="web-1", containers=True)
    assert one["container"].to_list() == ["app", "sidecar"]
    assert one["cpu_cores"].to_list() == [0.0015, 0.0015]
    with pytest.raises(ConfigError, match="needs its namespace"):
        ms.pods(name="web-1")
    web = ms.pods(label_selector="app=web")
    assert web["pod"].to_list() == ["web-1", "web-2"]
    on_b = ms.pod_specs(field_selector="spec.nodeName=node-b")
    assert on_b["pod"].to_list() == ["pending-1", "web-2"]  # the API lists by namespace, name
    assert on_b["phase"].to_list() == ["Pending", "Running"]


# -- snapshots over time ------------------------------------------------------------------------------


def test_pods_vanishing_between_metrics_and_spec_calls(tmp_path: Path) -> None:
    full = hand_cluster()
    source = ScriptedSource([full, full.without_pods(("shop", "web-1"))])
    with serve_kube_api(source) as api, connect(api, tmp_path) as client:
        frame = client.usage_vs_requests()
    assert source.calls == 2  # one metrics read, then one spec read
    gone = frame.filter(pl.col("pod") == "web-1")
    assert gone.height == 2 and not gone["spec_found"].any()
    assert gone["node"].null_count() == 2 and gone["cpu_request_ratio"].null_count() == 2
    assert gone["cpu_cores"].to_list() == [0.0015, 0.0015]  # usage kept
    kept = frame.filter(pl.col("pod") != "web-1")
    assert kept["spec_found"].all() and kept.height == 2


def test_sample_deduplicates_unchanged_timestamps(tmp_path: Path) -> None:
    t0 = DEFAULT_TIMESTAMP_S
    source = ScriptedSource([hand_cluster(t0), hand_cluster(t0), hand_cluster(t0 + 15),
                             hand_cluster(t0 + 15), hand_cluster(t0 + 30)])
    clock = [1000.0]
    sleeps: list[float] = []

    def fake_sleep(s: float) -> None:
        sleeps.append(s)
        clock[0] += s

    with serve_kube_api(source) as api, connect(api, tmp_path, sleep=fake_sleep,
                                                clock=lambda: clock[0], progress=False) as client:
        frame = client.sample(every="15s", count=5)
    assert sleeps == [15.0] * 4  # paced on the schedule, not drifting
    stamps = sorted(set(frame["timestamp"].to_list()))
    assert [s.timestamp() for s in stamps] == [t0, t0 + 15, t0 + 30]
    assert frame.height == 3 * 3  # three pods with metrics, three distinct snapshots
    assert frame.select("namespace", "pod", "timestamp").is_unique().all()


def test_sample_static_server_keeps_one_snapshot(ms: MetricsServer,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    ms.progress = True
    frame = ms.sample(every=0, count=3, what="nodes")
    assert frame["node"].to_list() == ["node-a", "node-b", "node-d"]
    assert "sampling nodes" in capsys.readouterr().err  # the progress bar was shown
    with pytest.raises(ConfigError, match="count must be at least 1"):
        ms.sample(count=0)


# -- errors ---------------------------------------------------------------------------------------------


def test_metrics_api_missing(ms: MetricsServer, hand_api: KubeApiServer) -> None:
    hand_api.metrics_api = "missing"
    with pytest.raises(MetricsAPINotFoundError) as info:
        ms.nodes()
    assert "is metrics-server installed?" in str(info.value)
    assert "kubectl get apiservice v1beta1.metrics.k8s.io" in str(info.value)
    assert info.value.status_code == 404


def test_metrics_api_unavailable(ms: MetricsServer, hand_api: KubeApiServer) -> None:
    hand_api.metrics_api = "unavailable"
    with pytest.raises(MetricsAPIUnavailableError) as info:
        ms.pods(namespace="shop")
    msg = str(info.value)
    assert "HTTP 503" in msg and "registered but not answering" in msg
    assert "k8s-app=metrics-server" in msg


def test_forbidden_names_verb_and_resource(ms: MetricsServer, hand_api: KubeApiServer) -> None:
    hand_api.metrics_api = "forbidden"
    with pytest.raises(KubeForbiddenError) as info:
        ms.pods(namespace="shop")
    e = info.value
    assert (e.verb, e.resource, e.group, e.namespace) == ("list", "pods", "metrics.k8s.io", "shop")
    assert "may not 'list' resource 'pods' in API group 'metrics.k8s.io' in namespace 'shop'" \
        in str(e)
    assert "kubectl auth can-i list pods.metrics.k8s.io -n shop" in str(e)
    hand_api.metrics_api = "ok"
    hand_api.forbidden_resources.add("pods")
    with pytest.raises(KubeForbiddenError) as info:
        ms.usage_vs_requests()
    assert (info.value.resource, info.value.group) == ("pods", "")
    assert "ClusterRole" in str(info.value)


def test_node_without_metrics_is_a_404_with_advice(ms: MetricsServer) -> None:
    with pytest.raises(KubeAPIError) as info:
        ms.nodes(name="node-c")
    assert info.value.status_code == 404
    assert not isinstance(info.value, MetricsAPINotFoundError)
    assert "scraped fewer than twice" in str(info.value)
    assert ms.nodes(name="node-a")["cpu_cores"].to_list() == [0.137505512]


def test_no_node_metrics_at_all(tmp_path: Path) -> None:
    empty = StaticCluster(hand_cluster().nodes, [], {}, {})
    with serve_kube_api(empty) as api, connect(api, tmp_path) as client:
        with pytest.raises(MetricsServerError, match="metrics not available yet"):
            client.top_nodes()
        assert client.nodes().height == 0


def test_unauthorized_and_unreachable(hand_api: KubeApiServer, tmp_path: Path) -> None:
    with connect(hand_api, tmp_path, token="wrong-token") as client, \
            pytest.raises(KubeUnauthorizedError, match="HTTP 401"):
        client.nodes()
    kc = write_kubeconfig(tmp_path / "dead", f"http://127.0.0.1:{free_port()}", token=TOKEN)
    with MetricsServer.from_kubeconfig(kc, timeout=5) as client, \
            pytest.raises(KubeUnreachableError) as info:
        client.pods()
    assert "connection refused" in str(info.value)
    assert "Cannot reach the Kubernetes API server at http://127.0.0.1:" in str(info.value)


def test_kubeconfig_errors(tmp_path: Path, hand_api: KubeApiServer) -> None:
    with pytest.raises(ConfigError, match="No kubeconfig found") as info:
        MetricsServer.from_kubeconfig(tmp_path / "nope")
    assert "KUBECONFIG" in str(info.value)
    with pytest.raises(ConfigError, match=r"from \$KUBECONFIG"):
        MetricsServer.from_kubeconfig(environ={"KUBECONFIG": str(tmp_path / "nope")})
    kc = write_kubeconfig(tmp_path / "kc", hand_api.url, token=TOKEN, context="alpha")
    with pytest.raises(ConfigError) as info:
        MetricsServer.from_kubeconfig(kc, context="beta")
    assert "no context 'beta' (known: alpha)" in str(info.value)
    ms = MetricsServer.from_kubeconfig(environ={"KUBECONFIG": str(kc)})
    assert ms.context == "alpha" and ms.server == hand_api.url
    ms.close()
    bad = tmp_path / "bad"
    bad.write_text("clusters: [oops")
    with pytest.raises(ConfigError, match="Cannot read the kubeconfig"):
        MetricsServer.from_kubeconfig(bad)


def test_in_cluster_config(tmp_path: Path) -> None:
    token, ca = tmp_path / "token", tmp_path / "ca.crt"
    token.write_text(TOKEN)
    ca.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    env = {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    ms = MetricsServer.in_cluster(environ=env, token_path=token, ca_path=ca)
    assert ms.server == "https://10.96.0.1:443" and ms.context == "in-cluster"
    assert TOKEN not in repr(ms)
    ms.close()
    with pytest.raises(ConfigError, match="KUBERNETES_SERVICE_HOST"):
        MetricsServer.in_cluster(environ={}, token_path=token, ca_path=ca)


def test_secrets_never_printed(hand_api: KubeApiServer, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str],
                               caplog: pytest.LogCaptureFixture) -> None:
    import base64

    import yaml

    key = "PRIVATE-KEY-MATERIAL-0xDEADBEEF"
    kc = write_kubeconfig(tmp_path / "kc", hand_api.url, token=TOKEN)
    doc = yaml.safe_load(kc.read_text())
    doc["users"][0]["user"]["client-key-data"] = base64.b64encode(
        f"-----BEGIN PRIVATE KEY-----\n{key}\n-----END PRIVATE KEY-----\n".encode()).decode()
    doc["users"][0]["user"]["client-certificate-data"] = base64.b64encode(b"CERT").decode()
    kc.write_text(yaml.safe_dump(doc))
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    client = MetricsServer.from_kubeconfig(kc)
    texts.append(repr(client))
    for mode in ("missing", "unavailable", "forbidden"):
        hand_api.metrics_api = mode
        with pytest.raises(KubeAPIError) as info:
            client.pods(namespace="shop")
        texts += [str(info.value), repr(info.value),
                  "".join(traceback.format_exception(info.value))]
    hand_api.metrics_api = "ok"
    texts.append(str(client.pods()))
    wrong = write_kubeconfig(tmp_path / "wrong", hand_api.url, token=TOKEN + "-stale")
    with MetricsServer.from_kubeconfig(wrong) as stale, pytest.raises(KubeAPIError) as info:
        stale.nodes()
    texts += [str(info.value), "".join(traceback.format_exception(info.value))]
    dead = write_kubeconfig(tmp_path / "dead", f"http://127.0.0.1:{free_port()}", token=TOKEN)
    with MetricsServer.from_kubeconfig(dead, timeout=5) as gone, \
            pytest.raises(KubeAPIError) as info:
        gone.nodes()
    texts += [str(info.value), "".join(traceback.format_exception(info.value))]
    client.close()
    out = capsys.readouterr()
    texts += [out.out, out.err, caplog.text]
    assert len(texts) > 10
    for text in texts:
        assert TOKEN not in text
        assert key not in text


def test_import_workbench_does_not_import_kubernetes() -> None:
    code = ("import sys, workbench; assert 'kubernetes' not in sys.modules, 'kubernetes'; "
            "assert 'tqdm' not in sys.modules, 'tqdm'; print(workbench.MetricsServer.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "MetricsServer"
