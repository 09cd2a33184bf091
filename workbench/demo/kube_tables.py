"""What ``kubectl get`` needs from the emulated API: apps/v1 controllers, PVCs, events, the
metrics APIService as objects, and the server-side ``Table`` rendering of every list.

``kubectl get`` asks for ``Accept: application/json;as=Table;v=v1;g=meta.k8s.io`` and prints the
server's columns as they come; without a Table it falls back to NAME and AGE only. The columns
and cells here follow the API server's printers (``pkg/printers/internalversion``): a pod's READY
is ``ready/total``, STATUS the last waiting/terminated reason or the phase, RESTARTS
``"3 (25m ago)"`` once a container restarted, AGE a short human duration computed by the
server (``5d3h``, ``14d``).

Examples
--------
>>> human_duration(90), human_duration(3 * 3600 + 120), human_duration(5 * 86400 + 3 * 3600)
('90s', '3h2m', '5d3h')
"""

from __future__ import annotations

import calendar
import math
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from .._quantity import canonical_quantity
from .model import Claim, ClusterSnapshot, Controller, Event

__all__ = ["TABLE_KINDS", "APIService", "apiservice_object", "claim_object", "controller_object",
           "event_object", "human_duration", "snapshot_objects", "to_table", "wants_table"]

_UID_NS = uuid.UUID("0b7e0d77-6c1e-4f55-9a86-1c3a4c2ad7f0")

#: ``apiregistration.k8s.io/v1`` APIService of metrics-server, by metrics API mode.
APIService = "v1beta1.metrics.k8s.io"


def _ts(s: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(math.floor(s)))


def _uid(*parts: str) -> str:
    return str(uuid.uuid5(_UID_NS, "/".join(parts)))


def _meta(kind: str, namespace: str, name: str, created_s: float,
          labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    m: dict[str, Any] = {"name": name, "uid": _uid(kind, namespace, name),
                         "resourceVersion": "1000", "creationTimestamp": _ts(created_s)}
    if namespace:
        m["namespace"] = namespace
    if labels:
        m["labels"] = dict(labels)
    return m


def _template(k: Controller) -> dict[str, Any]:
    return {"metadata": {"labels": dict(k.selector)}, "spec": {"containers": [
        {"name": c.name, "image": c.image,
         "resources": {b: {r: canonical_quantity(v) for r, v in q.items()}
                       for b, q in (("requests", c.requests), ("limits", c.limits)) if q}}
        for c in k.containers]}}


def controller_object(k: Controller) -> dict[str, Any]:
    """An apps/v1 Deployment, ReplicaSet, StatefulSet or DaemonSet."""
    meta = _meta(k.kind, k.namespace, k.name, k.created_s, k.selector)
    if k.owner_name:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "Deployment",
                                    "name": k.owner_name, "controller": True,
                                    "blockOwnerDeletion": True,
                                    "uid": _uid("Deployment", k.namespace, k.owner_name)}]
    spec: dict[str, Any] = {"selector": {"matchLabels": dict(k.selector)},
                            "template": _template(k)}
    if k.kind == "DaemonSet":
        status = {"desiredNumberScheduled": k.desired, "currentNumberScheduled": k.current,
                  "numberReady": k.ready, "updatedNumberScheduled": k.current,
                  "numberAvailable": k.ready, "numberMisscheduled": 0, "observedGeneration": 1}
    else:
        spec["replicas"] = k.desired
        status = {"replicas": k.current, "readyReplicas": k.ready, "availableReplicas": k.ready,
                  "observedGeneration": 1}
        if k.kind in ("Deployment", "StatefulSet"):
            status["updatedReplicas"] = k.current
        if k.kind == "ReplicaSet":
            status["fullyLabeledReplicas"] = k.current
    return {"apiVersion": "apps/v1", "kind": k.kind, "metadata": meta, "spec": spec,
            "status": status}


def claim_object(c: Claim) -> dict[str, Any]:
    """A core/v1 PersistentVolumeClaim, bound."""
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": _meta("PersistentVolumeClaim", c.namespace, c.name, c.created_s),
            "spec": {"accessModes": list(c.access_modes), "storageClassName": c.storage_class,
                     "volumeName": c.volume, "volumeMode": "Filesystem",
                     "resources": {"requests": {"storage": c.capacity}}},
            "status": {"phase": c.phase, "accessModes": list(c.access_modes),
                       "capacity": {"storage": c.capacity}}}


