"""Reports at scale: each report end to end, and its data fetched workbench's way vs the naive way.

``python -m benchmarks reports [--big] [--quick]`` needs a running demo (``WORKBENCH_DEMO_DIR``
or the default directory); with ``--big`` it insists on the big setting (``workbench demo up
--big``, optionally ``--backend victoriametrics``). ``--quick`` measures the node-exporter report
only; ``WORKBENCH_BENCH_REPORTS=capacity,alert_rules`` picks reports.

For every report it prints

* the wall time and peak memory (max RSS of the ``workbench report run`` process and its kernel)
  of one scheduled run with the report's default parameters;
* the data the report needs over the same default window, fetched by the call its notebook makes
  (``fetch_node_use``, ``capacity.fetch_usage``, ``fetch_alert_history``, ``load_rules`` +
  ``backtest_rules``, ``fetch_tuning``) next to the same data fetched the naive way: one range
  query per object (node, pod, alert name, rule; the tuned rule's left-hand side) through
  prometheus-api-client's ``custom_query_range``, each answer turned into a pandas frame with
  ``MetricRangeDataFrame``, plus the per-object statistic the report shows (capacity: CPU p95 and
  memory peak per container, in pandas). Each side runs in its own process, so peak memory is its
  own; the ratio is naive / workbench.

The naive side computes less than the report (no joins, no episodes, no flags), so the ratios
understate the difference.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPORTS = ("node_exporter", "capacity", "alert_history", "alert_rules", "threshold_tuning")


def _defaults(report: str) -> dict[str, Any]:
    """The report notebook's declared parameters (its window, step, tuned rule)."""
    from workbench.reports import get_report

    return get_report(report).defaults()


def _window_s(report: str) -> float:
    """The report's default window (``start="now-14d"``) in seconds."""
    from workbench._time import parse_duration_ms

    return parse_duration_ms(_defaults(report)["start"].removeprefix("now-")) / 1000


