"""A small Kubernetes API server emulation over a :class:`~workbench.demo.model.ClusterSource`.

It serves, from ``source.snapshot(time.time())`` at request time, what the workbench (and the
real ``kubernetes`` Python client) reads:

=================================================  ===========================================
``/version``, ``/api``, ``/api/v1``, ``/apis``      discovery (``metrics.k8s.io`` listed when
``/apis/metrics.k8s.io[/v1beta1]``                  registered)
``/api/v1/nodes[/{name}]``                          Node objects (capacity, allocatable, Ready)
``/api/v1/pods``, ``/api/v1/namespaces/{ns}/pods``  Pod objects (requests/limits, owners, IPs)
``/api/v1/namespaces/{ns}/pods/{name}``             one Pod
``/api/v1/namespaces``                              namespaces that hold pods
``/apis/metrics.k8s.io/v1beta1/nodes[/{name}]``     NodeMetrics
``/apis/metrics.k8s.io/v1beta1/pods``               PodMetrics (all namespaces)
``/apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods[/{name}]``
=================================================  ===========================================

For ``kubectl get`` (see :mod:`.kube_tables`) it also serves ``apps/v1`` Deployments,
ReplicaSets, StatefulSets and DaemonSets, core PersistentVolumeClaims and Events (the last hour),
and metrics-server's ``apiregistration.k8s.io/v1`` APIService; with
``Accept: application/json;as=Table;g=meta.k8s.io;v=v1`` lists and objects come back as
server-side ``Table``s with the real printers' columns.

Objects look like the real ones: metrics-server's encodings (CPU ``"137505512n"``, memory
``"1842164Ki"``, ``window`` as a Go duration, second-resolution RFC 3339 timestamps, items sorted
by namespace and name, pods with a container lacking usage omitted), spec quantities in the API
server's canonical form, requests defaulted to limits when only limits are set. ``labelSelector``
supports ``=``, ``==``, ``!=``, ``in``, ``notin``, ``key``, ``!key``, ``>``, ``<``;
``fieldSelector`` supports ``metadata.name``, ``metadata.namespace`` and, on pods,
``spec.nodeName`` and ``status.phase``. Core lists honour ``limit``/``continue``; metrics lists
ignore them, as metrics-server does. Errors are ``Status`` objects.

``metrics_api`` simulates metrics-server's health: ``"ok"``; ``"missing"`` (404 and absent from
discovery, as when it is not installed); ``"unavailable"`` (503, APIService registered but the
backend is down); ``"forbidden"`` (403 naming the verb and resource, as an RBAC denial). It can be
changed while the server runs (``server.metrics_api = "unavailable"``).

Examples
--------
>>> from workbench.demo.static import synthetic_cluster
>>> with serve_kube_api(synthetic_cluster(pods=10, nodes=2, namespaces=1)) as api:
...     api.url.startswith("http://127.0.0.1:")
True
"""

from __future__ import annotations

import base64
import hmac
import math
import os
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Collection, Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from .._quantity import (
    canonical_quantity,
    format_cpu_nanocores,
    format_go_duration,
    format_memory_bytes,
)
from .kube_tables import (
    TABLE_KINDS,
    apiservice_object,
    snapshot_objects,
    to_table,
    wants_table,
)
from .model import ClusterSnapshot, ClusterSource, Container, Node, Pod

__all__ = [
    "METRICS_API_MODES",
    "KubeApiServer",
    "LabelSelectorError",
    "match_labels",
    "parse_label_selector",
    "serve_kube_api",
    "write_kubeconfig",
]

METRICS_API_MODES = ("ok", "missing", "unavailable", "forbidden")
METRICS_GROUP = "metrics.k8s.io"
METRICS_VERSION = "v1beta1"
_METRICS_PREFIX = f"/apis/{METRICS_GROUP}/{METRICS_VERSION}"
_UID_NS = uuid.UUID("6f1c4a52-8f0e-4d0c-9d7e-2b8a0c1e5a11")
#: Resources beyond nodes/pods/namespaces (kubectl get): group -> resource -> (kind, namespaced)
_EXTRA_RESOURCES: dict[str, dict[str, tuple[str, bool]]] = {
    "": {"persistentvolumeclaims": ("PersistentVolumeClaim", True), "events": ("Event", True)},
    "apps": {"deployments": ("Deployment", True), "replicasets": ("ReplicaSet", True),
             "statefulsets": ("StatefulSet", True), "daemonsets": ("DaemonSet", True)},
    "apiregistration.k8s.io": {"apiservices": ("APIService", False)},
}
_EXTRA_GROUPS = ("apps", "apiregistration.k8s.io")
_SHORT = {"persistentvolumeclaims": ["pvc"], "events": ["ev"], "deployments": ["deploy"],
          "replicasets": ["rs"], "statefulsets": ["sts"], "daemonsets": ["ds"]}


def _resource_list(group: str) -> list[dict[str, Any]]:
    return [{"name": r, "singularName": kind.lower(), "namespaced": namespaced, "kind": kind,
             "verbs": ["get", "list"], **({"shortNames": _SHORT[r]} if r in _SHORT else {})}
            for r, (kind, namespaced) in _EXTRA_RESOURCES[group].items()]