def event_object(e: Event) -> dict[str, Any]:
    """A core/v1 Event."""
    name = f"{e.name}.{int(e.first_s * 1e9):x}"[:63]
    ns = e.namespace or "default"
    return {"apiVersion": "v1", "kind": "Event",
            "metadata": _meta("Event", ns, name, e.first_s),
            "involvedObject": {"kind": e.kind, "name": e.name,
                               **({"namespace": e.namespace} if e.namespace else {}),
                               "apiVersion": "v1"},
            "reason": e.reason, "message": e.message, "type": e.type, "count": e.count,
            "firstTimestamp": _ts(e.first_s), "lastTimestamp": _ts(e.last_s),
            "source": {"component": e.component, **({"host": e.host} if e.host else {})},
            "reportingComponent": e.component, "reportingInstance": e.host}


def apiservice_object(mode: str, created_s: float) -> dict[str, Any]:
    """metrics-server's APIService; its Available condition follows the metrics API mode."""
    available = mode in ("ok", "forbidden")
    cond = {"type": "Available", "status": "True" if available else "False",
            "lastTransitionTime": _ts(created_s),
            "reason": "Passed" if available else "ServiceUnavailable",
            "message": "all checks passed" if available else
            "endpoints for service/metrics-server in \"kube-system\" have no addresses"}
    return {"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
            "metadata": _meta("APIService", "", APIService, created_s,
                              {"app.kubernetes.io/name": "metrics-server"}),
            "spec": {"group": "metrics.k8s.io", "version": "v1beta1",
                     "service": {"namespace": "kube-system", "name": "metrics-server",
                                 "port": 443},
                     "groupPriorityMinimum": 100, "versionPriority": 100,
                     "insecureSkipTLSVerify": True},
            "status": {"conditions": [cond]}}


def snapshot_objects(snap: ClusterSnapshot) -> dict[str, list[dict[str, Any]]]:
    """apps/v1 and core objects of ``snap`` by resource name, sorted by (namespace, name)."""
    out: dict[str, list[dict[str, Any]]] = {
        "deployments": [], "replicasets": [], "statefulsets": [], "daemonsets": []}
    for k in snap.controllers:
        out[k.kind.lower() + "s"].append(controller_object(k))
    out["persistentvolumeclaims"] = [claim_object(c) for c in snap.claims]
    out["events"] = [event_object(e) for e in snap.events]
    for objs in out.values():
        if objs and objs[0]["kind"] != "Event":
            objs.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
    return out


# -- Table rendering ---------------------------------------------------------------------------


