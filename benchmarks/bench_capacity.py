"""Capacity report: the report end to end and ``fetch_usage`` (wall time, peak memory), against
the KRR way on the same Prometheus.

``python -m benchmarks capacity [--quick] [--local]``. The Prometheus (or VictoriaMetrics) is, in
order: a running demo named by ``WORKBENCH_BENCH_DEMO_DIR`` (read only: it is never stopped; e.g.
the issue's big setting, ``workbench demo up --big``), else a fresh demo in a temporary directory
(``--quick``: the test-suite cluster; otherwise the default 5-node demo, which takes minutes to
generate). The window is the last ``WORKBENCH_BENCH_WINDOW`` (default ``14d``, KRR's default
history; at most the demo's history) at a 5-minute step.

Measured, each in a fresh process:

* **the report**: ``workbench report run capacity`` (papermill, kernel start and HTML included):
  wall time, the time inside the notebook, and the peak RSS of its largest process;
* **workbench**: ``fetch_usage`` (default: statistics on the server) + ``recommend`` + ``flags``
  + ``forecast`` + ``key_figures``: wall time and peak RSS; ``--local`` adds
  ``aggregation="local"`` (every sample fetched; slow on a big cluster, see docs/capacity.md);
* **the KRR way** (the peer): two queries per workload container (its CPU percentile and memory
  maximum over its pods, KRR's query shapes), one after another, through prometheus-api-client's
  ``PrometheusConnect.custom_query``; the values are checked against ``recommend``'s and the
  ratio KRR way / workbench fetch is printed.
"""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from workbench import Prometheus, capacity
url, start, end, step, mode = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
with Prometheus(url, timeout=900) as prom:
    t1 = time.perf_counter()
    usage = capacity.fetch_usage(prom, start, end, step, aggregation=mode)
    t2 = time.perf_counter()
    recs = capacity.recommend(usage)
    capacity.flags(usage); capacity.forecast(usage); capacity.key_figures(usage, recs)
    t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "fetch_s": t2 - t1, "analysis_s": t3 - t2,
                  "total_s": t3 - t0, "containers": usage.containers.height,
                  "workload_containers": recs.height,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} / {fifteen:.1f}, {os.cpu_count()} cores"


