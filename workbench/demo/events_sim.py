"""Workload incidents kwatch reports, and the control plane, kept apart from the rest of the
simulation.

:class:`~workbench.demo.sim.Cluster` calls in here at six points: the metric families
(:data:`FAMILIES`), extra scrape targets (:func:`targets`) and their series (:func:`target_series`),
extra kube-state-metrics series (:func:`ksm_series`), the ground truth (:func:`ground_truth`) and
the Kubernetes Events the API emulation serves (:func:`kube_events`, through :mod:`.sim_api`).
What is planted:

* ``payments/refund-worker``: a bad rollout whose container exits with an error 30 s after each
  start, restarted with the kubelet's back-off (10 s doubling to 5 min) for 2 hours:
  ``CrashLoopBackOff`` waiting reason, ``Error`` terminations, restart bursts
  (kube-prometheus's KubePodCrashLooping);
* ``search/query-ui``: a pod whose image tag does not exist, ``Pending`` for 90 minutes with
  ``ErrImagePull`` at each pull attempt (every 5 min) and ``ImagePullBackOff`` between them
  (KubePodNotReady);
* ``batch/db-migrate``: a Job whose pod failed (``Failed`` phase and ``kube_job_failed`` for an
  hour until it is cleaned up; KubeJobFailed);
* the control plane kube-prometheus-stack scrapes (``up`` of ``apiserver``, ``kube-scheduler``,
  ``kube-controller-manager``, ``coredns`` and ``kube-proxy`` on every node), so its stock
  ``*Down`` alerts stay quiet; only ``up`` is simulated for them (every other stock rule over
  their metrics then has no input and stays quiet too).

The OOM kills (``payments/ledger``), the PVC crossing 70 % and the node going down come from the
base simulation (and :mod:`.sim_api` serves their Events).

The incidents' pods are first-class during their lives: kube-state-metrics series
(``kube_pod_info``, ``kube_pod_start_time``, requests and limits, phase, owner, restarts, waiting
and termination reasons) and the emulated API's Pods (:func:`api_pods`: phase, container states,
restart counts, owner references) say the same thing at every instant. They never show in
metrics-server: no container of theirs runs for the two 15 s windows metrics-server needs (the
crash-looping one exits 30 s after each start), and cAdvisor has no series for them either. The
crash-looping and the pulling pod have a pod sandbox, so they count in ``kubelet_running_pods``
(:func:`running_pods`). Their Deployments and ReplicaSets (:func:`api_controllers`,
``kube_replicaset_owner``, ``kube_deployment_spec_replicas``) live as long as the pods: created
with the bad image, deleted when the incident ends.

Examples
--------
>>> from workbench.demo.params import SMALL
>>> from workbench.demo.sim import Cluster
>>> c = Cluster(SMALL, end_s=1_764_000_000)
>>> gt = ground_truth(c)
>>> len(gt["crash_loop"]["restart_times_s"]), gt["image_pull"]["duration_s"]
(25, 5400.0)
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from .._quantity import parse_quantity
from ._signal import DAY, hash64

if TYPE_CHECKING:
    from .model import Controller, Event, Pod
    from .sim import Cluster, Target

__all__ = ["FAMILIES", "TARGET_KINDS", "WORKLOAD_KINDS", "api_controllers", "api_pods", "ground_truth",
           "ksm_series", "kube_events", "running_pods", "target_series", "targets"]

F = np.ndarray

CRASH_AT = 0.30          # of the history span
CRASH_DURATION_S = 2 * 3600.0
CRASH_RUN_S = 30.0       # the container runs this long before exiting with an error
BACKOFF_S = (10.0, 300.0)  # kubelet: 10 s doubling, capped at 5 min
PULL_AT = 0.45
PULL_DURATION_S = 90 * 60.0
PULL_EVERY_S = 300.0
FAILED_JOB_AT = 0.55
FAILED_JOB_KEEP_S = 3600.0
FAILED_JOB_RAN_S = 95.0  # the Job's container ran this long before failing
CONTROL_PLANE = ("apiserver", "kube-scheduler", "kube-controller-manager", "coredns")

#: Target kinds this module simulates (``Target.key`` = ``<kind>/<name>``).
TARGET_KINDS = frozenset({"control-plane", "kube-proxy"})

#: metric family -> (type, help, write scale), merged into the simulation's catalogue.
FAMILIES: dict[str, tuple[str, str, int]] = {
    "kube_pod_container_status_waiting_reason": (
        "gauge", "Describes the reason the container is currently in waiting state.", 1),
    "kube_pod_container_status_waiting": (
        "gauge", "Describes whether the container is currently in waiting state.", 1),
    "kube_job_failed": ("gauge", "The job has failed its execution.", 1),
    "kube_job_status_failed": ("gauge", "The number of pods which reached Phase Failed.", 1),
    "kube_pod_container_status_terminated_reason": (
        "gauge", "Describes the reason the container is currently in terminated state.", 1),
}
#: The incidents' workloads by the kind an owner chain resolves to (capacity's ground truth):
#: refund-worker and query-ui (Deployment), the db-migrate Job (no CronJob owns it).
WORKLOAD_KINDS = {"Deployment": 2, "Job": 1}
#: container of each incident -> (requests, limits), as the Pod spec and kube-state-metrics show
_RESOURCES: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "refund-worker": ({"cpu": "100m", "memory": "128Mi"}, {"memory": "256Mi"}),
    "query-ui": ({"cpu": "50m", "memory": "64Mi"}, {"cpu": "200m", "memory": "128Mi"}),
    "migrate": ({"cpu": "100m", "memory": "128Mi"}, {"memory": "512Mi"}),
}


def _grid(c: Cluster, frac: float) -> float:
    span = c.params.days * DAY
    return math.floor((c.origin + frac * span) / c.interval) * c.interval


def _name(*parts: object) -> str:
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    h = hash64(*parts)
    out = []
    for _ in range(5):
        h, r = divmod(h, len(alphabet))
        out.append(alphabet[r])
    return "".join(out)


def crash_loop(c: Cluster) -> dict[str, Any]:
    """The crash-looping container: pod, window, crash and restart times."""
    t0 = _grid(c, CRASH_AT)
    t1 = t0 + CRASH_DURATION_S
    crashes, restarts = [], []
    start, k = t0, 0
    while True:
        crash = start + CRASH_RUN_S
        restart = crash + min(BACKOFF_S[0] * 2**k, BACKOFF_S[1])
        if crash >= t1:
            break
        crashes.append(crash)
        if restart >= t1:
            break
        restarts.append(restart)
        start, k = restart, k + 1
    rs = f"refund-worker-{_name(c.seed, 'refund-rs')}f{_name(c.seed, 'rs2')}"
    return _placed(c, {
        "namespace": "payments", "deployment": "refund-worker", "replicaset": rs,
        "pod": f"{rs}-{_name(c.seed, 'refund-pod')}", "container": "refund-worker",
        "image": "registry.example.com/payments/refund-worker:3.1.0",
        "start_s": t0, "end_s": t1, "crash_times_s": crashes, "restart_times_s": restarts})


def image_pull(c: Cluster) -> dict[str, Any]:
    """The pod stuck on a missing image."""
    t0 = _grid(c, PULL_AT)
    rs = f"query-ui-{_name(c.seed, 'qui-rs')}d{_name(c.seed, 'qui2')}"
    return _placed(c, {
        "namespace": "search", "deployment": "query-ui", "replicaset": rs,
        "pod": f"{rs}-{_name(c.seed, 'qui-pod')}", "container": "query-ui",
        "image": "registry.example.com/search/query-ui:2.0.0-rc1",
        "start_s": t0, "end_s": t0 + PULL_DURATION_S})


def failed_job(c: Cluster) -> dict[str, Any]:
    """The failed Job's pod."""
    t0 = _grid(c, FAILED_JOB_AT)
    job = f"db-migrate-{int(t0 // 60)}"
    return _placed(c, {
        "namespace": "batch", "job_name": job, "pod": f"{job}-{_name(c.seed, job)}",
        "container": "migrate", "image": "registry.example.com/batch/db-migrate:5.0.2",
        "start_s": t0, "end_s": t0 + FAILED_JOB_KEEP_S, "ran_from_s": t0 - FAILED_JOB_RAN_S})


