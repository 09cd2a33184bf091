"""Where the simulated scheduler binds each pod: requests must fit the node's allocatable.

The kube-scheduler binds a pod to a node only if the requests of the node's non-terminated pods
plus the new pod's fit its allocatable (CPU and memory). :func:`placements` replays every pod of
the history in start order: DaemonSet pods and pods pinned to a node keep their node; the others
go to their preferred (hashed) node when they fit, else to the node with the most free CPU that
fits, else nowhere (they would stay Pending; the demo is sized so that none does).

>>> from workbench.demo.sim import Cluster
>>> from workbench.demo.params import SMALL
>>> c = Cluster(SMALL, end_s=1_764_000_000)
>>> all(n >= 0 for n in placements(c).values())
True
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .sim import Cluster

#: Pods are scheduled up to this long after the history's end (the live demo goes on).
HORIZON_S = 30 * 86400.0

MI = 1024 * 1024


def placements(cluster: Cluster) -> dict[str, int]:
    """Pod name -> node index (``-1``: fits no node) for every pod of the history and horizon."""
    pods = [p for w in cluster.workloads
            for p in cluster._instances(w, cluster.origin, cluster.end_s + HORIZON_S)]
    pods.sort(key=lambda p: (p.start, p.name))
    n = len(cluster.nodes)
    free_cpu = [float(sn.alloc_cpu_m) for sn in cluster.nodes]
    free_mem = [float(sn.alloc_mem) for sn in cluster.nodes]
    running: list[list[tuple[float, float, float]]] = [[] for _ in range(n)]
    out: dict[str, int] = {}
    for p in pods:
        for i in range(n):  # release the pods that terminated before this one starts
            heap = running[i]
            while heap and heap[0][0] <= p.start:
                _, c, m = heapq.heappop(heap)
                free_cpu[i] += c
                free_mem[i] += m
        cpu = float(sum(c.cpu_req_m or 0 for c in p.workload.containers))
        mem = float(sum((c.mem_req_mi or 0) * MI for c in p.workload.containers))
        pinned = p.owner_kind == "DaemonSet" or p.workload.node is not None
        if pinned or (free_cpu[p.node] >= cpu and free_mem[p.node] >= mem):
            node = p.node
        else:
            fits = [i for i in range(n) if free_cpu[i] >= cpu and free_mem[i] >= mem]
            node = max(fits, key=lambda i: (free_cpu[i], -i)) if fits else -1
        out[p.name] = node
        if node >= 0:
            free_cpu[node] -= cpu
            free_mem[node] -= mem
            heapq.heappush(running[node], (p.run_end, cpu, mem))
    return out
