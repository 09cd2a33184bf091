"""metrics-server snapshots of a 2,000-pod cluster: workbench vs the ``kubernetes.utils`` peer path.

The Kubernetes API emulation runs in a child process (so its work does not count against the
client), serving a synthetic cluster of 2,000 pods / 50 nodes / 20 namespaces. Both sides use the
real ``kubernetes`` client against it. Figures are medians over the repetitions:

* **post-body**: client work once the HTTP body bytes are in hand (JSON parse + frame build);
* **total**: wall time of the whole call, requests included; **cpu**: client process CPU time.

Peer paths (what a user of the official client writes today):

* usage: ``kubernetes.utils.get_pods_metrics_in_all_namespaces(api_client, namespaces)`` (one
  request per namespace) then a pandas DataFrame from its dicts, quantities through
  ``kubernetes.utils.parse_quantity``;
* usage vs requests: the same plus ``CoreV1Api().list_pod_for_all_namespaces()`` (typed models)
  and a pandas merge.

Run with ``python -m benchmarks metrics_server [--quick]``.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PODS, NODES, NAMESPACES = 2000, 50, 20

_SERVER = """
import sys
from workbench.demo.static import synthetic_cluster
from workbench.demo.kube_api import serve_kube_api
server = serve_kube_api(synthetic_cluster(pods={pods}, nodes={nodes}, namespaces={ns}))
print(server.url, flush=True)
sys.stdin.read()
server.stop()
"""


def _measure(fn: Callable[[], Any], reps: int) -> tuple[float, float, Any]:
    """Median wall and client-CPU seconds of ``fn()``, and its last result."""
    walls, cpus, out = [], [], None
    for _ in range(reps):
        c0, w0 = time.process_time(), time.perf_counter()
        out = fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus), out


def _peer_usage_frame(per_ns: dict[str, Any]) -> Any:
    """What a peer user writes: one dict per container, quantities via kubernetes.utils."""
    import pandas as pd
    from kubernetes.utils import parse_quantity

    rows = []
    for ns, result in per_ns.items():
        for item in result.get("items", []):
            for c in item["containers"]:
                rows.append({
                    "namespace": ns,
                    "pod": item["metadata"]["name"],
                    "container": c["name"],
                    "timestamp": item["timestamp"],
                    "window": item["window"],
                    "cpu_cores": float(parse_quantity(c["usage"]["cpu"])),
                    "memory_bytes": int(parse_quantity(c["usage"]["memory"])),
                })
    frame = pd.DataFrame(rows)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    return frame


def _peer_specs_frame(pod_list: Any) -> Any:
    import pandas as pd
    from kubernetes.utils import parse_quantity

    rows = []
    for p in pod_list.items:
        for c in p.spec.containers:
            req = (c.resources.requests if c.resources else None) or {}
            rows.append({
                "namespace": p.metadata.namespace, "pod": p.metadata.name, "container": c.name,
                "cpu_request_cores": float(parse_quantity(req["cpu"])) if "cpu" in req else None,
                "memory_request_bytes": int(parse_quantity(req["memory"]))
                if "memory" in req else None,
            })
    return pd.DataFrame(rows)


def _ratio(peer: float, ours: float) -> str:
    return f"{peer / ours:6.1f}x" if ours > 0 else "   n/a"


def main(quick: bool) -> None:
    import kubernetes
    import orjson

    from workbench.demo.kube_api import write_kubeconfig
    from workbench.sources.kubernetes.client import (
        MetricsServer,
        _finish,
        _finish_specs,
        decode_pod_metrics,
        decode_pod_specs,
        usage_vs_requests,
    )

    reps = 3 if quick else 10
    code = _SERVER.format(pods=PODS, nodes=NODES, ns=NAMESPACES)
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url.startswith("http"):
            msg = f"the emulation did not start (got {url!r})"
            raise RuntimeError(msg)
        kc = write_kubeconfig(Path(tempfile.mkdtemp()) / "kubeconfig", url)
        ms = MetricsServer.from_kubeconfig(kc)
        api_client = kubernetes.config.new_client_from_config(config_file=str(kc))
        namespaces = [n.metadata.name for n in
                      kubernetes.client.CoreV1Api(api_client).list_namespace().items]

        # warm both paths (connection pools, server-side object caches)
        ms.usage_vs_requests()
        kubernetes.utils.get_pods_metrics_in_all_namespaces(api_client, namespaces)

        # -- post-body: the same bytes for both sides --
        metrics_body = ms._metrics_bodies("pods", None, None)
        spec_body = ms._core_bodies("pods", None, None)
        co = kubernetes.client.CustomObjectsApi(api_client)
        ns_bodies = {ns: co.list_namespaced_custom_object(
            "metrics.k8s.io", "v1beta1", ns, "pods", _preload_content=False).data
            for ns in namespaces}
        body_kib = (len(metrics_body[0]) + len(spec_body[0])) / 1024

        ours_post, _, ours_frame = _measure(
            lambda: _finish(decode_pod_metrics(metrics_body)), reps)
        peer_post, _, peer_frame = _measure(
            lambda: _peer_usage_frame({ns: json.loads(b.decode()) for ns, b in ns_bodies.items()}),
            reps)
        # same rows, same values: the two sides did the same work
        assert len(ours_frame) == len(peer_frame)
        assert abs(ours_frame["cpu_cores"].sum() - float(peer_frame["cpu_cores"].sum())) < 1e-6
        assert ours_frame["memory_bytes"].sum() == int(peer_frame["memory_bytes"].sum())

        ours_join_post, _, joined = _measure(lambda: usage_vs_requests(
            _finish(decode_pod_metrics(metrics_body)),
            _finish_specs(decode_pod_specs(spec_body))), reps)

        from kubernetes.client import ApiClient

        deser = ApiClient()

        class _Resp:
            def __init__(self, data: bytes) -> None:
                self.data = data

        def peer_join_post() -> Any:
            usage = _peer_usage_frame({ns: json.loads(b.decode()) for ns, b in ns_bodies.items()})
            pod_list = deser.deserialize(spec_body[0].decode(), "V1PodList", "application/json")
            return usage.merge(_peer_specs_frame(pod_list), on=["namespace", "pod", "container"],
                               how="left")

        peer_join_post_s, _, peer_joined = _measure(peer_join_post, reps)
        assert len(peer_joined) == joined.height

        # -- totals: whole calls, requests included --
        ours_total, ours_cpu, _ = _measure(lambda: ms.pods(containers=True), reps)
        peer_total, peer_cpu, _ = _measure(lambda: _peer_usage_frame(
            kubernetes.utils.get_pods_metrics_in_all_namespaces(api_client, namespaces)), reps)
        ours_jt, ours_jcpu, _ = _measure(ms.usage_vs_requests, reps)

        def peer_join_total() -> Any:
            usage = _peer_usage_frame(
                kubernetes.utils.get_pods_metrics_in_all_namespaces(api_client, namespaces))
            pods = kubernetes.client.CoreV1Api(api_client).list_pod_for_all_namespaces()
            return usage.merge(_peer_specs_frame(pods), on=["namespace", "pod", "container"],
                               how="left")

        peer_jt, peer_jcpu, _ = _measure(peer_join_total, reps)
        top_total, top_cpu, _ = _measure(ms.top_pods, reps)
        text_total, _, _ = _measure(lambda: ms.top_pods(text=True), reps)
        nodes_total, nodes_cpu, _ = _measure(ms.top_nodes, reps)
        ms.close()
        api_client.close()
        deser.close()
        _ = orjson
    finally:
        if proc.stdin:
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    ms_ = 1000
    print(f"cluster: {PODS} pods, {NODES} nodes, {NAMESPACES} namespaces; "
          f"{ours_frame.height} containers with metrics; bodies {body_kib:.0f} KiB "
          f"(metrics + pod list); median of {reps}")
    print(f"{'step':<44}{'workbench':>12}{'peer':>12}{'peer/ours':>11}")
    rows = [
        ("usage post-body (parse + frame)", ours_post, peer_post),
        ("usage total wall (requests included)", ours_total, peer_total),
        ("usage total client CPU", ours_cpu, peer_cpu),
        ("usage vs requests post-body", ours_join_post, peer_join_post_s),
        ("usage vs requests total wall", ours_jt, peer_jt),
        ("usage vs requests total client CPU", ours_jcpu, peer_jcpu),
    ]
    for name, ours, peer in rows:
        print(f"{name:<44}{ours * ms_:>10.1f}ms{peer * ms_:>10.1f}ms{_ratio(peer, ours):>11}")
    print(f"{'top_pods() total wall / client CPU':<44}{top_total * ms_:>10.1f}ms"
          f"{top_cpu * ms_:>10.1f}ms  (no peer)")
    print(f"{'top_pods(text=True) total wall':<44}{text_total * ms_:>10.1f}ms")
    print(f"{'top_nodes() total wall / client CPU':<44}{nodes_total * ms_:>10.1f}ms"
          f"{nodes_cpu * ms_:>10.1f}ms  (no peer)")
    print("peer usage = one request per namespace (kubernetes.utils has no cluster-wide helper); "
          "ours = one cluster-wide request.")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
