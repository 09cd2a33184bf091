"""Start and stop the real server binaries (Prometheus, promtool backfill) on 127.0.0.1.

Used by the test suite and by the demo stack. Every binary comes from a Debian package; a missing
one raises :class:`~workbench.MissingBinaryError` with the install command.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import requests

from .._errors import WorkbenchError
from .._runtime import find_binary

__all__ = [
    "ManagedProcess",
    "backfill_openmetrics",
    "free_port",
    "move_blocks",
    "start_alertmanager",
    "start_and_wait",
    "start_prometheus",
    "wait_http_ok",
]

def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http_ok(url: str, *, timeout: float = 30.0, proc: subprocess.Popen[bytes] | None = None,
                 log_path: Path | None = None) -> None:
    """Poll ``url`` until it answers 200, the process dies, or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = _tail(log_path)
            msg = f"The server behind {url} exited with code {proc.returncode}. Its log ends:\n{tail}"
            raise WorkbenchError(msg)
        try:
            r = requests.get(url, timeout=2)
            if r.status_code == 200:
                return
            last = f"HTTP {r.status_code}"
        except requests.RequestException as exc:
            last = type(exc).__name__
        time.sleep(0.1)
    msg = f"{url} did not become ready within {timeout:g} s ({last}). Log:\n{_tail(log_path)}"
    raise WorkbenchError(msg)


def _tail(path: Path | None, lines: int = 15) -> str:
    if path is None or not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class ManagedProcess:
    """A server process started by workbench, with its log file."""

    name: str
    proc: subprocess.Popen[bytes]
    url: str
    log_path: Path
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the process (SIGTERM, then SIGKILL after ``timeout``)."""
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def __enter__(self) -> ManagedProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def spawn(argv: Sequence[str], log_path: Path, *, detach: bool = False,
          env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start ``argv`` with output to ``log_path``; ``detach`` puts it in its own session."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            list(argv), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=detach, env=env,
        )


def backfill_openmetrics(openmetrics: Path, tsdb_dir: Path, *,
                         max_block_duration: str | None = "4320h") -> None:
    """Turn an OpenMetrics file into TSDB blocks with ``promtool tsdb create-blocks-from``.

    ``max_block_duration`` uses promtool's hidden flag: one block window spanning the whole
    history avoids re-parsing the file once per 2h window (many times faster).
    """
    promtool = find_binary("promtool")
    argv = [promtool, "tsdb", "create-blocks-from"]
    if max_block_duration:
        argv.append(f"--max-block-duration={max_block_duration}")
    argv += ["openmetrics", str(openmetrics), str(tsdb_dir)]
    tsdb_dir.mkdir(parents=True, exist_ok=True)
    res = subprocess.run(argv, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        msg = (
            f"promtool could not backfill {openmetrics} (exit {res.returncode}): "
            f"{(res.stderr or res.stdout).strip()[-800:]}"
        )
        raise WorkbenchError(msg)


def move_blocks(blocks_dir: Path, tsdb_dir: Path) -> None:
    """Move the blocks promtool wrote into ``blocks_dir`` into ``tsdb_dir`` (whole blocks only,
    so a running Prometheus never sees a half-written one), then remove ``blocks_dir``."""
    for block in blocks_dir.iterdir():
        block.rename(tsdb_dir / block.name)
    blocks_dir.rmdir()


def start_and_wait(name: str, argv: Sequence[str], log: Path, ready_url: str, *,
                   url: str, extra: dict[str, object], detach: bool = False,
                   timeout: float = 30.0) -> ManagedProcess:
    """Spawn ``argv`` (output to ``log``), wait until ``ready_url`` answers 200, and return it
    as a :class:`ManagedProcess`; a server that never gets ready is killed before the error."""
    proc = spawn(list(argv), log, detach=detach)
    try:
        wait_http_ok(ready_url, timeout=timeout, proc=proc, log_path=log)
    except BaseException:
        with contextlib.suppress(OSError):
            proc.kill()
        raise
    return ManagedProcess(name, proc, url, log, extra)


def start_prometheus(
    tsdb_dir: Path,
    *,
    config_text: str = "global:\n  scrape_interval: 15s\n",
    port: int | None = None,
    retention: str = "3650d",
    extra_args: Sequence[str] = (),
    detach: bool = False,
    log_path: Path | None = None,
    timeout: float = 60.0,
) -> ManagedProcess:
    """Start the Debian ``prometheus`` binary on 127.0.0.1 over ``tsdb_dir`` and wait for ready.

    Parameters
    ----------
    tsdb_dir
        TSDB directory (backfilled blocks are picked up at start).
    config_text
        The prometheus.yml contents (written next to the TSDB).
    port
        Listen port; a free one when omitted.
    retention
        ``--storage.tsdb.retention.time``; retention counts from the newest block, so keep it
        longer than the backfilled history.
    """
    binary = find_binary("prometheus")
    port = port or free_port()
    tsdb_dir.mkdir(parents=True, exist_ok=True)
    cfg = tsdb_dir.parent / f"{tsdb_dir.name}-prometheus.yml"
    cfg.write_text(config_text)
    log = log_path or tsdb_dir.parent / f"{tsdb_dir.name}-prometheus.log"
    argv = [
        binary,
        f"--config.file={cfg}",
        f"--storage.tsdb.path={tsdb_dir}",
        f"--storage.tsdb.retention.time={retention}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--web.enable-lifecycle",
        "--log.level=warn",
        *extra_args,
    ]
    url = f"http://127.0.0.1:{port}"
    return start_and_wait("prometheus", argv, log, f"{url}/-/ready", url=url, detach=detach,
                          timeout=timeout, extra={"port": port, "config": cfg, "tsdb": tsdb_dir})


def start_alertmanager(
    config_text: str,
    data_dir: Path,
    *,
    port: int | None = None,
    extra_args: Sequence[str] = (),
    log_path: Path | None = None,
    timeout: float = 30.0,
) -> ManagedProcess:
    """Start the Debian ``prometheus-alertmanager`` binary on 127.0.0.1 and wait for ready.

    ``config_text`` is written to ``data_dir/alertmanager.yml``; clustering is off. The
    returned process's ``extra["started"]`` is the Unix time just before the spawn (the
    dispatcher's 30 s cleanup ticker starts a moment later).
    """
    binary = find_binary("prometheus-alertmanager")
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    cfg = data_dir / "alertmanager.yml"
    cfg.write_text(config_text)
    log = log_path or data_dir / "alertmanager.log"
    argv = [binary, f"--config.file={cfg}", f"--storage.path={data_dir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=",
            "--log.level=warn", *extra_args]
    started = time.time()
    url = f"http://127.0.0.1:{port}"
    return start_and_wait("alertmanager", argv, log, f"{url}/-/ready", url=url, timeout=timeout,
                          extra={"port": port, "config": cfg, "started": started})


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
