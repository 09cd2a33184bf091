"""The real ``kubectl`` against the demo's emulated API: server-side Tables (STATUS, READY,
RESTARTS, AGE), apps/v1 controllers, PVCs, events and the metrics APIService, compared with the
workbench's own frames and with the simulation's kube-state-metrics series of the same instant."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from workbench import MetricsServer
from workbench.demo.kube_api import KubeApiServer, serve_kube_api, write_kubeconfig
from workbench.demo.kube_tables import human_duration
from workbench.demo.params import SMALL
from workbench.demo.sim import Cluster

END = 1_764_000_000

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")


@pytest.fixture(scope="module")
def cluster() -> Cluster:
    return Cluster(SMALL, END)


def _at(cluster: Cluster, where: str) -> float:
    sc = cluster.ground_truth()["scenarios"]
    return {"oom": sc["oom_kills"]["times_s"][-1] + 600.0,
            "down": sc["node_down"]["start_s"] + 600.0}[where]


@pytest.fixture(scope="module", params=["oom", "down"])
def api(cluster: Cluster, request: pytest.FixtureRequest,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    at = _at(cluster, request.param)
    server: KubeApiServer = serve_kube_api(cluster, clock=lambda: at)
    kc = write_kubeconfig(tmp_path_factory.mktemp("kc") / "kubeconfig", server.url)
    try:
        yield {"at": at, "kc": kc, "where": request.param, "server": server}
    finally:
        server.stop()


def kubectl(api: dict[str, Any], *args: str) -> list[dict[str, str]]:
    """Run kubectl and split its columns by the header's positions."""
    res = subprocess.run(["kubectl", "--kubeconfig", str(api["kc"]), *args], capture_output=True,
                         text=True, timeout=60, check=False)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    cols = list(re.finditer(r"\S+(?: \S+)*", lines[0]))  # names hold single spaces only
    names = [m.group() for m in cols]
    starts = [m.start() for m in cols]
    rows = []
    for ln in lines[1:]:
        cells = [ln[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)]
        rows.append(dict(zip(names, cells, strict=True)))
    return rows


def _ksm(cluster: Cluster, at: float, name: str) -> list[tuple[dict[str, str], float]]:
    return [(s.labels, float(s.values[0])) for s in cluster.samples(np.array([at]))
            if s.name == name and not np.isnan(s.values[0])]


def test_get_pods_matches_our_frames_and_kube_state_metrics(cluster: Cluster,
                                                            api: dict[str, Any]) -> None:
    at = api["at"]
    rows = kubectl(api, "get", "pods", "-A", "-o", "wide")
    res = subprocess.run(["kubectl", "--kubeconfig", str(api["kc"]), "get", "pods", "-A"],
                         capture_output=True, text=True, check=True)
    assert res.stdout.split("\n", 1)[0].split() == ["NAMESPACE", "NAME", "READY", "STATUS",
                                                    "RESTARTS", "AGE"]
    with MetricsServer.from_kubeconfig(api["kc"]) as ms:
        specs = ms.pod_specs()
    ours = {(r["namespace"], r["pod"]): (r["node"], r["phase"]) for r in specs.iter_rows(named=True)}
    assert {(r["NAMESPACE"], r["NAME"]) for r in rows} == set(ours)
    restarts = {(lab["namespace"], lab["pod"]): 0.0 for lab, _ in
                _ksm(cluster, at, "kube_pod_info")}
    for lab, v in _ksm(cluster, at, "kube_pod_container_status_restarts_total"):
        restarts[(lab["namespace"], lab["pod"])] += v
    start = {(lab["namespace"], lab["pod"]): v for lab, v in _ksm(cluster, at, "kube_pod_start_time")}
    seen_restart = False
    ooms = cluster.ground_truth()["scenarios"]["oom_kills"]["times_s"]
    for r in rows:
        key = (r["NAMESPACE"], r["NAME"])
        node, phase = ours[key]
        assert r["NODE"] == node
        assert r["STATUS"] == {"Running": "Running", "Succeeded": "Completed"}[phase]
        n = int(r["RESTARTS"].split()[0])
        assert n == restarts[key], key
        if n:
            seen_restart = True
            last = max(x for x in ooms if x <= at)  # the planted OOM kill before `at`
            assert r["RESTARTS"] == f"{n} ({human_duration(at - last)} ago)"
        ready, total = map(int, r["READY"].split("/"))
        assert ready == (total if phase == "Running" else 0)
        assert r["AGE"] == human_duration(at - start[key])
    assert seen_restart