def human_duration(seconds: float) -> str:
    """The API server's short age (``duration.HumanDuration``): 45s, 5m30s, 3h2m, 5d3h, 14d, 2y."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    m = s // 60
    if m < 10:
        return f"{m}m" if s % 60 == 0 else f"{m}m{s % 60}s"
    if m < 180:
        return f"{m}m"
    h = s // 3600
    if h < 8:
        return f"{h}h" if m % 60 == 0 else f"{h}h{m % 60}m"
    if h < 48:
        return f"{h}h"
    if h < 24 * 8:
        return f"{h // 24}d" if h % 24 == 0 else f"{h // 24}d{h % 24}h"
    if h < 24 * 365 * 2:
        return f"{h // 24}d"
    if h < 24 * 365 * 8:
        dy = (h // 24) % 365
        return f"{h // 24 // 365}y" if dy == 0 else f"{h // 24 // 365}y{dy}d"
    return f"{h // 24 // 365}y"


def _parse_ts(text: str | None) -> float | None:
    if not text:
        return None
    return float(calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ")))


def _age(obj: Mapping[str, Any], now_s: float) -> str:
    t = _parse_ts(obj.get("metadata", {}).get("creationTimestamp"))
    return "<unknown>" if t is None else human_duration(now_s - t)


def _images(obj: Mapping[str, Any]) -> tuple[str, str]:
    cs = obj["spec"]["template"]["spec"]["containers"]
    return ",".join(c["name"] for c in cs), ",".join(c["image"] for c in cs)


def _selector(obj: Mapping[str, Any]) -> str:
    ml = obj["spec"].get("selector", {}).get("matchLabels", {})
    return ",".join(f"{k}={v}" for k, v in sorted(ml.items())) or "<none>"


def _pod_cells(o: Mapping[str, Any], now_s: float) -> list[Any]:
    st = o.get("status", {})
    reason = st.get("reason") or st.get("phase", "")
    ready = restarts = 0
    has_running = False
    last_restart: float | None = None
    statuses = st.get("containerStatuses", [])
    for cs in reversed(statuses):
        restarts += int(cs.get("restartCount", 0))
        fin = _parse_ts(cs.get("lastState", {}).get("terminated", {}).get("finishedAt"))
        if fin is not None and (last_restart is None or fin > last_restart):
            last_restart = fin
        state = cs.get("state", {})
        if state.get("waiting", {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif state.get("terminated", {}).get("reason"):
            reason = state["terminated"]["reason"]
        elif "terminated" in state:
            term = state["terminated"]
            reason = (f"Signal:{term['signal']}" if term.get("signal")
                      else f"ExitCode:{term.get('exitCode', 0)}")
        elif cs.get("ready") and "running" in state:
            has_running = True
            ready += 1
    if reason == "Completed" and has_running:
        pod_ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                        for c in st.get("conditions", []))
        reason = "Running" if pod_ready else "NotReady"
    shown = str(restarts)
    if restarts and last_restart is not None:
        shown = f"{restarts} ({human_duration(now_s - last_restart)} ago)"
    return [o["metadata"]["name"], f"{ready}/{len(o['spec']['containers'])}", reason, shown,
            _age(o, now_s), st.get("podIP") or "<none>", o["spec"].get("nodeName") or "<none>",
            "<none>", "<none>"]


def _node_cells(o: Mapping[str, Any], now_s: float) -> list[Any]:
    st = o["status"]
    ready = next((c["status"] for c in st.get("conditions", []) if c["type"] == "Ready"), "")
    status = "Ready" if ready == "True" else "NotReady"
    roles = sorted(k.split("/", 1)[1] for k in o["metadata"].get("labels", {})
                   if k.startswith("node-role.kubernetes.io/"))
    ip = {a["type"]: a["address"] for a in st.get("addresses", [])}
    ni = st.get("nodeInfo", {})
    return [o["metadata"]["name"], status, ",".join(roles) or "<none>", _age(o, now_s),
            ni.get("kubeletVersion", ""), ip.get("InternalIP", "<none>"),
            ip.get("ExternalIP", "<none>"), ni.get("osImage", "<unknown>"),
            ni.get("kernelVersion", "<unknown>"), ni.get("containerRuntimeVersion", "<unknown>")]


def _event_cells(o: Mapping[str, Any], now_s: float) -> list[Any]:
    last = _parse_ts(o.get("lastTimestamp")) or now_s
    first = _parse_ts(o.get("firstTimestamp")) or last
    inv = o["involvedObject"]
    src = o.get("source", {})
    return [human_duration(now_s - last), o.get("type", ""), o.get("reason", ""),
            f"{inv['kind'].lower()}/{inv['name']}", o.get("message", ""),
            inv.get("fieldPath", ""), ", ".join(v for v in (src.get("component"), src.get("host"))
                                                if v), human_duration(now_s - first),
            o.get("count", 1), o["metadata"]["name"]]


_Cols = list[tuple[str, str, int]]  # (name, type, priority)
_Row = Callable[[Mapping[str, Any], float], list[Any]]

_TABLES: dict[str, tuple[_Cols, _Row]] = {
    "Pod": ([("Name", "string", 0), ("Ready", "string", 0), ("Status", "string", 0),
             ("Restarts", "string", 0), ("Age", "string", 0), ("IP", "string", 1),
             ("Node", "string", 1), ("Nominated Node", "string", 1),
             ("Readiness Gates", "string", 1)], _pod_cells),
    "Node": ([("Name", "string", 0), ("Status", "string", 0), ("Roles", "string", 0),
              ("Age", "string", 0), ("Version", "string", 0), ("Internal-IP", "string", 1),
              ("External-IP", "string", 1), ("OS-Image", "string", 1),
              ("Kernel-Version", "string", 1), ("Container-Runtime", "string", 1)], _node_cells),
    "Deployment": ([("Name", "string", 0), ("Ready", "string", 0), ("Up-to-date", "integer", 0),
                    ("Available", "integer", 0), ("Age", "string", 0),
                    ("Containers", "string", 1), ("Images", "string", 1),
                    ("Selector", "string", 1)],
                   lambda o, now: [o["metadata"]["name"],
                                   f"{o['status'].get('readyReplicas', 0)}/{o['spec']['replicas']}",
                                   o["status"].get("updatedReplicas", 0),
                                   o["status"].get("availableReplicas", 0), _age(o, now),
                                   *_images(o), _selector(o)]),
    "ReplicaSet": ([("Name", "string", 0), ("Desired", "integer", 0), ("Current", "integer", 0),
                    ("Ready", "integer", 0), ("Age", "string", 0), ("Containers", "string", 1),
                    ("Images", "string", 1), ("Selector", "string", 1)],
                   lambda o, now: [o["metadata"]["name"], o["spec"]["replicas"],
                                   o["status"].get("replicas", 0),
                                   o["status"].get("readyReplicas", 0), _age(o, now),
                                   *_images(o), _selector(o)]),
    "StatefulSet": ([("Name", "string", 0), ("Ready", "string", 0), ("Age", "string", 0),
                     ("Containers", "string", 1), ("Images", "string", 1)],
                    lambda o, now: [o["metadata"]["name"],
                                    f"{o['status'].get('readyReplicas', 0)}/{o['spec']['replicas']}",
                                    _age(o, now), *_images(o)]),
    "DaemonSet": ([("Name", "string", 0), ("Desired", "integer", 0), ("Current", "integer", 0),
                   ("Ready", "integer", 0), ("Up-to-date", "integer", 0),
                   ("Available", "integer", 0), ("Node Selector", "string", 0),
                   ("Age", "string", 0), ("Containers", "string", 1), ("Images", "string", 1),
                   ("Selector", "string", 1)],
                  lambda o, now: [o["metadata"]["name"], o["status"]["desiredNumberScheduled"],
                                  o["status"]["currentNumberScheduled"],
                                  o["status"]["numberReady"],
                                  o["status"]["updatedNumberScheduled"],
                                  o["status"]["numberAvailable"], "<none>", _age(o, now),
                                  *_images(o), _selector(o)]),
    "PersistentVolumeClaim": (
        [("Name", "string", 0), ("Status", "string", 0), ("Volume", "string", 0),
         ("Capacity", "string", 0), ("Access Modes", "string", 0), ("StorageClass", "string", 0),
         ("VolumeAttributesClass", "string", 0), ("Age", "string", 0),
         ("VolumeMode", "string", 1)],
        lambda o, now: [o["metadata"]["name"], o["status"]["phase"], o["spec"]["volumeName"],
                        o["status"]["capacity"]["storage"],
                        ",".join({"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX",
                                  "ReadWriteMany": "RWX"}.get(m, m)
                                 for m in o["status"]["accessModes"]),
                        o["spec"]["storageClassName"], "<unset>", _age(o, now),
                        o["spec"]["volumeMode"]]),
    "Event": ([("Last Seen", "string", 0), ("Type", "string", 0), ("Reason", "string", 0),
               ("Object", "string", 0), ("Message", "string", 0), ("Subobject", "string", 1),
               ("Source", "string", 1), ("First Seen", "string", 1), ("Count", "string", 1),
               ("Name", "string", 1)], _event_cells),
    "Namespace": ([("Name", "string", 0), ("Status", "string", 0), ("Age", "string", 0)],
                  lambda o, now: [o["metadata"]["name"], o["status"]["phase"], _age(o, now)]),
    "APIService": ([("Name", "string", 0), ("Service", "string", 0), ("Available", "string", 0),
                    ("Age", "string", 0)],
                   lambda o, now: [o["metadata"]["name"],
                                   f"{o['spec']['service']['namespace']}/"
                                   f"{o['spec']['service']['name']}",
                                   _available(o), _age(o, now)]),
}


#: Object kinds rendered with their own columns (others get NAME and CREATED AT).
TABLE_KINDS = frozenset(_TABLES)


def _available(o: Mapping[str, Any]) -> str:
    c = next(c for c in o["status"]["conditions"] if c["type"] == "Available")
    return "True" if c["status"] == "True" else f"{c['status']} ({c['reason']})"


_DEFAULT: tuple[_Cols, _Row] = ([("Name", "string", 0), ("Created At", "date", 0)],
                                lambda o, now: [o["metadata"]["name"],
                                                o["metadata"].get("creationTimestamp", "")])


def wants_table(accept: str | None) -> bool:
    """Whether an ``Accept`` header asks for a meta.k8s.io Table first."""
    first = (accept or "").split(",")[0]
    parts = {p.strip() for p in first.split(";")}
    return "as=Table" in parts and "g=meta.k8s.io" in parts


def to_table(body: Mapping[str, Any], now_s: float, include: str = "Metadata") -> dict[str, Any]:
    """Render a list (``kind`` ends in ``List``) or one object as a ``meta.k8s.io/v1`` Table.

    ``include`` is the ``includeObject`` query parameter: ``Metadata`` (default: each row carries
    a PartialObjectMetadata, which kubectl reads the namespace from), ``Object`` or ``None``.
    """
    kind = str(body.get("kind", ""))
    is_list = kind.endswith("List")
    items = list(body.get("items", [])) if is_list else [body]
    item_kind = kind[:-4] if is_list else kind
    cols, row = _TABLES.get(item_kind, _DEFAULT)
    defs = [{"name": n, "type": t, "format": "name" if n == "Name" else "", "description": n,
             "priority": p} for n, t, p in cols]
    rows = []
    for o in items:
        r: dict[str, Any] = {"cells": row(o, now_s)}
        if include == "Object":
            r["object"] = o
        elif include != "None":
            r["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                           "metadata": o.get("metadata", {})}
        rows.append(r)
    meta = dict(body.get("metadata", {})) if is_list else {"resourceVersion": "1000"}
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
            "columnDefinitions": defs, "rows": rows}
