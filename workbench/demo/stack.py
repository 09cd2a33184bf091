"""Bring the demo stack up, report on it and take it down (``workbench demo up|status|down``).

Everything lives in one state directory (default ``~/.cache/workbench/demo``, or ``--dir``, or
``WORKBENCH_DEMO_DIR``)::

    state.json          pids, ports and endpoints of what ``up`` started
    history.json        the simulation parameters and the end of the backfilled history
    ground_truth.json   the planted scenarios (see workbench.demo.sim.Cluster.ground_truth)
    tsdb/               Prometheus data (backfilled history + live data)
    kubeconfig          points the kubernetes client at the API emulation
    webhook.jsonl       what Alertmanager would have posted to Slack
    logs/               one log per process

``down`` stops only the processes ``up`` started, by pid, after checking that the pid is still
the same process: ``state.json`` records each pid with its kernel start time and boot id, and a
pid whose start time differs (a reused pid) is never signalled (see :mod:`workbench.demo.procs`).
Every server must be seen listening on its own port before ``up`` reports it (a port taken by
another server between choosing and binding makes ``up`` try other ports). The temporary
Prometheus that evaluates the alert rules over the history is recorded too, so ``down`` stops it
when ``up`` was killed mid-way. ``up`` refuses to start over a TSDB another Prometheus holds.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import requests

from .._errors import ConfigError
from .._runtime import find_binary
from ..testing.servers import free_port, pid_alive, spawn, wait_http_ok
from .params import DEFAULT, DemoParams
from .procs import PortTaken, holders, is_ours, lock_dir, record, tsdb_in_use, wait_listening

__all__ = ["DEFAULT_MAX_HOLE_S", "demo_dir", "down", "endpoints", "profile_url", "prometheus_url", "status",
           "up"]

#: Reuse a stored TSDB when the data ends at most this long ago (and parameters match).
DEFAULT_MAX_HOLE_S = 6 * 3600.0
#: The job the host's own node_exporter is scraped under (not the simulated ``node-exporter``).
HOST_JOB = "demo-host"
_PROCS = ("live", "node-exporter", "alertmanager", "prometheus", "prometheus-backfill")
#: How long ``up``/``down`` wait for another ``workbench demo`` working in the same directory.
DEFAULT_LOCK_TIMEOUT_S = 900.0
_PORT_ATTEMPTS = 4
_REQUIRED = ("prometheus", "promtool", "prometheus-alertmanager", "prometheus-node-exporter")

Echo = Callable[[str], None]


def demo_dir(dir: str | os.PathLike[str] | None = None) -> Path:
    """The state directory: ``dir``, else ``$WORKBENCH_DEMO_DIR``, else ``~/.cache/workbench/demo``."""
    if dir is not None:
        return Path(dir).expanduser().resolve()
    env = os.environ.get("WORKBENCH_DEMO_DIR")
    if env:
        return Path(env).expanduser().resolve()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return (Path(base) / "workbench" / "demo").resolve()


def _load(path: Path) -> dict[str, Any] | None:
    try:
        doc: dict[str, Any] = json.loads(path.read_text())
        return doc
    except (OSError, ValueError):
        return None


def _save(path: Path, doc: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=2, sort_keys=True))
    tmp.replace(path)


def _ours(rec: Mapping[str, Any], d: Path) -> bool:
    """Whether ``rec`` (a ``state.json`` process record) is a process ``up`` started in ``d``.

    Same pid, same kernel start time, same boot (:func:`~workbench.demo.procs.is_ours`); a
    record without a start time (written by an older version, or damaged) is never trusted.
    """
    return is_ours(rec)


def _stop_pid(rec: Mapping[str, Any], d: Path, timeout: float = 10.0) -> bool:
    if not _ours(rec, d):
        return False
    pid = int(rec["pid"])
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(pid)
        if not pid_alive(pid) or _zombie(pid):
            _reap(pid)
            return True
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    return True


def _stderr(m: str) -> None:
    print(m, file=sys.stderr, flush=True)


@contextlib.contextmanager
def _on_sigterm_exit() -> Iterator[None]:
    """Turn SIGTERM/SIGHUP into SystemExit while ``up`` runs, so its cleanups (the temporary
    Prometheus, half-started servers) run instead of being orphaned."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _exit(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    old = {sig: signal.signal(sig, _exit) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)


