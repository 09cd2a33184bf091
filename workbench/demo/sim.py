"""The simulated cluster: topology, planted scenarios, and every exporter's series as functions of time.

A :class:`Cluster` is fully determined by :class:`~workbench.demo.params.DemoParams` and the end of
the backfilled history (``end_s``). Each series value is a pure function of absolute time, so the
same object produces the backfilled history (:meth:`Cluster.samples` over a time grid) and the
live scrape targets after it (:meth:`Cluster.samples` at ``now``) without a seam, and answers the
Kubernetes API emulation (:meth:`Cluster.snapshot`, the :class:`~workbench.demo.model.ClusterSource`
protocol).

Series carry the label sets kube-prometheus-stack stores: node-exporter
(``job="node-exporter"``, ``instance="<node ip>:9100"``, no ``node``), cAdvisor via the kubelet
(``job="kubelet"``, ``metrics_path="/metrics/cadvisor"``), kubelet volume stats
(``metrics_path="/metrics"``), kube-state-metrics v2, and ``up`` for every target.

Examples
--------
>>> import numpy as np
>>> from workbench.demo.params import SMALL
>>> c = Cluster(SMALL, end_s=1_764_000_000)
>>> sorted({s.name for s in c.samples(np.array([1_764_000_000.0]))})[:2]
['container_cpu_cfs_periods_total', 'container_cpu_cfs_throttled_periods_total']
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from . import capacity_sim, events_sim, scheduler
from ._signal import DAY, Wave, hash64, noise, uniform
from .model import ClusterSnapshot, Container, Node, Pod, Usage
from .params import APP_NAMESPACES, DemoParams
from .sim_api import workload_view

__all__ = ["Cluster", "Sample", "Target"]

F = np.ndarray
INF = math.inf
GI = 1024**3
MI = 1024**2
RELEASE = "kps"  # the kube-prometheus-stack release name

#: Planted-scenario constants (also written to the ground-truth file).
OOM_PERIOD_S = 6 * 3600.0
LEAK_LIMIT = 512 * MI
LEAK_BASE = 96 * MI
THROTTLE_RATIO = 0.45
OVERPROVISION_FACTOR = 5.0
FLAP_THRESHOLD = 6.0
FLAP_PERIOD_S = 15 * 60.0
FLAP_HIGH_S = 8 * 60.0
FLAP_HOURS = (9.0, 11.0)  # UTC, every day
DOWN_DURATION_S = 45 * 60.0
PVC_CAPACITY = 50 * GI
ROOT_FS_SIZE = 100 * GI

PHASES = ("Pending", "Running", "Succeeded", "Failed", "Unknown")
#: How a CPU's busy time splits into modes (sums to 1: with idle and iowait, a CPU's modes add
#: up to one CPU-second per second, as the kernel's do).
CPU_MODES = (("user", 0.67), ("system", 0.25), ("nice", 0.01), ("irq", 0.01),
             ("softirq", 0.04), ("steal", 0.02))
KERNEL = "6.1.0-31-cloud-amd64"
OS_IMAGE = "Debian GNU/Linux 12 (bookworm)"
RUNTIME = "containerd://1.7.24"
KUBELET = "v1.30.4"
#: The busiest a simulated CPU gets (the rest of the second is idle and iowait).
CPU_CEILING = 0.98

#: metric family -> (type, help, formatting scale: values are written as round(v * scale) / scale)
FAMILIES: dict[str, tuple[str, str, int]] = {}


def _family(name: str, type_: str, help_: str, scale: int = 1) -> str:
    FAMILIES[name] = (type_, help_, scale)
    return name


# --- family catalogue (type, help, write scale) ------------------------------------------------
for _n, _t, _h, _s in [
    ("up", "gauge", "1 if the target was scraped successfully.", 1),
    ("node_cpu_seconds_total", "counter", "Seconds the CPUs spent in each mode.", 100),
    ("node_load1", "gauge", "1m load average.", 100),
    ("node_load5", "gauge", "5m load average.", 100),
    ("node_load15", "gauge", "15m load average.", 100),
    ("node_memory_MemTotal_bytes", "gauge", "Memory information field MemTotal_bytes.", 1),
    ("node_memory_MemAvailable_bytes", "gauge", "Memory information field MemAvailable_bytes.", 1),
    ("node_memory_MemFree_bytes", "gauge", "Memory information field MemFree_bytes.", 1),
    ("node_memory_Buffers_bytes", "gauge", "Memory information field Buffers_bytes.", 1),
    ("node_memory_Cached_bytes", "gauge", "Memory information field Cached_bytes.", 1),
    ("node_memory_Slab_bytes", "gauge", "Memory information field Slab_bytes.", 1),
    ("node_memory_SwapTotal_bytes", "gauge", "Memory information field SwapTotal_bytes.", 1),
    ("node_filesystem_size_bytes", "gauge", "Filesystem size in bytes.", 1),
    ("node_filesystem_free_bytes", "gauge", "Filesystem free space in bytes.", 1),
    ("node_filesystem_avail_bytes", "gauge",
     "Filesystem space available to non-root users in bytes.", 1),
    ("node_filesystem_files", "gauge", "Filesystem total file nodes.", 1),
    ("node_filesystem_files_free", "gauge", "Filesystem total free file nodes.", 1),
    ("node_filesystem_readonly", "gauge", "Filesystem read-only status.", 1),
    ("node_disk_reads_completed_total", "counter",
     "The total number of reads completed successfully.", 1),
    ("node_disk_writes_completed_total", "counter",
     "The total number of writes completed successfully.", 1),
    ("node_disk_read_bytes_total", "counter", "The total number of bytes read successfully.", 1),
    ("node_disk_written_bytes_total", "counter",
     "The total number of bytes written successfully.", 1),
    ("node_disk_io_time_seconds_total", "counter", "Total seconds spent doing I/Os.", 1000),
    ("node_disk_io_time_weighted_seconds_total", "counter",
     "The weighted # of seconds spent doing I/Os.", 1000),
    ("node_network_receive_bytes_total", "counter", "Network device statistic receive_bytes.", 1),
    ("node_network_transmit_bytes_total", "counter", "Network device statistic transmit_bytes.", 1),
    ("node_network_receive_packets_total", "counter",
     "Network device statistic receive_packets.", 1),
    ("node_network_transmit_packets_total", "counter",
     "Network device statistic transmit_packets.", 1),
    ("node_network_receive_errs_total", "counter", "Network device statistic receive_errs.", 1),
    ("node_network_transmit_errs_total", "counter", "Network device statistic transmit_errs.", 1),
    ("node_network_receive_drop_total", "counter", "Network device statistic receive_drop.", 1),
    ("node_network_transmit_drop_total", "counter", "Network device statistic transmit_drop.", 1),
    ("node_vmstat_pgmajfault", "unknown", "/proc/vmstat information field pgmajfault.", 1),
    ("node_boot_time_seconds", "gauge", "Node boot time, in unixtime.", 1),
    ("node_uname_info", "gauge",
     "Labeled system information as provided by the uname system call.", 1),
    ("container_cpu_usage_seconds_total", "counter",
     "Cumulative cpu time consumed in seconds.", 1000),
    ("container_memory_working_set_bytes", "gauge", "Current working set in bytes.", 1),
    ("container_cpu_cfs_periods_total", "counter",
     "Number of elapsed enforcement period intervals.", 1),
    ("container_cpu_cfs_throttled_periods_total", "counter",
     "Number of throttled period intervals.", 1),
    ("container_oom_events_total", "counter",
     "Count of out of memory events observed for the container", 1),
    ("kubelet_volume_stats_capacity_bytes", "gauge", "[ALPHA] Capacity in bytes of the volume", 1),
    ("kubelet_volume_stats_available_bytes", "gauge",
     "[ALPHA] Number of available bytes in the volume", 1),
    ("kubelet_volume_stats_used_bytes", "gauge", "[ALPHA] Number of used bytes in the volume", 1),
    ("kubelet_volume_stats_inodes", "gauge", "[ALPHA] Maximum number of inodes in the volume", 1),
    ("kubelet_volume_stats_inodes_free", "gauge", "[ALPHA] Number of free inodes in the volume", 1),
    ("kubelet_volume_stats_inodes_used", "gauge", "[ALPHA] Number of used inodes in the volume", 1),
    ("kubelet_running_pods", "gauge", "[ALPHA] Number of pods that have a running pod sandbox", 1),
    ("kubelet_node_name", "gauge", "[ALPHA] The node's name. The count is always 1.", 1),
    ("kube_node_info", "gauge", "Information about a cluster node.", 1),
    ("kube_node_status_capacity", "gauge", "The capacity for different resources of a node.", 1000),
    ("kube_node_status_allocatable", "gauge",
     "The allocatable for different resources of a node that are available for scheduling.", 1000),
    ("kube_node_status_condition", "gauge", "The condition of a cluster node.", 1),
    ("kube_pod_info", "gauge", "Information about pod.", 1),
    ("kube_pod_owner", "gauge", "Information about the Pod's owner.", 1),
    ("kube_pod_status_phase", "gauge", "The pods current phase.", 1),
    ("kube_pod_start_time", "gauge", "Start time in unix timestamp for a pod.", 1),
    ("kube_pod_container_resource_requests", "gauge",
     "The number of requested request resource by a container.", 1000),
    ("kube_pod_container_resource_limits", "gauge",
     "The number of requested limit resource by a container.", 1000),
    ("kube_pod_container_status_restarts_total", "counter",
     "The number of container restarts per container.", 1),
    ("kube_pod_container_status_last_terminated_reason", "gauge",
     "Describes the last reason the container was in terminated state.", 1),
    ("kube_replicaset_owner", "gauge", "Information about the ReplicaSet's owner.", 1),
    ("kube_deployment_spec_replicas", "gauge", "Number of desired pods for a deployment.", 1),
    ("kube_persistentvolumeclaim_info", "gauge", "Information about persistent volume claim.", 1),
    ("kube_persistentvolumeclaim_resource_requests_storage_bytes", "gauge",
     "The capacity of storage requested by the persistent volume claim.", 1),
]:
    _family(_n, _t, _h, _s)
FAMILIES.update(capacity_sim.FAMILIES)  # the capacity report's scenarios
FAMILIES.update(events_sim.FAMILIES)  # kwatch-style incidents, the control plane


# --- topology ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CSpec:
    """A container template: spec quantities plus its usage behaviour."""

    name: str
    image: str
    cpu_req_m: int | None
    mem_req_mi: int | None
    cpu_lim_m: int | None
    mem_lim_mi: int | None
    cpu_mean: float  # cores
    mem_base: float  # bytes
    kind: str = "normal"  # normal | leak | throttle
    peak_hour: float | None = None

    def requests(self) -> dict[str, str]:
        out = {}
        if self.cpu_req_m is not None:
            out["cpu"] = f"{self.cpu_req_m}m"
        if self.mem_req_mi is not None:
            out["memory"] = f"{self.mem_req_mi}Mi"
        return out

    def limits(self) -> dict[str, str]:
        out = {}
        if self.cpu_lim_m is not None:
            out["cpu"] = f"{self.cpu_lim_m}m"
        if self.mem_lim_mi is not None:
            out["memory"] = f"{self.mem_lim_mi}Mi"
        return out


@dataclass(frozen=True)
class Workload:
    namespace: str
    name: str
    kind: str  # Deployment | DaemonSet | StatefulSet | Job
    replicas: int
    containers: tuple[CSpec, ...]
    rollout_period_s: float = INF
    rollout_phase_s: float = 0.0
    node: int | None = None  # pinned node (planted scenarios), else hashed placement
    host_network: bool = False
    pvc: str | None = None
    job_every_s: float = 0.0
    job_run_s: float = 0.0


@dataclass(frozen=True)
class PodInst:
    """One pod's life: alive over ``[start, end)``, containers running over ``[start, run_end)``."""

    workload: Workload
    name: str
    node: int
    start: float
    end: float
    run_end: float
    owner_kind: str
    owner_name: str
    replicaset: str | None
    ip: str

    @property
    def namespace(self) -> str:
        return self.workload.namespace

    @cached_property
    def uid(self) -> str:
        h = f"{hash64('uid', self.namespace, self.name):016x}{hash64('uid2', self.name):016x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


