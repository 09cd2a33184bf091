"""Start VictoriaMetrics single-node and ``vmauth`` on 127.0.0.1, and fill VictoriaMetrics.

The second real backend of the test suite and of the demo (Debian package ``victoria-metrics``).
History goes in through the import API (no blocks to build): :func:`import_openmetrics` streams
an OpenMetrics file written for promtool (timestamps in seconds) to
``/api/v1/import/prometheus`` (timestamps in milliseconds), in bounded chunks.

Examples
--------
>>> list(openmetrics_to_import_lines(['# TYPE x gauge', 'x{a="b c"} 1.5 1767225600', '# EOF']))
['x{a="b c"} 1.5 1767225600000']
>>> list(openmetrics_to_import_lines(['x 2 1767225600.25']))
['x 2 1767225600250']
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import requests

from .._errors import WorkbenchError
from .._runtime import find_binary
from .servers import ManagedProcess, free_port, start_and_wait

__all__ = [
    "flush_victoria_metrics",
    "import_openmetrics",
    "openmetrics_to_import_lines",
    "post_import",
    "start_victoria_metrics",
    "start_vmauth",
]

#: Bytes per import request: VictoriaMetrics parses a request as it streams, so this only bounds
#: the client's buffer.
IMPORT_CHUNK_BYTES = 8 << 20


def start_victoria_metrics(
    data_dir: Path,
    *,
    port: int | None = None,
    retention: str = "100y",
    path_prefix: str = "",
    extra_args: Sequence[str] = (),
    detach: bool = False,
    log_path: Path | None = None,
    timeout: float = 60.0,
) -> ManagedProcess:
    """Start the Debian ``victoria-metrics`` single-node binary over ``data_dir``.

    Parameters
    ----------
    data_dir
        ``-storageDataPath`` (created).
    port
        Listen port on 127.0.0.1; a free one when omitted.
    retention
        ``-retentionPeriod``: samples older than ``now - retention`` are dropped *at import*, so
        keep it longer than the backfilled history (the default, 100 years, keeps everything).
    path_prefix
        ``-http.pathPrefix``: every path (``/health`` too) moves under it, and the returned
        ``url`` ends with it. ``/select/42/prometheus`` makes a single node answer like one
        tenant of a VictoriaMetrics cluster's ``vmselect``.
    extra_args
        More flags (``-search.maxQueryLen=1MB``, ...).

    Notes
    -----
    ``-search.latencyOffset=0``: VictoriaMetrics hides the last 30 s by default (samples that may
    still be arriving); the tests and the demo import history, so nothing is in flight.
    """
    binary = find_binary("victoria-metrics")
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log = log_path or data_dir.parent / f"{data_dir.name}-victoria-metrics.log"
    argv = [
        binary,
        f"-storageDataPath={data_dir}",
        f"-retentionPeriod={retention}",
        f"-httpListenAddr=127.0.0.1:{port}",
        "-search.latencyOffset=0",
        "-loggerLevel=WARN",
        *([f"-http.pathPrefix={path_prefix}"] if path_prefix else []),
        *extra_args,
    ]
    url = f"http://127.0.0.1:{port}{path_prefix.rstrip('/')}"
    return start_and_wait("victoria-metrics", argv, log, f"{url}/health", url=url, detach=detach,
                          timeout=timeout, extra={"port": port, "data": data_dir})


def start_vmauth(
    config_text: str,
    config_path: Path,
    *,
    port: int | None = None,
    extra_args: Sequence[str] = (),
    detach: bool = False,
    timeout: float = 30.0,
) -> ManagedProcess:
    """Start ``vmauth`` (the VictoriaMetrics auth proxy) with ``config_text`` as ``-auth.config``.

    ``config_text`` is vmauth's YAML (``users:`` with ``username``/``password`` or
    ``bearer_token``, and ``url_prefix`` or ``url_map``). The proxy answers ``/health`` itself.
    """
    binary = find_binary("vmauth")
    port = port or free_port()
    config_path.parent.mkdir(parents=True, exist_ok=True)
    config_path.write_text(config_text)
    log = config_path.with_suffix(".log")
    argv = [binary, f"-auth.config={config_path}", f"-httpListenAddr=127.0.0.1:{port}",
            "-loggerLevel=WARN", *extra_args]
    url = f"http://127.0.0.1:{port}"
    return start_and_wait("vmauth", argv, log, f"{url}/health", url=url, detach=detach,
                          timeout=timeout, extra={"port": port, "config": config_path})


def openmetrics_to_import_lines(lines: Iterable[str]) -> Iterator[str]:
    """Turn OpenMetrics sample lines (timestamps in seconds) into Prometheus text lines with
    millisecond timestamps, the form ``/api/v1/import/prometheus`` reads; comments are dropped.

    The timestamp is the last space-separated field (label values may hold spaces, a sample
    line always ends with its value and timestamp).
    """
    for raw in lines:
        line = raw.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        head, _, ts = line.rpartition(" ")
        ms = int(ts) * 1000 if ts.isdigit() else round(float(ts) * 1000)
        yield f"{head} {ms}"


def post_import(url: str, body: bytes, *, path: str = "/api/v1/import/prometheus",
                session: requests.Session | None = None, timeout: float = 300.0) -> None:
    """POST one import request; a refusal raises :class:`WorkbenchError` with the server's words."""
    http = session or requests
    try:
        r = http.post(f"{url.rstrip('/')}{path}", data=body, timeout=timeout)
    except requests.RequestException as exc:
        msg = f"Could not import into VictoriaMetrics at {url}: {type(exc).__name__}."
        raise WorkbenchError(msg) from None
    if r.status_code >= 300:
        msg = (f"VictoriaMetrics at {url} refused an import request (HTTP {r.status_code}): "
               f"{r.text.strip()[:500]}")
        raise WorkbenchError(msg)


def import_openmetrics(openmetrics: Path, url: str, *, chunk_bytes: int = IMPORT_CHUNK_BYTES
                       ) -> int:
    """Stream an OpenMetrics file into VictoriaMetrics; returns the number of sample lines.

    Memory stays at about ``chunk_bytes`` whatever the file size. Call
    :func:`flush_victoria_metrics` before querying what was imported.
    """
    n = 0
    with requests.Session() as session, openmetrics.open() as fh:
        buf: list[str] = []
        size = 0
        for line in openmetrics_to_import_lines(fh):
            buf.append(line)
            size += len(line) + 1
            n += 1
            if size >= chunk_bytes:
                post_import(url, ("\n".join(buf) + "\n").encode(), session=session)
                buf, size = [], 0
        if buf:
            post_import(url, ("\n".join(buf) + "\n").encode(), session=session)
    return n


def flush_victoria_metrics(url: str) -> None:
    """Make imported samples searchable now and drop cached query results.

    VictoriaMetrics buffers fresh samples for about a second, and its rollup cache may hold
    answers computed before a backfill (``/internal/resetRollupResultCache``).
    """
    base = url.rstrip("/")
    for path in ("/internal/force_flush", "/internal/resetRollupResultCache"):
        try:
            r = requests.get(f"{base}{path}", timeout=60)
        except requests.RequestException as exc:
            msg = f"VictoriaMetrics at {url} did not answer {path}: {type(exc).__name__}."
            raise WorkbenchError(msg) from None
        if r.status_code >= 300:
            msg = f"VictoriaMetrics at {url} refused {path} (HTTP {r.status_code})."
            raise WorkbenchError(msg)