# -- label and field selectors ---------------------------------------------------------------------


class LabelSelectorError(ValueError):
    """A label or field selector that does not parse (answered with 400 BadRequest)."""


_KEY = r"[A-Za-z0-9](?:[-A-Za-z0-9_./]*[A-Za-z0-9])?"
_VALUE = r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?"
_REQ_RE = re.compile(
    rf"\s*(?:(?P<not>!)\s*(?P<nkey>{_KEY})"
    rf"|(?P<key>{_KEY})\s*(?:(?P<op>==|!=|=|>|<)\s*(?P<value>{_VALUE})"
    rf"|\s+(?P<setop>in|notin)\s*\((?P<values>[^()]*)\))?)\s*"
)

Requirement = tuple[str, str, tuple[str, ...]]  # (key, operator, values)


def _split_top(text: str) -> list[str]:
    parts: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


def parse_label_selector(text: str | None) -> list[Requirement]:
    """Parse a Kubernetes label selector into ``(key, op, values)`` requirements.

    Operators: ``=``, ``!=``, ``in``, ``notin``, ``exists``, ``!`` (does not exist), ``>``, ``<``.

    Examples
    --------
    >>> parse_label_selector("app=web,tier in (a, b),!canary")
    [('app', '=', ('web',)), ('tier', 'in', ('a', 'b')), ('canary', '!', ())]
    """
    if text is None or not text.strip():
        return []
    reqs: list[Requirement] = []
    for part in _split_top(text):
        m = _REQ_RE.fullmatch(part)
        if m is None or not part.strip():
            msg = f"unable to parse requirement: {part.strip()!r} in selector {text!r}"
            raise LabelSelectorError(msg)
        if m["not"]:
            reqs.append((m["nkey"], "!", ()))
        elif m["op"]:
            op = "=" if m["op"] == "==" else m["op"]
            if op in "<>" and not re.fullmatch(r"-?\d+", m["value"] or ""):
                msg = f"for 'Gt', 'Lt' operators, the value must be an integer: {part.strip()!r}"
                raise LabelSelectorError(msg)
            reqs.append((m["key"], op, (m["value"] or "",)))
        elif m["setop"]:
            values = tuple(v.strip() for v in m["values"].split(","))
            if not all(re.fullmatch(_VALUE, v) for v in values):
                msg = f"invalid label value in {part.strip()!r}"
                raise LabelSelectorError(msg)
            reqs.append((m["key"], m["setop"], values))
        else:
            reqs.append((m["key"], "exists", ()))
    return reqs


def match_labels(reqs: Iterable[Requirement], labels: Mapping[str, str]) -> bool:
    """Return whether ``labels`` satisfy every requirement (Kubernetes semantics).

    ``!=`` and ``notin`` match objects that lack the label, as in Kubernetes.
    """
    for key, op, values in reqs:
        have = key in labels
        val = labels.get(key)
        if op == "=":
            ok = have and val == values[0]
        elif op == "!=":
            ok = not have or val != values[0]
        elif op == "in":
            ok = have and val in values
        elif op == "notin":
            ok = not have or val not in values
        elif op == "exists":
            ok = have
        elif op == "!":
            ok = not have
        else:  # > <
            try:
                n = int(val) if have and val is not None else None
            except ValueError:
                n = None
            ok = n is not None and (n > int(values[0]) if op == ">" else n < int(values[0]))
        if not ok:
            return False
    return True


def _parse_field_selector(text: str | None, allowed: Collection[str]) -> list[tuple[str, bool, str]]:
    """``a=b,c!=d`` -> ``[(field, equal, value)]``; unknown fields raise LabelSelectorError."""
    out: list[tuple[str, bool, str]] = []
    if not text:
        return out
    for part in text.split(","):
        m = re.fullmatch(r"\s*([A-Za-z.]+)\s*(==|!=|=)\s*(\S*)\s*", part)
        if m is None:
            msg = f"invalid field selector: {part!r}"
            raise LabelSelectorError(msg)
        if m[1] not in allowed:
            msg = f'field label not supported: {m[1]}'
            raise LabelSelectorError(msg)
        out.append((m[1], m[2] != "!=", m[3]))
    return out


def _match_fields(sel: list[tuple[str, bool, str]], fields: Mapping[str, str]) -> bool:
    return all((fields.get(f, "") == v) == eq for f, eq, v in sel)


# -- objects -----------------------------------------------------------------------------------------