def test_get_nodes_status_and_version(cluster: Cluster, api: dict[str, Any]) -> None:
    rows = kubectl(api, "get", "nodes", "-o", "wide")
    cond = {lab["node"]: lab["status"] for lab, v in
            _ksm(cluster, api["at"], "kube_node_status_condition")
            if lab["condition"] == "Ready" and v == 1}
    info = {lab["node"]: lab for lab, _ in _ksm(cluster, api["at"], "kube_node_info")}
    assert {r["NAME"] for r in rows} == set(cond)
    for r in rows:
        assert r["STATUS"] == ("Ready" if cond[r["NAME"]] == "true" else "NotReady")
        i = info[r["NAME"]]
        assert (r["VERSION"], r["INTERNAL-IP"], r["KERNEL-VERSION"], r["CONTAINER-RUNTIME"]) == (
            i["kubelet_version"], i["internal_ip"], i["kernel_version"],
            i["container_runtime_version"])
    assert sum(r["STATUS"] == "NotReady" for r in rows) == (api["where"] == "down")


def test_get_workloads_claims_events_apiservice(cluster: Cluster, api: dict[str, Any]) -> None:
    at = api["at"]
    deps = kubectl(api, "get", "deployments", "-A")
    spec = {(lab["namespace"], lab["deployment"]): int(v)
            for lab, v in _ksm(cluster, at, "kube_deployment_spec_replicas")}
    assert {(r["NAMESPACE"], r["NAME"]): int(r["READY"].split("/")[1]) for r in deps} == spec
    rs = kubectl(api, "get", "rs", "-A")
    owners = {(lab["namespace"], lab["replicaset"]) for lab, _ in
              _ksm(cluster, at, "kube_replicaset_owner")}
    assert {(r["NAMESPACE"], r["NAME"]) for r in rs} <= owners and rs
    sts = kubectl(api, "get", "statefulsets", "-A")
    assert ("data", "postgres", "1/1") in {(r["NAMESPACE"], r["NAME"], r["READY"]) for r in sts}
    ds = kubectl(api, "get", "ds", "-A")
    node_exporter = next(r for r in ds if r["NAME"].endswith("node-exporter"))
    down = api["where"] == "down"
    assert (int(node_exporter["DESIRED"]), int(node_exporter["READY"])) == (
        SMALL.nodes, SMALL.nodes - down)
    pvc = kubectl(api, "get", "pvc", "-A")
    info = {lab["persistentvolumeclaim"]: lab["volumename"] for lab, _ in
            _ksm(cluster, at, "kube_persistentvolumeclaim_info")}
    assert {r["NAME"]: r["VOLUME"] for r in pvc} == info
    assert all(r["STATUS"] == "Bound" and r["CAPACITY"] == "50Gi" for r in pvc)
    events = kubectl(api, "get", "events", "-A")
    reasons = {(r["REASON"], r["OBJECT"].split("/")[0]) for r in events}
    if down:
        assert ("NodeNotReady", "node") in reasons
    else:
        assert ("BackOff", "pod") in reasons
    svc = kubectl(api, "get", "apiservice")
    assert [(r["NAME"], r["SERVICE"], r["AVAILABLE"]) for r in svc] == [
        ("v1beta1.metrics.k8s.io", "kube-system/metrics-server", "True")]
    api["server"].metrics_api = "unavailable"
    try:
        svc = kubectl(api, "get", "apiservice")
        assert svc[0]["AVAILABLE"] == "False (ServiceUnavailable)"
    finally:
        api["server"].metrics_api = "ok"