@dataclass(frozen=True)
class SimNode:
    index: int
    name: str
    ip: str
    cpus: int
    mem_bytes: int
    boot_s: float

    @property
    def alloc_cpu_m(self) -> int:
        return self.cpus * 1000 - 80 - 10 * self.cpus

    @property
    def alloc_mem(self) -> int:
        return self.mem_bytes - 1024 * MI

    @property
    def max_pods(self) -> int:
        return 110


@dataclass
class Sample:
    """One series over the requested times: ``values`` is NaN where the series has no sample."""

    name: str
    labels: dict[str, str]
    values: F
    target: str = ""


@dataclass(frozen=True)
class Target:
    """A scrape target: its key (URL path of the live exposition) and the labels Prometheus adds."""

    key: str
    labels: dict[str, str] = field(hash=False)
    node: int | None = None


def _q(name: str, *parts: object) -> str:
    """A Kubernetes-looking random suffix (bcdfghjklmnpqrstvwxz2456789)."""
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    h = hash64(name, *parts)
    out = []
    for _ in range(5 if parts and parts[-1] == "pod" else 10 if parts else 5):
        h, r = divmod(h, len(alphabet))
        out.append(alphabet[r])
    return "".join(out)


class Cluster:
    """The simulated cluster (see the module docstring).

    Parameters
    ----------
    params
        Sizes and seed.
    end_s
        End of the backfilled history (unix seconds); the history covers ``params.days`` before it.
    """

    def __init__(self, params: DemoParams, end_s: float) -> None:
        self.params = params
        self.end_s = float(end_s)
        self.origin = self.end_s - params.days * DAY
        self.seed = params.seed
        self.interval = float(params.interval_s)
        self.nodes = self._make_nodes()
        self._sched: dict[str, int] | None = {}
        self.workloads = self._make_workloads()
        self._pods_cache: dict[tuple[float, float], list[PodInst]] = {}
        self._by_node_src: list[PodInst] | None = None
        self._by_node: dict[int, list[PodInst]] = {}
        self._cpu_scales: dict[int, float] = {}
        self._sched = None  # scheduled on first use, once the workloads exist
        self.scenarios = self._plant()

    # -- construction ----------------------------------------------------------------------

    def _u(self, *parts: object) -> float:
        return uniform(self.seed, *parts)

    def _make_nodes(self) -> list[SimNode]:
        out = []
        for i in range(self.params.nodes):
            cpus = 8 if i % 2 else 4
            mem = (32 if cpus == 8 else 16) * GI
            boot = self.origin - DAY * (3 + 40 * self._u("boot", i))
            ip = f"10.0.{1 + i // 200}.{10 + i % 200}"
            name = f"ip-{ip.replace('.', '-')}.ec2.internal"
            out.append(SimNode(i, name, ip, cpus, mem, boot))
        return out

    def _make_workloads(self) -> list[Workload]:
        p = self.params
        n = p.nodes
        img = "registry.example.com"
        wl: list[Workload] = [
            Workload("monitoring", f"{RELEASE}-prometheus-node-exporter", "DaemonSet", 1, (
                CSpec("node-exporter", "quay.io/prometheus/node-exporter:v1.9.1", 100, 32, 250,
                      64, 0.004, 18 * MI),), host_network=True),
            Workload("kube-system", "kube-proxy", "DaemonSet", 1, (
                CSpec("kube-proxy", "registry.k8s.io/kube-proxy:v1.30.4", 100, None, None, None,
                      0.006, 24 * MI),), host_network=True),
            Workload("kube-system", "coredns", "Deployment", 2, (
                CSpec("coredns", "registry.k8s.io/coredns/coredns:v1.11.1", 100, 70, None, 170,
                      0.008, 22 * MI),), rollout_period_s=INF),
            Workload("monitoring", f"{RELEASE}-kube-state-metrics", "Deployment", 1, (
                CSpec("kube-state-metrics", "registry.k8s.io/kube-state-metrics/"
                      "kube-state-metrics:v2.13.0", 50, 64, None, None, 0.01, 45 * MI),), node=0),
            # planted: a leaking container, OOM-killed every OOM_PERIOD_S
            Workload("payments", "ledger", "Deployment", 1, (
                CSpec("ledger", f"{img}/payments/ledger:4.2.0", 200, 256, 500, LEAK_LIMIT // MI,
                      0.08, float(LEAK_BASE), kind="leak"),), node=0),
            # planted: CPU-throttled deployment
            Workload("search", "indexer", "Deployment", 2, (
                CSpec("indexer", f"{img}/search/indexer:1.8.3", 400, 512, 500, 1024, 0.42,
                      380 * MI, kind="throttle"),), node=None),
            # planted: PVC crossing 70 %
            Workload("data", "postgres", "StatefulSet", 1, (
                CSpec("postgres", "docker.io/library/postgres:16.4", 500, 1024, None, 2048, 0.12,
                      700 * MI),), node=1 % n, pvc="postgres-data-postgres-0"),
            # pods that come and go: a CronJob every 2 h
            Workload("batch", "nightly-report", "Job", 1, (
                CSpec("report", f"{img}/batch/report:0.9.1", 250, 256, 1000, 512, 0.6,
                      200 * MI),), job_every_s=7200.0, job_run_s=900.0),
        ]
        # planted: over-provisioned namespace (requests ~5x usage)
        for k, name in enumerate(("etl-worker", "dashboard-api", "query-cache")):
            mean = 0.06 + 0.03 * k
            mem = float((200 + 100 * k) * MI)
            wl.append(Workload("analytics", name, "Deployment", 2, (
                CSpec(name, f"{img}/analytics/{name}:2.{k}.0",
                      round(mean * OVERPROVISION_FACTOR * 1000),
                      round(mem * OVERPROVISION_FACTOR / MI), None, None, mean, float(mem),
                      peak_hour=14.0),), rollout_period_s=INF))
        fixed = 2 * n + sum(w.replicas for w in wl[2:])
        remaining = max(0, p.pods - fixed)
        spaces = [ns for ns in self.app_namespaces if ns != "analytics"]
        k = 0
        while remaining > 0:
            ns = spaces[k % len(spaces)]
            reps = min(remaining, 1 + int(self._u("reps", k) * 4))
            name = f"{_WORDS[k % len(_WORDS)]}{'' if k < len(_WORDS) else f'-{k // len(_WORDS)}'}"
            mean = 0.01 + 0.25 * self._u("cpu", k) ** 2
            mem = (40.0 + 600.0 * self._u("mem", k) ** 2) * MI
            ratio = 1.2 + 1.5 * self._u("req", k)
            lim = self._u("lim", k) < 0.4
            cs = [CSpec(name, f"{img}/{ns}/{name}:1.{k % 7}.{k % 3}",
                        max(10, round(mean * ratio * 100) * 10),
                        max(32, round(mem * ratio / MI / 16) * 16),
                        max(100, round(mean * 4 * 10) * 100) if lim else None,
                        max(64, round(mem * 2.5 / MI / 64) * 64) if lim else None,
                        mean, float(mem))]
            if self._u("sidecar", k) < 0.25:
                cs.append(CSpec("envoy", "docker.io/envoyproxy/envoy:v1.31.0", 50, 64, None,
                                None, 0.01 + 0.01 * self._u("sc", k), 35 * MI))
            period = DAY * (2 + 6 * self._u("roll", k))
            wl.append(Workload(ns, name, "Deployment", reps, tuple(cs), rollout_period_s=period,
                               rollout_phase_s=period * self._u("phase", k)))
            remaining -= reps
            k += 1
        wl.extend(capacity_sim.extra_workloads(self, wl))
        return wl

    @cached_property
    def app_namespaces(self) -> list[str]:
        extra = [f"team-{i}" for i in range(max(0, self.params.namespaces - len(APP_NAMESPACES)))]
        return [*APP_NAMESPACES, *extra][: self.params.namespaces]

    @property
    def fs_node(self) -> SimNode:
        return self.nodes[1 % len(self.nodes)]

    @property
    def down_node(self) -> SimNode:
        return self.nodes[-1] if len(self.nodes) > 2 else self.nodes[0]

    @property
    def flap_node(self) -> SimNode:
        return self.nodes[0]

    def _plant(self) -> dict[str, Any]:
        span = self.params.days * DAY
        down_start = math.floor((self.origin + 0.6 * span) / self.interval) * self.interval
        return {
            "fs_fill_start": self.origin,
            "fs_avail_start_frac": 0.50,
            "fs_fill_frac_per_s": 0.45 / span,
            "down": (down_start, down_start + DOWN_DURATION_S),
            "pvc_start_frac": 0.40,
            "pvc_frac_per_s": 0.30 / (0.7 * span),
            "oom_anchor": self.origin + 3 * 3600.0 + 17 * 60.0,
        }

    # -- pods over time --------------------------------------------------------------------

    def pods_between(self, t0: float, t1: float) -> list[PodInst]:
        """Every pod alive at some instant of ``[t0, t1)``."""
        key = (t0, t1)
        if key not in self._pods_cache:
            if len(self._pods_cache) > 8:
                self._pods_cache.clear()
            self._pods_cache[key] = [p for w in self.workloads for p in self._instances(w, t0, t1)]
        return self._pods_cache[key]

    def on_node(self, pods: list[PodInst], node: int) -> list[PodInst]:
        """The pods of ``pods`` placed on ``node`` (indexed once per pod list)."""
        if self._by_node_src is not pods:
            self._by_node = {}
            for p in pods:
                self._by_node.setdefault(p.node, []).append(p)
            self._by_node_src = pods
        return self._by_node.get(node, [])

    def _place(self, *parts: object) -> int:
        return int(self._u("place", *parts) * len(self.nodes))

    def _placed(self, name: str, preferred: int) -> int:
        """The node the scheduler binds pod ``name`` to (``preferred`` when it fits there)."""
        if self._sched is None:
            self._sched = {}  # while scheduling, every pod is on its preferred node
            self._sched = scheduler.placements(self)
        return self._sched.get(name, preferred)

    def _ip(self, node: int, name: str) -> str:
        return f"10.244.{node}.{2 + int(uniform(self.seed, 'ip', name) * 250)}"

    def _instances(self, w: Workload, t0: float, t1: float) -> Iterator[PodInst]:
        if w.kind == "DaemonSet":
            for sn in self.nodes:
                name = f"{w.name}-{_q(w.name, sn.index, 'pod')}"
                ip = sn.ip if w.host_network else self._ip(sn.index, name)
                yield PodInst(w, name, sn.index, sn.boot_s + 30, INF, INF, "DaemonSet",
                              w.name, None, ip)
            return
        if w.kind == "StatefulSet":
            for r in range(w.replicas):
                name = f"{w.name}-{r}"
                node = w.node if w.node is not None else self._placed(name, self._place(w.name, r))
                start = self.origin - DAY * (5 + 20 * self._u("age", w.name))
                yield PodInst(w, name, node, start, INF, INF, "StatefulSet", w.name, None,
                              self._ip(node, name))
            return
        if w.kind == "Job":
            every, off = w.job_every_s, w.job_every_s * self._u("joboff", w.name)
            keep = 1800.0
            g0 = math.floor((t0 - keep - w.job_run_s - self.origin - off) / every)
            g1 = math.floor((t1 - self.origin - off) / every)
            for g in range(g0, g1 + 1):
                start = self.origin + off + g * every
                run_end = start + w.job_run_s * (0.7 + 0.6 * self._u("jobrun", w.name, g))
                end = run_end + keep
                if end <= t0 or start >= t1:
                    continue
                job = f"{w.name}-{int(start // 60)}"
                name = f"{job}-{_q(job, 'pod')}"
                node = self._placed(name, self._place(job))
                yield PodInst(w, name, node, start, end, run_end, "Job", job, None,
                              self._ip(node, name))
            return
        if w.name in capacity_sim.SCALED:  # an HPA adding replicas over the history
            yield from capacity_sim.scaled_instances(self, w)
            return
        # Deployments: one ReplicaSet generation per rollout period
        if math.isinf(w.rollout_period_s):
            gens = [(0, self.origin - DAY * (10 + 30 * self._u("age", w.name)), INF)]
        else:
            period, phase = w.rollout_period_s, w.rollout_phase_s
            g0 = math.floor((t0 - self.origin - phase) / period)
            g1 = math.floor((t1 - self.origin - phase) / period)
            gens = [(g, self.origin + phase + g * period, self.origin + phase + (g + 1) * period)
                    for g in range(g0, g1 + 1)]
        for g, start, end in gens:
            if end <= t0 or start >= t1:
                continue
            rs = f"{w.name}-{_q(w.name, g, 'rs')}"
            for r in range(w.replicas):
                name = f"{rs}-{_q(rs, r, 'pod')}"
                node = (w.node if w.node is not None
                        else self._placed(name, self._place(rs, r)))
                yield PodInst(w, name, node, start, end, end, "ReplicaSet", rs, rs,
                              self._ip(node, name))

    # -- container behaviour ---------------------------------------------------------------

    def _cpu_wave(self, pod: PodInst, c: CSpec) -> Wave:
        key = (self.seed, pod.namespace, pod.workload.name, c.name)
        daily = 0.15 if c.kind == "throttle" else 0.35
        return Wave.make(key, c.cpu_mean, daily=daily, weekly=0.1, jitter=0.08,
                         peak_hour=c.peak_hour)

    def _restarts(self, pod: PodInst, c: CSpec, t: F) -> F:
        if c.kind != "leak":
            return np.zeros_like(t)
        a = self.scenarios["oom_anchor"]
        n_t = np.floor((t - a) / OOM_PERIOD_S)
        n_s = math.floor((pod.start - a) / OOM_PERIOD_S)
        return np.maximum(n_t - n_s, 0.0)

    def _last_start(self, pod: PodInst, c: CSpec, t: F) -> F:
        if c.kind != "leak":
            return np.full_like(t, pod.start)
        a = self.scenarios["oom_anchor"]
        last = a + np.floor((t - a) / OOM_PERIOD_S) * OOM_PERIOD_S
        return np.maximum(last, pod.start)

    def _cpu_counter(self, pod: PodInst, c: CSpec, t: F) -> F:
        w = self._cpu_wave(pod, c)
        return w.integral(t) - w.integral(self._last_start(pod, c, t))

    def _cpu_rate(self, pod: PodInst, c: CSpec, t: F) -> F:
        return self._cpu_wave(pod, c).rate(t)

    def _working_set(self, pod: PodInst, c: CSpec, t: F) -> F:
        if c.kind == "leak":
            a = self.scenarios["oom_anchor"]
            frac = ((t - a) % OOM_PERIOD_S) / OOM_PERIOD_S
            return np.floor(LEAK_BASE + (LEAK_LIMIT - LEAK_BASE) * 0.995 * frac)
        key = hash64(self.seed, "ws", pod.name, c.name)
        w = Wave.make((self.seed, "mem", pod.workload.name, c.name), 1.0, daily=0.08,
                      weekly=0.02, jitter=0.01, peak_hour=c.peak_hour)
        return np.floor(c.mem_base * (w.rate(t) + 0.01 * noise(key, t, self.interval)))

    def _throttle(self, c: CSpec) -> Wave:
        mean = THROTTLE_RATIO if c.kind == "throttle" else 0.01
        return Wave.make(("thr", c.name), mean, daily=0.2, weekly=0.05, jitter=0.1)

    # -- node behaviour --------------------------------------------------------------------

    def _node_busy(self, node: SimNode, t: F, pods: list[PodInst]) -> tuple[F, F]:
        """(busy cpu-seconds since boot, busy rate in cores) of ``node`` at ``t``."""
        over = Wave.make((self.seed, "node-overhead", node.index), 0.05 + 0.02 * node.cpus,
                         daily=0.2, weekly=0.05, jitter=0.1)
        busy = over.integral(t) - over.integral(np.array([node.boot_s]))[0]
        rate = over.rate(t)
        # pre-history pods' CPU, folded into a constant
        busy += 0.04 * node.cpus * (self.origin - node.boot_s)
        for pod in self.on_node(pods, node.index):
            s = max(pod.start, self.origin)
            for c in pod.workload.containers:
                w = self._cpu_wave(pod, c)
                busy += w.integral(np.clip(t, s, pod.run_end)) - w.integral(np.array([s]))[0]
                alive = (t >= pod.start) & (t < pod.run_end)
                rate = rate + np.where(alive, w.rate(t), 0.0)
        return busy, rate

    def _node_rate(self, node: SimNode, t: F, pods: list[PodInst]) -> F:
        """The busy rate of :meth:`_node_busy` alone, each pod evaluated over its own run only
        (the same values; over a month's grid this is what makes :meth:`cpu_scale` cheap)."""
        over = Wave.make((self.seed, "node-overhead", node.index), 0.05 + 0.02 * node.cpus,
                         daily=0.2, weekly=0.05, jitter=0.1)
        rate = over.rate(t)
        for pod in self.on_node(pods, node.index):
            i0, i1 = np.searchsorted(t, (pod.start, pod.run_end))
            if i1 <= i0:
                continue
            for c in pod.workload.containers:
                rate[i0:i1] += self._cpu_wave(pod, c).rate(t[i0:i1])
        return rate

    def cpu_scale(self, node: SimNode) -> float:
        """What fraction of its pods' CPU demand ``node`` can serve (1 unless overcommitted).

        The demand is a sum of placed pods' waves and can exceed the node's CPUs on a crowded
        node (the ``BIG`` setting); the kernel then serves at most all CPUs, so the node's CPU
        counters are the demand scaled to stay below :data:`CPU_CEILING` per CPU over the
        history's scrape grid.
        """
        if node.index not in self._cpu_scales:
            t = np.arange(self.origin, self.end_s + self.interval, self.interval)
            pods = self.pods_between(self.origin, math.ceil((self.end_s + 1) / 3600) * 3600.0)
            rate = self._node_rate(node, t, pods)
            iow = Wave.make((self.seed, "iowait", node.index), 0.004 * node.cpus).rate(t)
            peak = float(np.max((rate + iow) / node.cpus))
            self._cpu_scales[node.index] = min(1.0, CPU_CEILING / peak) if peak > 0 else 1.0
        return self._cpu_scales[node.index]

    def _node_mem_used(self, node: SimNode, t: F, pods: list[PodInst]) -> F:
        used = 900 * MI + 200 * MI * Wave.make((self.seed, "node-mem", node.index), 1.0).rate(t)
        for pod in self.on_node(pods, node.index):
            alive = (t >= pod.start) & (t < pod.run_end)
            if not alive.any():
                continue
            for c in pod.workload.containers:
                used = used + np.where(alive, self._working_set(pod, c, t), 0.0)
        return used

    def _node_down(self, node: SimNode, t: F) -> F:
        if node.index != self.down_node.index:
            return np.zeros_like(t, dtype=bool)
        d0, d1 = self.scenarios["down"]
        return (t >= d0) & (t < d1)

    def _root_avail(self, node: SimNode, t: F) -> F:
        sc = self.scenarios
        if node.index == self.fs_node.index:
            frac = sc["fs_avail_start_frac"] - sc["fs_fill_frac_per_s"] * (t - sc["fs_fill_start"])
            frac = np.clip(frac, 0.01, None)
        else:
            frac = 0.62 - 0.1 * self._u("fs", node.index) + 0.002 * noise(
                hash64(self.seed, "fs", node.index), t, 3600.0)
        return np.floor(ROOT_FS_SIZE * frac / 4096) * 4096

    def _load1(self, node: SimNode, t: F, busy_rate: F) -> F:
        key = hash64(self.seed, "load", node.index)
        load = busy_rate * 1.3 + 0.15 * (1 + noise(key, t, self.interval))
        if node.index == self.flap_node.index:
            load = np.where(self.flapping_high(t), FLAP_THRESHOLD + 1.5 + 0.4 * noise(
                key + 1, t, self.interval), load)
        return load

    def flapping_high(self, t: F) -> F:
        """Whether the flapping node's load is above the threshold at ``t``."""
        tod = np.mod(t, DAY) / 3600.0
        in_window = (tod >= FLAP_HOURS[0]) & (tod < FLAP_HOURS[1])
        phase = np.mod(t - FLAP_HOURS[0] * 3600.0, FLAP_PERIOD_S)
        return in_window & (phase < FLAP_HIGH_S)

    # -- targets ---------------------------------------------------------------------------

    @cached_property
    def targets(self) -> list[Target]:
        """Every simulated scrape target with the labels Prometheus attaches to it."""
        out = []
        ds = self.workloads[0]
        for node in self.nodes:
            pod = f"{ds.name}-{_q(ds.name, node.index, 'pod')}"
            out.append(Target(f"node-exporter/{node.name}", {
                "job": "node-exporter", "instance": f"{node.ip}:9100", "namespace": "monitoring",
                "pod": pod, "container": "node-exporter", "service": ds.name,
                "endpoint": "http-metrics"}, node.index))
            base = {"job": "kubelet", "instance": f"{node.ip}:10250", "node": node.name,
                    "service": f"{RELEASE}-kubelet", "endpoint": "https-metrics",
                    "namespace": "kube-system"}
            out.append(Target(f"kubelet/{node.name}", {**base, "metrics_path": "/metrics"},
                              node.index))
            out.append(Target(f"cadvisor/{node.name}",
                              {**base, "metrics_path": "/metrics/cadvisor"}, node.index))
        ksm = next(p for p in self.pods_between(self.end_s, self.end_s + 1)
                   if p.workload.name.endswith("kube-state-metrics"))
        out.append(Target("kube-state-metrics", {
            "job": "kube-state-metrics", "instance": f"{ksm.ip}:8080", "namespace": "monitoring",
            "pod": ksm.name, "container": "kube-state-metrics",
            "service": f"{RELEASE}-kube-state-metrics", "endpoint": "http"}))
        out.extend(capacity_sim.targets(self))
        out.extend(events_sim.targets(self))
        return out

    # -- samples ---------------------------------------------------------------------------

    def samples(self, t: F, targets: Iterable[str] | None = None) -> Iterator[Sample]:
        """Every series' values at the times ``t`` (NaN where it has no sample).

        ``targets`` restricts the output to some target keys (the live exposition uses it).
        """
        t = np.asarray(t, dtype=np.float64)
        want = None if targets is None else set(targets)
        # pods up to the next whole hour: the list is cached between live scrapes, and pods not
        # yet started contribute nothing (every use is masked by the pod's lifetime)
        pods = self.pods_between(self.origin, math.ceil((float(t.max()) + 1) / 3600) * 3600.0)
        for tg in self.targets:
            if want is not None and tg.key not in want:
                continue
            kind = tg.key.split("/")[0]
            node = self.nodes[tg.node] if tg.node is not None else None
            down = self._node_down(node, t) if node is not None else np.zeros_like(t, dtype=bool)
            if want is None:
                yield Sample("up", dict(tg.labels), np.where(down, 0.0, 1.0), tg.key)
            if kind in capacity_sim.TARGET_KINDS:
                gen = capacity_sim.target_series(self, kind, t, pods)
            elif kind in events_sim.TARGET_KINDS:
                gen = events_sim.target_series(self, kind, t)
            elif node is None:
                gen = self._ksm(t, pods)
            elif kind == "node-exporter":
                gen = self._node_exporter(node, t, pods)
            elif kind == "kubelet":
                gen = self._kubelet(node, t, pods)
            else:
                gen = self._cadvisor(node, t, pods)
            for name, labels, values in gen:
                if down.any():
                    values = np.where(down, np.nan, values)
                yield Sample(name, {**tg.labels, **labels}, values, tg.key)

    def _node_exporter(self, node: SimNode, t: F, pods: list[PodInst]
                       ) -> Iterator[tuple[str, dict[str, str], F]]:
        busy, busy_rate = self._node_busy(node, t, pods)
        # every CPU gets the same share (a skewed share pushed cpu 0 past one CPU-second per
        # second on a busy node, and its idle counter went backwards)
        share = np.full(node.cpus, self.cpu_scale(node) / node.cpus)
        iow = Wave.make((self.seed, "iowait", node.index), 0.004 * node.cpus)
        iowait = iow.integral(t) - iow.integral(np.array([node.boot_s]))[0]
        uptime = t - node.boot_s
        for j in range(node.cpus):
            b = busy * share[j]
            w = iowait * share[j]
            yield "node_cpu_seconds_total", {"cpu": str(j), "mode": "idle"}, uptime - b - w
            yield "node_cpu_seconds_total", {"cpu": str(j), "mode": "iowait"}, w
            for mode, frac in CPU_MODES:
                yield "node_cpu_seconds_total", {"cpu": str(j), "mode": mode}, b * frac
        load1 = self._load1(node, t, busy_rate)
        yield "node_load1", {}, load1
        yield "node_load5", {}, busy_rate * 1.3 + 0.3 + 0.3 * (load1 - busy_rate * 1.3)
        yield "node_load15", {}, busy_rate * 1.3 + 0.3 + 0.1 * (load1 - busy_rate * 1.3)
        used = self._node_mem_used(node, t, pods)
        total = float(node.mem_bytes)
        avail = np.floor(total - used)
        yield "node_memory_MemTotal_bytes", {}, np.full_like(t, total)
        yield "node_memory_MemAvailable_bytes", {}, avail
        yield "node_memory_MemFree_bytes", {}, np.floor(avail * 0.35)
        yield "node_memory_Buffers_bytes", {}, np.floor(avail * 0.03)
        yield "node_memory_Cached_bytes", {}, np.floor(avail * 0.55)
        yield "node_memory_Slab_bytes", {}, np.full_like(t, 310.0 * MI)
        yield "node_memory_SwapTotal_bytes", {}, np.zeros_like(t)
        root_avail = self._root_avail(node, t)
        for dev, fstype, mnt, size, avail_v, files in (
            ("/dev/nvme0n1p1", "ext4", "/", ROOT_FS_SIZE, root_avail, 6_553_600),
            ("/dev/nvme0n1p15", "vfat", "/boot/efi", 104_858_112, np.full_like(t, 98_770_944.0), 0),
            ("tmpfs", "tmpfs", "/run", node.mem_bytes // 5,
             np.full_like(t, node.mem_bytes / 5 - 2.1 * MI), 1_000_000),
        ):
            lab = {"device": dev, "fstype": fstype, "mountpoint": mnt}
            reserved = 0.05 * size if fstype == "ext4" else 0.0
            yield "node_filesystem_size_bytes", lab, np.full_like(t, float(size))
            yield "node_filesystem_free_bytes", lab, np.floor(avail_v + reserved)
            yield "node_filesystem_avail_bytes", lab, avail_v
            yield "node_filesystem_files", lab, np.full_like(t, float(files))
            used_frac = 1 - avail_v / size
            yield "node_filesystem_files_free", lab, np.floor(files * (1 - 0.3 * used_frac))
            yield "node_filesystem_readonly", lab, np.zeros_like(t)
        for dev, scale in (("nvme0n1", 1.0), ("nvme1n1", 0.3)):
            lab = {"device": dev}
            k = (self.seed, "disk", node.index, dev)
            rd = Wave.make((k, "r"), 20.0 * scale)
            wr = Wave.make((k, "w"), 60.0 * scale)
            io = Wave.make((k, "io"), 0.02 * scale)
            t0 = np.array([node.boot_s])

            def cnt(wv: Wave, mult: float = 1.0, t0: F = t0) -> F:
                return np.floor((wv.integral(t) - wv.integral(t0)[0]) * mult)

            yield "node_disk_reads_completed_total", lab, cnt(rd)
            yield "node_disk_writes_completed_total", lab, cnt(wr)
            yield "node_disk_read_bytes_total", lab, cnt(rd, 16384.0)
            yield "node_disk_written_bytes_total", lab, cnt(wr, 24576.0)
            yield "node_disk_io_time_seconds_total", lab, io.integral(t) - io.integral(t0)[0]
            yield "node_disk_io_time_weighted_seconds_total", lab, 1.8 * (
                io.integral(t) - io.integral(t0)[0])
        for dev, scale in (("eth0", 1.0), ("lo", 0.2)):
            lab = {"device": dev}
            k = (self.seed, "net", node.index, dev)
            rx = Wave.make((k, "rx"), 2.0e6 * scale)
            tx = Wave.make((k, "tx"), 1.4e6 * scale)
            t0 = np.array([node.boot_s])
            rxb = np.floor(rx.integral(t) - rx.integral(t0)[0])
            txb = np.floor(tx.integral(t) - tx.integral(t0)[0])
            yield "node_network_receive_bytes_total", lab, rxb
            yield "node_network_transmit_bytes_total", lab, txb
            yield "node_network_receive_packets_total", lab, np.floor(rxb / 900)
            yield "node_network_transmit_packets_total", lab, np.floor(txb / 700)
            zero = np.zeros_like(t)
            errs = np.floor(rxb / 9e9) if dev == "eth0" else zero
            yield "node_network_receive_errs_total", lab, errs
            yield "node_network_transmit_errs_total", lab, zero
            yield "node_network_receive_drop_total", lab, np.floor(rxb / 3e9) if dev == "eth0" else zero
            yield "node_network_transmit_drop_total", lab, zero
        pf = Wave.make((self.seed, "pgmaj", node.index), 2.0)
        yield "node_vmstat_pgmajfault", {}, np.floor(pf.integral(t) - pf.integral(
            np.array([node.boot_s]))[0] + 12000)
        yield "node_boot_time_seconds", {}, np.full_like(t, node.boot_s)
        yield "node_uname_info", {
            "sysname": "Linux", "release": "6.1.0-31-cloud-amd64",
            "version": "#1 SMP PREEMPT_DYNAMIC Debian 6.1.128-1 (2025-02-07)",
            "machine": "x86_64", "nodename": node.name, "domainname": "(none)"}, np.ones_like(t)

    def _cadvisor(self, node: SimNode, t: F, pods: list[PodInst]
                  ) -> Iterator[tuple[str, dict[str, str], F]]:
        for pod in self.on_node(pods, node.index):
            alive = (t >= pod.start) & (t < pod.run_end)
            if not alive.any():
                continue
            qos = "burstable"
            for c in pod.workload.containers:
                cid = f"{hash64('cid', pod.uid, c.name):016x}{hash64('cid2', pod.name):016x}"
                lab = {"namespace": pod.namespace, "pod": pod.name, "container": c.name,
                       "image": c.image, "name": cid * 2,
                       "id": f"/kubepods.slice/kubepods-{qos}.slice/kubepods-{qos}-pod"
                             f"{pod.uid.replace('-', '_')}.slice/cri-containerd-{cid * 2}.scope"}

                def m(v: F, alive: F = alive) -> F:
                    return np.where(alive, v, np.nan)

                yield "container_cpu_usage_seconds_total", lab, m(self._cpu_counter(pod, c, t))
                yield "container_memory_working_set_bytes", lab, m(self._working_set(pod, c, t))
                if c.cpu_lim_m is not None:
                    since = t - self._last_start(pod, c, t)
                    thr = self._throttle(c)
                    ls = self._last_start(pod, c, t)
                    yield "container_cpu_cfs_periods_total", lab, m(np.floor(10.0 * since))
                    yield "container_cpu_cfs_throttled_periods_total", lab, m(
                        np.floor(10.0 * (thr.integral(t) - thr.integral(ls))))
                yield "container_oom_events_total", lab, m(self._restarts(pod, c, t))

    def _kubelet(self, node: SimNode, t: F, pods: list[PodInst]
                 ) -> Iterator[tuple[str, dict[str, str], F]]:
        running = np.zeros_like(t)
        for pod in self.on_node(pods, node.index):
            running += (t >= pod.start) & (t < pod.run_end)
        running += events_sim.running_pods(self, node.name, t)  # crash loop, image pull
        yield "kubelet_running_pods", {}, running
        yield "kubelet_node_name", {"node": node.name}, np.ones_like(t)
        for pod in self.on_node(pods, node.index):
            w = pod.workload
            if w.pvc is None:
                continue
            alive = (t >= pod.start) & (t < pod.end)
            used = np.floor(self.pvc_used_fraction(t) * PVC_CAPACITY)
            lab = {"namespace": pod.namespace, "persistentvolumeclaim": w.pvc}
            inodes = 3_276_800.0
            iused = np.floor(1200 + used / (256 * 1024))
            for name, v in (("kubelet_volume_stats_capacity_bytes", np.full_like(t, PVC_CAPACITY)),
                            ("kubelet_volume_stats_available_bytes", PVC_CAPACITY - used),
                            ("kubelet_volume_stats_used_bytes", used),
                            ("kubelet_volume_stats_inodes", np.full_like(t, inodes)),
                            ("kubelet_volume_stats_inodes_free", inodes - iused),
                            ("kubelet_volume_stats_inodes_used", iused)):
                yield name, lab, np.where(alive, v, np.nan)

    def pvc_used_fraction(self, t: F) -> F:
        sc = self.scenarios
        return np.clip(sc["pvc_start_frac"] + sc["pvc_frac_per_s"] * (t - self.origin), 0, 0.98)

    def _ksm(self, t: F, pods: list[PodInst]) -> Iterator[tuple[str, dict[str, str], F]]:
        one = np.ones_like(t)
        for node in self.nodes:
            nl = {"node": node.name}
            yield "kube_node_info", {
                **nl, "kernel_version": KERNEL, "os_image": OS_IMAGE,
                "container_runtime_version": RUNTIME, "kubelet_version": KUBELET,
                "kubeproxy_version": "deprecated", "internal_ip": node.ip,
                "provider_id": self._provider_id(node), "pod_cidr": self._pod_cidr(node),
                "system_uuid": ""}, one
            for metric, cpu_m, mem in (("kube_node_status_capacity", node.cpus * 1000,
                                        node.mem_bytes),
                                       ("kube_node_status_allocatable", node.alloc_cpu_m,
                                        node.alloc_mem)):
                yield metric, {**nl, "resource": "cpu", "unit": "core"}, one * cpu_m / 1000
                yield metric, {**nl, "resource": "memory", "unit": "byte"}, one * mem
                yield metric, {**nl, "resource": "pods", "unit": "integer"}, one * node.max_pods
            down = self._node_down(node, t).astype(float)
            for status, v in (("true", 1 - down), ("false", np.zeros_like(t)), ("unknown", down)):
                yield "kube_node_status_condition", {**nl, "condition": "Ready",
                                                     "status": status}, v
        deployments: dict[tuple[str, str], Workload] = {}
        replicasets: dict[tuple[str, str], tuple[str, F]] = {}
        for pod in pods:
            alive = (t >= pod.start) & (t < pod.end)
            if not alive.any():
                continue
            w = pod.workload
            node = self.nodes[pod.node]
            pl = {"namespace": pod.namespace, "pod": pod.name, "uid": pod.uid}

            def m(v: F, alive: F = alive) -> F:
                return np.where(alive, v, np.nan)

            yield "kube_pod_info", {
                **pl, "node": node.name, "host_ip": node.ip, "pod_ip": pod.ip,
                "created_by_kind": pod.owner_kind, "created_by_name": pod.owner_name,
                "priority_class": "system-node-critical" if w.kind == "DaemonSet" else "",
                "host_network": str(w.host_network).lower()}, m(one)
            yield "kube_pod_owner", {**pl, "owner_kind": pod.owner_kind,
                                     "owner_name": pod.owner_name,
                                     "owner_is_controller": "true"}, m(one)
            running = (t < pod.run_end).astype(float)
            for phase in PHASES:
                v = running if phase == "Running" else (
                    1 - running if phase == "Succeeded" else np.zeros_like(t))
                yield "kube_pod_status_phase", {**pl, "phase": phase}, m(v)
            yield "kube_pod_start_time", pl, m(one * math.floor(pod.start))
            for c in w.containers:
                cl = {**pl, "container": c.name}
                for metric, cpu_q, mem_q in (
                        ("kube_pod_container_resource_requests", c.cpu_req_m, c.mem_req_mi),
                        ("kube_pod_container_resource_limits", c.cpu_lim_m, c.mem_lim_mi)):
                    if cpu_q is not None:
                        yield metric, {**cl, "node": node.name, "resource": "cpu",
                                       "unit": "core"}, m(one * cpu_q / 1000)
                    if mem_q is not None:
                        yield metric, {**cl, "node": node.name, "resource": "memory",
                                       "unit": "byte"}, m(one * mem_q * MI)
                restarts = self._restarts(pod, c, t)
                yield "kube_pod_container_status_restarts_total", cl, m(restarts)
                if c.kind == "leak":
                    yield ("kube_pod_container_status_last_terminated_reason",
                           {**cl, "reason": "OOMKilled"}, m(np.where(restarts > 0, 1.0, np.nan)))
            if w.kind == "Deployment":
                deployments[(w.namespace, w.name)] = w
            if pod.replicaset is not None:
                prev = replicasets.get((w.namespace, pod.replicaset))
                replicasets[(w.namespace, pod.replicaset)] = (
                    w.name, alive if prev is None else (prev[1] | alive))
        for (ns, rs), (dep, alive) in replicasets.items():
            yield "kube_replicaset_owner", {"namespace": ns, "replicaset": rs,
                                            "owner_kind": "Deployment", "owner_name": dep,
                                            "owner_is_controller": "true"}, np.where(
                alive, 1.0, np.nan)
        for (ns, dep), w in deployments.items():
            yield "kube_deployment_spec_replicas", {"namespace": ns, "deployment": dep}, \
                one * w.replicas
        for w in self.workloads:
            if w.pvc is None:
                continue
            pvl = {"namespace": w.namespace, "persistentvolumeclaim": w.pvc}
            yield "kube_persistentvolumeclaim_info", {
                **pvl, "storageclass": "gp3",
                "volumename": f"pvc-{hash64('pv', w.pvc):016x}"}, one
            yield "kube_persistentvolumeclaim_resource_requests_storage_bytes", pvl, \
                one * PVC_CAPACITY
        yield from capacity_sim.ksm_series(self, t, pods)
        yield from events_sim.ksm_series(self, t)

    # -- the Kubernetes API view (ClusterSource) -------------------------------------------

    def snapshot(self, now_s: float) -> ClusterSnapshot:
        """The cluster at ``now_s``: specs plus metrics-server usage over a 15 s window."""
        window = 15.0
        t = np.array([now_s - window, now_s])
        pods = self.pods_between(self.origin, math.ceil((now_s + 1) / 3600) * 3600.0)
        alive = [p for p in pods if p.start <= now_s < p.end]
        nodes = []
        node_usage: dict[str, Usage] = {}
        for node in self.nodes:
            down = bool(self._node_down(node, t[1:])[0])
            nodes.append(Node(
                name=node.name, internal_ip=node.ip,
                capacity={"cpu": str(node.cpus), "memory": f"{node.mem_bytes // 1024}Ki",
                          "pods": str(node.max_pods), "ephemeral-storage": "104845292Ki"},
                allocatable={"cpu": f"{node.alloc_cpu_m}m",
                             "memory": f"{node.alloc_mem // 1024}Ki",
                             "pods": str(node.max_pods), "ephemeral-storage": "96625420061"},
                labels={"kubernetes.io/hostname": node.name, "kubernetes.io/os": "linux",
                        "kubernetes.io/arch": "amd64",
                        "node.kubernetes.io/instance-type": "m6i.2xlarge" if node.cpus == 8
                        else "m6i.xlarge", "topology.kubernetes.io/zone": "eu-west-1a"},
                ready=not down, boot_time_s=node.boot_s, node_info={
                    "kernelVersion": KERNEL, "osImage": OS_IMAGE,
                    "containerRuntimeVersion": RUNTIME, "kubeletVersion": KUBELET,
                    "kubeProxyVersion": KUBELET},
                pod_cidr=self._pod_cidr(node), provider_id=self._provider_id(node)))
            if down:
                continue
            busy, _ = self._node_busy(node, t, pods)
            used = self._node_mem_used(node, t[1:], pods)
            node_usage[node.name] = Usage(
                float((busy[1] - busy[0]) / window * self.cpu_scale(node)), int(used[0]))
        out_pods = []
        usage: dict[tuple[str, str, str], Usage] = {}
        for p in alive:
            node = self.nodes[p.node]
            running = now_s < p.run_end
            w = p.workload
            out_pods.append(Pod(
                namespace=p.namespace, name=p.name, node=node.name, uid=p.uid,
                containers=tuple(Container(c.name, c.image, c.requests(), c.limits())
                                 for c in w.containers),
                labels={"app.kubernetes.io/name": w.name,
                        **({"pod-template-hash": p.replicaset.rsplit("-", 1)[1]}
                           if p.replicaset else {})},
                host_ip=node.ip, pod_ip=p.ip, phase="Running" if running else "Succeeded",
                owner_kind=p.owner_kind, owner_name=p.owner_name, start_time_s=p.start,
                **self._container_history(p, now_s)))
            if not running or bool(self._node_down(node, t[1:])[0]) or now_s - p.start < 2 * window:
                continue
            for c in w.containers:
                cpu = self._cpu_counter(p, c, t)
                ws = self._working_set(p, c, t[1:])
                usage[(p.namespace, p.name, c.name)] = Usage(
                    max(0.0, float((cpu[1] - cpu[0]) / window)), int(ws[0]))
        out_pods.extend(events_sim.api_pods(self, now_s))  # no usage: none runs 2 windows
        return ClusterSnapshot(now_s, window, tuple(nodes), tuple(out_pods), node_usage, usage,
                               **workload_view(self, pods, now_s))

    def _container_history(self, pod: PodInst, now_s: float) -> dict[str, Any]:
        """Restart counts, container start times and last-termination reasons at ``now_s``."""
        t = np.array([now_s])
        restarts, started, reasons = {}, {}, {}
        for c in pod.workload.containers:
            n = int(self._restarts(pod, c, t)[0])
            if n:
                restarts[c.name] = n
                started[c.name] = float(self._last_start(pod, c, t)[0])
                reasons[c.name] = "OOMKilled"
        return {"restarts": restarts, "container_started_s": started,
                "last_terminated_reason": reasons}

    def _pod_cidr(self, node: SimNode) -> str:
        return f"10.244.{node.index}.0/24"

    def _provider_id(self, node: SimNode) -> str:
        return f"aws:///eu-west-1a/i-{hash64('i', node.name):017x}"[:40]

    # -- ground truth ----------------------------------------------------------------------

    def ground_truth(self) -> dict[str, Any]:
        """The planted scenarios, machine-readable (written as ``ground_truth.json``)."""
        sc = self.scenarios
        start, end = self.origin, self.end_s
        leak_pod = next(p for p in self.pods_between(end - 1, end)
                        if p.workload.name == "ledger")
        a = sc["oom_anchor"]
        ooms = [a + n * OOM_PERIOD_S for n in range(math.ceil((start - a) / OOM_PERIOD_S),
                                                   math.floor((end - a) / OOM_PERIOD_S) + 1)]
        ooms = [x for x in ooms if x > max(start, leak_pod.start)]
        thr_pods = [p for p in self.pods_between(end - 1, end) if p.workload.name == "indexer"]
        ana = [w for w in self.workloads if w.namespace == "analytics"]
        req = sum(w.replicas * c.cpu_req_m for w in ana for c in w.containers if c.cpu_req_m)
        use = sum(w.replicas * c.cpu_mean for w in ana for c in w.containers)
        memreq = sum(w.replicas * (c.mem_req_mi or 0) * MI for w in ana for c in w.containers)
        memuse = sum(w.replicas * c.mem_base for w in ana for c in w.containers)
        fs = self.fs_node
        d0, d1 = sc["down"]
        pvc_w = next(w for w in self.workloads if w.pvc)
        cross = self.origin + (0.70 - sc["pvc_start_frac"]) / sc["pvc_frac_per_s"]
        day0 = math.floor(start / DAY) * DAY
        windows = []
        for d in range(int(self.params.days) + 2):
            w0 = day0 + d * DAY + FLAP_HOURS[0] * 3600
            w1 = day0 + d * DAY + FLAP_HOURS[1] * 3600
            if w1 > start and w0 < end:
                windows.append([max(w0, start), min(w1, end)])
        return {
            "params": self.params.to_dict(),
            "history": {"start_s": start, "end_s": end, "interval_s": self.interval},
            "nodes": [{"name": n.name, "ip": n.ip, "instance": f"{n.ip}:9100", "cpus": n.cpus,
                       "memory_bytes": n.mem_bytes} for n in self.nodes],
            "capacity": capacity_sim.ground_truth(self),
            "workload_events": events_sim.ground_truth(self),
            "scenarios": {
                "oom_kills": {
                    "namespace": "payments", "deployment": "ledger", "pod": leak_pod.name,
                    "container": "ledger", "node": self.nodes[leak_pod.node].name,
                    "memory_limit_bytes": LEAK_LIMIT, "period_s": OOM_PERIOD_S,
                    "times_s": ooms, "alertname": "KubeContainerOOMKilled"},
                "cpu_throttling": {
                    "namespace": "search", "deployment": "indexer", "container": "indexer",
                    "pods": [p.name for p in thr_pods], "cpu_limit_cores": 0.5,
                    "throttled_ratio_mean": THROTTLE_RATIO, "alertname": "CPUThrottlingHigh"},
                "overprovisioned_namespace": {
                    "namespace": "analytics", "cpu_requests_cores": req / 1000,
                    "cpu_usage_mean_cores": use, "cpu_ratio": req / 1000 / use,
                    "memory_requests_bytes": memreq, "memory_usage_mean_bytes": memuse,
                    "memory_ratio": memreq / memuse},
                "filesystem_filling": {
                    "node": fs.name, "instance": f"{fs.ip}:9100", "device": "/dev/nvme0n1p1",
                    "mountpoint": "/", "size_bytes": ROOT_FS_SIZE,
                    "fill_rate_bytes_per_s": sc["fs_fill_frac_per_s"] * ROOT_FS_SIZE,
                    "avail_at_start_bytes": sc["fs_avail_start_frac"] * ROOT_FS_SIZE,
                    "floor_bytes": 0.01 * ROOT_FS_SIZE,
                    "alertname": "NodeFilesystemSpaceFillingUp"},
                "node_down": {
                    "node": self.down_node.name, "instance": f"{self.down_node.ip}:9100",
                    "start_s": d0, "end_s": d1, "alertname": "NodeExporterDown",
                    "targets": ["node-exporter", "kubelet /metrics", "kubelet /metrics/cadvisor"]},
                "pvc_over_70": {
                    "namespace": pvc_w.namespace, "persistentvolumeclaim": pvc_w.pvc,
                    "node": self.nodes[pvc_w.node or 0].name, "capacity_bytes": PVC_CAPACITY,
                    "crosses_70_at_s": cross,
                    "used_fraction_per_s": sc["pvc_frac_per_s"],
                    "alertname": "KubePersistentVolumeUsageHigh"},
                "flapping_alert": {
                    "alertname": "NodeLoadFlapping", "node": self.flap_node.name,
                    "instance": f"{self.flap_node.ip}:9100", "threshold": FLAP_THRESHOLD,
                    "period_s": FLAP_PERIOD_S, "high_s": FLAP_HIGH_S,
                    "daily_window_utc_hours": list(FLAP_HOURS), "windows_s": windows},
            },
        }


_WORDS = ("frontend", "api", "worker", "cart", "auth-svc", "notifier", "gateway", "scheduler",
          "profile", "inventory", "pricing", "mailer", "webhooks", "thumbnailer", "recommender",
          "sessions", "ledger-sync", "audit", "exporter", "crawler")