def _reap(pid: int) -> None:
    """Collect ``pid``'s exit status if it is our child (when `up` ran in this process)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


# -- public API ----------------------------------------------------------------------------------


def endpoints(dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Endpoints of the running demo (what ``workbench demo status --json`` prints).

    Keys: ``prometheus``, ``alertmanager``, ``webhook_sink``, ``kubernetes_api``, ``kubeconfig``,
    ``state_dir``, ``ground_truth``.

    Raises
    ------
    ConfigError
        When no demo runs in that directory (the message says how to start one).
    """
    d = demo_dir(dir)
    st = _load(d / "state.json")
    if not st or not st.get("processes") or not all(
            _ours(p, d) for p in st.get("processes", {}).values()):
        default = (Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
                   / "workbench" / "demo").resolve()
        how = ("`workbench demo up` (or `make demo`)" if d == default else
               f"`workbench demo up --dir {d}` (or `WORKBENCH_DEMO_DIR={d} make demo`)")
        msg = f"No demo stack is running in {d}. Fix: run {how}."
        raise ConfigError(msg)
    return dict(st["endpoints"])


def prometheus_url(dir: str | os.PathLike[str] | None = None) -> str:
    """The running demo's Prometheus URL (what ``Prometheus("demo")`` connects to)."""
    return str(endpoints(dir)["prometheus"])


def profile_url(environ: Mapping[str, str]) -> str:
    """The ``demo`` profile (entry point ``workbench.profiles``): ``$WORKBENCH_DEMO_DIR``'s Prometheus."""
    return prometheus_url(environ.get("WORKBENCH_DEMO_DIR"))


