"""The demo's data is true: over the whole generated history (SMALL), counters only reset at
planted restarts, each CPU's modes add up to one CPU-second per second, and every figure the
emulated Kubernetes API and Prometheus both expose agrees."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pytest

from workbench._quantity import parse_quantity
from workbench.demo.kube_api import (
    node_metrics_objects,
    node_object,
    pod_metrics_objects,
    pod_object,
)
from workbench.demo.kube_tables import snapshot_objects
from workbench.demo.params import SMALL
from workbench.demo.sim import FAMILIES, Cluster

END = 1_764_000_000


def parse_cpu(text: str) -> float:
    return float(parse_quantity(text))


def parse_memory(text: str) -> float:
    return float(parse_quantity(text))


@pytest.fixture(scope="module")
def cluster() -> Cluster:
    return Cluster(SMALL, END)


@pytest.fixture(scope="module")
def history(cluster: Cluster) -> tuple[np.ndarray, list]:  # type: ignore[type-arg]
    t = np.arange(cluster.origin, cluster.end_s + 1, cluster.interval)
    series = []
    for s in cluster.samples(t):
        scale = FAMILIES[s.name][2]
        series.append((s.name, s.labels, np.rint(s.values * scale) / scale))  # as written
    return t, series


def _is_counter(name: str) -> bool:
    return FAMILIES[name][0] == "counter" or name == "node_vmstat_pgmajfault"


def test_counters_only_reset_at_planted_restarts(cluster: Cluster, history) -> None:  # type: ignore[no-untyped-def]
    t, series = history
    ooms = cluster.ground_truth()["scenarios"]["oom_kills"]["times_s"]
    checked = 0
    for name, labels, v in series:
        if not _is_counter(name):
            continue
        ok = ~np.isnan(v)
        drops = t[ok][1:][np.diff(v[ok]) < 0].tolist()
        checked += 1
        if labels.get("container") == "ledger" and name.startswith("container_"):
            assert set(drops) <= set(ooms), (name, labels)
        else:
            assert drops == [], (name, labels, drops[:5])
    assert checked > 300


def test_every_cpu_adds_up_to_one_second_per_second(cluster: Cluster, history) -> None:  # type: ignore[no-untyped-def]
    t, series = history
    per_cpu: dict[tuple[str, str], dict[str, np.ndarray]] = defaultdict(dict)
    for name, labels, v in series:
        if name == "node_cpu_seconds_total":
            per_cpu[(labels["instance"], labels["cpu"])][labels["mode"]] = v
    assert len(per_cpu) == sum(n.cpus for n in cluster.nodes)
    for key, modes in per_cpu.items():
        assert set(modes) == {"idle", "iowait", "user", "system", "nice", "irq", "softirq",
                              "steal"}
        total = sum(modes.values())
        ok = ~np.isnan(total)
        rate = np.diff(total[ok]) / np.diff(t[ok])
        # each mode is written to 0.01 s: 8 modes x 0.01 s over 60 s at most
        assert np.abs(rate - 1).max() < 8 * 0.01 / 60, key
        for mode, v in modes.items():
            assert np.all(np.diff(v[ok]) / np.diff(t[ok]) <= 1 + 0.01 / 60), (key, mode)


def _prom_at(series, t: np.ndarray, at: float) -> dict[str, list[tuple[dict[str, str], float]]]:  # type: ignore[no-untyped-def]
    i = int(np.searchsorted(t, at))
    assert t[i] == at
    out: dict[str, list[tuple[dict[str, str], float]]] = defaultdict(list)
    for name, labels, v in series:
        if not math.isnan(v[i]):
            out[name].append((labels, float(v[i])))
    return out


def _one(prom, name: str, **labels: str) -> float:  # type: ignore[no-untyped-def]
    hits = [v for lab, v in prom[name] if all(lab.get(k) == x for k, x in labels.items())]
    assert len(hits) == 1, (name, labels, len(hits))
    return hits[0]


def _incident_at(cluster: Cluster, t: np.ndarray, where: str) -> float:
    """A history instant inside a planted incident (from the ground truth's workload_events)."""
    from bisect import bisect_right

    we = cluster.ground_truth()["workload_events"]
    cl, ip, fj = we["crash_loop"], we["image_pull"], we["failed_job"]
    if where.startswith("crash"):
        inside = t[(t >= cl["start_s"]) & (t < cl["end_s"])]
        state = [(bisect_right(cl["crash_times_s"], x), bisect_right(cl["restart_times_s"], x))
                 for x in inside]
        hits = [float(x) for x, (nc, nr) in zip(inside, state, strict=True)
                if nr > 0 and (nc > nr) == (where == "crash_backoff")]
        return hits[-1]  # late in the loop: restarts counted, back-off at its cap
    if where == "image_pull_err":
        return float(ip["pull_attempts_s"][1])
    if where == "image_pull_backoff":
        return float(ip["pull_attempts_s"][1] + 120)
    return float(fj["start_s"] + 600)


INCIDENTS = ["crash_backoff", "crash_running", "image_pull_err", "image_pull_backoff",
             "failed_job"]


@pytest.mark.parametrize("where", ["end", "oom", "node_down", *INCIDENTS])
def test_api_and_prometheus_agree(cluster: Cluster, history, where: str) -> None:  # type: ignore[no-untyped-def]
    t, series = history
    sc = cluster.ground_truth()["scenarios"]
    at = {"end": float(t[-1]), "oom": sc["oom_kills"]["times_s"][-1] + 600.0,
          "node_down": sc["node_down"]["start_s"] + 600.0}.get(where) or _incident_at(
        cluster, t, where)
    prom = _prom_at(series, t, at)
    snap = cluster.snapshot(at)
    nodes = {n.name: node_object(n, at) for n in snap.nodes}
    assert len(nodes) == len(cluster.nodes)
    for name, obj in nodes.items():
        st = obj["status"]
        for metric, block in (("kube_node_status_capacity", "capacity"),
                              ("kube_node_status_allocatable", "allocatable")):
            assert _one(prom, metric, node=name, resource="cpu") == parse_cpu(st[block]["cpu"])
            assert _one(prom, metric, node=name, resource="memory") == parse_memory(
                st[block]["memory"])
            assert _one(prom, metric, node=name, resource="pods") == int(st[block]["pods"])
        ready = next(c["status"] for c in st["conditions"] if c["type"] == "Ready")
        assert _one(prom, "kube_node_status_condition", node=name, condition="Ready",
                    status=ready.lower()) == 1
        info = next(lab for lab, _ in prom["kube_node_info"] if lab["node"] == name)
        ni = st["nodeInfo"]
        assert (info["kernel_version"], info["os_image"], info["container_runtime_version"],
                info["kubelet_version"], info["internal_ip"], info["pod_cidr"],
                info["provider_id"]) == (
            ni["kernelVersion"], ni["osImage"], ni["containerRuntimeVersion"],
            ni["kubeletVersion"], st["addresses"][0]["address"], obj["spec"]["podCIDR"],
            obj["spec"]["providerID"])
    if where == "node_down":
        assert nodes[sc["node_down"]["node"]]["status"]["conditions"][-1]["status"] == "Unknown"
    pods = [pod_object(p, at) for p in snap.pods]
    ksm_pods = {lab["pod"] for lab, _ in prom["kube_pod_info"]}
    assert {p["metadata"]["name"] for p in pods} == ksm_pods
    restarted = 0
    for obj in pods:
        md, st = obj["metadata"], obj["status"]
        pl = {"namespace": md["namespace"], "pod": md["name"]}
        info = next(lab for lab, _ in prom["kube_pod_info"] if lab["pod"] == md["name"])
        assert (info["node"], info["pod_ip"], info["host_ip"], info["uid"]) == (
            obj["spec"]["nodeName"], st["podIP"], st["hostIP"], md["uid"])
        assert _one(prom, "kube_pod_status_phase", **pl, phase=st["phase"]) == 1
        (ref,) = md["ownerReferences"]
        assert _one(prom, "kube_pod_owner", **pl, owner_kind=ref["kind"],
                    owner_name=ref["name"]) == 1
        start = _one(prom, "kube_pod_start_time", **pl)
        assert st["startTime"] == _rfc(start)
        for cs, spec in zip(st["containerStatuses"], obj["spec"]["containers"], strict=True):
            n = _one(prom, "kube_pod_container_status_restarts_total", **pl,
                     container=cs["name"])
            assert cs["restartCount"] == n, (md["name"], cs["name"])
            restarted += n > 0
            cl = {**pl, "container": cs["name"]}
            last = cs.get("lastState", {}).get("terminated")
            assert _reasons(prom, "kube_pod_container_status_last_terminated_reason", cl) == (
                {last["reason"]} if last else set()), cl
            waiting = cs["state"].get("waiting", {}).get("reason")
            assert _reasons(prom, "kube_pod_container_status_waiting_reason", cl) == (
                {waiting} if waiting else set()), cl
            if waiting or prom_has(prom, "kube_pod_container_status_waiting", cl):
                assert _one(prom, "kube_pod_container_status_waiting", **cl) == bool(waiting)
            terminated = cs["state"].get("terminated", {}).get("reason")
            assert _reasons(prom, "kube_pod_container_status_terminated_reason", cl) == (
                {terminated} if st["phase"] == "Failed" else set()), cl
            for res, fn in (("cpu", parse_cpu), ("memory", parse_memory)):
                for metric, block in (("kube_pod_container_resource_requests", "requests"),
                                      ("kube_pod_container_resource_limits", "limits")):
                    want = spec["resources"].get(block, {}).get(res)
                    got = [v for lab, v in prom[metric] if lab["pod"] == md["name"]
                           and lab["container"] == cs["name"] and lab["resource"] == res]
                    if block == "requests" and want is not None and not got:
                        continue  # the API server defaults a missing request to the limit
                    assert got == ([] if want is None else [fn(want)]), (md["name"], metric)
    if where != "node_down":
        assert restarted >= 1  # the planted OOM-killed ledger
    if where in INCIDENTS:  # the incident's pod is served, in the state the ground truth says
        we = cluster.ground_truth()["workload_events"]
        p = we["crash_loop" if where.startswith("crash") else where[:10]]
        obj = next(o for o in pods if o["metadata"]["name"] == p["pod"])
        (cs,) = obj["status"]["containerStatuses"]
        assert (obj["status"]["phase"], obj["spec"]["nodeName"]) == (
            {"crash_": "Running", "image_": "Pending", "failed": "Failed"}[where[:6]], p["node"])
        state = {"crash_backoff": "CrashLoopBackOff", "crash_running": None,
                 "image_pull_err": "ErrImagePull", "image_pull_backoff": "ImagePullBackOff",
                 "failed_job": None}[where]
        assert cs["state"].get("waiting", {}).get("reason") == state
        if where.startswith("crash"):
            n = sum(x <= at for x in p["restart_times_s"])
            assert cs["restartCount"] == n > 0
            assert cs["lastState"]["terminated"]["finishedAt"] == _rfc(
                max(x for x in p["crash_times_s"] if x <= at))
            assert ("running" in cs["state"]) == (where == "crash_running") == cs["ready"]
    # Deployments and ReplicaSets (the incidents' included)
    objs = snapshot_objects(snap)
    assert {(o["metadata"]["namespace"], o["metadata"]["name"]): o["spec"]["replicas"]
            for o in objs["deployments"]} == {
        (lab["namespace"], lab["deployment"]): v
        for lab, v in prom["kube_deployment_spec_replicas"]}
    assert {(o["metadata"]["namespace"], o["metadata"]["name"],
             o["metadata"]["ownerReferences"][0]["name"]) for o in objs["replicasets"]} == {
        (lab["namespace"], lab["replicaset"], lab["owner_name"])
        for lab, _ in prom["kube_replicaset_owner"]}
    # metrics-server lists only pods whose every container runs
    running = {(o["metadata"]["namespace"], o["metadata"]["name"]) for o in pods
               if all("running" in cs["state"] for cs in o["status"]["containerStatuses"])}
    listed = {(m["metadata"]["namespace"], m["metadata"]["name"])
              for m in pod_metrics_objects(snap, at)}
    assert listed <= running and listed, listed - running
    # the kubelet counts the pods with a sandbox: running, or pending with their image pulling
    for name in nodes:
        sandboxes = sum(o["spec"]["nodeName"] == name and o["status"]["phase"] in (
            "Running", "Pending") for o in pods)
        got = [v for lab, v in prom["kubelet_running_pods"] if lab["node"] == name]
        assert got in ([], [sandboxes]), name  # none while the node is down
    # metrics-server's node usage is the node-exporter's busy CPU over the same window
    window = snap.window_s
    tw = np.array([at - window, at])
    for m in node_metrics_objects(snap, at):
        node = next(n for n in cluster.nodes if n.name == m["metadata"]["name"])
        busy = 0.0
        for s in cluster.samples(tw, targets=[f"node-exporter/{node.name}"]):
            if s.name == "node_cpu_seconds_total" and s.labels["mode"] not in ("idle", "iowait"):
                busy += s.values[1] - s.values[0]
        assert parse_cpu(m["usage"]["cpu"]) == pytest.approx(busy / window, rel=1e-6, abs=1e-9)
        total = _one(prom, "node_memory_MemTotal_bytes", instance=f"{node.ip}:9100")
        avail = _one(prom, "node_memory_MemAvailable_bytes", instance=f"{node.ip}:9100")
        assert abs(parse_memory(m["usage"]["memory"]) - (total - avail)) <= 1024


def _reasons(prom, name: str, labels: dict[str, str]) -> set[str]:  # type: ignore[no-untyped-def]
    return {lab["reason"] for lab, v in prom[name] if v == 1
            and all(lab.get(k) == x for k, x in labels.items())}


def prom_has(prom, name: str, labels: dict[str, str]) -> bool:  # type: ignore[no-untyped-def]
    return any(all(lab.get(k) == x for k, x in labels.items()) for lab, _ in prom[name])


def _rfc(ts: float) -> str:
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(math.floor(ts)))