def test_ages_read_like_kubectl() -> None:
    assert [human_duration(s) for s in (0, 119, 120, 330, 600, 3 * 3600, 7 * 3600 + 60,
                                        30 * 3600, 49 * 3600, 10 * 86400, 800 * 86400)] == [
        "0s", "119s", "2m", "5m30s", "10m", "3h", "7h1m", "30h", "2d1h", "10d", "2y70d"]


def test_plain_clients_still_get_plain_json(cluster: Cluster, tmp_path: Path) -> None:
    import requests

    with serve_kube_api(cluster, clock=lambda: END) as server:
        body = requests.get(f"{server.url}/apis/apps/v1/deployments", timeout=10).json()
        table = requests.get(f"{server.url}/apis/apps/v1/namespaces/payments/deployments/ledger",
                             headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"},
                             timeout=10).json()
    assert body["kind"] == "DeploymentList" and body["items"]
    assert table["kind"] == "Table" and table["rows"][0]["cells"][:2] == ["ledger", "1/1"]


def _incident_at(cluster: Cluster, where: str) -> float:
    """An instant inside one of events_sim's incidents (the ground truth's workload_events)."""
    we = cluster.ground_truth()["workload_events"]
    cl, ip = we["crash_loop"], we["image_pull"]
    return {"crash_backoff": cl["crash_times_s"][-2] + 5,
            "crash_running": cl["restart_times_s"][-2] + 5,
            "image_pull_err": ip["pull_attempts_s"][1] + 5,
            "image_pull_backoff": ip["pull_attempts_s"][1] + 120,
            "failed_job": we["failed_job"]["start_s"] + 600}[where]


@pytest.mark.parametrize("where", ["crash_backoff", "crash_running", "image_pull_err",
                                   "image_pull_backoff", "failed_job"])