def _placed(c: Cluster, p: dict[str, Any]) -> dict[str, Any]:
    """``p`` with the node it is scheduled on, its node's IP and its pod IP."""
    i = c._place("incident", p["pod"])
    return {**p, "node": c.nodes[i].name, "host_ip": c.nodes[i].ip,
            "pod_ip": c._ip(i, p["pod"])}


def _pod_labels(p: dict[str, Any]) -> dict[str, str]:
    return {"namespace": p["namespace"], "pod": p["pod"], "uid": _uid(p["pod"])}


def _deployment_series(p: dict[str, Any], during: Any
                       ) -> Iterator[tuple[str, dict[str, str], F]]:
    """The incident's Deployment and ReplicaSet (they live as long as its pod)."""
    yield "kube_replicaset_owner", {"namespace": p["namespace"], "replicaset": p["replicaset"],
                                    "owner_kind": "Deployment", "owner_name": p["deployment"],
                                    "owner_is_controller": "true"}, during(p, 1.0)
    yield "kube_deployment_spec_replicas", {"namespace": p["namespace"],
                                            "deployment": p["deployment"]}, during(p, 1.0)


def _pod_series(p: dict[str, Any], owner: tuple[str, str], start: float, during: Any
                ) -> Iterator[tuple[str, dict[str, str], F]]:
    """kube-state-metrics' ``kube_pod_info``, start time, requests and limits of an incident pod."""
    pl_ = _pod_labels(p)
    yield "kube_pod_info", {**pl_, "node": p["node"], "host_ip": p["host_ip"],
                            "pod_ip": p["pod_ip"], "created_by_kind": owner[0],
                            "created_by_name": owner[1], "priority_class": "",
                            "host_network": "false"}, during(p, 1.0)
    yield "kube_pod_start_time", pl_, during(p, float(math.floor(start)))
    req, lim = _RESOURCES[p["container"]]
    cl = {**pl_, "container": p["container"], "node": p["node"]}
    for metric, q in (("kube_pod_container_resource_requests", {**lim, **req}),
                      ("kube_pod_container_resource_limits", lim)):
        for res, text in q.items():
            unit = "core" if res == "cpu" else "byte"
            yield metric, {**cl, "resource": res, "unit": unit}, during(
                p, float(parse_quantity(text)))


