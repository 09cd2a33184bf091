"""The simulated cluster's controllers, claims and events at an instant (for the API emulation).

:meth:`~workbench.demo.sim.Cluster.snapshot` calls :func:`workload_view` so the emulated API
serves Deployments, ReplicaSets, StatefulSets, DaemonSets, PersistentVolumeClaims and Events that
agree with the pods it serves and with the kube-state-metrics series of the same instant
(``kube_deployment_spec_replicas``, ``kube_replicaset_owner``,
``kube_persistentvolumeclaim_info``, ``kube_pod_container_status_restarts_total``).

Examples
--------
>>> from workbench.demo.params import SMALL
>>> from workbench.demo.sim import Cluster
>>> c = Cluster(SMALL, end_s=1_764_000_000)
>>> snap = c.snapshot(c.end_s)
>>> sorted({k.kind for k in snap.controllers})
['DaemonSet', 'Deployment', 'ReplicaSet', 'StatefulSet']
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from . import events_sim
from ._signal import hash64
from .model import Claim, Container, Controller, Event

if TYPE_CHECKING:
    from .sim import Cluster, PodInst, Workload

__all__ = ["EVENT_TTL_S", "volume_name", "workload_view"]

#: How long the API server keeps events (its default ``--event-ttl``).
EVENT_TTL_S = 3600.0


def volume_name(claim: str) -> str:
    """The PersistentVolume bound to ``claim`` (also kube-state-metrics' ``volumename``)."""
    return f"pvc-{hash64('pv', claim):016x}"


def _containers(w: Workload) -> tuple[Container, ...]:
    return tuple(Container(c.name, c.image, c.requests(), c.limits()) for c in w.containers)


def _ready(c: Cluster, pod: PodInst, now_s: float) -> bool:
    node = c.nodes[pod.node]
    return now_s < pod.run_end and not bool(c._node_down(node, np.array([now_s]))[0])


def workload_view(c: Cluster, pods: list[PodInst], now_s: float) -> dict[str, Any]:
    """``controllers``, ``claims`` and ``events`` of :class:`~workbench.demo.model.ClusterSnapshot`."""
    alive = [p for p in pods if p.start <= now_s < p.end]
    first: dict[tuple[str, str], float] = {}
    for p in pods:
        key = (p.namespace, p.workload.name)
        first[key] = min(first.get(key, math.inf), p.start)
    by_w: dict[tuple[str, str], list[PodInst]] = {}
    for p in alive:
        by_w.setdefault((p.namespace, p.workload.name), []).append(p)
    out: list[Controller] = []
    for w in c.workloads:
        mine = by_w.get((w.namespace, w.name), [])
        if w.kind == "Job" or (not mine and w.kind != "Deployment"):
            continue
        created = first.get((w.namespace, w.name), now_s)
        sel = {"app.kubernetes.io/name": w.name}
        ready = sum(_ready(c, p, now_s) for p in mine)
        desired = len(c.nodes) if w.kind == "DaemonSet" else w.replicas
        out.append(Controller(w.kind, w.namespace, w.name, desired, len(mine), ready, created,
                              sel, _containers(w)))
        if w.kind == "Deployment":
            for rs in sorted({p.replicaset for p in mine if p.replicaset}):
                rs_pods = [p for p in mine if p.replicaset == rs]
                out.append(Controller(
                    "ReplicaSet", w.namespace, rs, w.replicas, len(rs_pods),
                    sum(_ready(c, p, now_s) for p in rs_pods), min(p.start for p in rs_pods),
                    {**sel, "pod-template-hash": rs.rsplit("-", 1)[1]}, _containers(w),
                    owner_name=w.name))
    out.extend(events_sim.api_controllers(c, now_s))  # the crash loop's, the image pull's
    claims = [Claim(w.namespace, w.pvc, volume_name(w.pvc), "50Gi", "gp3",
                    first.get((w.namespace, w.name), now_s))
              for w in c.workloads if w.pvc]
    return {"controllers": tuple(out), "claims": tuple(claims),
            "events": tuple(_events(c, pods, now_s))}


def _events(c: Cluster, pods: list[PodInst], now_s: float) -> list[Event]:
    """What the API server would still hold (the last :data:`EVENT_TTL_S`)."""
    since = now_s - EVENT_TTL_S
    out: list[Event] = []
    for p in pods:
        node = c.nodes[p.node]
        if since <= p.start <= now_s:
            out.append(Event(p.namespace, "Pod", p.name, "Scheduled",
                             f"Successfully assigned {p.namespace}/{p.name} to {node.name}",
                             p.start, p.start, component="default-scheduler"))
            for ctr in p.workload.containers:
                out.append(Event(p.namespace, "Pod", p.name, "Started",
                                 f"Started container {ctr.name}", p.start + 2, p.start + 2,
                                 host=node.name))
        if not p.start <= now_s < p.end:
            continue
        for ctr in p.workload.containers:
            t = np.array([since, now_s])
            n = c._restarts(p, ctr, t)
            if n[1] > n[0]:
                last = float(c._last_start(p, ctr, t)[1])
                out.append(Event(p.namespace, "Pod", p.name, "Started",
                                 f"Started container {ctr.name}", last, last,
                                 count=int(n[1] - n[0]), host=node.name))
                out.append(Event(p.namespace, "Pod", p.name, "BackOff",
                                 f"Back-off restarting failed container {ctr.name} in pod "
                                 f"{p.name}_{p.namespace}({p.uid})", last, last,
                                 count=int(n[1] - n[0]), type="Warning", host=node.name))
    out.extend(events_sim.kube_events(c, now_s, since))  # crash loop, image pull, failed Job
    d0, d1 = c.scenarios["down"]
    dn = c.down_node
    if since <= d0 <= now_s:
        out.append(Event("", "Node", dn.name, "NodeNotReady",
                         f"Node {dn.name} status is now: NodeNotReady", d0 + 40, d0 + 40,
                         component="node-controller"))
    if since <= d1 <= now_s:
        out.append(Event("", "Node", dn.name, "NodeReady",
                         f"Node {dn.name} status is now: NodeReady", d1, d1, host=dn.name))
    return sorted(out, key=lambda e: (e.last_s, e.namespace, e.name, e.reason))