def test_incident_pods_read_like_kubectl_and_kube_state_metrics(
        cluster: Cluster, where: str, tmp_path: Path) -> None:
    """Inside each planted incident, every row of ``kubectl get pods -A`` (the incident's pod
    included) says what kube-state-metrics says at the same instant: STATUS (waiting reason,
    terminated reason or phase, as kubectl prints it), READY, RESTARTS with the last one's age,
    NODE, and the owner reference."""
    at = _incident_at(cluster, where)
    we = cluster.ground_truth()["workload_events"]
    with serve_kube_api(cluster, clock=lambda: at) as server:
        api = {"kc": write_kubeconfig(tmp_path / "kubeconfig", server.url)}
        rows = kubectl(api, "get", "pods", "-A", "-o", "wide")
        p = we["crash_loop" if where.startswith("crash") else where[:10]]
        res = subprocess.run(["kubectl", "--kubeconfig", str(api["kc"]), "get", "pod", "-n",
                              p["namespace"], p["pod"], "-o", "json"],
                             capture_output=True, text=True, check=True, timeout=60)
        events = {r["REASON"]: r for r in kubectl(api, "get", "events", "-n", p["namespace"],
                                                  "-o", "wide")
                  if r["OBJECT"] == f"pod/{p['pod']}"}
        deps = kubectl(api, "get", "deployments", "-n", p["namespace"])
        rss = kubectl(api, "get", "rs", "-n", p["namespace"])
    ksm: dict[str, list[tuple[dict[str, str], float]]] = {}
    for s in cluster.samples(np.array([at])):
        if s.name.startswith(("kube_pod", "kube_deployment_spec", "kube_replicaset_owner")) \
                and not np.isnan(s.values[0]):
            ksm.setdefault(s.name, []).append((s.labels, float(s.values[0])))

    def of(name: str, key: tuple[str, str]) -> list[tuple[dict[str, str], float]]:
        return [(lab, v) for lab, v in ksm.get(name, []) if (lab["namespace"], lab["pod"]) == key]

    info = {(lab["namespace"], lab["pod"]): lab for lab, _ in ksm["kube_pod_info"]}
    assert {(r["NAMESPACE"], r["NAME"]) for r in rows} == set(info)
    ooms = cluster.ground_truth()["scenarios"]["oom_kills"]["times_s"]
    for r in rows:
        key = (r["NAMESPACE"], r["NAME"])
        phase = next(lab["phase"] for lab, v in of("kube_pod_status_phase", key) if v == 1)
        waiting = [lab["reason"] for lab, v in of("kube_pod_container_status_waiting_reason", key)
                   if v == 1]
        term = [lab["reason"] for lab, v in
                of("kube_pod_container_status_terminated_reason", key) if v == 1]
        want = waiting[0] if waiting else term[0] if phase == "Failed" else {
            "Succeeded": "Completed"}.get(phase, phase)
        assert r["STATUS"] == want, key
        total = len(of("kube_pod_container_status_restarts_total", key))
        ready = total - len(waiting) if phase == "Running" else 0
        assert r["READY"] == f"{ready}/{total}", key
        n = int(sum(v for _, v in of("kube_pod_container_status_restarts_total", key)))
        if n:
            last = max(x for x in (p["crash_times_s"] if r["NAME"] == p["pod"] else ooms)
                       if x <= at)
            assert r["RESTARTS"] == f"{n} ({human_duration(at - last)} ago)", key
        else:
            assert r["RESTARTS"] == "0", key
        assert r["NODE"] == info[key]["node"] and r["IP"] == info[key]["pod_ip"], key
    mine = next(r for r in rows if r["NAME"] == p["pod"])
    assert mine["STATUS"] == {"crash_backoff": "CrashLoopBackOff", "crash_running": "Running",
                              "image_pull_err": "ErrImagePull",
                              "image_pull_backoff": "ImagePullBackOff",
                              "failed_job": "Error"}[where]
    (ref,) = json.loads(res.stdout)["metadata"]["ownerReferences"]
    owner = [lab for lab, v in of("kube_pod_owner", (p["namespace"], p["pod"])) if v == 1]
    assert [(ref["kind"], ref["name"])] == [(o["owner_kind"], o["owner_name"]) for o in owner]
    # its Deployment and ReplicaSet, as kube-state-metrics has them (a Job's are not emulated)
    spec = {lab["deployment"]: int(v) for lab, v in ksm["kube_deployment_spec_replicas"]
            if lab["namespace"] == p["namespace"]}
    assert {r["NAME"]: int(r["READY"].split("/")[1]) for r in deps} == spec
    owners = {lab["replicaset"]: lab["owner_name"] for lab, _ in ksm["kube_replicaset_owner"]
              if lab["namespace"] == p["namespace"]}
    assert {r["NAME"] for r in rss} <= set(owners)
    if "deployment" in p:
        dep = next(r for r in deps if r["NAME"] == p["deployment"])
        (rs,) = [r for r in rss if r["NAME"] == p["replicaset"]]
        assert owners[p["replicaset"]] == p["deployment"]
        assert dep["READY"] == f"{mine['READY'].split('/')[0]}/1"
        assert (rs["DESIRED"], rs["CURRENT"], rs["READY"]) == ("1", "1", dep["READY"][0])
    else:
        assert "db-migrate" not in spec
    # the pod's Events: counts so far, within the API server's one-hour event TTL
    def seen(times: list[float]) -> list[float]:
        return [x for x in times if x <= at]

    want: dict[str, list[float]] = {"Scheduled": [p.get("ran_from_s", p["start_s"])]}
    if where.startswith("crash"):
        want |= {"Started": seen([p["start_s"], *p["restart_times_s"]]),
                 "BackOff": seen(p["crash_times_s"][1:])}
    elif where.startswith("image"):
        want |= {"Pulling": seen(p["pull_attempts_s"]), "Failed": seen(p["pull_attempts_s"]),
                 "BackOff": seen([x + 30 for x in p["pull_attempts_s"]])}
    else:
        want |= {"Started": [p["ran_from_s"] + 2]}
    want = {k: v for k, v in want.items() if v and at - v[-1] <= 3600}
    assert set(events) == set(want)
    for reason, times in want.items():
        assert (events[reason]["COUNT"], events[reason]["LAST SEEN"]) == (
            str(len(times)), human_duration(at - times[-1])), reason
        assert events[reason]["SOURCE"].endswith(p["node"]) or reason == "Scheduled"