def _rfc3339(ts: float) -> str:
    """metav1.Time: second resolution, truncated, UTC."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(math.floor(ts)))


def _uid(*parts: str) -> str:
    return str(uuid.uuid5(_UID_NS, "/".join(parts)))


def _canonical_map(values: Mapping[str, str]) -> dict[str, str]:
    return {k: canonical_quantity(str(v)) for k, v in values.items()}


def node_object(node: Node, now_s: float) -> dict[str, Any]:
    """A CoreV1 Node as the API server returns it."""
    ready = "True" if node.ready else "Unknown"
    since = _rfc3339(node.boot_time_s or now_s - 86_400)
    conditions = [
        {"type": t, "status": "False", "reason": f"KubeletHasSufficient{t[:-8] or t}",
         "message": f"kubelet has no {t}", "lastHeartbeatTime": _rfc3339(now_s - 10),
         "lastTransitionTime": since}
        for t in ("MemoryPressure", "DiskPressure", "PIDPressure")
    ]
    conditions.append({
        "type": "Ready", "status": ready,
        "reason": "KubeletReady" if node.ready else "NodeStatusUnknown",
        "message": "kubelet is posting ready status" if node.ready
        else "Kubelet stopped posting node status.",
        "lastHeartbeatTime": _rfc3339(now_s - 10), "lastTransitionTime": since,
    })
    return {
        "metadata": {
            "name": node.name,
            "uid": _uid("node", node.name),
            "resourceVersion": "1000",
            "creationTimestamp": since,
            "labels": dict(node.labels),
            "annotations": {"node.alpha.kubernetes.io/ttl": "0"},
        },
        "spec": {"podCIDR": node.pod_cidr or "10.244.0.0/24",
                 "providerID": node.provider_id or f"demo://{node.name}"},
        "status": {
            "capacity": _canonical_map(node.capacity),
            "allocatable": _canonical_map(node.allocatable),
            "conditions": conditions,
            "addresses": [{"type": "InternalIP", "address": node.internal_ip},
                          {"type": "Hostname", "address": node.name}],
            "nodeInfo": {
                "machineID": _uid("machine", node.name).replace("-", ""),
                "systemUUID": _uid("system", node.name),
                "bootID": _uid("boot", node.name, str(node.boot_time_s)),
                "kernelVersion": "6.1.0-28-amd64",
                "osImage": "Debian GNU/Linux 12 (bookworm)",
                "containerRuntimeVersion": "containerd://1.7.22",
                "kubeletVersion": "v1.31.4",
                "kubeProxyVersion": "v1.31.4",
                "operatingSystem": "linux",
                "architecture": "amd64",
                **node.node_info,
            },
        },
    }


def _resources(requests: Mapping[str, str], limits: Mapping[str, str]) -> dict[str, Any]:
    req = dict(requests)
    for k, v in limits.items():  # the API server defaults a missing request to the limit
        req.setdefault(k, v)
    out: dict[str, Any] = {}
    if limits:
        out["limits"] = _canonical_map(limits)
    if req:
        out["requests"] = _canonical_map(req)
    return out


def _qos(pod: Pod) -> str:
    reqs = [(c.requests, c.limits) for c in pod.containers]
    if all(not r and not lim for r, lim in reqs):
        return "BestEffort"
    for r, lim in reqs:
        for res in ("cpu", "memory"):
            if res not in lim or canonical_quantity(r.get(res, lim[res])) != canonical_quantity(
                    lim[res]):
                return "Burstable"
    return "Guaranteed"


def pod_object(pod: Pod, now_s: float) -> dict[str, Any]:
    """A CoreV1 Pod as the API server returns it."""
    uid = pod.uid or _uid("pod", pod.namespace, pod.name)
    start = _rfc3339(pod.start_time_s or now_s - 3600)
    meta: dict[str, Any] = {
        "name": pod.name,
        "namespace": pod.namespace,
        "uid": uid,
        "resourceVersion": "1000",
        "creationTimestamp": start,
        "labels": dict(pod.labels),
    }
    if pod.owner_kind and pod.owner_name:
        api_version = "batch/v1" if pod.owner_kind == "Job" else "apps/v1"
        meta["ownerReferences"] = [{
            "apiVersion": api_version, "kind": pod.owner_kind, "name": pod.owner_name,
            "uid": _uid(pod.owner_kind, pod.namespace, pod.owner_name),
            "controller": True, "blockOwnerDeletion": True,
        }]
    running = pod.phase == "Running"
    spec: dict[str, Any] = {
        "containers": [
            {"name": c.name, "image": c.image, "resources": _resources(c.requests, c.limits),
             "terminationMessagePath": "/dev/termination-log", "imagePullPolicy": "IfNotPresent"}
            for c in pod.containers
        ],
        "restartPolicy": "Never" if pod.owner_kind == "Job" else "Always",
        "schedulerName": "default-scheduler",
        "serviceAccountName": "default",
        "terminationGracePeriodSeconds": 30,
    }
    if pod.node:
        spec["nodeName"] = pod.node
    status: dict[str, Any] = {
        "phase": pod.phase,
        "qosClass": _qos(pod),
        "startTime": start,
        "conditions": [{"type": "Ready",
                        "status": "True" if running and not pod.waiting_reason else "False",
                        "lastTransitionTime": start}],
        "containerStatuses": [_container_status(pod, c, uid, start, running)
                              for c in pod.containers],
    }
    if pod.host_ip:
        status["hostIP"] = pod.host_ip
        status["hostIPs"] = [{"ip": pod.host_ip}]
    if pod.pod_ip:
        status["podIP"] = pod.pod_ip
        status["podIPs"] = [{"ip": pod.pod_ip}]
    return {"metadata": meta, "spec": spec, "status": status}


def _container_status(pod: Pod, c: Container, uid: str, start: str, running: bool
                      ) -> dict[str, Any]:
    restarts = int(pod.restarts.get(c.name, 0))
    started = _rfc3339(pod.container_started_s[c.name]) if c.name in pod.container_started_s \
        else start
    finished = _rfc3339(pod.finished_s[c.name]) if c.name in pod.finished_s else started
    reason = pod.last_terminated_reason.get(c.name, "Error")
    code = 137 if reason == "OOMKilled" else 1  # SIGKILL by the OOM killer, else the app's exit
    waiting = pod.waiting_reason.get(c.name)
    pulled = waiting not in ("ErrImagePull", "ImagePullBackOff")
    up = running and waiting is None
    state: dict[str, Any]
    if up:
        state = {"running": {"startedAt": started}}
    elif pod.phase == "Succeeded":
        state = {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": start}}
    elif pod.phase == "Failed":
        state = {"terminated": {"exitCode": code, "reason": reason, "startedAt": started,
                                "finishedAt": finished}}
    elif waiting:
        state = {"waiting": {"reason": waiting, "message": _waiting_message(waiting, pod, c)}}
    else:
        state = {"waiting": {"reason": "ContainerCreating"}}
    has_ctr = pulled and (running or pod.phase == "Failed")
    out: dict[str, Any] = {
        "name": c.name, "image": c.image, "ready": up, "started": up,
        "restartCount": restarts,
        "imageID": f"{c.image.split(':')[0]}@sha256:{_uid('img', c.image).replace('-', '')}"
        if has_ctr else "",
        **({"containerID": "containerd://" + _uid(
            "ctr", uid, c.name, *([str(restarts)] if restarts else [])).replace("-", "")}
           if has_ctr else {}),
        "state": state,
    }
    if pod.phase not in ("Succeeded", "Failed") and (restarts or c.name in pod.finished_s):
        out["lastState"] = {"terminated": {"exitCode": code, "reason": reason,
                                           "finishedAt": finished}}
    return out


def _waiting_message(reason: str, pod: Pod, c: Container) -> str:
    if reason == "CrashLoopBackOff":
        return (f"back-off restarting failed container={c.name} "
                f"pod={pod.name}_{pod.namespace}({pod.uid})")
    if reason == "ImagePullBackOff":
        return f'Back-off pulling image "{c.image}"'
    if reason == "ErrImagePull":
        return f'failed to pull and unpack image "{c.image}": not found'
    return ""


def _nanocores(cores: float) -> int:
    return round(cores * 1_000_000_000)


def node_metrics_objects(snap: ClusterSnapshot, now_s: float) -> list[dict[str, Any]]:
    """NodeMetrics for every node with usage, sorted by name (metrics-server's view)."""
    ts, window, created = _rfc3339(snap.timestamp_s), format_go_duration(snap.window_s), \
        _rfc3339(now_s)
    out = []
    for node in sorted(snap.nodes, key=lambda n: n.name):
        u = snap.node_usage.get(node.name)
        if u is None:
            continue
        out.append({
            "metadata": {"name": node.name, "creationTimestamp": created,
                         "labels": dict(node.labels)},
            "timestamp": ts,
            "window": window,
            "usage": {"cpu": format_cpu_nanocores(_nanocores(u.cpu_cores)),
                      "memory": format_memory_bytes(u.memory_bytes)},
        })
    return out


def pod_metrics_objects(snap: ClusterSnapshot, now_s: float) -> list[dict[str, Any]]:
    """PodMetrics, sorted by (namespace, name); a pod with a container lacking usage is omitted."""
    ts, window, created = _rfc3339(snap.timestamp_s), format_go_duration(snap.window_s), \
        _rfc3339(now_s)
    out = []
    usage = snap.container_usage
    for pod in sorted(snap.pods, key=lambda p: (p.namespace, p.name)):
        containers = []
        for c in pod.containers:
            u = usage.get((pod.namespace, pod.name, c.name))
            if u is None:
                break
            containers.append({"name": c.name, "usage": {
                "cpu": format_cpu_nanocores(_nanocores(u.cpu_cores)),
                "memory": format_memory_bytes(u.memory_bytes)}})
        else:
            if not containers:
                continue
            out.append({
                "metadata": {"name": pod.name, "namespace": pod.namespace,
                             "creationTimestamp": created, "labels": dict(pod.labels)},
                "timestamp": ts,
                "window": window,
                "containers": containers,
            })
    return out


def _status(code: int, reason: str, message: str, details: Mapping[str, Any] | None = None
            ) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {},
                            "status": "Failure", "message": message, "reason": reason,
                            "code": code}
    if details is not None:
        body["details"] = dict(details)
    return body