def test_busy_default_node_cpu_counters_never_go_back() -> None:
    """``make demo``'s busiest node (4 CPUs): cpu 0's idle counter went back 56 times in 14 days."""
    from workbench.demo.params import DEFAULT

    c = Cluster(DEFAULT, END)
    t = np.arange(c.origin, c.end_s + 1, c.interval)
    node = c.nodes[0]
    n = 0
    for s in c.samples(t, targets=[f"node-exporter/{node.name}"]):
        if s.name == "node_cpu_seconds_total":
            v = np.rint(s.values * 100)
            v = v[~np.isnan(v)]
            assert np.count_nonzero(np.diff(v) < 0) == 0, s.labels
            n += 1
    assert n == 8 * node.cpus


def test_host_node_exporter_is_not_in_the_simulated_job(cluster: Cluster, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import yaml

    from workbench.demo.stack import HOST_JOB, _prometheus_yml

    doc = yaml.safe_load(_prometheus_yml(cluster, 1001, 1002, 1003, tmp_path))
    jobs: dict[str, set[str]] = defaultdict(set)
    for sc in doc["scrape_configs"]:
        for cfg in sc["static_configs"]:
            job = cfg.get("labels", {}).get("job", sc["job_name"])
            jobs[job].update(cfg.get("labels", {}).get("instance", t) for t in cfg["targets"])
    assert jobs["node-exporter"] == {f"{n.ip}:9100" for n in cluster.nodes}
    assert jobs[HOST_JOB] == {"localhost:9100"}