def _run_measured(argv: list[str], env: dict[str, str] | None = None
                  ) -> tuple[float, float, int, str]:
    """(wall seconds, peak RSS MiB of the process tree it waited for, exit code, stdout)."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.DEVNULL, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        out.seek(0)
        text = out.read().decode(errors="replace").strip()
    return (time.perf_counter() - t0, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status),
            text.splitlines()[-1] if text else "")


# -- workbench's way: the call the report's notebook makes ---------------------------------------

def _workbench(report: str, url: str, start: float, end: float) -> str:
    from workbench import Prometheus

    prom = Prometheus(url, timeout=600)
    if report == "node_exporter":
        from workbench import nodes

        use = nodes.fetch_node_use(prom, start, end)
        return f"{use.series.height} points of {use.nodes.height} nodes"
    if report == "capacity":
        from workbench import capacity

        usage = capacity.fetch_usage(prom, start, end, _defaults(report)["step"])
        return f"{usage.containers.height} containers"
    if report == "alert_history":
        from workbench import alert_history

        h = alert_history.fetch_alert_history(prom, start, end)
        return f"{h.samples} ALERTS samples, {h.episodes.height} episodes"
    from workbench import alerting

    rules = alerting.load_rules(prom)
    if report == "threshold_tuning":
        from workbench.analysis.alerting.tuning import fetch_tuning

        tuned = _defaults(report)["alert"]
        tuning = fetch_tuning(prom, next(r for r in rules if r.alert == tuned), start, end)
        return f"{tuning.matrix.values.size} evaluations of {tuned}"
    table = alerting.backtest_rules(prom, rules, start, end)
    return f"{table.height} rules backtested"


# -- the naive way: one query per object through prometheus-api-client ---------------------------

def _naive(report: str, url: str, start: float, end: float) -> str:
    from datetime import UTC, datetime

    from prometheus_api_client import MetricRangeDataFrame, PrometheusConnect

    pc = PrometheusConnect(url=url, disable_ssl=True)
    t0, t1 = datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC)
    window = f"{int(end - start)}s"

    def frame(query: str, step_s: float) -> Any:
        data = pc.custom_query_range(query, start_time=t0, end_time=t1, step=f"{step_s:g}")
        return MetricRangeDataFrame(data) if data else None

    def rows(query: str, step_s: float) -> int:
        f = frame(query, step_s)
        return 0 if f is None else len(f)

    def objects(query: str, label: str) -> list[dict[str, str]]:
        return [m["metric"] for m in pc.custom_query(query, params={"time": end})
                if label in m["metric"]]

    if report == "node_exporter":
        from workbench._time import auto_step_ms
        from workbench.analysis.nodes.fetch import MIN_STEP_S, TARGET_POINTS
        from workbench.analysis.nodes.queries import RANGE_QUERIES, selector

        # fetch_node_use's automatic step
        step_s = max(auto_step_ms(int(start * 1000), int(end * 1000),
                                  max_points=TARGET_POINTS) / 1000, MIN_STEP_S)
        nodes = objects(f'group by (instance) (last_over_time(node_uname_info'
                        f'{{job="node-exporter"}}[{window}]))', "instance")
        n_rows = sum(rows(q, step_s) for n in nodes for q in RANGE_QUERIES(
            f'{selector("node-exporter")},instance="{n["instance"]}"', "5m").values())
        return f"{n_rows} rows from {len(nodes)} nodes"
    if report == "capacity":
        import pandas as pd

        from workbench._time import parse_duration_ms

        step_s = parse_duration_ms(_defaults(report)["step"]) / 1000
        cad = 'job="kubelet",metrics_path="/metrics/cadvisor",container!="",container!="POD"'
        pods = objects(f"group by (namespace, pod) (last_over_time(container_memory_working_set"
                       f"_bytes{{{cad}}}[{window}]))", "pod")
        stats = []
        for p in pods:
            sel = f'{cad},namespace="{p["namespace"]}",pod="{p["pod"]}"'
            cpu = frame(f"rate(container_cpu_usage_seconds_total{{{sel}}}[{step_s:g}s])", step_s)
            mem = frame(f"container_memory_working_set_bytes{{{sel}}}", step_s)
            if cpu is not None:
                stats.append(cpu.groupby("container")["value"].quantile(0.95).rename("cpu_p95"))
            if mem is not None:
                stats.append(mem.groupby("container")["value"].max().rename("memory_max"))
        return f"{len(pd.concat(stats)) if stats else 0} statistics from {len(pods)} pods"
    if report == "alert_history":
        names = objects(f"group by (alertname) (last_over_time(ALERTS[{window}]))", "alertname")
        n_rows = sum(rows(f'{series}{{alertname="{n["alertname"]}"}}', 60)
                     for n in names for series in ("ALERTS", "ALERTS_FOR_STATE"))
        return f"{n_rows} rows from {len(names)} alert names"
    import requests  # prometheus-api-client 0.7 has no rules call

    groups = requests.get(f"{url}/api/v1/rules", timeout=60).json()["data"]["groups"]
    rules = [r for g in groups for r in g["rules"] if r["type"] == "alerting"]
    if report == "threshold_tuning":
        from workbench import alerting

        name = _defaults(report)["alert"]
        query = next(r["query"] for r in rules if r["name"] == name)
        lhs = alerting.threshold_rule(alerting.Rule(alert=name, expr=query)).expr
        return f"{rows(lhs, 60)} rows of {name}'s left-hand side"
    return f"{sum(rows(r['query'], 60) for r in rules)} rows from {len(rules)} rules"


def fetch(kind: str, report: str, url: str, start: float, end: float) -> None:
    """One side of the comparison, run in a process of its own; prints what it fetched."""
    print((_workbench if kind == "workbench" else _naive)(report, url, start, end), flush=True)


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
    engine = "VictoriaMetrics" if "victoria" in str(st["processes"]).lower() else "Prometheus"
    print(f"demo: {params.get('nodes')} nodes, ~{params.get('pods')} pods, "
          f"{params.get('days')} days on {engine}; {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"{'report':<17}{'run s':>7}{'MiB':>6} |{'fetch s':>8}{'MiB':>6} |{'naive s':>8}"
          f"{'MiB':>6} |{'time x':>7}{'mem x':>6}   what was fetched (workbench / naive)")
    days = float(params.get("days") or 30)
    with tempfile.TemporaryDirectory(prefix="wb-bench-reports-") as out:
        picked = [r for r in os.environ.get("WORKBENCH_BENCH_REPORTS", "").split(",") if r]
        for name in picked or (REPORTS[:1] if quick else REPORTS):
            if name not in REPORTS:
                print(f"{name}: not a report of this benchmark ({', '.join(REPORTS)})")
                continue
            wall, rss, rc, _ = _run_measured(
                [sys.executable, "-m", "workbench", "report", "run", name, "-p",
                 "prometheus=demo", "--out", str(Path(out))], env)
            end = time.time()
            start = end - min(_window_s(name), days * 86400)
            sides = {}
            for kind in ("workbench", "naive"):
                code = (f"from benchmarks.bench_reports import fetch; "
                        f"fetch({kind!r}, {name!r}, {url!r}, {start!r}, {end!r})")
                sides[kind] = _run_measured([sys.executable, "-c", code], env)
            (w, wm, wrc, wtext), (n, nm, nrc, ntext) = sides["workbench"], sides["naive"]
            status = "" if rc == 0 else f"  report exit {rc}"
            status += "" if wrc == 0 else f"  workbench fetch exit {wrc}"
            status += "" if nrc == 0 else f"  naive fetch exit {nrc}"
            print(f"{name:<17}{wall:>7.1f}{rss:>6.0f} |{w:>8.1f}{wm:>6.0f} |{n:>8.1f}{nm:>6.0f} |"
                  f"{n / w:>6.1f}x{nm / wm:>5.1f}x   {wtext} / {ntext}{status}", flush=True)