def _reason_at(t: F, p: dict[str, Any]) -> tuple[F, F]:
    """Image pull: (is ErrImagePull, is ImagePullBackOff) at ``t``."""
    alive = (t >= p["start_s"]) & (t < p["end_s"])
    err = alive & (np.mod(t - p["start_s"], PULL_EVERY_S) < 30.0)
    return err, alive & ~err


def ksm_series(c: Cluster, t: F) -> Iterator[tuple[str, dict[str, str], F]]:
    """kube-state-metrics series of the three planted pods (NaN outside their lives)."""
    nan = np.full_like(t, np.nan)

    def during(p: dict[str, Any], v: F | float) -> F:
        return np.where((t >= p["start_s"]) & (t < p["end_s"]), v, nan)

    cl = crash_loop(c)
    pl_ = {"namespace": cl["namespace"], "pod": cl["pod"], "uid": _uid(cl["pod"])}
    cc = {**pl_, "container": cl["container"]}
    restarts = np.searchsorted(np.asarray(cl["restart_times_s"]), t, side="right").astype(float)
    crashes = np.asarray(cl["crash_times_s"])
    n_crash = np.searchsorted(crashes, t, side="right")
    waiting = (n_crash > restarts)  # crashed and not restarted yet: back-off
    yield from _pod_series(cl, ("ReplicaSet", cl["replicaset"]), cl["start_s"], during)
    yield from _deployment_series(cl, during)
    yield "kube_pod_owner", {**pl_, "owner_kind": "ReplicaSet", "owner_name": cl["replicaset"],
                             "owner_is_controller": "true"}, during(cl, 1.0)
    for phase in ("Pending", "Running", "Succeeded", "Failed", "Unknown"):
        yield "kube_pod_status_phase", {**pl_, "phase": phase}, during(
            cl, 1.0 if phase == "Running" else 0.0)
    yield "kube_pod_container_status_restarts_total", cc, during(cl, restarts)
    yield "kube_pod_container_status_waiting", cc, during(cl, waiting.astype(float))
    yield "kube_pod_container_status_waiting_reason", {**cc, "reason": "CrashLoopBackOff"}, \
        np.where(waiting, during(cl, 1.0), nan)
    yield "kube_pod_container_status_last_terminated_reason", {**cc, "reason": "Error"}, \
        np.where(n_crash > 0, during(cl, 1.0), nan)

    ip = image_pull(c)
    pl_ = {"namespace": ip["namespace"], "pod": ip["pod"], "uid": _uid(ip["pod"])}
    cc = {**pl_, "container": ip["container"]}
    err, backoff = _reason_at(t, ip)
    yield from _pod_series(ip, ("ReplicaSet", ip["replicaset"]), ip["start_s"], during)
    yield from _deployment_series(ip, during)
    yield "kube_pod_owner", {**pl_, "owner_kind": "ReplicaSet", "owner_name": ip["replicaset"],
                             "owner_is_controller": "true"}, during(ip, 1.0)
    for phase in ("Pending", "Running", "Succeeded", "Failed", "Unknown"):
        yield "kube_pod_status_phase", {**pl_, "phase": phase}, during(
            ip, 1.0 if phase == "Pending" else 0.0)
    yield "kube_pod_container_status_restarts_total", cc, during(ip, 0.0)
    yield "kube_pod_container_status_waiting", cc, during(ip, 1.0)
    yield "kube_pod_container_status_waiting_reason", {**cc, "reason": "ErrImagePull"}, \
        np.where(err, 1.0, nan)
    yield "kube_pod_container_status_waiting_reason", {**cc, "reason": "ImagePullBackOff"}, \
        np.where(backoff, 1.0, nan)

    fj = failed_job(c)
    pl_ = {"namespace": fj["namespace"], "pod": fj["pod"], "uid": _uid(fj["pod"])}
    cc = {**pl_, "container": fj["container"]}
    yield from _pod_series(fj, ("Job", fj["job_name"]), fj["ran_from_s"], during)
    yield "kube_pod_container_status_restarts_total", cc, during(fj, 0.0)
    yield "kube_pod_container_status_terminated_reason", {**cc, "reason": "Error"}, \
        during(fj, 1.0)
    yield "kube_pod_owner", {**pl_, "owner_kind": "Job", "owner_name": fj["job_name"],
                             "owner_is_controller": "true"}, during(fj, 1.0)
    for phase in ("Pending", "Running", "Succeeded", "Failed", "Unknown"):
        yield "kube_pod_status_phase", {**pl_, "phase": phase}, during(
            fj, 1.0 if phase == "Failed" else 0.0)
    jl = {"namespace": fj["namespace"], "job_name": fj["job_name"]}
    yield "kube_job_failed", {**jl, "condition": "true"}, during(fj, 1.0)
    yield "kube_job_status_failed", jl, during(fj, 1.0)