def status(dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """What runs where: ``running`` (all processes alive), ``processes``, ``endpoints``, ``history``."""
    d = demo_dir(dir)
    st = _load(d / "state.json") or {}
    hist = _load(d / "history.json") or {}
    procs = {}
    for name, p in st.get("processes", {}).items():
        procs[name] = {**p, "alive": _ours(p, d)}
    running = bool(procs) and all(p["alive"] for p in procs.values())
    return {"state_dir": str(d), "running": running, "processes": procs,
            "endpoints": st.get("endpoints", {}),
            "history": {k: hist.get(k) for k in ("params", "start_s", "end_s", "fingerprint",
                                                  "stats")} if hist else {}}


def down(dir: str | os.PathLike[str] | None = None, *,
         lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S) -> list[str]:
    """Stop what ``up`` started in that directory (by pid); returns the names stopped.

    Raises
    ------
    ConfigError
        When ``state.json`` cannot be read while processes naming the directory still run (their
        pids are in the message: they cannot be proven ours, so they are not killed), or when
        another ``up``/``down`` holds the directory longer than ``lock_timeout_s``.
    """
    d = demo_dir(dir)
    if not (d / "state.json").exists():
        return []
    with lock_dir(d, timeout_s=lock_timeout_s, say=_stderr):
        return _down(d)


def _unreadable_state(d: Path) -> ConfigError | None:
    """The error to raise when ``state.json`` is damaged while something still uses ``d``."""
    pids = holders(d)
    busy = tsdb_in_use(d / "tsdb")
    if not pids and not busy:
        return None
    who = f"processes {', '.join(map(str, pids))} name it" if pids else "a Prometheus holds its tsdb"
    kill = f" (kill {' '.join(map(str, pids))})" if pids else ""
    return ConfigError(
        f"{d / 'state.json'} cannot be read, and {d} is still in use ({who}). They cannot be "
        f"proven to be this demo's, so nothing was started or stopped. Fix: stop them{kill}, "
        f"then run `workbench demo up` (or `down`) again.")


def count_lines(counts: dict[str, int], indent: str = "    ") -> str:
    """One ``name  count`` line per alert, most first, names aligned (for the terminal).

    >>> print(count_lines({"NodeLoadFlapping": 96, "CPUThrottlingHigh": 5712}))
        CPUThrottlingHigh  5,712
        NodeLoadFlapping      96
    >>> count_lines({})
    '    (none fired)'
    """
    if not counts:
        return f"{indent}(none fired)"
    rows = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    name_w = max(len(k) for k, _ in rows)
    num_w = max(len(f"{v:,}") for _, v in rows)
    return "\n".join(f"{indent}{k:<{name_w}}  {v:>{num_w},}" for k, v in rows)


def _down(d: Path) -> list[str]:
    st = _load(d / "state.json")
    if not st:
        if (d / "state.json").exists() and (err := _unreadable_state(d)) is not None:
            raise err
        return []
    stopped = []
    procs = st.get("processes", {})
    for name in [*reversed(_PROCS), *(n for n in procs if n not in _PROCS)]:
        p = procs.get(name)
        if p and _stop_pid(p, d):
            stopped.append(name)
            if name == "prometheus":  # live data ends here (a later `up` fills from here)
                st["live_until_s"] = time.time()
    st["processes"] = {}
    st["stopped_s"] = time.time()
    _save(d / "state.json", st)
    return stopped


def up(dir: str | os.PathLike[str] | None = None, params: DemoParams = DEFAULT, *,
       max_hole_s: float = DEFAULT_MAX_HOLE_S, workers: int | None = None,
       metrics_api: str = "ok", echo: Echo | None = None,
       lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S,
       rules: Sequence[str | os.PathLike[str]] = ()) -> dict[str, Any]:
    """Start the demo stack (idempotent) and return its endpoints.

    Parameters
    ----------
    dir
        State directory (see :func:`demo_dir`).
    params
        Simulation size and seed.
    max_hole_s
        Reuse the stored TSDB if its data ends at most this many seconds ago and ``params``
        are unchanged; otherwise generate and backfill a fresh history.
    workers
        Parallel backfill jobs (default: number of CPUs).
    metrics_api
        How the emulated ``metrics.k8s.io`` behaves: ``"ok"``, ``"missing"`` (404, as without
        metrics-server), ``"unavailable"`` (503) or ``"forbidden"`` (403).
    echo
        Progress messages (default: print to stderr).
    lock_timeout_s
        How long to wait for another ``workbench demo`` working in the same directory (it is
        named while waiting); then :class:`~workbench.ConfigError`.
    rules
        The user's alerting rule files / PrometheusRule objects: evaluated over the history
        (ALERTS backfilled, see :mod:`workbench.demo.user_rules`) and by the live Prometheus.
    """
    say = echo or _stderr
    for b in _REQUIRED:
        find_binary(b)
    d = demo_dir(dir)
    with _on_sigterm_exit(), lock_dir(d, timeout_s=lock_timeout_s, say=say):
        return _up(d, params, max_hole_s, workers, metrics_api, say, rules)


def _up(d: Path, params: DemoParams, max_hole_s: float, workers: int | None, metrics_api: str,
        say: Echo, rules: Sequence[str | os.PathLike[str]] = ()) -> dict[str, Any]:
    from .user_rules import rules_suffix, write_user_rules

    st = _load(d / "state.json")
    if st is None and (d / "state.json").exists() and (err := _unreadable_state(d)) is not None:
        raise err
    st = st or {}
    fp = params.fingerprint() + rules_suffix(rules)
    procs = st.get("processes", {})
    if (procs and all(_ours(p, d) for p in procs.values()) and st.get("fingerprint") == fp
            and st.get("metrics_api", "ok") == metrics_api):
        say(f"demo already running in {d}")
        return dict(st["endpoints"])
    if procs:
        say("stopping a partial or outdated demo stack")
        _down(d)
    if tsdb_in_use(d / "tsdb"):
        pids = holders(d / "tsdb")
        msg = (f"A Prometheus that is not this demo's (pid {', '.join(map(str, pids)) or '?'}) "
               f"holds {d / 'tsdb'}; starting another stack on it would fail or corrupt it. "
               f"Fix: stop that process, then run `workbench demo up` again.")
        raise ConfigError(msg)
    hist = _load(d / "history.json")
    now = time.time()
    last = _data_end(d, hist, st)
    reuse = (hist is not None and hist.get("fingerprint") == fp and (d / "tsdb").is_dir()
             and now - last <= max_hole_s)
    from .sim import Cluster

    if reuse:
        assert hist is not None
        say(f"reusing the stored history (data ends {format_age(now - last)} ago)")
        cluster = Cluster(params, hist["end_s"])
    else:
        cluster = _generate(d, params, workers, say, rules, fp)
    write_user_rules(d, rules)
    return _start(d, cluster, fp, metrics_api, say)


def format_age(s: float) -> str:
    if s < 120:
        return f"{s:.0f}s"
    if s < 7200:
        return f"{s / 60:.0f}m"
    return f"{s / 3600:.1f}h"


def _data_end(d: Path, hist: dict[str, Any] | None, st: dict[str, Any]) -> float:
    cands = [float(hist["end_s"])] if hist else [0.0]
    cands.append(float(st.get("stopped_s") or 0.0))
    wal = d / "tsdb" / "wal"
    if wal.is_dir():
        cands.extend(p.stat().st_mtime for p in wal.iterdir())
    return max(cands)


def _generate(d: Path, params: DemoParams, workers: int | None, say: Echo,
              rules: Sequence[str | os.PathLike[str]] = (), fp: str | None = None) -> Any:
    from ..sources.prometheus.client import Prometheus
    from .alerts import backfill_alerts
    from .history import backfill_history
    from .sim import Cluster

    t0 = time.perf_counter()
    for sub in ("tsdb", "work", "alertmanager-data"):
        shutil.rmtree(d / sub, ignore_errors=True)
    (d / "history.json").unlink(missing_ok=True)
    end_s = math.floor(time.time() / 60) * 60
    cluster = Cluster(params, end_s)
    say(f"generating {params.days:g} days of history for {params.nodes} nodes, ~{params.pods} "
        f"pods at {params.interval_s}s and backfilling it with promtool ...")
    stats = backfill_history(cluster, d / "tsdb", d / "work", workers=workers)
    say(f"  {stats.samples:,} samples in {stats.files} blocks, {stats.wall_s:.1f}s")
    say("evaluating the alert rules over the history (ALERTS / ALERTS_FOR_STATE) ...")
    a0 = time.perf_counter()
    cfg = d / "prometheus-backfill.yml"
    cfg.write_text("global:\n  scrape_interval: 15s\n")
    st: dict[str, Any] = {"processes": {}, "endpoints": {}}
    try:
        url = _with_free_ports(d, st, 1, lambda ports: _launch(
            d, st, "prometheus-backfill", _prometheus_argv(
                cfg, d, f"{int(params.days) + 60}d", ports[0]), ports, "/-/ready"))
        with Prometheus(url, timeout=300) as prom:
            counts = backfill_alerts(prom, cluster.origin + 600, end_s, d / "tsdb", d / "work",
                                     block_s=stats.block_s)
            if rules:
                from .user_rules import backfill_user_rules

                say("evaluating your rules over the history ...")
                counts.update(backfill_user_rules(prom, rules, cluster.origin + 600, end_s,
                                                  d / "tsdb", d / "work", block_s=stats.block_s,
                                                  say=say))
    finally:
        _down(d)  # the temporary Prometheus (recorded, so a killed `up` leaves it to `down`)
    with contextlib.suppress(OSError):
        cfg.unlink()
    alerts_s = time.perf_counter() - a0
    say(f"  firing evaluations per alert ({alerts_s:.1f}s):\n{count_lines(counts)}")
    (d / "ground_truth.json").write_text(json.dumps(cluster.ground_truth(), indent=2))
    _save(d / "history.json", {
        "fingerprint": fp or params.fingerprint(), "params": params.to_dict(),
        "start_s": cluster.origin, "end_s": end_s, "created_s": time.time(),
        "stats": {"samples": stats.samples, "files": stats.files,
                  "openmetrics_bytes": stats.openmetrics_bytes, "backfill_s": stats.wall_s,
                  "alerts_s": alerts_s, "total_s": time.perf_counter() - t0,
                  "alert_firing_evaluations": counts}})
    shutil.rmtree(d / "work", ignore_errors=True)
    return cluster


def _prometheus_yml(cluster: Any, live_port: int, ne_port: int, am_port: int, d: Path) -> str:
    import yaml

    from .rules import EVAL_INTERVAL_S
    from .user_rules import user_rule_files

    jobs: dict[str, list[dict[str, Any]]] = {}
    for tg in cluster.targets:
        kind = tg.key.split("/")[0]
        labels = {**tg.labels, "__metrics_path__": f"/sim/{tg.key}/metrics"}
        jobs.setdefault(f"sim-{kind}", []).append(
            {"targets": [f"127.0.0.1:{live_port}"], "labels": labels})
    scrape = [{"job_name": name, "honor_labels": True, "static_configs": cfgs}
              for name, cfgs in jobs.items()]
    # the build machine's own node_exporter: its own job, never mixed into the simulated
    # cluster's `node-exporter` job (its disk would headline the simulated cluster's reports)
    scrape.append({"job_name": HOST_JOB, "static_configs": [
        {"targets": [f"127.0.0.1:{ne_port}"], "labels": {"instance": "localhost:9100"}}]})
    doc = {
        "global": {"scrape_interval": f"{cluster.params.interval_s}s",
                   "scrape_timeout": f"{min(10, cluster.params.interval_s)}s",
                   "evaluation_interval": f"{EVAL_INTERVAL_S}s",
                   "external_labels": {"cluster": "workbench-demo"}},
        "rule_files": [str(d / "rules.yml"), *user_rule_files(d)],
        "alerting": {"alertmanagers": [{"static_configs": [
            {"targets": [f"127.0.0.1:{am_port}"]}]}]},
        "scrape_configs": scrape,
    }
    return yaml.safe_dump(doc, sort_keys=False, width=200)


def _prometheus_argv(cfg: Path, d: Path, retention: str, port: int) -> list[str]:
    return [find_binary("prometheus"), f"--config.file={cfg}", f"--storage.tsdb.path={d / 'tsdb'}",
            f"--storage.tsdb.retention.time={retention}",
            f"--web.listen-address=127.0.0.1:{port}", "--web.enable-lifecycle", "--log.level=warn"]


def _launch(d: Path, st: dict[str, Any], name: str, argv: list[str], ports: list[int],
            health: str) -> str:
    """Start ``argv``, record it, and return its URL once it listens on ``ports`` and is healthy.

    Raises :class:`~workbench.demo.procs.PortTaken` when another process holds one of ``ports``.
    """
    log = d / "logs" / f"{name}.log"
    url = f"http://127.0.0.1:{ports[0]}"
    proc = spawn(argv, log, detach=True)
    st["processes"][name] = record(proc.pid, argv, url=url)
    _save(d / "state.json", st)  # record pids at once, so `down` can clean up a failed up
    wait_listening(proc.pid, ports, lambda: proc.poll() is None, timeout=60)
    wait_http_ok(url + health, timeout=60, proc=proc, log_path=log)
    wait_listening(proc.pid, ports, lambda: proc.poll() is None, timeout=0)
    return url


def _with_free_ports(d: Path, st: dict[str, Any], n: int, start: Callable[[list[int]], Any]
                     ) -> Any:
    """Run ``start(ports)`` with ``n`` free ports; on a port taken meanwhile, stop what it
    started and try other ports."""
    for attempt in range(_PORT_ATTEMPTS):
        ports = [free_port() for _ in range(n)]
        try:
            return start(ports)
        except PortTaken as exc:
            _down(d)
            st["processes"] = {}
            if attempt == _PORT_ATTEMPTS - 1:
                msg = (f"Ports {exc.args[0]} were taken by other processes while the demo "
                       f"started, {_PORT_ATTEMPTS} times. Fix: stop whatever is grabbing "
                       f"ports on 127.0.0.1, then run `workbench demo up` again.")
                raise ConfigError(msg) from None
    raise AssertionError("unreachable")


def _start(d: Path, cluster: Any, fp: str, metrics_api: str, say: Echo) -> dict[str, Any]:
    (d / "logs").mkdir(exist_ok=True)
    (d / "textfile").mkdir(exist_ok=True)
    _catch_up(d, cluster, say)
    st: dict[str, Any] = {"fingerprint": fp, "params": cluster.params.to_dict(),
                          "processes": {}, "started_s": time.time(), "endpoints": {},
                          "metrics_api": metrics_api}
    try:
        _with_free_ports(d, st, 5, lambda ports: _start_servers(d, cluster, st, ports))
    except BaseException:
        _down(d)
        raise
    _save(d / "state.json", st)
    _check_targets(st["endpoints"]["prometheus"], say)
    return dict(st["endpoints"])


def _catch_up(d: Path, cluster: Any, say: Echo) -> None:
    """Backfill what the simulated cluster did since the data in the TSDB ends (the history's
    end, or when the last live Prometheus stopped; at most :data:`DEFAULT_MAX_HOLE_S`), so the
    minutes spent generating or stopped do not read as every node being down."""
    from .history import backfill_catch_up

    prev = _load(d / "state.json") or {}
    now = time.time()
    since = max(cluster.end_s, float(prev.get("live_until_s") or 0.0), now - DEFAULT_MAX_HOLE_S)
    until = math.floor(now / cluster.interval) * cluster.interval
    if until - since < cluster.interval:
        return
    stats = backfill_catch_up(cluster, d / "tsdb", d / "work" / "catch-up", since, until)
    _catch_up_alerts(d, cluster, since, until)
    shutil.rmtree(d / "work" / "catch-up", ignore_errors=True)
    say(f"  filled the {format_age(until - since)} since the data ends "
        f"({stats.samples:,} samples, and the alerts' ALERTS / ALERTS_FOR_STATE)")


def _catch_up_alerts(d: Path, cluster: Any, since: float, until: float) -> None:
    """ALERTS / ALERTS_FOR_STATE for the caught-up minutes, evaluated like the history's (same
    identities and ``active_at``), so an alert firing at the history's end stays one episode
    and the live Prometheus restores its ``for`` state from them."""
    from ..sources.prometheus.client import Prometheus
    from .alerts import backfill_alerts

    cfg = d / "prometheus-backfill.yml"
    cfg.write_text("global:\n  scrape_interval: 15s\n")
    days = int((until - cluster.origin) / 86400) + 60
    tmp: dict[str, Any] = {"processes": {}, "endpoints": {}}
    try:
        url = _with_free_ports(d, tmp, 1, lambda ports: _launch(
            d, tmp, "prometheus-backfill", _prometheus_argv(cfg, d, f"{days}d", ports[0]),
            ports, "/-/ready"))
        with Prometheus(url, timeout=300) as prom:
            backfill_alerts(prom, cluster.origin + 600, until, d / "tsdb",
                            d / "work" / "catch-up", block_s=2 * 3600, after_s=since)
    finally:
        _down(d)  # the temporary Prometheus


def _start_servers(d: Path, cluster: Any, st: dict[str, Any], ports: list[int]) -> None:
    from .kube_api import write_kubeconfig
    from .rules import alertmanager_config, rules_yaml

    live_port, kube_port, ne_port, am_port, prom_port = ports
    metrics_api = st["metrics_api"]
    sink = f"http://127.0.0.1:{live_port}/slack"
    (d / "rules.yml").write_text(rules_yaml())
    (d / "alertmanager.yml").write_text(alertmanager_config(sink))
    (d / "prometheus.yml").write_text(_prometheus_yml(cluster, live_port, ne_port, am_port, d))
    params = cluster.params
    started = st["processes"]
    _launch(d, st, "live", [sys.executable, "-m", "workbench.demo.live", "--dir", str(d),
                            "--port", str(live_port), "--kube-port", str(kube_port),
                            "--metrics-api", metrics_api], [live_port, kube_port], "/-/healthy")
    _launch(d, st, "node-exporter", [find_binary("prometheus-node-exporter"),
                                     f"--web.listen-address=127.0.0.1:{ne_port}",
                                     f"--collector.textfile.directory={d / 'textfile'}"],
            [ne_port], "/metrics")
    _launch(d, st, "alertmanager", [find_binary("prometheus-alertmanager"),
                                    f"--config.file={d / 'alertmanager.yml'}",
                                    f"--storage.path={d / 'alertmanager-data'}",
                                    f"--web.listen-address=127.0.0.1:{am_port}",
                                    "--cluster.listen-address=", "--log.level=warn"],
            [am_port], "/-/ready")
    retention = f"{math.ceil(params.days) + 60}d"
    _launch(d, st, "prometheus", _prometheus_argv(d / "prometheus.yml", d, retention, prom_port),
            [prom_port], "/-/ready")
    kubeconfig = write_kubeconfig(d / "kubeconfig", f"http://127.0.0.1:{kube_port}")
    st["endpoints"] = {
        "prometheus": started["prometheus"]["url"],
        "alertmanager": started["alertmanager"]["url"],
        "webhook_sink": sink,
        "webhook_posts": f"http://127.0.0.1:{live_port}/posts",
        "kubernetes_api": f"http://127.0.0.1:{kube_port}",
        "kubeconfig": str(kubeconfig),
        "node_exporter": started["node-exporter"]["url"],
        "state_dir": str(d),
        "ground_truth": str(d / "ground_truth.json"),
    }


def _check_targets(url: str, say: Echo) -> None:
    """Look briefly at the first scrapes and complain about targets that fail."""
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        try:
            r = requests.get(f"{url}/api/v1/targets", timeout=5).json()["data"]["activeTargets"]
        except (requests.RequestException, ValueError, KeyError):
            r = []
        if r and all(t["health"] != "unknown" for t in r):
            bad = [t for t in r if t["health"] != "up"]
            for t in bad:
                say(f"warning: target {t['scrapeUrl']} is {t['health']}: {t['lastError']}")
            return
        time.sleep(0.5)