def _ours(url: str, start: float, end: float, step: str, mode: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-c", _CHILD, url, str(start), str(end), step, mode],
                         capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _report(url: str, start: float, end: float, step: str) -> dict[str, Any]:
    """``workbench report run capacity`` in a child process: wall, notebook time, peak RSS of
    the largest process of the tree (the kernel, as a rule)."""
    with tempfile.TemporaryDirectory(prefix="wb-bench-capacity-report-") as out:
        argv = [sys.executable, "-m", "workbench", "report", "run", "capacity", "--out", out,
                "-p", f"prometheus={url}", "-p", f"start={start:.0f}", "-p", f"end={end:.0f}",
                "-p", f"step={step}", "-p", "interactive=false"]
        t0 = time.perf_counter()
        res = subprocess.run(argv, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - t0
    if res.returncode != 0:
        raise RuntimeError(f"the capacity report failed:\n{res.stdout}\n{res.stderr}")
    m = re.search(r"ok in ([0-9.]+) s", res.stdout)
    return {"wall_s": wall, "notebook_s": float(m.group(1)) if m else float("nan"),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def _krr_way(url: str, start: float, end: float, step: str) -> dict[str, Any]:
    import polars as pl
    from prometheus_api_client import PrometheusConnect

    from workbench import Prometheus, capacity

    with Prometheus(url, timeout=900) as prom:
        usage = capacity.fetch_usage(prom, start, end, step)
    recs = capacity.recommend(usage, allow_hpa=True, round_values=False, points_required=0)
    pods = usage.containers.group_by("namespace", "workload_kind", "workload", "container").agg(
        pl.col("pod").unique())
    pc = PrometheusConnect(url=url, disable_ssl=True)
    window = f"{int(end - start)}s"
    t0 = time.perf_counter()
    worst = 0.0
    n = 0
    for r in pods.iter_rows(named=True):
        sel = (f'namespace="{r["namespace"]}",pod=~"{"|".join(r["pod"])}",'
               f'container="{r["container"]}"')
        cpu = pc.custom_query(
            f"quantile_over_time(0.95, max(rate(container_cpu_usage_seconds_total{{{sel}}}"
            f"[{step}])) by (container, pod, job)[{window}:{step}])", params={"time": end})
        mem = pc.custom_query(
            f"max_over_time(max(container_memory_working_set_bytes{{{sel}}}) by (container, pod, "
            f"job)[{window}:{step}])", params={"time": end})
        n += 2
        ours = recs.filter(pl.col("namespace") == r["namespace"],
                           pl.col("workload") == r["workload"],
                           pl.col("container") == r["container"]).row(0, named=True)
        if cpu and ours["cpu_request_rec"] is not None:
            theirs = max(float(x["value"][1]) for x in cpu)
            worst = max(worst, abs(theirs - ours["cpu_request_rec"]))
        if mem and ours["memory_request_rec"] is not None:
            theirs = max(float(x["value"][1]) for x in mem) * 1.15
            worst = max(worst, abs(theirs - ours["memory_request_rec"]) / max(theirs, 1.0))
    return {"krr_s": time.perf_counter() - t0, "queries": n, "max_difference": worst}


def _measure(url: str, start: float, end: float, label: str, step: str = "5m",
             local: bool = False) -> None:
    days = (end - start) / 86400
    label = f"{label}, window {days:.3g} days"
    print(f"{label}: {_load()}", flush=True)
    rep = _report(url, start, end, step)
    print(f"{label}: the capacity report end to end {rep['wall_s']:.1f} s (in the notebook "
          f"{rep['notebook_s']:.1f} s), peak RSS {rep['peak_rss_mb']:.0f} MiB (largest process); "
          f"{_load()}", flush=True)
    runs = {}
    for mode in ("server", "local") if local else ("server",):
        ours = _ours(url, start, end, step, mode)
        runs[mode] = ours
        print(f"{label}: workbench ({mode} statistics) {ours['total_s']:.1f} s (fetch "
              f"{ours['fetch_s']:.1f} s, analysis {ours['analysis_s']:.2f} s, import "
              f"{ours['import_s']:.1f} s), peak RSS {ours['peak_rss_mb']:.0f} MiB, "
              f"{ours['containers']} containers, {ours['workload_containers']} workload "
              f"containers; {_load()}", flush=True)
    krr = _krr_way(url, start, end, step)
    base = runs["server"]["fetch_s"]
    print(f"{label}: the KRR way, {krr['queries']} queries one after another through "
          f"prometheus-api-client: {krr['krr_s']:.1f} s; ratio KRR way / workbench fetch "
          f"= {krr['krr_s'] / base:.2f}; largest difference from recommend "
          f"{krr['max_difference']:.2g} (cores, or relative for memory); {_load()}", flush=True)


def _window_s() -> float:
    from workbench._time import parse_duration_ms

    return parse_duration_ms(os.environ.get("WORKBENCH_BENCH_WINDOW", "14d")) / 1000


def main(quick: bool = False, local: bool = "--local" in sys.argv) -> None:
    from workbench.demo import stack
    from workbench.demo.params import DEFAULT, SMALL

    d = os.environ.get("WORKBENCH_BENCH_DEMO_DIR")
    if d:  # a running demo, read only
        eps = stack.endpoints(d)
        hist = json.loads((Path(d) / "history.json").read_text())
        end = time.time() // 60 * 60
        start = max(hist["start_s"], end - _window_s())
        p = hist["params"]
        _measure(eps["prometheus"], start, end,
                 f"demo in {d} ({p['nodes']} nodes, ~{p['pods']} pods)", local=local)
        return
    params = SMALL if quick else DEFAULT
    with tempfile.TemporaryDirectory(prefix="wb-bench-capacity-") as tmp:
        try:
            eps = stack.up(tmp, params, echo=lambda m: None)
            gt = json.loads(Path(eps["ground_truth"]).read_text())
            h = gt["history"]
            _measure(eps["prometheus"], max(h["start_s"], h["end_s"] - _window_s()), h["end_s"],
                     f"{params.nodes} nodes, ~{params.pods} pods", local=local)
        finally:
            stack.down(tmp)


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
