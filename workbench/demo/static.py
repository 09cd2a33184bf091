"""Fixed clusters for tests and benchmarks: explicit specs and usage, plus a large synthetic one.

:class:`StaticCluster` serves the same nodes, pods and usage at every instant (optionally with a
metrics timestamp that moves); :class:`ScriptedSource` plays a list of snapshots in order (one per
call), which is how tests make pods vanish between two requests. :func:`synthetic_cluster` builds
a seeded cluster of any size (2,000 pods for the benchmark) whose usage and specs are known
exactly; its quantities use every spelling the grammar allows (``"0.5"``, ``"1e9"``,
``"107374182400m"``, ``"1.5Gi"``...), and some containers have no requests at all.

Examples
--------
>>> from workbench.demo.static import synthetic_cluster
>>> cluster = synthetic_cluster(pods=20, nodes=3, namespaces=2, seed=1)
>>> snap = cluster.snapshot(0.0)
>>> len(snap.pods), len(snap.nodes)
(20, 3)
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Iterable, Mapping, Sequence

from .model import ClusterSnapshot, ClusterSource, Container, Node, Pod, Usage

__all__ = ["DEFAULT_TIMESTAMP_S", "ScriptedSource", "StaticCluster", "synthetic_cluster"]

#: 2026-06-01T00:00:00Z: the metrics timestamp static clusters report unless told otherwise.
DEFAULT_TIMESTAMP_S = 1_780_272_000.0


class StaticCluster:
    """A :class:`~workbench.demo.model.ClusterSource` with fixed specs and usage.

    Parameters
    ----------
    nodes, pods
        The cluster's objects.
    node_usage, container_usage
        Metrics keyed by node name and by ``(namespace, pod, container)``. Anything missing has
        no metrics (metrics-server omits it).
    timestamp_s, window_s
        End and length of the metrics window.
    refresh_s
        When set, the reported timestamp follows the clock instead, moving in steps of
        ``refresh_s`` (``floor(now / refresh_s) * refresh_s``), as metrics-server refreshes.

    Examples
    --------
    >>> from workbench.demo.model import Container, Node, Pod, Usage
    >>> node = Node("n1", "10.0.0.1", {"cpu": "4", "memory": "16Gi"}, {"cpu": "3920m",
    ...             "memory": "15Gi"})
    >>> pod = Pod("default", "web-1", "n1", (Container("app", requests={"cpu": "250m"}),))
    >>> c = StaticCluster([node], [pod], {"n1": Usage(1.5, 2**30)},
    ...                   {("default", "web-1", "app"): Usage(0.125, 50 * 2**20)})
    >>> c.snapshot(0).container_usage[("default", "web-1", "app")].cpu_cores
    0.125
    """

    def __init__(
        self,
        nodes: Iterable[Node],
        pods: Iterable[Pod],
        node_usage: Mapping[str, Usage] | None = None,
        container_usage: Mapping[tuple[str, str, str], Usage] | None = None,
        *,
        timestamp_s: float = DEFAULT_TIMESTAMP_S,
        window_s: float = 15.0,
        refresh_s: float | None = None,
    ) -> None:
        self.nodes = tuple(nodes)
        self.pods = tuple(pods)
        self.node_usage = dict(node_usage or {})
        self.container_usage = dict(container_usage or {})
        self.timestamp_s = timestamp_s
        self.window_s = window_s
        self.refresh_s = refresh_s
        self._snap: ClusterSnapshot | None = None

    def snapshot(self, now_s: float) -> ClusterSnapshot:
        """Return the fixed state; the timestamp follows ``now_s`` only when ``refresh_s`` is set."""
        ts = self.timestamp_s
        if self.refresh_s:
            ts = math.floor(now_s / self.refresh_s) * self.refresh_s
        snap = self._snap
        if snap is None or snap.timestamp_s != ts or snap.window_s != self.window_s:
            snap = ClusterSnapshot(
                timestamp_s=ts,
                window_s=self.window_s,
                nodes=self.nodes,
                pods=self.pods,
                node_usage=self.node_usage,
                container_usage=self.container_usage,
            )
            self._snap = snap
        return snap

    def without_pods(self, *keys: tuple[str, str]) -> StaticCluster:
        """Return a copy without the pods ``(namespace, name)`` (and their usage)."""
        gone = set(keys)
        return StaticCluster(
            self.nodes,
            [p for p in self.pods if (p.namespace, p.name) not in gone],
            self.node_usage,
            {k: v for k, v in self.container_usage.items() if (k[0], k[1]) not in gone},
            timestamp_s=self.timestamp_s,
            window_s=self.window_s,
            refresh_s=self.refresh_s,
        )

    def with_timestamp(self, timestamp_s: float) -> StaticCluster:
        """Return a copy whose metrics carry another timestamp."""
        return StaticCluster(self.nodes, self.pods, self.node_usage, self.container_usage,
                             timestamp_s=timestamp_s, window_s=self.window_s)


class ScriptedSource:
    """Plays ``sources`` in order, one per :meth:`snapshot` call; the last one repeats.

    Each HTTP request to the emulation calls :meth:`snapshot` once, so a two-element script
    answers the first request from the first cluster and every later one from the second.
    ``calls`` counts the requests served.
    """

    def __init__(self, sources: Sequence[ClusterSource]) -> None:
        if not sources:
            msg = "ScriptedSource needs at least one source."
            raise ValueError(msg)
        self.sources = list(sources)
        self.calls = 0
        self._lock = threading.Lock()

    def snapshot(self, now_s: float) -> ClusterSnapshot:
        """Return the next scripted snapshot."""
        with self._lock:
            source = self.sources[min(self.calls, len(self.sources) - 1)]
            self.calls += 1
        return source.snapshot(now_s)


# -- a large synthetic cluster -------------------------------------------------------------------

_CPU_REQUESTS = ("100m", "250m", "0.5", "1", "1500m", "50m", "2", "0.1")
_MEM_REQUESTS = ("128Mi", "256Mi", "1Gi", "0.5Gi", "536870912", "1e9", "500M", "107374182400m",
                 "1.5Gi", "64Mi")
_NODE_SHAPES = (  # capacity cpu, allocatable cpu, capacity memory, allocatable memory
    ("4", "3920m", "16Gi", "15364728Ki"),
    ("8", "7910m", "32Gi", "31260380Ki"),
    ("16", "15890m", "64Gi", "63.5Gi"),
)


def synthetic_cluster(
    pods: int = 2000,
    nodes: int = 50,
    namespaces: int = 20,
    *,
    seed: int = 0,
    timestamp_s: float = DEFAULT_TIMESTAMP_S,
    window_s: float = 15.013,
    no_metrics_fraction: float = 0.01,
) -> StaticCluster:
    """Build a seeded cluster with known usage, for tests and benchmarks.

    Parameters
    ----------
    pods, nodes, namespaces
        Size. Pods are spread over deployments of 1-6 replicas with 1-3 containers each.
    seed
        Makes the cluster reproducible.
    no_metrics_fraction
        Share of pods left ``Pending`` without metrics (metrics-server omits them): every
        ``round(1 / no_metrics_fraction)``-th pod, so small clusters have one too. The last
        node also has no metrics when there are at least three nodes.

    Returns
    -------
    StaticCluster
        CPU usage is a whole number of nanocores (``cpu_cores = n / 1e9``) and memory a whole
        number of bytes, so a round trip through metrics-server's encoding is exact.
    """
    rng = random.Random(seed)
    node_objs: list[Node] = []
    node_usage: dict[str, Usage] = {}
    for i in range(nodes):
        cap_cpu, alloc_cpu, cap_mem, alloc_mem = _NODE_SHAPES[i % len(_NODE_SHAPES)]
        name = f"node-{i:03d}"
        zone = f"zone-{'abc'[i % 3]}"
        node_objs.append(Node(
            name=name,
            internal_ip=f"10.0.{i // 250}.{i % 250 + 1}",
            capacity={"cpu": cap_cpu, "memory": cap_mem, "pods": "110",
                      "ephemeral-storage": "100Gi"},
            allocatable={"cpu": alloc_cpu, "memory": alloc_mem, "pods": "110",
                         "ephemeral-storage": "95Gi"},
            labels={"kubernetes.io/hostname": name, "topology.kubernetes.io/zone": zone,
                    "node-role.kubernetes.io/worker": "", "kubernetes.io/os": "linux"},
            ready=not (nodes >= 3 and i == nodes - 2),
            boot_time_s=timestamp_s - 86_400 * (1 + i % 30),
        ))
        if not (nodes >= 3 and i == nodes - 1):
            node_usage[name] = Usage(rng.randrange(50_000_000, 3_000_000_000) / 1e9,
                                     rng.randrange(1 << 28, 12 << 30))
    ns_names = [f"team-{i:02d}" for i in range(max(namespaces - 2, 1))]
    ns_names += ["kube-system", "monitoring"][: max(namespaces - len(ns_names), 0)]
    pod_objs: list[Pod] = []
    usage: dict[tuple[str, str, str], Usage] = {}
    deploy = 0
    used: set[str] = set()
    step = round(1 / no_metrics_fraction) if no_metrics_fraction > 0 else 0
    while len(pod_objs) < pods:
        ns = ns_names[deploy % len(ns_names)]
        app = f"app-{deploy:04d}"
        replicas = min(rng.randint(1, 6), pods - len(pod_objs))
        n_containers = rng.choice((1, 1, 1, 2, 2, 3))
        containers = []
        for c in range(n_containers):
            cname = "app" if c == 0 else ("sidecar", "proxy")[c - 1]
            requests: dict[str, str] = {}
            limits: dict[str, str] = {}
            roll = rng.random()
            if roll > 0.15:  # 15% of containers set no requests at all
                requests["cpu"] = rng.choice(_CPU_REQUESTS)
                requests["memory"] = rng.choice(_MEM_REQUESTS)
            if roll > 0.6:
                limits["memory"] = rng.choice(("1Gi", "2Gi", "4Gi", "3e9"))
            if 0.05 < roll < 0.1:  # limits only: the API server defaults requests to them
                limits["cpu"] = "1"
                limits["memory"] = "1Gi"
            containers.append(Container(cname, image=f"registry.example/{app}-{cname}:1.{c}",
                                        requests=requests, limits=limits))
        rs = f"{app}-{rng.randrange(16**8, 16**9):x}"[: len(app) + 10]
        for _ in range(replicas):
            idx = len(pod_objs)
            name = f"{rs}-{rng.randrange(16**5):05x}"
            while name in used:
                name = f"{rs}-{rng.randrange(16**5):05x}"
            used.add(name)
            node = node_objs[rng.randrange(nodes)]
            pending = step > 0 and idx % step == step // 2
            pod = Pod(
                namespace=ns,
                name=name,
                node=node.name,
                containers=tuple(containers),
                uid=f"00000000-0000-4000-8000-{idx:012d}",
                labels={"app.kubernetes.io/name": app, "pod-template-hash": rs[len(app) + 1:],
                        "tier": ("web", "backend", "batch")[deploy % 3]},
                host_ip=node.internal_ip,
                pod_ip=f"10.244.{idx // 250}.{idx % 250 + 2}",
                phase="Pending" if pending else "Running",
                owner_kind="ReplicaSet",
                owner_name=rs,
                start_time_s=timestamp_s - rng.randrange(300, 30 * 86_400),
            )
            pod_objs.append(pod)
            if pending:
                continue
            for ctr in containers:
                mem = rng.randrange(1 << 20, 3 << 30)
                if rng.random() < 0.8:  # working sets are mostly whole pages: "...Ki"
                    mem -= mem % 4096
                usage[(ns, name, ctr.name)] = Usage(rng.randrange(0, 2_000_000_000) / 1e9, mem)
        deploy += 1
    return StaticCluster(node_objs, pod_objs, node_usage, usage, timestamp_s=timestamp_s,
                         window_s=window_s)

