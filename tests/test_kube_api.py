"""The Kubernetes API emulation, checked through the real ``kubernetes`` client.

Truth is the StaticCluster the server was built from; oracles are the client's own typed models
(CoreV1Api deserialises into V1Pod/V1Node, which validates required fields) and
``kubernetes.utils.parse_quantity`` for quantities.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import kubernetes
import orjson
import pytest
import requests
from kubernetes.client.exceptions import ApiException
from kubernetes.utils import parse_quantity as k8s_quantity

from workbench.demo.kube_api import (
    KubeApiServer,
    LabelSelectorError,
    match_labels,
    parse_label_selector,
    serve_kube_api,
    write_kubeconfig,
)
from workbench.demo.model import Container, Node, Pod, Usage
from workbench.demo.static import StaticCluster, synthetic_cluster

TOKEN = "emulation-test-token-0123456789"


@pytest.fixture(scope="module")
def cluster() -> StaticCluster:
    return synthetic_cluster(pods=120, nodes=6, namespaces=4, seed=7)


@pytest.fixture(scope="module")
def api(cluster: StaticCluster) -> Iterator[KubeApiServer]:
    with serve_kube_api(cluster, token=TOKEN) as server:
        yield server


@pytest.fixture()
def client(api: KubeApiServer, tmp_path: Path) -> Iterator[kubernetes.client.ApiClient]:
    api.metrics_api = "ok"
    kc = write_kubeconfig(tmp_path / "kubeconfig", api.url, token=TOKEN)
    c = kubernetes.config.new_client_from_config(config_file=str(kc))
    yield c
    c.close()
    api.metrics_api = "ok"


def _co(client: kubernetes.client.ApiClient) -> kubernetes.client.CustomObjectsApi:
    return kubernetes.client.CustomObjectsApi(client)


def test_discovery_and_version(api: KubeApiServer, client: kubernetes.client.ApiClient) -> None:
    assert kubernetes.client.VersionApi(client).get_code().major == "1"
    groups = kubernetes.client.ApisApi(client).get_api_versions().groups
    assert [g.name for g in groups] == ["apps", "apiregistration.k8s.io", "metrics.k8s.io"]
    api.metrics_api = "missing"
    assert [g.name for g in kubernetes.client.ApisApi(client).get_api_versions().groups] == [
        "apps", "apiregistration.k8s.io"]


def test_typed_core_objects_match_the_cluster(cluster: StaticCluster,
                                              client: kubernetes.client.ApiClient) -> None:
    v1 = kubernetes.client.CoreV1Api(client)
    pods = v1.list_pod_for_all_namespaces().items  # typed models validate required fields
    truth = {(p.namespace, p.name): p for p in cluster.pods}
    assert [(p.metadata.namespace, p.metadata.name) for p in pods] == sorted(truth)
    for pod in pods:
        t = truth[(pod.metadata.namespace, pod.metadata.name)]
        assert pod.spec.node_name == t.node
        assert pod.status.phase == t.phase
        assert pod.status.host_ip == t.host_ip and pod.status.pod_ip == t.pod_ip
        assert pod.metadata.uid == t.uid
        assert pod.metadata.labels == dict(t.labels)
        assert pod.metadata.owner_references[0].kind == t.owner_kind
        assert pod.metadata.owner_references[0].name == t.owner_name
        assert pod.metadata.creation_timestamp.timestamp() == math.floor(t.start_time_s)
        for c, tc in zip(pod.spec.containers, t.containers, strict=True):
            res = c.resources
            for key in ("cpu", "memory"):
                # the API server defaults a missing request to the limit
                want_req = tc.requests.get(key, tc.limits.get(key))
                got_req = (res.requests or {}).get(key)
                assert (got_req is None) == (want_req is None)
                if want_req is not None:
                    assert k8s_quantity(got_req) == k8s_quantity(want_req)
                want_lim = tc.limits.get(key)
                got_lim = (res.limits or {}).get(key)
                assert (got_lim is None) == (want_lim is None)
                if want_lim is not None:
                    assert k8s_quantity(got_lim) == k8s_quantity(want_lim)
    nodes = v1.list_node().items
    assert [n.metadata.name for n in nodes] == sorted(n.name for n in cluster.nodes)
    for node, t in zip(nodes, sorted(cluster.nodes, key=lambda n: n.name), strict=True):
        for key in ("cpu", "memory"):
            assert k8s_quantity(node.status.allocatable[key]) == k8s_quantity(t.allocatable[key])
            assert k8s_quantity(node.status.capacity[key]) == k8s_quantity(t.capacity[key])
        ready = next(c for c in node.status.conditions if c.type == "Ready")
        assert ready.status == ("True" if t.ready else "Unknown")
        assert {"type": "InternalIP", "address": t.internal_ip} in [
            a.to_dict() for a in node.status.addresses]


def test_metrics_encoded_like_metrics_server(cluster: StaticCluster,
                                             client: kubernetes.client.ApiClient) -> None:
    snap = cluster.snapshot(0)
    body = _co(client).list_cluster_custom_object("metrics.k8s.io", "v1beta1", "pods")
    assert body["kind"] == "PodMetricsList" and body["metadata"] == {}
    expected_pods = sorted(
        (p.namespace, p.name) for p in cluster.pods
        if all((p.namespace, p.name, c.name) in snap.container_usage for c in p.containers))
    assert len(expected_pods) < len(cluster.pods)  # some pods have no metrics yet: omitted
    got = [(i["metadata"]["namespace"], i["metadata"]["name"]) for i in body["items"]]
    assert got == expected_pods  # sorted by (namespace, name) as metrics-server does
    for item in body["items"]:
        assert item["timestamp"] == "2026-06-01T00:00:00Z"  # second resolution
        assert item["window"] == "15.013s"  # Go duration
        for c in item["containers"]:
            u = snap.container_usage[(item["metadata"]["namespace"], item["metadata"]["name"],
                                      c["name"])]
            cpu, mem = c["usage"]["cpu"], c["usage"]["memory"]
            # metrics-server: CPU as Quantity(nanocores, -9), memory as Quantity(bytes, BinarySI)
            assert cpu == "0" or cpu[-1] in "num" or cpu.isdigit()
            assert k8s_quantity(cpu) == k8s_quantity(f"{round(u.cpu_cores * 1e9)}n")
            assert k8s_quantity(mem) == u.memory_bytes
            if u.memory_bytes % 1024 == 0 and u.memory_bytes % 2**20:
                assert mem.endswith("Ki")
    nodes = _co(client).list_cluster_custom_object("metrics.k8s.io", "v1beta1", "nodes")
    assert [i["metadata"]["name"] for i in nodes["items"]] == sorted(snap.node_usage)
    for item in nodes["items"]:
        u = snap.node_usage[item["metadata"]["name"]]
        assert k8s_quantity(item["usage"]["memory"]) == u.memory_bytes
        assert k8s_quantity(item["usage"]["cpu"]) * 10**9 == round(u.cpu_cores * 1e9)


def test_label_selectors_on_core_and_metrics(cluster: StaticCluster,
                                             client: kubernetes.client.ApiClient) -> None:
    v1 = kubernetes.client.CoreV1Api(client)
    snap = cluster.snapshot(0)
    with_metrics = {(i["metadata"]["namespace"], i["metadata"]["name"]) for i in _co(
        client).list_cluster_custom_object("metrics.k8s.io", "v1beta1", "pods")["items"]}
    app = cluster.pods[0].labels["app.kubernetes.io/name"]
    selectors = {
        f"app.kubernetes.io/name={app}": lambda lb: lb.get("app.kubernetes.io/name") == app,
        f"app.kubernetes.io/name=={app}": lambda lb: lb.get("app.kubernetes.io/name") == app,
        "tier!=web": lambda lb: lb.get("tier") != "web",
        "tier in (web, batch)": lambda lb: lb.get("tier") in ("web", "batch"),
        "tier notin (web),tier": lambda lb: "tier" in lb and lb["tier"] != "web",
        "pod-template-hash": lambda lb: "pod-template-hash" in lb,
        "!canary": lambda lb: "canary" not in lb,
        "!tier": lambda lb: "tier" not in lb,
    }
    for sel, pred in selectors.items():
        want = sorted((p.namespace, p.name) for p in snap.pods if pred(p.labels))
        got = sorted((p.metadata.namespace, p.metadata.name)
                     for p in v1.list_pod_for_all_namespaces(label_selector=sel).items)
        assert got == want, sel
        got_m = sorted((i["metadata"]["namespace"], i["metadata"]["name"]) for i in _co(
            client).list_cluster_custom_object("metrics.k8s.io", "v1beta1", "pods",
                                               label_selector=sel)["items"])
        assert got_m == sorted(set(want) & with_metrics), sel
    node = cluster.nodes[1]
    got = [p.metadata.name for p in v1.list_pod_for_all_namespaces(
        field_selector=f"spec.nodeName={node.name}").items]
    assert sorted(got) == sorted(p.name for p in snap.pods if p.node == node.name)
    zone = [n.metadata.name for n in v1.list_node(
        label_selector="topology.kubernetes.io/zone=zone-b").items]
    assert zone == sorted(n.name for n in cluster.nodes
                          if n.labels["topology.kubernetes.io/zone"] == "zone-b")


def test_bad_selector_is_a_400_status(client: kubernetes.client.ApiClient) -> None:
    v1 = kubernetes.client.CoreV1Api(client)
    with pytest.raises(ApiException) as info:
        v1.list_pod_for_all_namespaces(label_selector="tier in web")
    assert info.value.status == 400
    body = orjson.loads(info.value.body)
    assert body["kind"] == "Status" and body["reason"] == "BadRequest"
    with pytest.raises(ApiException) as info:
        v1.list_pod_for_all_namespaces(field_selector="spec.foo=bar")
    assert "field label not supported: spec.foo" in orjson.loads(info.value.body)["message"]


def test_paging_with_limit_and_continue(cluster: StaticCluster,
                                        client: kubernetes.client.ApiClient) -> None:
    v1 = kubernetes.client.CoreV1Api(client)
    names, cont, pages = [], None, 0
    while True:
        page = v1.list_pod_for_all_namespaces(limit=7, _continue=cont)
        names += [(p.metadata.namespace, p.metadata.name) for p in page.items]
        pages += 1
        cont = page.metadata._continue
        if not cont:
            break
        assert page.metadata.remaining_item_count == len(cluster.pods) - len(names)
    assert pages == math.ceil(len(cluster.pods) / 7)
    assert names == sorted((p.namespace, p.name) for p in cluster.pods)


def test_single_objects_and_not_found(cluster: StaticCluster,
                                      client: kubernetes.client.ApiClient) -> None:
    co = _co(client)
    node = sorted(cluster.node_usage)[0]
    one = co.get_cluster_custom_object("metrics.k8s.io", "v1beta1", "nodes", node)
    assert one["kind"] == "NodeMetrics" and one["metadata"]["name"] == node
    no_metrics = next(n.name for n in cluster.nodes if n.name not in cluster.node_usage)
    with pytest.raises(ApiException) as info:
        co.get_cluster_custom_object("metrics.k8s.io", "v1beta1", "nodes", no_metrics)
    body = orjson.loads(info.value.body)
    assert info.value.status == 404
    assert body["message"] == f'nodemetrics.metrics.k8s.io "{no_metrics}" not found'
    pod = cluster.pods[0]
    got = kubernetes.client.CoreV1Api(client).read_namespaced_pod(pod.name, pod.namespace)
    assert got.metadata.uid == pod.uid


def test_one_pod_needs_its_namespace(cluster: StaticCluster, api: KubeApiServer) -> None:
    # Pods are namespaced: a real API server has no cluster-scoped path for one pod (404), so a
    # client that forgot the namespace must fail here as it would against a cluster.
    ns, name, _ = next(iter(cluster.container_usage))
    pod = next(p for p in cluster.pods if (p.namespace, p.name) == (ns, name))
    auth = {"Authorization": f"Bearer {TOKEN}"}
    for path in (f"/api/v1/pods/{pod.name}", f"/apis/metrics.k8s.io/v1beta1/pods/{pod.name}"):
        r = requests.get(api.url + path, headers=auth, timeout=10)
        assert r.status_code == 404 and r.json()["reason"] == "NotFound", path
    ok = f"/apis/metrics.k8s.io/v1beta1/namespaces/{pod.namespace}/pods/{pod.name}"
    assert requests.get(api.url + ok, headers=auth, timeout=10).json()["metadata"]["name"] == name


def test_metrics_api_modes(api: KubeApiServer, client: kubernetes.client.ApiClient) -> None:
    co = _co(client)
    api.metrics_api = "missing"
    with pytest.raises(ApiException) as info:
        co.list_cluster_custom_object("metrics.k8s.io", "v1beta1", "nodes")
    assert info.value.status == 404
    assert orjson.loads(info.value.body)["message"] == (
        "the server could not find the requested resource")
    api.metrics_api = "unavailable"
    with pytest.raises(ApiException) as info:
        co.list_namespaced_custom_object("metrics.k8s.io", "v1beta1", "team-00", "pods")
    assert info.value.status == 503
    body = orjson.loads(info.value.body)
    assert body["reason"] == "ServiceUnavailable"
    assert "(list pods.metrics.k8s.io)" in body["message"]
    api.metrics_api = "forbidden"
    with pytest.raises(ApiException) as info:
        co.list_namespaced_custom_object("metrics.k8s.io", "v1beta1", "team-00", "pods")
    body = orjson.loads(info.value.body)
    assert info.value.status == 403 and body["reason"] == "Forbidden"
    assert body["message"] == (
        'pods.metrics.k8s.io is forbidden: User "system:serviceaccount:monitoring:workbench" '
        'cannot list resource "pods" in API group "metrics.k8s.io" in the namespace "team-00"')
    assert body["details"] == {"group": "metrics.k8s.io", "kind": "pods"}
    # the core API is unaffected by the metrics mode
    assert kubernetes.client.CoreV1Api(client).list_node().items
    with pytest.raises(ValueError, match="metrics_api must be one of"):
        api.metrics_api = "sideways"


def test_bearer_token_required(api: KubeApiServer) -> None:
    r = requests.get(f"{api.url}/api/v1/nodes", timeout=5)
    assert r.status_code == 401 and r.json()["reason"] == "Unauthorized"
    r = requests.get(f"{api.url}/api/v1/nodes", timeout=5,
                     headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401
    r = requests.get(f"{api.url}/api/v1/nodes", timeout=5,
                     headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200 and r.json()["kind"] == "NodeList"
    assert TOKEN not in repr(api)


def test_live_source_is_read_per_request() -> None:
    """The server asks the source at request time: a refreshing cluster moves its timestamp."""
    node = Node("n1", "10.0.0.1", {"cpu": "2", "memory": "4Gi"}, {"cpu": "2", "memory": "4Gi"})
    pod = Pod("default", "p", "n1", (Container("c"),))
    cluster = StaticCluster([node], [pod], {"n1": Usage(0.5, 2**30)},
                            {("default", "p", "c"): Usage(0.25, 2**20)}, refresh_s=15)
    clock = [1_800_000_007.0]
    with serve_kube_api(cluster, clock=lambda: clock[0]) as server:
        first = requests.get(f"{server.url}/apis/metrics.k8s.io/v1beta1/nodes", timeout=5).json()
        clock[0] += 16
        second = requests.get(f"{server.url}/apis/metrics.k8s.io/v1beta1/nodes", timeout=5).json()
    assert first["items"][0]["timestamp"] == "2027-01-15T08:00:00Z"  # floor to 15 s
    assert second["items"][0]["timestamp"] == "2027-01-15T08:00:15Z"


def test_label_selector_parser() -> None:
    reqs = parse_label_selector("a=1, b!=2,c in (x,y),d notin (z),e,!f,g>3")
    assert reqs == [("a", "=", ("1",)), ("b", "!=", ("2",)), ("c", "in", ("x", "y")),
                    ("d", "notin", ("z",)), ("e", "exists", ()), ("f", "!", ()),
                    ("g", ">", ("3",))]
    labels = {"a": "1", "c": "y", "e": "", "g": "10"}
    assert match_labels(reqs, labels)
    assert not match_labels(reqs, {**labels, "f": "x"})
    assert not match_labels(reqs, {**labels, "g": "3"})
    assert not match_labels(reqs, {**labels, "d": "z"})
    assert match_labels(parse_label_selector("app="), {"app": ""})
    for bad in ("a in b", "=x", "a=(b)", "a,,b", "a>b"):
        with pytest.raises(LabelSelectorError):
            parse_label_selector(bad)


def test_kubeconfig_is_private_and_loadable(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path / "sub" / "kc", "http://127.0.0.1:1", token="t0k",
                            context="ctx", namespace="ns")
    assert path.stat().st_mode & 0o777 == 0o600
    _contexts, current = kubernetes.config.list_kube_config_contexts(config_file=str(path))
    assert current["name"] == "ctx" and current["context"]["namespace"] == "ns"
