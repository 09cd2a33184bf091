"""The demo's long-lived process: the simulated cluster as live scrape targets, the Kubernetes API
emulation, and the webhook sink that records what Alertmanager would have posted to Slack.

Run by ``workbench demo up`` as
``python -m workbench.demo.live --dir DIR --port P --kube-port K [--metrics-api MODE]``.

HTTP paths (all on 127.0.0.1:P):

``/sim/<target>/metrics``
    Prometheus text exposition of one simulated target at the current time (``<target>`` is
    ``node-exporter/<node>``, ``kubelet/<node>``, ``cadvisor/<node>`` or ``kube-state-metrics``).
``/slack`` (POST)
    The webhook sink: each body is appended, with its arrival time, to ``DIR/webhook.jsonl``.
``/posts``
    The recorded posts as a JSON list.
``/-/healthy``
    200 once everything serves.
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np

from .params import DemoParams
from .sim import FAMILIES, Cluster

__all__ = ["LiveServer", "exposition", "main"]


def _fmt(v: float) -> str:
    return repr(float(v)) if not float(v).is_integer() else str(int(v))


def exposition(cluster: Cluster, target: str, now_s: float) -> str:
    """The text exposition of ``target`` at ``now_s`` (every label but ``job``/``instance``)."""
    by_family: dict[str, list[str]] = {}
    for s in cluster.samples(np.array([now_s]), targets=[target]):
        v = float(s.values[0])
        if np.isnan(v):
            continue
        lab = ",".join(f'{k}="{_esc(val)}"' for k, val in sorted(s.labels.items())
                       if k not in ("job", "instance"))
        by_family.setdefault(s.name, []).append(f"{s.name}{{{lab}}} {_fmt(v)}\n")
    out = []
    for name, lines in by_family.items():
        type_, help_, _ = FAMILIES[name]
        out.append(f"# HELP {name} {help_}\n# TYPE {name} {'untyped' if type_ == 'unknown' else type_}\n")
        out.extend(lines)
    return "".join(out)


def _esc(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class LiveServer:
    """Scrape targets + webhook sink on one port; call :meth:`stop` to end."""

    def __init__(self, cluster: Cluster, sink_path: Path, *, port: int = 0) -> None:
        self.cluster = cluster
        self.sink_path = sink_path
        self._lock = threading.Lock()
        self._keys = {t.key for t in cluster.targets}
        handler = type("_H", (_Handler,), {"live": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._httpd.daemon_threads = True
        self.port = int(self._httpd.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True,
                                        name="demo-live")
        self._thread.start()

    def render(self, key: str) -> str | None:
        if key not in self._keys:
            return None
        with self._lock:  # the simulation caches are not thread-safe
            return exposition(self.cluster, key, time.time())

    def record(self, body: bytes) -> None:
        try:
            payload: Any = json.loads(body)
        except ValueError:
            payload = body.decode(errors="replace")
        line = json.dumps({"received_s": time.time(), "payload": payload})
        with self._lock, open(self.sink_path, "a") as fh:
            fh.write(line + "\n")

    def posts(self) -> list[Any]:
        if not self.sink_path.exists():
            return []
        return [json.loads(x) for x in self.sink_path.read_text().splitlines() if x.strip()]

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    live: LiveServer

    def _send(self, code: int, body: bytes, ctype: str = "text/plain; version=0.0.4") -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/-/healthy":
            self._send(200, b"ok\n")
        elif path == "/posts":
            self._send(200, json.dumps(self.live.posts()).encode(), "application/json")
        elif path.startswith("/sim/") and path.endswith("/metrics"):
            text = self.live.render(path[len("/sim/"):-len("/metrics")])
            if text is None:
                self._send(404, b"no such target\n")
            else:
                self._send(200, text.encode())
        else:
            self._send(404, b"not found\n")

    def do_POST(self) -> None:
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        if self.path.split("?", 1)[0] == "/slack":
            self.live.record(body)
            self._send(200, b"ok", "text/plain")
        else:
            self._send(404, b"not found\n")

    def log_message(self, format: str, *args: Any) -> None:
        pass


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m workbench.demo.live")
    ap.add_argument("--dir", required=True, type=Path)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--kube-port", type=int, default=0)
    ap.add_argument("--metrics-api", default="ok",
                    choices=("ok", "missing", "unavailable", "forbidden"))
    args = ap.parse_args(argv)
    hist = json.loads((args.dir / "history.json").read_text())
    cluster = Cluster(DemoParams.from_dict(hist["params"]), hist["end_s"])
    live = LiveServer(cluster, args.dir / "webhook.jsonl", port=args.port)
    from .kube_api import serve_kube_api

    kube = serve_kube_api(cluster, port=args.kube_port, metrics_api=args.metrics_api)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(json.dumps({"live": live.url, "kube_api": kube.url}), flush=True)
    stop.wait()
    kube.stop()
    live.stop()


if __name__ == "__main__":
    main()