def api_pods(c: Cluster, now_s: float) -> list[Pod]:
    """The incident pods alive at ``now_s``, as the API emulation serves them (they agree with
    :func:`ksm_series` at the same instant: phase, restarts, waiting and termination reasons)."""
    from bisect import bisect_right

    from .model import Container, Pod

    out: list[Pod] = []

    def pod(p: dict[str, Any], owner: tuple[str, str], labels: dict[str, str], **kw: Any) -> Pod:
        req, lim = _RESOURCES[p["container"]]
        return Pod(namespace=p["namespace"], name=p["pod"], node=p["node"], uid=_uid(p["pod"]),
                   containers=(Container(p["container"], p["image"], req, lim),),
                   labels=labels, host_ip=p["host_ip"], pod_ip=p["pod_ip"],
                   owner_kind=owner[0], owner_name=owner[1], **kw)

    def rs_labels(p: dict[str, Any]) -> dict[str, str]:
        return {"app.kubernetes.io/name": p["deployment"],
                "pod-template-hash": p["replicaset"].rsplit("-", 1)[1]}

    cl = crash_loop(c)
    if cl["start_s"] <= now_s < cl["end_s"]:
        ctr = cl["container"]
        n_crash = bisect_right(cl["crash_times_s"], now_s)
        n_restart = bisect_right(cl["restart_times_s"], now_s)
        started = cl["restart_times_s"][n_restart - 1] if n_restart else cl["start_s"]
        crashed = {ctr: cl["crash_times_s"][n_crash - 1]} if n_crash else {}
        out.append(pod(cl, ("ReplicaSet", cl["replicaset"]), rs_labels(cl), phase="Running",
                       start_time_s=cl["start_s"],
                       restarts={ctr: n_restart} if n_restart else {},
                       container_started_s={ctr: started}, finished_s=crashed,
                       last_terminated_reason={ctr: "Error"} if crashed else {},
                       waiting_reason={ctr: "CrashLoopBackOff"} if n_crash > n_restart else {}))
    ip = image_pull(c)
    if ip["start_s"] <= now_s < ip["end_s"]:
        err, _ = _reason_at(np.array([now_s]), ip)
        out.append(pod(ip, ("ReplicaSet", ip["replicaset"]), rs_labels(ip), phase="Pending",
                       start_time_s=ip["start_s"], waiting_reason={
                           ip["container"]: "ErrImagePull" if err[0] else "ImagePullBackOff"}))
    fj = failed_job(c)
    if fj["start_s"] <= now_s < fj["end_s"]:
        ctr = fj["container"]
        out.append(pod(fj, ("Job", fj["job_name"]),
                       {"app.kubernetes.io/name": "db-migrate", "job-name": fj["job_name"]},
                       phase="Failed", start_time_s=fj["ran_from_s"],
                       container_started_s={ctr: fj["ran_from_s"]},
                       finished_s={ctr: fj["start_s"]}, last_terminated_reason={ctr: "Error"}))
    return out


