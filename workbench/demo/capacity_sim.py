"""The capacity report's planted scenarios, kept apart from the rest of the simulation.

:class:`~workbench.demo.sim.Cluster` calls in here at five points: extra workloads
(:func:`extra_workloads`), extra scrape targets (:func:`targets`), their series
(:func:`target_series`), extra kube-state-metrics series (:func:`ksm_series`) and the ground truth
(:func:`ground_truth`). What is planted:

* ``data/reporting-replica``: requests 1 core / 4 GiB, uses ~0.02 cores (idle, over-provisioned);
* ``batch/csv-exporter``: pods without any request or limit (BestEffort);
* ``search/autocomplete``: a Deployment with a CPU HorizontalPodAutoscaler that adds a replica
  every fifth of the history (2 at the start, 6 at the end): cluster requests trend upwards and
  cross the N-1 line some days after the history ends;
* ``payments``: a ResourceQuota used at about 93 % (``requests.cpu``) and 90 % (``requests.memory``);
* ``batch/nightly-report``: the simulation's Jobs, now owned by a CronJob (``kube_job_owner``);
* ``data/ingest-agent``: a DaemonSet sized so the cluster's CPU requests sit at about 92 % of the
  kubernetes-mixin N-1 line (allocatable minus the largest node) and memory requests at 80 %,
  where the rest of the cluster leaves room (``SMALL`` is already past the CPU line: overcommit);
* ``monitoring/prometheus-kps-prometheus-0`` scraping itself (``job="prometheus"``) with a history
  of its TSDB metrics: head series growing 1 %/day, 30 s scrapes, 1.35 bytes per sample on disk.

The throttled (``search/indexer``) and OOM-killed (``payments/ledger``) containers and the
over-provisioned ``analytics`` namespace come from the base simulation; :func:`ground_truth` records
them too, in capacity terms.

Examples
--------
>>> from workbench.demo.params import SMALL
>>> from workbench.demo.sim import Cluster
>>> c = Cluster(SMALL, end_s=1_764_000_000)
>>> gt = ground_truth(c)
>>> gt["n_minus_1"]["cpu_ratio"] > 0.85
True
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from . import events_sim
from ._signal import DAY

if TYPE_CHECKING:
    from .sim import Cluster, PodInst, Target, Workload

__all__ = ["FAMILIES", "SCALED", "TARGET_KINDS", "extra_workloads", "ground_truth",
           "ksm_series", "scaled_instances", "target_series", "targets"]

F = np.ndarray
MI = 1024**2
GI = 1024**3

QUOTA_NAMESPACE = "payments"
QUOTA_NAME = "payments-quota"
QUOTA_CPU_USE = 0.93
QUOTA_MEM_USE = 0.90
N1_CPU_TARGET = 0.92
N1_MEM_TARGET = 0.80
HPA_TARGET_UTILIZATION = 70.0
PROM_SCRAPE_S = 30.0
PROM_BYTES_PER_SAMPLE = 1.35
PROM_GROWTH_PER_DAY = 0.01
PROM_POD = "prometheus-kps-prometheus-0"
RETENTION_SIZE = 10 * GI
RETENTION_DAYS = 5.0

#: metric family -> (type, help, write scale), merged into the simulation's catalogue.
FAMILIES: dict[str, tuple[str, str, int]] = {
    "kube_job_owner": ("gauge", "Information about the Job's owner.", 1),
    "kube_horizontalpodautoscaler_info": ("gauge", "Information about this autoscaler.", 1),
    "kube_horizontalpodautoscaler_spec_target_metric": (
        "gauge", "The metric specifications used by this autoscaler when calculating the desired "
        "replica count.", 1),
    "kube_horizontalpodautoscaler_spec_min_replicas": (
        "gauge", "Lower limit for the number of pods that can be set by the autoscaler, default 1.", 1),
    "kube_horizontalpodautoscaler_spec_max_replicas": (
        "gauge", "Upper limit for the number of pods that can be set by the autoscaler; cannot be "
        "smaller than MinReplicas.", 1),
    "kube_resourcequota": ("gauge", "Information about resource quota.", 1000),
    "prometheus_tsdb_head_series": ("gauge", "Total number of series in the head block.", 1),
    "prometheus_tsdb_head_samples_appended_total": (
        "counter", "Total number of appended samples.", 1),
    "prometheus_tsdb_storage_blocks_bytes": (
        "gauge", "The number of bytes that are currently used for local storage by all blocks.", 1),
    "prometheus_tsdb_wal_storage_size_bytes": ("gauge", "Size of the write log directory.", 1),
}

#: Deployments whose replicas an HPA raises over the history (:func:`scaled_instances`).
SCALED = ("autocomplete",)
HPA_MIN_REPLICAS = 2

#: Target kinds (first part of a target key) whose series :func:`target_series` produces.
TARGET_KINDS = ("prometheus",)


def _cs(name: str, image: str, cpu_req: int | None, mem_req: int | None, cpu_lim: int | None,
        mem_lim: int | None, cpu_mean: float, mem_mi: float) -> Any:
    from .sim import CSpec

    return CSpec(name, image, cpu_req, mem_req, cpu_lim, mem_lim, cpu_mean, mem_mi * MI)


def _active_requests(cluster: Cluster, wl: list[Workload], at: float) -> tuple[float, float]:
    """(cores, bytes) requested by the Pending/Running pods of ``wl`` at ``at``."""
    cpu = mem = 0.0
    for w in wl:
        for p in cluster._instances(w, at - 1, at + 1):
            if p.start <= at < p.run_end:
                cpu += sum((c.cpu_req_m or 0) / 1000 for c in w.containers)
                mem += sum((c.mem_req_mi or 0) * MI for c in w.containers)
    return cpu, mem


def extra_workloads(cluster: Cluster, wl: list[Workload]) -> list[Workload]:
    """The capacity scenarios' workloads, sized against ``wl`` (the rest of the cluster)."""
    from .sim import Workload

    img = "registry.example.com"
    out = [
        Workload("monitoring", "prometheus-kps-prometheus", "StatefulSet", 1, (
            _cs("prometheus", "quay.io/prometheus/prometheus:v2.53.2", 500, 2048, None, 4096,
                0.3, 1500),), node=0),
        Workload("data", "reporting-replica", "Deployment", 1, (
            _cs("reporting-replica", f"{img}/data/reporting-replica:3.1.0", 1000, 4096, None,
                None, 0.02, 300),)),
        Workload("batch", "csv-exporter", "Deployment", 2, (
            _cs("csv-exporter", f"{img}/batch/csv-exporter:0.4.2", None, None, None, None,
                0.05, 150),)),
        Workload("search", "autocomplete", "Deployment", 6, (
            _cs("autocomplete", f"{img}/search/autocomplete:2.2.0", 300, 256, None, 512,
                0.15, 180),)),
    ]
    # the DaemonSet that brings CPU requests to N1_CPU_TARGET of the N-1 line
    nodes = cluster.nodes
    alloc_cpu = sum(n.alloc_cpu_m for n in nodes) / 1000
    alloc_mem = float(sum(n.alloc_mem for n in nodes))
    big_cpu = max(n.alloc_cpu_m for n in nodes) / 1000
    big_mem = float(max(n.alloc_mem for n in nodes))
    cpu, mem = _active_requests(cluster, [*wl, *out], cluster.end_s)
    n = len(nodes)
    small_cpu = min(n.alloc_cpu_m for n in nodes)
    per_cpu = (N1_CPU_TARGET * (alloc_cpu - big_cpu) - cpu) / n
    per_mem = (N1_MEM_TARGET * (alloc_mem - big_mem) - mem) / n
    cpu_m = int(min(max(10, math.floor(per_cpu * 100) * 10), small_cpu // 2))
    mem_mi = int(max(32, math.floor(per_mem / MI / 16) * 16))
    out.append(Workload("data", "ingest-agent", "DaemonSet", 1, (
        _cs("ingest-agent", f"{img}/data/ingest-agent:1.0.3", cpu_m, mem_mi, None, mem_mi * 2,
            min(0.25 * cpu_m / 1000, 0.3), 0.2 * mem_mi),)))
    return out


def scaled_instances(cluster: Cluster, w: Workload) -> Iterator[PodInst]:
    """The HPA-scaled Deployment's pods: one ReplicaSet, ``HPA_MIN_REPLICAS`` from long before the
    history, then one more replica every ``days / (replicas - 1)``, up to ``w.replicas``."""
    from .sim import PodInst, _q

    rs = f"{w.name}-{_q(w.name, 0, 'rs')}"
    span = cluster.end_s - cluster.origin
    extra = w.replicas - HPA_MIN_REPLICAS
    for r in range(w.replicas):
        start = (cluster.origin - 10 * DAY if r < HPA_MIN_REPLICAS
                 else cluster.origin + span * (r - HPA_MIN_REPLICAS + 1) / (extra + 1))
        name = f"{rs}-{_q(rs, r, 'pod')}"
        node = cluster._placed(name, cluster._place(rs, r))
        yield PodInst(w, name, node, start, math.inf, math.inf, "ReplicaSet", rs, rs,
                      cluster._ip(node, name))


def requests_series(cluster: Cluster, t: F) -> F:
    """Cluster CPU requests (cores) of the Pending/Running pods at each time of ``t``."""
    out = np.zeros_like(t)
    for w in cluster.workloads:
        cpu = sum((c.cpu_req_m or 0) / 1000 for c in w.containers)
        if not cpu:
            continue
        for p in cluster._instances(w, float(t[0]), float(t[-1]) + 1):
            out += cpu * ((t >= p.start) & (t < p.run_end))
    return out


def _prom_pod(cluster: Cluster) -> PodInst:
    w = next(w for w in cluster.workloads if w.name == "prometheus-kps-prometheus")
    return next(cluster._instances(w, cluster.origin, cluster.end_s))


def targets(cluster: Cluster) -> list[Target]:
    """Prometheus scraping itself (``job="prometheus"``), as kube-prometheus-stack labels it."""
    from .sim import Target

    pod = _prom_pod(cluster)
    return [Target("prometheus", {
        "job": "prometheus", "instance": f"{pod.ip}:9090", "namespace": "monitoring",
        "pod": pod.name, "container": "prometheus", "service": "kps-prometheus",
        "endpoint": "http-web"})]


def _head0(cluster: Cluster) -> float:
    """Head series at the start of the history."""
    return float(4000 + 900 * cluster.params.pods + 1500 * cluster.params.nodes)


def head_series(cluster: Cluster, t: F) -> F:
    """The simulated Prometheus's head series at ``t`` (grows linearly)."""
    return _head0(cluster) * (1 + PROM_GROWTH_PER_DAY * (np.asarray(t) - cluster.origin) / DAY)


def appended(cluster: Cluster, t: F) -> F:
    """Samples appended since the Prometheus pod started (the integral of head series / 30 s)."""
    def cum(x: F) -> F:
        d = np.asarray(x, dtype=np.float64) - cluster.origin
        return _head0(cluster) / PROM_SCRAPE_S * (d + PROM_GROWTH_PER_DAY * d * d / (2 * DAY))

    start = _prom_pod(cluster).start
    return np.floor(cum(t) - cum(np.array([start]))[0])


def blocks_bytes(cluster: Cluster, t: F) -> F:
    """Bytes in persisted blocks: everything appended up to two hours ago (no retention cut)."""
    return np.floor(PROM_BYTES_PER_SAMPLE * appended(cluster, np.asarray(t) - 7200.0))


def target_series(cluster: Cluster, kind: str, t: F, pods: list[PodInst]
                  ) -> Iterator[tuple[str, dict[str, str], F]]:
    """The series of a target of one of :data:`TARGET_KINDS`."""
    if kind != "prometheus":
        return
    pod = _prom_pod(cluster)
    alive = (t >= pod.start) & (t < pod.end)
    head = head_series(cluster, t)
    yield "prometheus_tsdb_head_series", {}, np.where(alive, np.floor(head), np.nan)
    yield "prometheus_tsdb_head_samples_appended_total", {"type": "float"}, np.where(
        alive, appended(cluster, t), np.nan)
    yield "prometheus_tsdb_storage_blocks_bytes", {}, np.where(alive, blocks_bytes(cluster, t),
                                                              np.nan)
    wal = head / PROM_SCRAPE_S * 3 * 3600 * 3.0
    yield "prometheus_tsdb_wal_storage_size_bytes", {}, np.where(alive, np.floor(wal), np.nan)


def _quota_hard(cluster: Cluster) -> tuple[float, float]:
    wl = [w for w in cluster.workloads if w.namespace == QUOTA_NAMESPACE]
    cpu, mem = _active_requests(cluster, wl, cluster.end_s)
    return (math.ceil(cpu / QUOTA_CPU_USE * 100) / 100,
            float(math.ceil(mem / QUOTA_MEM_USE / (64 * MI)) * 64 * MI))


def ksm_series(cluster: Cluster, t: F, pods: list[PodInst]
               ) -> Iterator[tuple[str, dict[str, str], F]]:
    """kube-state-metrics series of the capacity scenarios: Job owners, the HPA, the quota."""
    one = np.ones_like(t)
    jobs: dict[tuple[str, str], tuple[str, F]] = {}
    q_cpu = np.zeros_like(t)
    q_mem = np.zeros_like(t)
    for pod in pods:
        w = pod.workload
        if w.kind == "Job":
            alive = (t >= pod.start) & (t < pod.end)
            if alive.any():
                prev = jobs.get((w.namespace, pod.owner_name))
                jobs[(w.namespace, pod.owner_name)] = (
                    w.name, alive if prev is None else (prev[1] | alive))
        if w.namespace == QUOTA_NAMESPACE:
            active = (t >= pod.start) & (t < pod.run_end)
            q_cpu += active * sum((c.cpu_req_m or 0) / 1000 for c in w.containers)
            q_mem += active * sum((c.mem_req_mi or 0) * MI for c in w.containers)
    for (ns, job), (cron, alive) in jobs.items():
        yield "kube_job_owner", {"namespace": ns, "job_name": job, "owner_kind": "CronJob",
                                 "owner_name": cron, "owner_is_controller": "true"}, np.where(
            alive, 1.0, np.nan)
    hpa = {"namespace": "search", "horizontalpodautoscaler": "autocomplete"}
    yield "kube_horizontalpodautoscaler_info", {
        **hpa, "scaletargetref_api_version": "apps/v1", "scaletargetref_kind": "Deployment",
        "scaletargetref_name": "autocomplete"}, one
    yield "kube_horizontalpodautoscaler_spec_target_metric", {
        **hpa, "metric_name": "cpu", "metric_target_type": "utilization"}, \
        one * HPA_TARGET_UTILIZATION
    yield "kube_horizontalpodautoscaler_spec_min_replicas", hpa, one * HPA_MIN_REPLICAS
    yield "kube_horizontalpodautoscaler_spec_max_replicas", hpa, one * 6
    hard_cpu, hard_mem = _quota_hard(cluster)
    ql = {"namespace": QUOTA_NAMESPACE, "resourcequota": QUOTA_NAME}
    for res, hard, used in (("requests.cpu", hard_cpu, q_cpu), ("requests.memory", hard_mem, q_mem)):
        yield "kube_resourcequota", {**ql, "resource": res, "type": "hard"}, one * hard
        yield "kube_resourcequota", {**ql, "resource": res, "type": "used"}, used
    yield "kube_resourcequota", {**ql, "resource": "pods", "type": "hard"}, one * 50
    yield "kube_resourcequota", {**ql, "resource": "pods", "type": "used"}, sum(
        ((t >= p.start) & (t < p.run_end)).astype(float) for p in pods
        if p.namespace == QUOTA_NAMESPACE) + np.zeros_like(t)


def _container(w: Workload) -> dict[str, Any]:
    c = w.containers[0]
    return {"namespace": w.namespace, "workload": w.name, "workload_kind": w.kind,
            "container": c.name, "cpu_request_cores": None if c.cpu_req_m is None
            else c.cpu_req_m / 1000, "memory_request_bytes": None if c.mem_req_mi is None
            else c.mem_req_mi * MI, "cpu_limit_cores": None if c.cpu_lim_m is None
            else c.cpu_lim_m / 1000, "memory_limit_bytes": None if c.mem_lim_mi is None
            else c.mem_lim_mi * MI, "cpu_mean_cores": c.cpu_mean,
            "memory_mean_bytes": c.mem_base, "replicas": w.replicas}


def ground_truth(cluster: Cluster) -> dict[str, Any]:
    """What the capacity report must find (``ground_truth.json``'s ``capacity`` key)."""
    wl = {(w.namespace, w.name): w for w in cluster.workloads}
    end, start = cluster.end_s, cluster.origin
    cpu, mem = _active_requests(cluster, cluster.workloads, end)
    nodes = cluster.nodes
    alloc_cpu = sum(n.alloc_cpu_m for n in nodes) / 1000
    alloc_mem = float(sum(n.alloc_mem for n in nodes))
    big_cpu = max(n.alloc_cpu_m for n in nodes) / 1000
    big_mem = float(max(n.alloc_mem for n in nodes))
    hard_cpu, hard_mem = _quota_hard(cluster)
    q_cpu, q_mem = _active_requests(
        cluster, [w for w in cluster.workloads if w.namespace == QUOTA_NAMESPACE], end)
    cron = wl[("batch", "nightly-report")]
    jobs = sorted({p.owner_name for p in cluster._instances(cron, start, end)})
    prom = _prom_pod(cluster)
    t = np.array([start, end])
    app = appended(cluster, t)
    rate = float(app[1] - app[0]) / (end - start)
    per_day = rate * PROM_BYTES_PER_SAMPLE * DAY
    # the trend of CPU requests, fitted as the report fits it (least squares over the history)
    grid = np.arange(start, end + 1, 3600.0)
    slope, icpt = np.polyfit(grid - grid[-1], requests_series(cluster, grid), 1)
    n1_line = alloc_cpu - big_cpu
    days_n1 = (n1_line - icpt) / (slope * DAY) if icpt < n1_line and slope > 0 else 0.0
    kinds: dict[str, int] = {}
    for w in cluster.workloads:
        k = "CronJob" if w.kind == "Job" else w.kind
        kinds[k] = kinds.get(k, 0) + 1
    for k, n in events_sim.WORKLOAD_KINDS.items():  # the incidents' (they have requests too)
        kinds[k] = kinds.get(k, 0) + n
    return {
        "workload_kinds": kinds,
        "overprovisioned": {**_container(wl[("data", "reporting-replica")]),
                            "flags": ["idle"]},
        "throttled": {**_container(wl[("search", "indexer")]),
                      "flags": ["throttled", "p95_above_request"]},
        "oom_killed": {**_container(wl[("payments", "ledger")]), "flags": ["oom_killed"]},
        "no_requests": {**_container(wl[("batch", "csv-exporter")]),
                        "flags": ["no_requests", "no_memory_limit"]},
        "hpa": {**_container(wl[("search", "autocomplete")]), "horizontalpodautoscaler":
                "autocomplete", "metric": "cpu", "target_utilization": HPA_TARGET_UTILIZATION,
                "replicas_at_start": HPA_MIN_REPLICAS},
        "cronjob": {"namespace": "batch", "cronjob": "nightly-report", "workload_kind": "CronJob",
                    "container": "report", "jobs_in_window": len(jobs)},
        "quota": {"namespace": QUOTA_NAMESPACE, "resourcequota": QUOTA_NAME,
                  "requests_cpu_hard": hard_cpu, "requests_cpu_used": q_cpu,
                  "requests_cpu_ratio": q_cpu / hard_cpu, "requests_memory_hard": hard_mem,
                  "requests_memory_used": q_mem, "requests_memory_ratio": q_mem / hard_mem},
        "n_minus_1": {
            "nodes": len(nodes), "cpu_requests_cores": cpu, "cpu_allocatable_cores": alloc_cpu,
            "cpu_largest_node_cores": big_cpu, "cpu_ratio": cpu / (alloc_cpu - big_cpu),
            "cpu_overcommit_cores": cpu - (alloc_cpu - big_cpu),
            "memory_requests_bytes": mem, "memory_allocatable_bytes": alloc_mem,
            "memory_largest_node_bytes": big_mem, "memory_ratio": mem / (alloc_mem - big_mem),
            "daemonset": "data/ingest-agent",
            "cpu_requests_slope_per_day": float(slope * DAY),
            "days_to_cpu_n_minus_1": float(days_n1)},
        "prometheus": {
            "job": "prometheus", "instance": f"{prom.ip}:9090", "pod": prom.name,
            "head_series_end": float(np.floor(head_series(cluster, np.array([end]))[0])),
            "samples_per_s_mean": rate, "bytes_per_sample": PROM_BYTES_PER_SAMPLE,
            "growth_bytes_per_day": per_day, "retention_size_bytes": RETENTION_SIZE,
            "days_fit": RETENTION_SIZE / per_day, "retention_days": RETENTION_DAYS,
            "retention_bytes": RETENTION_DAYS * per_day},
    }