def _node_fields(n: Node) -> dict[str, str]:
    return {"metadata.name": n.name}


def _pod_fields(p: Pod) -> dict[str, str]:
    return {"metadata.name": p.name, "metadata.namespace": p.namespace, "spec.nodeName": p.node,
            "status.phase": p.phase}


# -- the server -------------------------------------------------------------------------------------


class _HttpError(Exception):
    def __init__(self, code: int, body: dict[str, Any]) -> None:
        self.code = code
        self.body = body


class KubeApiServer:
    """A running emulation (returned by :func:`serve_kube_api`); stop it with :meth:`stop`.

    Attributes
    ----------
    url : str
        Base URL, e.g. ``http://127.0.0.1:40123``.
    requests : deque of str
        The last 1,000 paths (with query) served, for tests.
    """

    def __init__(self, source: ClusterSource, *, host: str = "127.0.0.1", port: int = 0,
                 token: str | None = None, metrics_api: str = "ok",
                 user: str = "system:serviceaccount:monitoring:workbench",
                 forbidden_resources: Collection[str] = (),
                 clock: Callable[[], float] = time.time) -> None:
        self.source = source
        self._token = token
        self.metrics_api = metrics_api
        self.user = user
        self.forbidden_resources = set(forbidden_resources)
        self.clock = clock
        self.requests: deque[str] = deque(maxlen=1000)
        self._cache: dict[str, tuple[ClusterSnapshot, int, Any]] = {}
        self._lock = threading.Lock()
        handler = type("_Handler", (_Handler,), {"api": self})
        self._httpd = ThreadingHTTPServer((host, port), handler)
        self._httpd.daemon_threads = True
        h, p = self._httpd.server_address[:2]
        host_s = h.decode() if isinstance(h, bytes) else str(h)
        self.url = f"http://{host_s}:{p}"
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.1},
                                        name=f"kube-api-{p}", daemon=True)
        self._thread.start()

    @property
    def metrics_api(self) -> str:
        """The simulated metrics-server state: ``ok``, ``missing``, ``unavailable``, ``forbidden``."""
        return self._metrics_api

    @metrics_api.setter
    def metrics_api(self, mode: str) -> None:
        if mode not in METRICS_API_MODES:
            msg = f"metrics_api must be one of {METRICS_API_MODES}, got {mode!r}."
            raise ValueError(msg)
        self._metrics_api = mode

    def __repr__(self) -> str:
        auth = ", token=<hidden>" if self._token else ""
        return f"KubeApiServer(url={self.url!r}, metrics_api={self.metrics_api!r}{auth})"

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> KubeApiServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- request handling (called from handler threads) --

    def _objects(self, kind: str, snap: ClusterSnapshot, now_s: float) -> Any:
        """Build (and cache per snapshot) the serialisable objects of one kind."""
        with self._lock:
            hit = self._cache.get(kind)
            second = math.floor(now_s)
            if hit is not None and hit[0] is snap and (kind.startswith("core") or hit[1] == second):
                return hit[2]
        if kind == "core-nodes":
            objs: Any = [(n, node_object(n, now_s)) for n in sorted(snap.nodes, key=lambda n: n.name)]
        elif kind == "core-pods":
            objs = [(p, pod_object(p, now_s))
                    for p in sorted(snap.pods, key=lambda p: (p.namespace, p.name))]
        elif kind == "metrics-nodes":
            objs = node_metrics_objects(snap, now_s)
        else:
            objs = pod_metrics_objects(snap, now_s)
        with self._lock:
            self._cache[kind] = (snap, second, objs)
        return objs

    def handle(self, method: str, raw_path: str, headers: Mapping[str, str]) -> tuple[int, bytes]:
        self.requests.append(raw_path)
        try:
            if method != "GET":
                raise _HttpError(405, _status(405, "MethodNotAllowed",
                                              f"the server does not allow this method on the "
                                              f"requested resource ({method})"))
            if self._token is not None:
                auth = headers.get("authorization") or ""  # header names are lower-cased
                expected = f"Bearer {self._token}"
                if not hmac.compare_digest(auth.encode(), expected.encode()):
                    raise _HttpError(401, _status(401, "Unauthorized", "Unauthorized"))
            parts = urlsplit(raw_path)
            query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            body = self._route(parts.path.rstrip("/") or "/", query)
            if wants_table(headers.get("accept")) and isinstance(body, dict) and (
                    "items" in body or body.get("kind") in TABLE_KINDS):
                body = to_table(body, self.clock(), query.get("includeObject", "Metadata"))
            return 200, orjson.dumps(body)
        except _HttpError as exc:
            return exc.code, orjson.dumps(exc.body)
        except LabelSelectorError as exc:
            return 400, orjson.dumps(_status(400, "BadRequest", str(exc)))

    def _route(self, path: str, query: Mapping[str, str]) -> Any:
        seg = path.strip("/").split("/") if path != "/" else []
        if path == "/version":
            return {"major": "1", "minor": "31", "gitVersion": "v1.31.4-workbench-demo",
                    "gitCommit": "0" * 40, "gitTreeState": "clean",
                    "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.22.10",
                    "compiler": "gc", "platform": "linux/amd64"}
        if path == "/api":
            return {"kind": "APIVersions", "versions": ["v1"],
                    "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                                    "serverAddress": self.url[7:]}]}
        if path == "/apis":
            groups = []
            for group in _EXTRA_GROUPS:
                gv = {"groupVersion": f"{group}/v1", "version": "v1"}
                groups.append({"name": group, "versions": [gv], "preferredVersion": gv})
            if self.metrics_api != "missing":
                gv = {"groupVersion": f"{METRICS_GROUP}/{METRICS_VERSION}",
                      "version": METRICS_VERSION}
                groups.append({"name": METRICS_GROUP, "versions": [gv], "preferredVersion": gv})
            return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
        if seg[:2] == ["api", "v1"]:
            return self._core(seg[2:], query)
        if seg[:2] == ["apis", METRICS_GROUP]:
            return self._metrics(seg[2:], query)
        if len(seg) >= 2 and seg[0] == "apis" and seg[1] in _EXTRA_GROUPS:
            return self._extra(seg[1], seg[2:], query)
        raise _HttpError(404, _status(404, "NotFound",
                                      "the server could not find the requested resource", {}))

    # core/v1

    def _core(self, seg: list[str], query: Mapping[str, str]) -> Any:
        if not seg:
            return {"kind": "APIResourceList", "groupVersion": "v1", "resources": [
                {"name": "nodes", "singularName": "node", "namespaced": False, "kind": "Node",
                 "verbs": ["get", "list"], "shortNames": ["no"]},
                {"name": "pods", "singularName": "pod", "namespaced": True, "kind": "Pod",
                 "verbs": ["get", "list"], "shortNames": ["po"]},
                {"name": "namespaces", "singularName": "namespace", "namespaced": False,
                 "kind": "Namespace", "verbs": ["get", "list"], "shortNames": ["ns"]},
                *_resource_list(""),
            ]}
        now_s = self.clock()
        ns: str | None = None
        if seg[0] == "namespaces" and len(seg) >= 3:
            ns, seg = seg[1], seg[2:]
        resource, name = seg[0], (seg[1] if len(seg) > 1 else None)
        if resource in _EXTRA_RESOURCES[""]:
            return self._extra("", ["v1", *(["namespaces", ns] if ns else []), *seg], query)
        # Pods are namespaced: the API server has no /api/v1/pods/{name} (404, like here).
        if len(seg) > 2 or resource not in ("nodes", "pods", "namespaces") or (
                resource != "pods" and ns is not None) or (
                resource == "pods" and ns is None and name is not None):
            raise _HttpError(404, _status(404, "NotFound",
                                          "the server could not find the requested resource", {}))
        self._check_forbidden("", resource, "get" if name else "list", ns, name)
        snap = self.source.snapshot(now_s)
        if resource == "namespaces":
            names = sorted({p.namespace for p in snap.pods} | {"default", "kube-system"})
            items = [{"metadata": {"name": n, "uid": _uid("ns", n), "resourceVersion": "1000",
                                   "creationTimestamp": "2026-01-01T00:00:00Z",
                                   "labels": {"kubernetes.io/metadata.name": n}},
                      "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}
                     for n in names]
            return self._list("NamespaceList", "v1", items, query, paged=True)
        if resource == "nodes":
            pairs = self._objects("core-nodes", snap, now_s)
            allowed: tuple[str, ...] = ("metadata.name",)
            fields_of: Callable[[Any], dict[str, str]] = _node_fields
            kind, single = "NodeList", "nodes"
        else:
            pairs = self._objects("core-pods", snap, now_s)
            allowed = ("metadata.name", "metadata.namespace", "spec.nodeName", "status.phase")
            fields_of = _pod_fields
            kind, single = "PodList", "pods"
            if ns is not None:
                pairs = [(p, o) for p, o in pairs if p.namespace == ns]
        if name is not None:
            for obj, body in pairs:
                if obj.name == name:
                    return {"kind": kind[:-4], "apiVersion": "v1", **body}
            raise _HttpError(404, _status(404, "NotFound", f'{single} "{name}" not found',
                                          {"name": name, "kind": single}))
        labels = parse_label_selector(query.get("labelSelector"))
        fields = _parse_field_selector(query.get("fieldSelector"), allowed)
        items = [body for obj, body in pairs
                 if (not labels or match_labels(labels, obj.labels))
                 and (not fields or _match_fields(fields, fields_of(obj)))]
        return self._list(kind, "v1", items, query, paged=True)

    def _list(self, kind: str, api_version: str, items: list[Any], query: Mapping[str, str],
              *, paged: bool) -> dict[str, Any]:
        meta: dict[str, Any] = {}
        if paged:
            meta["resourceVersion"] = "1000"
            start = 0
            if query.get("continue"):
                try:
                    start = int(base64.urlsafe_b64decode(query["continue"].encode()).decode())
                except ValueError:
                    raise _HttpError(400, _status(400, "BadRequest",
                                                  "continue key is not valid")) from None
            limit = int(query["limit"]) if query.get("limit", "").isdigit() else 0
            if limit > 0 and start + limit < len(items):
                meta["continue"] = base64.urlsafe_b64encode(str(start + limit).encode()).decode()
                meta["remainingItemCount"] = len(items) - start - limit
                items = items[start:start + limit]
            else:
                items = items[start:]
        return {"kind": kind, "apiVersion": api_version, "metadata": meta, "items": items}

    def _check_forbidden(self, group: str, resource: str, verb: str, ns: str | None,
                         name: str | None) -> None:
        qualified = f"{resource}.{group}" if group else resource
        if qualified not in self.forbidden_resources and not (
                group == METRICS_GROUP and self.metrics_api == "forbidden"):
            return
        what = f'{qualified} "{name}"' if name else qualified
        scope = f'in the namespace "{ns}"' if ns else "at the cluster scope"
        details: dict[str, Any] = {"kind": resource}
        if group:
            details["group"] = group
        if name:
            details["name"] = name
        raise _HttpError(403, _status(
            403, "Forbidden",
            f'{what} is forbidden: User "{self.user}" cannot {verb} resource "{resource}" '
            f'in API group "{group}" {scope}', details))

    # apps/v1, apiregistration.k8s.io/v1, and core PVCs and events (see kube_tables)

    def _extra(self, group: str, seg: list[str], query: Mapping[str, str]) -> Any:
        not_found = _HttpError(404, _status(404, "NotFound",
                                            "the server could not find the requested resource", {}))
        if not seg:
            gv = {"groupVersion": f"{group}/v1", "version": "v1"}
            return {"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": [gv],
                    "preferredVersion": gv}
        if seg[0] != "v1":
            raise not_found
        seg = seg[1:]
        if not seg:
            return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": f"{group}/v1",
                    "resources": _resource_list(group)}
        ns: str | None = None
        if seg[0] == "namespaces" and len(seg) >= 3:
            ns, seg = seg[1], seg[2:]
        resource, name = seg[0], (seg[1] if len(seg) > 1 else None)
        namespaced = _EXTRA_RESOURCES[group].get(resource, (None, True))[1]
        if len(seg) > 2 or resource not in _EXTRA_RESOURCES[group] or (
                ns is not None and not namespaced) or (namespaced and ns is None and name):
            raise not_found
        self._check_forbidden(group, resource, "get" if name else "list", ns, name)
        now_s = self.clock()
        if group == "apiregistration.k8s.io":
            items = [] if self.metrics_api == "missing" else [
                apiservice_object(self.metrics_api, now_s - 30 * 86400)]
        else:
            items = snapshot_objects(self.source.snapshot(now_s))[resource]
        if ns is not None:
            items = [o for o in items if o["metadata"].get("namespace") == ns]
        kind = _EXTRA_RESOURCES[group][resource][0]
        api_version = f"{group}/v1" if group else "v1"
        if name is not None:
            for o in items:
                if o["metadata"]["name"] == name:
                    return o
            raise _HttpError(404, _status(404, "NotFound", f'{resource} "{name}" not found',
                                          {"name": name, "kind": resource}))
        labels = parse_label_selector(query.get("labelSelector"))
        fields = _parse_field_selector(query.get("fieldSelector"),
                                       ("metadata.name", "metadata.namespace"))
        items = [o for o in items if (not labels or match_labels(labels, o["metadata"].get(
            "labels", {}))) and (not fields or _match_fields(fields, {
                "metadata.name": o["metadata"]["name"],
                "metadata.namespace": o["metadata"].get("namespace", "")}))]
        return self._list(f"{kind}List", api_version, items, query, paged=True)

    # metrics.k8s.io

    def _metrics(self, seg: list[str], query: Mapping[str, str]) -> Any:
        not_found = _HttpError(404, _status(404, "NotFound",
                                            "the server could not find the requested resource", {}))
        if self.metrics_api == "missing":
            raise not_found
        if not seg:
            gv = {"groupVersion": f"{METRICS_GROUP}/{METRICS_VERSION}", "version": METRICS_VERSION}
            return {"kind": "APIGroup", "apiVersion": "v1", "name": METRICS_GROUP,
                    "versions": [gv], "preferredVersion": gv}
        if seg[0] != METRICS_VERSION:
            raise not_found
        seg = seg[1:]
        if not seg:
            if self.metrics_api == "unavailable":
                raise _HttpError(503, _status(
                    503, "ServiceUnavailable", "the server is currently unable to handle the "
                    "request", {"causes": [{"reason": "UnexpectedServerResponse",
                                            "message": "service unavailable"}]}))
            return {"kind": "APIResourceList", "apiVersion": "v1",
                    "groupVersion": f"{METRICS_GROUP}/{METRICS_VERSION}", "resources": [
                        {"name": "nodes", "singularName": "", "namespaced": False,
                         "kind": "NodeMetrics", "verbs": ["get", "list"]},
                        {"name": "pods", "singularName": "", "namespaced": True,
                         "kind": "PodMetrics", "verbs": ["get", "list"]}]}
        ns: str | None = None
        if seg[0] == "namespaces" and len(seg) >= 3:
            ns, seg = seg[1], seg[2:]
        resource, name = seg[0], (seg[1] if len(seg) > 1 else None)
        if len(seg) > 2 or resource not in ("nodes", "pods") or (resource == "nodes" and ns) or (
                resource == "pods" and ns is None and name is not None):  # namespaced: no such path
            raise not_found
        verb = "get" if name else "list"
        if self.metrics_api == "unavailable":
            raise _HttpError(503, _status(
                503, "ServiceUnavailable",
                f"the server is currently unable to handle the request ({verb} "
                f"{resource}.{METRICS_GROUP}{' ' + name if name else ''})",
                {"group": METRICS_GROUP, "kind": resource,
                 "causes": [{"reason": "UnexpectedServerResponse",
                             "message": "service unavailable"}]}))
        self._check_forbidden(METRICS_GROUP, resource, verb, ns, name)
        now_s = self.clock()
        snap = self.source.snapshot(now_s)
        if resource == "nodes":
            items = self._objects("metrics-nodes", snap, now_s)
            kind = "NodeMetricsList"
            allowed: tuple[str, ...] = ("metadata.name",)
        else:
            items = self._objects("metrics-pods", snap, now_s)
            if ns is not None:
                items = [o for o in items if o["metadata"]["namespace"] == ns]
            kind = "PodMetricsList"
            allowed = ("metadata.name", "metadata.namespace")
        if name is not None:
            for o in items:
                if o["metadata"]["name"] == name:
                    return {"kind": kind[:-4], "apiVersion": f"{METRICS_GROUP}/{METRICS_VERSION}",
                            **o}
            shown = f"{ns}/{name}" if ns else name
            single = "nodemetrics" if resource == "nodes" else "podmetrics"
            raise _HttpError(404, _status(404, "NotFound",
                                          f'{single}.{METRICS_GROUP} "{shown}" not found',
                                          {"name": name, "group": METRICS_GROUP, "kind": single}))
        labels = parse_label_selector(query.get("labelSelector"))
        fields = _parse_field_selector(query.get("fieldSelector"), allowed)
        if labels or fields:
            items = [o for o in items
                     if match_labels(labels, o["metadata"].get("labels") or {})
                     and _match_fields(fields, {"metadata.name": o["metadata"]["name"],
                                                "metadata.namespace":
                                                    o["metadata"].get("namespace", "")})]
        return self._list(kind, f"{METRICS_GROUP}/{METRICS_VERSION}", items, query, paged=False)


class _Handler(BaseHTTPRequestHandler):
    api: KubeApiServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # one response = headers + body; no 40 ms delayed-ACK stalls
    server_version = "workbench-kube-api"

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        code, body = self.api.handle(method, self.path, {k.lower(): v for k, v in self.headers.items()})
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence per-request logging (it would go to stderr during tests)."""


def serve_kube_api(
    source: ClusterSource,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    token: str | None = None,
    metrics_api: str = "ok",
    user: str = "system:serviceaccount:monitoring:workbench",
    forbidden_resources: Collection[str] = (),
    clock: Callable[[], float] = time.time,
) -> KubeApiServer:
    """Start the emulation on a background thread and return the running server.

    Parameters
    ----------
    source
        The cluster; ``source.snapshot(clock())`` is called on every request.
    host, port
        Where to listen; port 0 picks a free port.
    token
        When set, requests without ``Authorization: Bearer <token>`` get 401.
    metrics_api
        ``"ok"``, ``"missing"`` (404, not in discovery), ``"unavailable"`` (503) or
        ``"forbidden"`` (403); changeable later through ``server.metrics_api``.
    user
        The user named in 403 messages.
    forbidden_resources
        Further resources to deny, as ``"pods"`` / ``"nodes"`` (core) or ``"pods.metrics.k8s.io"``.
    clock
        Unix-seconds clock (tests can freeze it).
    """
    return KubeApiServer(source, host=host, port=port, token=token, metrics_api=metrics_api,
                         user=user, forbidden_resources=forbidden_resources, clock=clock)


def write_kubeconfig(
    path: str | os.PathLike[str],
    url: str,
    *,
    token: str | None = None,
    context: str = "workbench-demo",
    namespace: str = "default",
) -> Path:
    """Write a kubeconfig (mode 0600) that points the real ``kubernetes`` client at ``url``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = write_kubeconfig(pathlib.Path(tempfile.mkdtemp()) / "kubeconfig", "http://127.0.0.1:1")
    >>> "current-context: workbench-demo" in p.read_text()
    True
    """
    import yaml  # lazily: only the demo needs it

    user: dict[str, Any] = {"token": token} if token else {}
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": {"server": url}}],
        "users": [{"name": f"{context}-user", "user": user}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": f"{context}-user",
                                                   "namespace": namespace}}],
        "current-context": context,
        "preferences": {},
    }
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        yaml.safe_dump(doc, fh, sort_keys=False)
    os.chmod(out, 0o600)
    return out