def api_controllers(c: Cluster, now_s: float) -> list[Controller]:
    """The Deployments and ReplicaSets of the incident pods alive at ``now_s`` (one replica
    each, ready only while the crash-looping container runs)."""
    from .model import Container, Controller

    out: list[Controller] = []
    ready = {p.name: p.phase == "Running" and not p.waiting_reason for p in api_pods(c, now_s)}
    for p in (crash_loop(c), image_pull(c)):
        if p["pod"] not in ready:
            continue
        req, lim = _RESOURCES[p["container"]]
        ctrs = (Container(p["container"], p["image"], req, lim),)
        sel = {"app.kubernetes.io/name": p["deployment"]}
        n = int(ready[p["pod"]])
        out.append(Controller("Deployment", p["namespace"], p["deployment"], 1, 1, n,
                              p["start_s"], sel, ctrs))
        out.append(Controller("ReplicaSet", p["namespace"], p["replicaset"], 1, 1, n,
                              p["start_s"], {**sel, "pod-template-hash":
                                             p["replicaset"].rsplit("-", 1)[1]}, ctrs,
                              owner_name=p["deployment"]))
    return out


def running_pods(c: Cluster, node: str, t: F) -> F:
    """How many incident pods have a pod sandbox on ``node`` at ``t`` (the crash-looping and the
    image-pulling pod do; the failed Job's was torn down), for ``kubelet_running_pods``."""
    out = np.zeros_like(t)
    for p in (crash_loop(c), image_pull(c)):
        if p["node"] == node:
            out += (t >= p["start_s"]) & (t < p["end_s"])
    return out


def _uid(name: str) -> str:
    h = f"{hash64('uid', name):016x}{hash64('uid2', name):016x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def targets(c: Cluster) -> list[Target]:
    """The control plane's scrape targets, labelled as kube-prometheus-stack labels them."""
    from .sim import Target

    out = []
    for job in CONTROL_PLANE:
        if job == "coredns":
            for k in range(2):
                ip = f"10.244.0.{200 + k}"
                out.append(Target(f"control-plane/coredns-{k}", {
                    "job": "coredns", "instance": f"{ip}:9153", "namespace": "kube-system",
                    "service": "kps-coredns", "endpoint": "http-metrics",
                    "pod": f"coredns-{_name(c.seed, 'coredns')}-{_name(c.seed, 'cd', k)}"}))
            continue
        port = {"apiserver": 443, "kube-scheduler": 10259, "kube-controller-manager": 10257}[job]
        for k in range(2 if job == "apiserver" else 1):
            ip = f"10.0.0.{10 + k}"
            labels = {"job": job, "instance": f"{ip}:{port}", "endpoint": "https",
                      "namespace": "default" if job == "apiserver" else "kube-system",
                      "service": "kubernetes" if job == "apiserver" else f"kps-{job}"}
            out.append(Target(f"control-plane/{job}-{k}", labels))
    for node in c.nodes:
        out.append(Target(f"kube-proxy/{node.name}", {
            "job": "kube-proxy", "instance": f"{node.ip}:10249", "namespace": "kube-system",
            "service": "kps-kube-proxy", "endpoint": "http-metrics",
            "pod": f"kube-proxy-{_name(c.seed, 'kp', node.index)}"}, node.index))
    return out


def target_series(c: Cluster, kind: str, t: F) -> Iterator[tuple[str, dict[str, str], F]]:
    """Series of the control-plane targets besides ``up``: none (see the module docstring)."""
    return iter(())


