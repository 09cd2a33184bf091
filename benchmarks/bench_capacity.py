"""Capacity report: fetch + analysis wall time and peak memory, against the KRR way.

``python -m benchmarks capacity [--quick]``. The Prometheus is, in order: a running demo named by
``WORKBENCH_BENCH_DEMO_DIR`` (e.g. one started with ``workbench demo up --dir ...``, ``--big`` for
the issue's 50 nodes / 2,000 pods), else a fresh demo in a temporary directory (``--quick``: the
test-suite cluster; otherwise the default 5-node demo, which takes minutes to generate).

Measured, on the demo's whole history at a 5-minute step:

* **workbench**: ``fetch_usage`` + ``recommend`` + ``flags`` + ``forecast`` + ``key_figures`` in a
  fresh process (wall time and peak RSS of that process);
* **server-side statistics**: the eight CPU statistics as one ``quantile_over_time`` union query
  (the alternative ``fetch_usage`` does not use; see docs/capacity.md);
* **the KRR way** (the peer): two queries per workload container (its CPU percentile and memory
  maximum over its pods, KRR's query shapes), one after another, through prometheus-api-client's
  ``PrometheusConnect.custom_query``; the values are checked against ``recommend``'s.
"""

from __future__ import annotations

import json
import os
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
url, start, end, step = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
mode, pcts = sys.argv[5], tuple(float(p) for p in sys.argv[6].split(","))
with Prometheus(url, timeout=600) as prom:
    t1, c1 = time.perf_counter(), time.process_time()
    usage = capacity.fetch_usage(prom, start, end, step, aggregation=mode, percentiles=pcts)
    t2, c2 = time.perf_counter(), time.process_time()
    recs = capacity.recommend(usage)
    capacity.flags(usage); capacity.forecast(usage); capacity.key_figures(usage, recs)
    t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "fetch_s": t2 - t1, "fetch_cpu_s": c2 - c1,
                  "analysis_s": t3 - t2,
                  "total_s": t3 - t0, "containers": usage.containers.height,
                  "workload_containers": recs.height,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _ours(url: str, start: float, end: float, step: str, mode: str = "local",
          percentiles: str = "50,66,90,95,99") -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-c", _CHILD, url, str(start), str(end), step, mode,
                          percentiles], capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _krr_way(url: str, start: float, end: float, step: str) -> dict[str, Any]:
    import polars as pl
    from prometheus_api_client import PrometheusConnect

    from workbench import Prometheus, capacity

    with Prometheus(url, timeout=600) as prom:
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


def _server_union(url: str, start: float, end: float, step: str) -> float:
    from workbench import Prometheus
    from workbench.analysis.capacity import queries as q

    expr = q.cpu_stats(q.Selectors(), f"{int(end - start)}s", step, (50, 66, 90, 95, 99))
    with Prometheus(url, timeout=600) as prom:
        t0 = time.perf_counter()
        prom.query(expr, end)
        return time.perf_counter() - t0


def _measure(url: str, start: float, end: float, label: str, step: str = "5m") -> None:
    runs = {}
    for mode, pcts in (("local", "50,66,90,95,99"), ("server", "95"),
                       ("server", "50,66,90,95,99")):
        ours = _ours(url, start, end, step, mode, pcts)
        runs[(mode, pcts)] = ours
        print(f"{label}: workbench ({mode} statistics, percentiles {pcts}) end to end "
              f"{ours['total_s']:.1f} s (fetch {ours['fetch_s']:.1f} s wall, "
              f"{ours['fetch_cpu_s']:.2f} s CPU in this process; analysis "
              f"{ours['analysis_s']:.2f} s, import {ours['import_s']:.1f} s), peak RSS "
              f"{ours['peak_rss_mb']:.0f} MiB, {ours['containers']} containers, "
              f"{ours['workload_containers']} workload containers", flush=True)
    union = _server_union(url, start, end, step)
    print(f"{label}: the CPU statistics as one server-side label_replace/or union: "
          f"{union:.1f} s", flush=True)
    krr = _krr_way(url, start, end, step)
    base = runs[("local", "50,66,90,95,99")]["fetch_s"]
    print(f"{label}: the KRR way, {krr['queries']} queries one after another through "
          f"prometheus-api-client: {krr['krr_s']:.1f} s; ratio KRR way / workbench fetch "
          f"(local) = {krr['krr_s'] / base:.2f}; largest difference from recommend "
          f"{krr['max_difference']:.2g} (cores, or relative for memory)", flush=True)


def main(quick: bool = False) -> None:
    from workbench.demo import stack
    from workbench.demo.params import DEFAULT, SMALL

    d = os.environ.get("WORKBENCH_BENCH_DEMO_DIR")
    if d:
        eps = stack.endpoints(d)
        hist = json.loads((Path(d) / "history.json").read_text())
        _measure(eps["prometheus"], hist["start_s"], hist["end_s"], f"demo in {d}")
        return
    params = SMALL if quick else DEFAULT
    with tempfile.TemporaryDirectory(prefix="wb-bench-capacity-") as tmp:
        try:
            eps = stack.up(tmp, params, echo=lambda m: None)
            gt = json.loads(Path(eps["ground_truth"]).read_text())
            h = gt["history"]
            _measure(eps["prometheus"], h["start_s"], h["end_s"],
                     f"{params.nodes} nodes, ~{params.pods} pods, {params.days:g} days")
        finally:
            stack.down(tmp)


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
