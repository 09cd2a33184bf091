"""The demo on VictoriaMetrics: history through the import API instead of promtool blocks.

``workbench demo up --backend victoriametrics`` starts a VictoriaMetrics single node, streams the
simulated history into ``/api/v1/import/native`` (VictoriaMetrics' block format, written by
:mod:`~workbench.demo.vm_native`; the few series whose values are not decimals of their family's
scale go to ``/api/v1/import`` as JSON lines), and then starts the same live stack as the
Prometheus backend (simulated targets, node_exporter, Alertmanager, emulated Kubernetes API, and
a Prometheus that scrapes and evaluates the alert rules) with that Prometheus' ``remote_write``
going to VictoriaMetrics. Queries go to VictoriaMetrics:
the ``prometheus`` endpoint is its URL; ``rules_prometheus`` is the scraper's (targets, rules,
alerts).

Memory stays bounded: the history is cut into time slices of at most ``max_samples`` samples,
each generated, serialised and posted by a worker process in requests of ``REQUEST_SAMPLES``
samples, one posted from a thread while the next is generated (a slice has a fixed cost of one
pass over every series, so fewer, longer slices are cheaper; a worker holds one series of its
slice at a time).

Examples
--------
>>> import numpy as np
>>> import_line({"__name__": "up", "job": "a"}, np.array([1.0, np.nan, 1.0]),
...             np.array([0, 60_000, 120_000]))
b'{"metric":{"__name__":"up","job":"a"},"values":[1.0,1.0],"timestamps":[0,120000]}\\n'
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import time
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import requests

from .._errors import ConfigError
from .._runtime import find_binary
from ..testing.victoria import flush_victoria_metrics, post_import
from .params import DemoParams
from .sim import FAMILIES, Cluster
from .vm_native import NativeWriter, metric_name

__all__ = ["FORMATS", "ImportStats", "import_gap", "import_history", "import_line", "up"]

#: Bytes per import request.
REQUEST_BYTES = 16 << 20


@dataclass
class ImportStats:
    """What an import did: samples, series slices, requests, bytes and seconds."""

    samples: int = 0
    series_slices: int = 0
    requests: int = 0
    bytes: int = 0
    generate_s: float = 0.0
    post_s: float = 0.0
    wall_s: float = 0.0
    slices: int = 0
    warm_s: float = 0.0
    cpu_s: float = 0.0

    def add(self, other: ImportStats) -> None:
        for f in ("samples", "series_slices", "requests", "bytes", "generate_s", "post_s",
                  "slices", "cpu_s"):
            setattr(self, f, getattr(self, f) + getattr(other, f))


def import_line(labels: dict[str, str], values: np.ndarray, ts_ms: np.ndarray) -> bytes:
    """One ``/api/v1/import`` JSON line; NaN values (gaps) are left out."""
    ok = ~np.isnan(values)
    if not ok.all():
        values, ts_ms = values[ok], ts_ms[ok]
    return b"".join((b'{"metric":', orjson.dumps(labels), b',"values":',
                     orjson.dumps(values, option=orjson.OPT_SERIALIZE_NUMPY), b',"timestamps":',
                     orjson.dumps(ts_ms, option=orjson.OPT_SERIALIZE_NUMPY), b"}\n"))


_WORKER_CLUSTER: dict[tuple[str, float], Cluster] = {}


def _cluster(params: DemoParams, end_s: float) -> Cluster:
    key = (params.fingerprint(), end_s)
    if key not in _WORKER_CLUSTER:
        _WORKER_CLUSTER.clear()
        _WORKER_CLUSTER[key] = Cluster(params, end_s)
    return _WORKER_CLUSTER[key]


#: Import formats: ``native`` (VictoriaMetrics' own blocks, the default) or ``json`` (JSON lines).
FORMATS = ("native", "json")
#: Samples per native import request (about 1-2 bytes each).
REQUEST_SAMPLES = 4_000_000
_DIGITS = {1: 0, 10: 1, 100: 2, 1000: 3}


def _slice_job(params: DemoParams, end_s: float, t0: float, t1: float, url: str,
               fmt: str = "native", until_s: float | None = None) -> ImportStats:
    """Generate the samples of ``[t0, t1)`` and post them (runs in a worker process).

    A request is posted from a thread while the next one is generated, so generation and
    VictoriaMetrics' ingestion overlap; at most two bodies are held.
    """
    c = _cluster(params, end_s)
    st = ImportStats(slices=1)
    first = math.ceil((t0 - c.origin) / c.interval)
    last = math.ceil((t1 - c.origin) / c.interval)
    t = c.origin + np.arange(first, last) * c.interval
    t = t[(t >= c.origin) & (t <= (end_s if until_s is None else until_s))]
    if len(t) == 0:
        return ImportStats()
    ts_ms = np.rint(t * 1000).astype(np.int64)
    c0 = time.process_time()
    _whole_history_pods(c, float(t.max()))
    native = NativeWriter()
    lines: list[bytes] = []
    size = 0
    pending: list[Future[None]] = []
    g0 = time.perf_counter()

    def send(path: str, body: bytes) -> None:
        nonlocal g0
        st.generate_s += time.perf_counter() - g0
        w0 = time.perf_counter()
        for f in pending:  # the previous request (bounded memory: one in flight)
            f.result()
        pending.clear()
        st.post_s += time.perf_counter() - w0
        st.requests += 1
        st.bytes += len(body)
        pending.append(poster.submit(post_import, url, body, path=path, session=session))
        g0 = time.perf_counter()

    with requests.Session() as session, ThreadPoolExecutor(1) as poster:
        for s in c.samples(t):
            scale = FAMILIES[s.name][2]
            ok = ~np.isnan(s.values)
            n_ok = int(ok.sum())
            if n_ok == 0:
                continue
            st.samples += n_ok
            st.series_slices += 1
            vals, ts = (s.values[ok], ts_ms[ok]) if n_ok < len(ok) else (s.values, ts_ms)
            labels = {"__name__": s.name, **s.labels}
            m = np.rint(vals * scale) if scale != 1 else vals
            if fmt == "native" and scale in _DIGITS and _exact(m, vals, scale):
                native.add(metric_name(labels), ts, m.astype(np.int64), -_DIGITS[scale])
                if native.samples >= REQUEST_SAMPLES:
                    send("/api/v1/import/native", native.body())
                continue
            v = vals if scale == 1 else m / scale
            line = import_line(labels, v, ts)
            lines.append(line)
            size += len(line)
            if size >= REQUEST_BYTES:
                send("/api/v1/import", b"".join(lines))
                lines, size = [], 0
        if len(native):
            send("/api/v1/import/native", native.body())
        if lines:
            send("/api/v1/import", b"".join(lines))
        st.generate_s += time.perf_counter() - g0
        w0 = time.perf_counter()
        for f in pending:
            f.result()
        st.post_s += time.perf_counter() - w0
    st.cpu_s = time.process_time() - c0
    return st


def _whole_history_pods(c: Cluster, t_max: float) -> None:
    """Let :meth:`Cluster.samples` up to ``t_max`` use the whole history's pod list, built once
    per process instead of once per slice (a second per slice for BIG): pods that start later
    contribute nothing to any series (every use is masked by the pod's lifetime)."""
    full_key = (c.origin, math.ceil((c.end_s + 1) / 3600) * 3600.0)
    if t_max >= full_key[1]:  # after the history (the gap to the live start): as is
        return
    full = c.pods_between(*full_key)
    c._pods_cache.clear()
    c._pods_cache[full_key] = full
    c._pods_cache[(c.origin, math.ceil((t_max + 1) / 3600) * 3600.0)] = full


def _exact(m: np.ndarray, vals: np.ndarray, scale: int) -> bool:
    """Whether the mantissas ``m`` (``vals * scale``, rounded) stand for ``vals`` exactly as
    written: integers below 2**53 (a float's exact range), for scale 1 ``vals`` themselves."""
    if not (np.abs(m) < 2.0**53).all():
        return False
    return scale != 1 or bool((np.trunc(vals) == vals).all())


def import_history(cluster: Cluster, url: str, *, workers: int | None = None,
                   max_samples: int = 96_000_000, start_s: float | None = None,
                   progress: bool = False, fmt: str = "native") -> ImportStats:
    """Generate the history of ``cluster`` and import it into VictoriaMetrics at ``url``.

    Parameters
    ----------
    cluster
        The simulation (``origin``..``end_s``).
    url
        VictoriaMetrics base URL.
    workers
        Parallel slice jobs (default: the number of CPUs).
    max_samples
        Upper bound of samples per slice (bounds each worker's memory).
    start_s
        Import only from this time on (a fraction of the history, for measurements).
    fmt
        ``native`` (VictoriaMetrics' block format, :mod:`~workbench.demo.vm_native`; series whose
        values are not decimals of their family's scale go as JSON lines) or ``json`` (JSON
        lines only). Both store the same samples.
    """
    if fmt not in FORMATS:
        msg = f"Unknown import format {fmt!r}. Fix: use one of {', '.join(FORMATS)}."
        raise ConfigError(msg)
    w0 = time.perf_counter()
    # The first samples() call of a Cluster builds its signal tables (minutes for BIG): do it
    # once here, in the object the forked workers inherit, instead of once per worker.
    _WORKER_CLUSTER.clear()
    _WORKER_CLUSTER[(cluster.params.fingerprint(), cluster.end_s)] = cluster
    n_series = sum(1 for _ in cluster.samples(np.array([cluster.end_s])))
    warm_s = time.perf_counter() - w0
    slice_s = max(cluster.interval, math.floor(max_samples / max(n_series, 1)) * cluster.interval)
    begin = max(cluster.origin, start_s if start_s is not None else cluster.origin)
    edges = np.arange(begin, cluster.end_s + cluster.interval, slice_s)
    slices = [(float(a), float(a + slice_s)) for a in edges if a <= cluster.end_s]
    workers = max(1, min(workers or os.cpu_count() or 1, len(slices)))
    total = ImportStats()
    args = (cluster.params, cluster.end_s)
    if workers == 1:
        for t0, t1 in slices:
            total.add(_slice_job(*args, t0, t1, url, fmt))
    else:
        with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
            futs = [pool.submit(_slice_job, *args, t0, t1, url, fmt) for t0, t1 in slices]
            for i, f in enumerate(futs):
                total.add(f.result())
                if progress:
                    print(f"  imported slice {i + 1}/{len(futs)}", flush=True)
    flush_victoria_metrics(url)
    total.wall_s = time.perf_counter() - w0
    total.warm_s = warm_s
    return total


def import_gap(cluster: Cluster, url: str, until_s: float, *, fmt: str = "native"
               ) -> ImportStats:
    """Import the simulated samples of ``(cluster.end_s, until_s]`` (the scrape grid).

    The simulated cluster goes on after the history's end; ``up`` imports the minutes spent
    importing the history (half an hour for the big setting on a busy machine), so they do not
    read as a hole before the live scrapes arrive by remote write.
    """
    if until_s < cluster.end_s + cluster.interval:
        return ImportStats()
    st = _slice_job(cluster.params, cluster.end_s, cluster.end_s + cluster.interval, until_s + 1,
                    url, fmt, until_s=until_s)
    flush_victoria_metrics(url)
    return st


def _import_alerts(prom: Any, url: str, start_s: float, end_s: float) -> dict[str, int]:
    """ALERTS/ALERTS_FOR_STATE over the history, evaluated on VictoriaMetrics (MetricsQL: close
    to, not exactly, what Prometheus' rule manager would have written) and imported."""
    from .alerts import alert_history, eval_times
    from .rules import ALERT_RULES

    times = eval_times(start_s, end_s)
    counts: dict[str, int] = {}
    lines: list[bytes] = []
    for rule in ALERT_RULES:
        df = alert_history(prom, rule, times)
        counts[rule["alert"]] = int((df["state"] == 2).sum()) if df.height else 0
        for (key,), g in df.group_by("labels", maintain_order=True):
            lab = json.loads(str(key))
            t_ms = g["t"].to_numpy() * 1000
            lines.append(import_line({"__name__": "ALERTS_FOR_STATE", **lab},
                                     g["active_at"].to_numpy().astype(np.float64), t_ms))
            for code, state in ((1, "pending"), (2, "firing")):
                sel = (g["state"] == code).to_numpy()
                if sel.any():
                    lines.append(import_line({"__name__": "ALERTS", **lab, "alertstate": state},
                                             np.ones(int(sel.sum())), t_ms[sel]))
    if lines:
        post_import(url, b"".join(lines), path="/api/v1/import")
        flush_victoria_metrics(url)
    return counts


# -- the stack ------------------------------------------------------------------------------------

_VM = "victoria-metrics"


def up(dir: str | os.PathLike[str] | None = None, params: DemoParams | None = None, *,
       metrics_api: str = "ok", workers: int | None = None, echo: Any = None) -> dict[str, Any]:
    """Start the demo with VictoriaMetrics holding the history; returns the endpoints.

    The history is regenerated on every ``up`` (importing is the fast part); ``down`` stops
    VictoriaMetrics with the rest of the stack.
    """
    from . import stack
    from .params import DEFAULT
    from .procs import lock_dir

    params = params or DEFAULT
    say = echo or stack._stderr
    find_binary(_VM)
    for b in ("prometheus", "prometheus-alertmanager", "prometheus-node-exporter"):
        find_binary(b)
    d = stack.demo_dir(dir)
    with stack._on_sigterm_exit(), lock_dir(d, timeout_s=stack.DEFAULT_LOCK_TIMEOUT_S, say=say):
        if (d / "state.json").exists():
            stack._down(d)
        t0 = time.perf_counter()
        for sub in ("tsdb", "vm-data", "alertmanager-data", "work"):
            shutil.rmtree(d / sub, ignore_errors=True)
        (d / "history.json").unlink(missing_ok=True)
        (d / "logs").mkdir(parents=True, exist_ok=True)
        st: dict[str, Any] = {"processes": {}, "endpoints": {}}
        vm_url = stack._with_free_ports(d, st, 1, lambda ports: stack._launch(
            d, st, _VM, _vm_argv(d, params, ports[0]), ports, "/health"))
        vm_rec = st["processes"][_VM]
        try:
            end_s = math.floor(time.time() / 60) * 60
            cluster = Cluster(params, end_s)
            say(f"generating {params.days:g} days of history for {params.nodes} nodes, "
                f"~{params.pods} pods at {params.interval_s}s and importing it into "
                "VictoriaMetrics ...")
            stats = import_history(cluster, vm_url, workers=workers)
            say(f"  {stats.samples:,} samples in {stats.requests} requests, {stats.wall_s:.1f}s")
            from ..sources.prometheus.client import Prometheus

            a0 = time.perf_counter()
            with Prometheus(vm_url, timeout=300) as prom:
                counts = _import_alerts(prom, vm_url, cluster.origin + 600, end_s)
            say(f"  firing evaluations per alert (MetricsQL, {time.perf_counter() - a0:.1f}s):\n"
                f"{stack.count_lines(counts)}")
            (d / "ground_truth.json").write_text(json.dumps(cluster.ground_truth(), indent=2))
            stack._save(d / "history.json", {  # the live exporter reads it
                "fingerprint": params.fingerprint(), "params": params.to_dict(),
                "start_s": cluster.origin, "end_s": end_s, "created_s": time.time(),
                "backend": "victoriametrics",
                "stats": {"samples": stats.samples, "requests": stats.requests,
                          "import_bytes": stats.bytes, "import_s": stats.wall_s,
                          "total_s": time.perf_counter() - t0,
                          "alert_firing_evaluations": counts}})
            eps = stack._start(d, cluster, params.fingerprint(), metrics_api, say)
            # /api/v1/rules and /api/v1/alerts on VictoriaMetrics answer with the live
            # Prometheus's (as vmalert's would): the rules audit and tuning find the rules
            stack._stop_pid(vm_rec, d, timeout=300)   # a graceful stop flushes what it holds
            port = int(vm_url.rsplit(":", 1)[1])
            st = stack._load(d / "state.json") or {"processes": {}, "endpoints": {}}
            stack._launch(d, st, _VM, _vm_argv(d, params, port, rules_url=eps["prometheus"]),
                          [port], "/health")
            vm_rec = st["processes"][_VM]
            _remote_write_to(d, eps["prometheus"], vm_url)
            # remote_write sends from now on; the minutes before come from the simulation
            gap_until = math.floor(time.time() / cluster.interval) * cluster.interval
            gap = import_gap(cluster, vm_url, gap_until)
            if gap.samples:
                say(f"  imported the {(gap_until - end_s) / 60:.0f} min since the history's end "
                    f"into VictoriaMetrics ({gap.samples:,} samples)")
        except BaseException:
            with contextlib.suppress(Exception):
                stack._down(d)
            stack._stop_pid(vm_rec, d)
            raise
        doc = stack._load(d / "state.json") or {}
        doc.setdefault("processes", {})[_VM] = vm_rec
        doc["backend"] = "victoriametrics"
        doc["endpoints"] = {**doc.get("endpoints", eps), "prometheus": vm_url,
                            "rules_prometheus": eps["prometheus"]}
        stack._save(d / "state.json", doc)
        return dict(doc["endpoints"])


def _vm_argv(d: Path, params: DemoParams, port: int, *, rules_url: str = "") -> list[str]:
    proxy = [f"-vmalert.proxyURL={rules_url}"] if rules_url else []
    return [find_binary(_VM), f"-storageDataPath={d / 'vm-data'}",
            f"-retentionPeriod={math.ceil(params.days) + 60}d",
            f"-httpListenAddr=127.0.0.1:{port}", "-search.latencyOffset=0", "-loggerLevel=WARN",
            *proxy]


def _remote_write_to(d: Path, prom_url: str, vm_url: str) -> None:
    """Make the live Prometheus also send what it scrapes and evaluates to VictoriaMetrics."""
    import yaml

    cfg = d / "prometheus.yml"
    doc = yaml.safe_load(cfg.read_text())
    doc["remote_write"] = [{"url": f"{vm_url}/api/v1/write"}]
    # remote_write adds the external labels to every series it sends; the imported history has
    # none, so each series would split in two at the seam (a node read as down for the history)
    doc.get("global", {}).pop("external_labels", None)
    cfg.write_text(yaml.safe_dump(doc, sort_keys=False, width=200))
    r = requests.post(f"{prom_url}/-/reload", timeout=30)
    if r.status_code != 200:
        msg = (f"The demo Prometheus at {prom_url} refused to reload its configuration with "
               f"remote_write to VictoriaMetrics (HTTP {r.status_code}): {r.text.strip()[:300]}. "
               f"Fix: see {d / 'logs' / 'prometheus.log'}.")
        raise ConfigError(msg)
