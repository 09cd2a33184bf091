"""The demo leaks no process and never claims one that is not its own: pid + start time identity,
a damaged state.json, a held lock, a port taken between choosing and binding, and `up` killed
while the temporary Prometheus evaluates the alert rules."""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from workbench import ConfigError
from workbench._runtime import find_binary
from workbench.demo import procs, stack
from workbench.demo.params import SMALL

from .conftest import require_binary

_HOLD = ("import fcntl, os, sys, time\n"
         "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\n"
         "fcntl.flock(fd, fcntl.LOCK_EX)\n"
         "os.pwrite(fd, f'{os.getpid()}\\n'.encode(), 0)\n"
         "print('locked', flush=True)\n"
         "time.sleep(120)\n")


def _holder(path: Path) -> subprocess.Popen[str]:
    """A foreign process whose command line names ``path`` and that flocks it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    p = subprocess.Popen([sys.executable, "-c", _HOLD, str(path)], stdout=subprocess.PIPE,
                         text=True)
    assert p.stdout is not None and p.stdout.readline().strip() == "locked"
    return p


def test_a_process_naming_the_directory_is_not_ours(tmp_path: Path) -> None:
    d = tmp_path / "demo"
    foreign = _holder(d / "not-a-lock")
    try:
        # the old check (command line names the directory) said "ours" and killed it
        legacy = {"pid": foreign.pid, "argv0": sys.executable, "url": "http://127.0.0.1:1"}
        wrong_start = procs.record(foreign.pid, [sys.executable])
        wrong_start["start_ticks"] -= 1  # the pid was reused by a later process
        for rec in (legacy, wrong_start):
            (d / "state.json").write_text(json.dumps({"processes": {"live": rec}}))
            assert not stack.status(d)["running"]
            assert stack.down(d) == []
            assert foreign.poll() is None
        mine = procs.record(foreign.pid, [sys.executable])
        (d / "state.json").write_text(json.dumps({"processes": {"live": mine}}))
        assert stack.status(d)["running"]
        assert stack.down(d) == ["live"]
        assert not procs.is_ours(mine)  # stopped (and reaped by down: it is our child here)
    finally:
        foreign.kill()
        foreign.wait()


def test_up_waits_for_the_lock_says_so_and_gives_up(tmp_path: Path) -> None:
    d = tmp_path / "demo"
    holder = _holder(d / ".lock")
    said: list[str] = []
    try:
        t0 = time.monotonic()
        with pytest.raises(ConfigError, match=rf"pid {holder.pid}\) has held .*\.lock for more "
                                              r"than 1 s"):
            stack.up(d, SMALL, echo=said.append, lock_timeout_s=1.0)
        assert 1.0 <= time.monotonic() - t0 < 5
        assert len(said) == 1 and "waiting for another `workbench demo`" in said[0]
        assert not (d / "tsdb").exists()
    finally:
        holder.kill()
        holder.wait()


def test_corrupt_state_does_not_start_a_second_stack(tmp_path: Path) -> None:
    d = tmp_path / "demo"
    prom = _holder(d / "tsdb" / "lock")  # a running Prometheus holds the TSDB's lock file
    try:
        (d / "state.json").write_text('{"processes": {"prometheus": {"pid": 12')  # cut short
        with pytest.raises(ConfigError, match=rf"cannot be read.*processes {prom.pid} name it"):
            stack.up(d, SMALL, echo=lambda m: None, lock_timeout_s=5)
        with pytest.raises(ConfigError, match=rf"kill {prom.pid}"):
            stack.down(d)
        assert prom.poll() is None
        assert sorted(p.name for p in (d / "tsdb").iterdir()) == ["lock"]  # nothing generated
        # a readable state that names nothing running, but the TSDB is held: refused too
        (d / "state.json").write_text("{}")
        with pytest.raises(ConfigError, match=r"holds .*tsdb"):
            stack.up(d, SMALL, echo=lambda m: None, lock_timeout_s=5)
    finally:
        prom.kill()
        prom.wait()


class _Any200(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"someone else's server\n")

    def log_message(self, *a: object) -> None:
        pass


@pytest.mark.server
def test_a_port_taken_before_binding_is_not_reported_as_ours(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_binary("prometheus-node-exporter")
    other = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Any200)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    taken = other.server_address[1]
    real = stack.free_port
    handed = iter([taken])
    monkeypatch.setattr(stack, "free_port", lambda: next(handed, None) or real())
    d = tmp_path / "demo"
    (d / "logs").mkdir(parents=True)
    st: dict = {"processes": {}, "endpoints": {}}
    argv = lambda ports: [find_binary("prometheus-node-exporter"),  # noqa: E731
                          f"--web.listen-address=127.0.0.1:{ports[0]}",
                          "--collector.disable-defaults", "--collector.time"]
    try:
        url = stack._with_free_ports(d, st, 1, lambda ports: stack._launch(
            d, st, "node-exporter", argv(ports), ports, "/metrics"))
        port = int(url.rsplit(":", 1)[1])
        assert port != taken
        rec = st["processes"]["node-exporter"]
        assert procs.is_ours(rec) and procs.listening(rec["pid"], port)
        assert "node_time_seconds" in requests.get(f"{url}/metrics", timeout=5).text
        assert requests.get(f"http://127.0.0.1:{taken}/", timeout=5).text.startswith("someone")
    finally:
        stack._down(d)
        other.shutdown()
    assert not procs.is_ours(rec)


@pytest.mark.server
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_up_killed_during_alert_evaluation_leaves_nothing_behind(tmp_path: Path,
                                                                 sig: int) -> None:
    for b in ("prometheus", "promtool", "prometheus-alertmanager", "prometheus-node-exporter"):
        require_binary(b)
    d = tmp_path / "demo"
    up = subprocess.Popen([sys.executable, "-m", "workbench", "demo", "up", "--dir", str(d),
                           "--nodes", "2", "--pods", "12", "--days", "0.25"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    rec = None
    try:
        deadline = time.monotonic() + 120
        while rec is None and time.monotonic() < deadline and up.poll() is None:
            with contextlib.suppress(OSError, ValueError, KeyError):
                rec = json.loads((d / "state.json").read_text())["processes"].get(
                    "prometheus-backfill")
            time.sleep(0.05)
        assert rec is not None, "up never started its temporary Prometheus"
        while not procs.listening(rec["pid"], int(rec["url"].rsplit(":", 1)[1])):
            time.sleep(0.05)
        up.send_signal(sig)
        up.wait(30)
        if sig == signal.SIGTERM:  # up cleans up after itself
            assert up.returncode == 128 + signal.SIGTERM
            time.sleep(0.5)
            assert not procs.is_ours(rec)
        else:  # nothing could run in up: down finds and stops the recorded Prometheus
            assert procs.is_ours(rec)
            assert "prometheus-backfill" in stack.down(d)
            assert not procs.is_ours(rec)
        assert not procs.tsdb_in_use(d / "tsdb")
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()
        stack.down(d)
