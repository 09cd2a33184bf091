"""Reports at scale: each report end to end, and its queries workbench's way vs the naive way.

``python -m benchmarks reports [--big]`` needs a running demo (``WORKBENCH_DEMO_DIR`` or the
default directory); with ``--big`` it insists on the big setting (``workbench demo up --big``,
optionally ``--backend victoriametrics``). For every report notebook it prints the wall time and
peak memory (max RSS of the ``workbench report run`` process and its kernel) of one scheduled run.

The peer is the naive client: the same report's queries issued one per object (one per node)
through prometheus-api-client's ``custom_query_range`` and turned into a pandas frame with
``MetricRangeDataFrame``, next to workbench's one query per resource for all nodes. Each side runs
in its own process, so peak memory is its own. Skeleton: the naive side is written for the
node-exporter report's queries only; the other reports print their end-to-end figures alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPORTS = ("node_exporter", "capacity", "alert_history", "alert_rules")
RANGE_S = 7 * 86400
STEP_S = 300


def _run_measured(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float, int]:
    """(wall seconds, peak RSS MiB of the process tree it waited for, exit code)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - t0, usage.ru_maxrss / 1024, proc.returncode


def fetch(kind: str, url: str, start: float, end: float) -> None:
    """The node-exporter report's range queries, ``kind`` = ``workbench`` or ``naive``."""
    from workbench.analysis.nodes.queries import RANGE_QUERIES, selector

    if kind == "workbench":
        from workbench import Prometheus

        prom = Prometheus(url, timeout=600)
        frames = [prom.query_range(q, start, end, step=STEP_S)
                  for q in RANGE_QUERIES(selector("node-exporter"), "5m").values()]
        print(sum(f.height for f in frames))
        return
    from datetime import UTC, datetime

    from prometheus_api_client import MetricRangeDataFrame, PrometheusConnect

    pc = PrometheusConnect(url=url, disable_ssl=True)
    instances = [m["metric"]["instance"] for m in
                 pc.custom_query('count by (instance) (node_uname_info{job="node-exporter"})')]
    rows = 0
    t0, t1 = datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC)
    for inst in instances:
        sel = f'{selector("node-exporter")},instance="{inst}"'
        for q in RANGE_QUERIES(sel, "5m").values():
            data = pc.custom_query_range(q, start_time=t0, end_time=t1, step=str(STEP_S))
            if data:
                rows += len(MetricRangeDataFrame(data))
    print(rows)


def main(quick: bool = False) -> None:
    from workbench.demo import stack
    from workbench.demo.params import BIG

    big = "--big" in sys.argv
    st = stack.status(os.environ.get("WORKBENCH_DEMO_DIR"))
    if not st["running"]:
        print("no demo is running: start one with `workbench demo up"
              f"{' --big --backend victoriametrics' if big else ''}` (WORKBENCH_DEMO_DIR=...)")
        return
    params = (st["history"] or {}).get("params") or {}
    if big and params.get("nodes") != BIG.nodes:
        print(f"--big wants the big demo ({BIG.nodes} nodes); the running one has "
              f"{params.get('nodes')} nodes. Start it with `workbench demo up --big`.")
        return
    url = st["endpoints"]["prometheus"]
    env = {**os.environ, "WORKBENCH_DEMO_DIR": st["state_dir"]}
    print(f"demo: {params.get('nodes')} nodes, ~{params.get('pods')} pods, "
          f"{params.get('days')} days; {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"{'report':<16}{'time s':>9}{'peak MiB':>10}   status")
    with tempfile.TemporaryDirectory(prefix="wb-bench-reports-") as out:
        for name in REPORTS[:1] if quick else REPORTS:
            wall, rss, rc = _run_measured(
                [sys.executable, "-m", "workbench", "report", "run", name, "-p",
                 "prometheus=demo", "--out", str(Path(out))], env)
            print(f"{name:<16}{wall:>9.1f}{rss:>10.0f}   {'ok' if rc == 0 else f'exit {rc}'}")
    end = time.time()
    start = end - min(RANGE_S, float(params.get("days") or 7) * 86400)
    print(f"\nnode_exporter queries over {int((end - start) / 86400)} days at {STEP_S} s:")
    results = {}
    for kind in ("workbench", "naive"):
        code = (f"from benchmarks.bench_reports import fetch; "
                f"fetch({kind!r}, {url!r}, {start!r}, {end!r})")
        results[kind] = _run_measured([sys.executable, "-c", code])
        wall, rss, rc = results[kind]
        print(f"  {kind:<10} {wall:8.1f} s {rss:8.0f} MiB{'' if rc == 0 else f'  exit {rc}'}")
    (w, wm, _), (n, nm, _) = results["workbench"], results["naive"]
    print(f"  ratio naive/workbench: time {n / w:.1f}x, peak memory {nm / wm:.1f}x")
