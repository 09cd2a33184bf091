"""Which processes are the demo's: identity by pid *and* start time, port ownership, locks.

A pid alone does not name a process (pids are reused), and a command line can be anyone's. A
process the demo started is recorded as ``{"pid", "start_ticks", "argv0", ...}``, where
``start_ticks`` is the kernel's start time of that pid (``/proc/<pid>/stat`` field 22, clock ticks
since boot) and ``boot_id`` the kernel's boot id: a pid is ours only if the same pid, started at the
same tick of the same boot, still runs. A server's port is checked the same way: the listening
socket on the port must be one of our process's file descriptors (so another server that took
the port between choosing and binding is never reported as ours).

Examples
--------
>>> import os
>>> rec = record(os.getpid(), ["python"])
>>> is_ours(rec)
True
>>> is_ours({**rec, "start_ticks": rec["start_ticks"] + 1})
False
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from .._errors import ConfigError

__all__ = ["PortTaken", "boot_id", "holders", "is_ours", "listening", "lock_dir", "port_users",
           "record", "start_ticks", "tsdb_in_use"]


class PortTaken(Exception):
    """Another process answers on the port a demo server was meant to bind (choose another)."""


def boot_id() -> str:
    """The kernel's boot id ('' where unknown)."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def start_ticks(pid: int) -> int | None:
    """When ``pid`` started (clock ticks since boot), or None when no such live process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] in ("Z", "X"):  # zombie or dead: exited
        return None
    return int(fields[19])


def record(pid: int, argv: list[str], **extra: Any) -> dict[str, Any]:
    """What to store about a process we started, so :func:`is_ours` can recognise it later."""
    return {"pid": pid, "start_ticks": start_ticks(pid), "boot_id": boot_id(),
            "argv0": argv[0], **extra}


def is_ours(rec: Mapping[str, Any]) -> bool:
    """Whether the process ``rec`` describes still runs (same pid, boot and start time)."""
    try:
        pid = int(rec["pid"])
        want = rec.get("start_ticks")
    except (KeyError, TypeError, ValueError):
        return False
    if want is None or pid <= 0:
        return False  # an old or damaged record: never trust a bare pid
    if rec.get("boot_id") and rec["boot_id"] != boot_id():
        return False
    return start_ticks(pid) == want


def _socket_inodes(port: int) -> set[str]:
    """Inodes of sockets listening on TCP ``port`` (any address, IPv4 and IPv6)."""
    out = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for ln in lines:
            f = ln.split()
            if len(f) > 9 and f[3] == "0A" and int(f[1].rsplit(":", 1)[1], 16) == port:
                out.add(f[9])
    return out


def _fd_inodes(pid: int) -> set[str]:
    out = set()
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:["):
                    out.add(link[8:-1])
    return out


def listening(pid: int, port: int) -> bool:
    """Whether ``pid`` holds the socket listening on TCP ``port``."""
    inodes = _socket_inodes(port)
    return bool(inodes) and bool(inodes & _fd_inodes(pid))


def port_users(port: int) -> bool:
    """Whether anything listens on TCP ``port``."""
    return bool(_socket_inodes(port))


def wait_listening(pid: int, ports: list[int], alive: Callable[[], bool], timeout: float) -> None:
    """Wait until ``pid`` listens on every port of ``ports``.

    Raises :class:`PortTaken` when the process exits (or times out) while another process
    listens on one of the ports; returns quietly when the process exits for another reason
    (the caller's health check reports that with the log).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(listening(pid, p) for p in ports):
            return
        if not alive():
            break
        time.sleep(0.05)
    taken = [p for p in ports if port_users(p) and not listening(pid, p)]
    if taken:
        raise PortTaken(taken)


def holders(path: Path) -> list[int]:
    """Pids of running processes whose command line names ``path`` (for messages only)."""
    needle = str(path).encode()
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if needle in Path(f"/proc/{entry}/cmdline").read_bytes():
                out.append(int(entry))
    return sorted(out)


def tsdb_in_use(tsdb: Path) -> bool:
    """Whether a Prometheus holds ``tsdb``'s lock file (it flocks ``<tsdb>/lock`` while open)."""
    lock = tsdb / "lock"
    if not lock.exists():
        return False
    try:
        fd = os.open(lock, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops our lock, if we got it
    return False


@contextlib.contextmanager
def lock_dir(d: Path, *, timeout_s: float, say: Callable[[str], None]) -> Iterator[None]:
    """Hold ``d/.lock`` (one ``up``/``down`` at a time); wait at most ``timeout_s`` for it.

    While waiting it says once who holds the lock (the pid written in it); after ``timeout_s``
    it raises :class:`~workbench.ConfigError` naming the holder.
    """
    d.mkdir(parents=True, exist_ok=True)
    fd = os.open(d / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout_s
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
                if time.monotonic() >= deadline:
                    msg = (f"Another `workbench demo` (pid {holder}) has held {d / '.lock'} for "
                           f"more than {timeout_s:g} s. Fix: wait for it to finish, or stop it "
                           f"(kill {holder}) and run the command again.")
                    raise ConfigError(msg) from None
                if not told:
                    say(f"waiting for another `workbench demo` (pid {holder}) working in {d} "
                        f"(giving up after {timeout_s:g} s) ...")
                    told = True
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
