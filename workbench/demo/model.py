"""The present state of a (simulated) Kubernetes cluster, as the Kubernetes API emulation needs it.

This is the contract between the simulator (:mod:`workbench.demo`) and the API emulation
(:mod:`workbench.demo.kube_api`): anything implementing :class:`ClusterSource` can be served as
``/api/v1/nodes``, ``/api/v1/pods`` and ``/apis/metrics.k8s.io/v1beta1/...``.

Quantities are kept as Kubernetes quantity strings in specs (``"250m"``, ``"512Mi"``) exactly as
a user wrote them, and as exact numbers in usage (cores as float, bytes as int); the emulation
encodes usage the way metrics-server does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["Claim", "ClusterSnapshot", "ClusterSource", "Container", "Controller", "Event", "Node",
           "Pod", "Usage"]


@dataclass(frozen=True)
class Usage:
    """Resource usage over the metrics window: CPU in cores, memory working set in bytes."""

    cpu_cores: float
    memory_bytes: int


@dataclass(frozen=True)
class Container:
    """A container spec: requests/limits as quantity strings keyed by resource name."""

    name: str
    image: str = "registry.example/app:1.0"
    requests: Mapping[str, str] = field(default_factory=dict)
    limits: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Pod:
    """A pod as CoreV1 describes it (the fields the workbench reads)."""

    namespace: str
    name: str
    node: str
    containers: tuple[Container, ...]
    uid: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    host_ip: str = ""
    pod_ip: str = ""
    phase: str = "Running"
    owner_kind: str | None = None
    owner_name: str | None = None
    start_time_s: float = 0.0
    #: per container name: restarts so far, when the running instance started, and why the
    #: previous one ended (containers not listed never restarted)
    restarts: Mapping[str, int] = field(default_factory=dict)
    container_started_s: Mapping[str, float] = field(default_factory=dict)
    last_terminated_reason: Mapping[str, str] = field(default_factory=dict)
    #: per container name: why it waits instead of running (``CrashLoopBackOff``,
    #: ``ImagePullBackOff``, ``ErrImagePull``); containers not listed run (or, in a pod whose
    #: phase is ``Succeeded``/``Failed``, have terminated)
    waiting_reason: Mapping[str, str] = field(default_factory=dict)
    #: per container name: when the last terminated instance finished (the previous one's
    #: ``lastState``, or the container of a finished pod); default: when the running one started
    finished_s: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Node:
    """A node: capacity and allocatable as quantity strings (``cpu``, ``memory``, ``pods``, ...)."""

    name: str
    internal_ip: str
    capacity: Mapping[str, str]
    allocatable: Mapping[str, str]
    labels: Mapping[str, str] = field(default_factory=dict)
    ready: bool = True
    boot_time_s: float = 0.0
    #: ``status.nodeInfo`` fields (kernelVersion, osImage, containerRuntimeVersion,
    #: kubeletVersion, kubeProxyVersion) and ``spec`` fields (podCIDR, providerID) that
    #: override the emulation's defaults, so the API and kube-state-metrics agree
    node_info: Mapping[str, str] = field(default_factory=dict)
    pod_cidr: str = ""
    provider_id: str = ""


@dataclass(frozen=True)
class Controller:
    """A workload controller (``Deployment``, ``ReplicaSet``, ``StatefulSet``, ``DaemonSet``).

    ``desired``/``current``/``ready`` are pod counts (a DaemonSet's desired is its node count);
    ``selector`` is the pod label selector; ``owner_name`` a ReplicaSet's Deployment.
    """

    kind: str
    namespace: str
    name: str
    desired: int
    current: int
    ready: int
    created_s: float
    selector: Mapping[str, str] = field(default_factory=dict)
    containers: tuple[Container, ...] = ()
    owner_name: str | None = None


@dataclass(frozen=True)
class Claim:
    """A PersistentVolumeClaim (bound to ``volume``)."""

    namespace: str
    name: str
    volume: str
    capacity: str
    storage_class: str
    created_s: float
    access_modes: tuple[str, ...] = ("ReadWriteOnce",)
    phase: str = "Bound"


@dataclass(frozen=True)
class Event:
    """A core/v1 Event about ``kind``/``name`` (``namespace`` '' for cluster-scoped objects)."""

    namespace: str
    kind: str
    name: str
    reason: str
    message: str
    first_s: float
    last_s: float
    count: int = 1
    type: str = "Normal"
    component: str = "kubelet"
    host: str = ""


@dataclass(frozen=True)
class ClusterSnapshot:
    """Specs plus the metrics-server view at one instant.

    ``node_usage`` is keyed by node name; ``container_usage`` by ``(namespace, pod, container)``.
    A node or pod missing from the usage maps has no metrics yet (metrics-server omits it).
    ``timestamp_s`` is the end of the metrics window; ``window_s`` its length.
    """

    timestamp_s: float
    window_s: float
    nodes: tuple[Node, ...]
    pods: tuple[Pod, ...]
    node_usage: Mapping[str, Usage]
    container_usage: Mapping[tuple[str, str, str], Usage]
    controllers: tuple[Controller, ...] = ()
    claims: tuple[Claim, ...] = ()
    events: tuple[Event, ...] = ()


class ClusterSource(Protocol):
    """Anything that can tell the cluster's state at a given time."""

    def snapshot(self, now_s: float) -> ClusterSnapshot:
        """Return the cluster state (and latest metrics) as of ``now_s`` (unix seconds)."""
        ...