def ground_truth(c: Cluster) -> dict[str, Any]:
    """What this module planted (the ``workload_events`` key of ``ground_truth.json``)."""
    cl, ip, fj = crash_loop(c), image_pull(c), failed_job(c)
    pulls = [ip["start_s"] + k * PULL_EVERY_S for k in range(int(PULL_DURATION_S // PULL_EVERY_S))]
    return {
        "crash_loop": {**cl, "reason": "CrashLoopBackOff", "terminated_reason": "Error",
                       "alertname": "KubePodCrashLooping"},
        "image_pull": {**ip, "duration_s": PULL_DURATION_S, "pull_attempts_s": pulls,
                       "reasons": ["ErrImagePull", "ImagePullBackOff"],
                       "alertname": "KubePodNotReady"},
        "failed_job": {**fj, "alertname": "KubeJobFailed"},
        "control_plane": {"jobs": [*CONTROL_PLANE, "kube-proxy"]},
    }


def kube_events(c: Cluster, now_s: float, since_s: float) -> list[Event]:
    """The core/v1 Events of these incidents last seen in ``[since_s, now_s]`` (the API server's
    event TTL), for :mod:`.sim_api`."""
    from .model import Event

    out: list[Event] = []

    def keep(times: list[float]) -> list[float]:
        return [x for x in times if x <= now_s]

    def normal(p: dict[str, Any], reason: str, message: str, times: list[float],
               component: str = "kubelet") -> None:
        times = keep(times)
        if times and times[-1] >= since_s:
            out.append(Event(p["namespace"], "Pod", p["pod"], reason, message, times[0],
                             times[-1], count=len(times), component=component,
                             host="" if component != "kubelet" else p["node"]))

    def scheduled(p: dict[str, Any], at: float) -> None:
        normal(p, "Scheduled", f"Successfully assigned {p['namespace']}/{p['pod']} to "
               f"{p['node']}", [at], "default-scheduler")

    cl = crash_loop(c)
    scheduled(cl, cl["start_s"])
    normal(cl, "Started", f"Started container {cl['container']}",
           [cl["start_s"], *cl["restart_times_s"]])
    backoffs = keep(cl["crash_times_s"][1:])  # the kubelet backs off from the second exit on
    if backoffs and backoffs[-1] >= since_s:
        out.append(Event(cl["namespace"], "Pod", cl["pod"], "BackOff",
                         f"Back-off restarting failed container {cl['container']} in pod "
                         f"{cl['pod']}_{cl['namespace']}({_uid(cl['pod'])})",
                         backoffs[0], backoffs[-1], count=len(backoffs), type="Warning",
                         host=cl["node"]))
    ip = image_pull(c)
    scheduled(ip, ip["start_s"])
    normal(ip, "Pulling", f'Pulling image "{ip["image"]}"',
           ground_truth(c)["image_pull"]["pull_attempts_s"])
    pulls = keep(ground_truth(c)["image_pull"]["pull_attempts_s"])
    if pulls and pulls[-1] >= since_s:
        out.append(Event(ip["namespace"], "Pod", ip["pod"], "Failed",
                         f'Failed to pull image "{ip["image"]}": rpc error: code = NotFound '
                         f'desc = failed to pull and unpack image "{ip["image"]}": not found',
                         pulls[0], pulls[-1], count=len(pulls), type="Warning",
                         host=ip["node"]))
    backoffs = keep([x + 30 for x in ground_truth(c)["image_pull"]["pull_attempts_s"]])
    if backoffs and backoffs[-1] >= since_s:  # the kubelet backs off 30 s after each failure
        out.append(Event(ip["namespace"], "Pod", ip["pod"], "BackOff",
                         f'Back-off pulling image "{ip["image"]}"', backoffs[0],
                         backoffs[-1], count=len(backoffs), type="Warning", host=ip["node"]))
    fj = failed_job(c)
    scheduled(fj, fj["ran_from_s"])
    normal(fj, "Started", f"Started container {fj['container']}", [fj["ran_from_s"] + 2])
    if since_s <= fj["start_s"] <= now_s:
        out.append(Event(fj["namespace"], "Job", fj["job_name"], "BackoffLimitExceeded",
                         "Job has reached the specified backoff limit", fj["start_s"],
                         fj["start_s"], type="Warning", component="job-controller"))
    return out
