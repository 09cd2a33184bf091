"""A local HTTP sink that records what Alertmanager posts (webhook and Slack integrations).

Examples
--------
>>> with WebhookSink() as sink:          # doctest: +SKIP
...     url = sink.url + "/team"         # point a webhook_config or slack api_url here
...     posts = sink.posts()             # [{"time": unix s, "path": "/team", "body": {...}}]
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["WebhookSink"]


class WebhookSink:
    """Threaded HTTP server on 127.0.0.1 recording every POST (arrival time, path, JSON body).

    ``delay`` seconds pass before each answer, like a remote receiver's latency (Alertmanager
    stamps its notification log after the answer).
    """

    def __init__(self, port: int = 0, *, delay: float = 0.0) -> None:
        self._posts: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                arrived = time.time()
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body: Any = json.loads(raw)
                except ValueError:
                    body = raw.decode(errors="replace")
                with sink._lock:
                    sink._posts.append({"time": arrived, "path": self.path, "body": body})
                if delay:
                    time.sleep(delay)
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def posts(self) -> list[dict[str, Any]]:
        """A copy of the recorded posts, in arrival order."""
        with self._lock:
            return list(self._posts)

    def stop(self) -> None:
        """Shut the server down."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> WebhookSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
