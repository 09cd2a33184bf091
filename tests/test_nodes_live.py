"""CPU utilisation through a real prometheus-node-exporter scraped by a real Prometheus, compared
with /proc/stat over the same window while one busy process keeps a core loaded."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from workbench import Prometheus
from workbench import nodes as wn
from workbench.node_exporter import queries
from workbench.servers import ManagedProcess, free_port, spawn, start_prometheus, wait_http_ok

from .conftest import require_binary

pytestmark = [pytest.mark.slow, pytest.mark.server]

SCRAPE_S = 5
WARMUP_S = 25
WINDOW_S = 90


def _proc_stat() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs; idle, iowait and steal count as not busy (node-mixin)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, idle, iowait, irq, softirq, steal = (float(x) for x in fields[:8])
    total = user + nice + system + idle + iowait + irq + softirq + steal
    return total - idle - iowait - steal, total


@pytest.fixture()
def node_exporter(tmp_path: Path) -> ManagedProcess:
    binary = require_binary("prometheus-node-exporter")
    port = free_port()
    log = tmp_path / "node_exporter.log"
    proc = spawn("prometheus-node-exporter",
                 [binary, f"--web.listen-address=127.0.0.1:{port}", "--collector.disable-defaults",
                  "--collector.cpu", "--collector.loadavg", "--collector.meminfo",
                  "--collector.stat", "--collector.vmstat", "--collector.diskstats",
                  "--collector.filesystem", "--collector.netdev"], log)
    url = f"http://127.0.0.1:{port}"
    server = ManagedProcess("prometheus-node-exporter", proc, url, log)
    try:
        wait_http_ok(f"{url}/metrics", proc=proc, log_path=log)
    except BaseException:
        server.stop()
        raise
    yield server
    server.stop()


def test_cpu_utilisation_matches_proc_stat(node_exporter: ManagedProcess, tmp_path: Path) -> None:
    require_binary("prometheus")
    target = node_exporter.url.removeprefix("http://")
    config = (f"global:\n  scrape_interval: {SCRAPE_S}s\nscrape_configs:\n"
              f"  - job_name: node-exporter\n    static_configs:\n"
              f"      - targets: ['{target}']\n")
    prom_server = start_prometheus(tmp_path / "tsdb", config_text=config)
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"],
                            stdin=subprocess.DEVNULL)
    try:
        time.sleep(WARMUP_S)
        t1 = time.time()
        b1, n1 = _proc_stat()
        time.sleep(WINDOW_S)
        t2 = time.time()
        b2, n2 = _proc_stat()
        time.sleep(SCRAPE_S + 1)  # the scrape after t2 lands
        truth = (b2 - b1) / (n2 - n1)

        prom = Prometheus(prom_server.url)
        # the report's PromQL, one rate over exactly the window
        instant = prom.query(queries.cpu_utilisation(queries.selector("node-exporter"),
                                                     f"{round((t2 - t1) * 1000)}ms"), t2)
        whole = float(instant["value"][0])
        # the report's fetch path, averaged over the window
        use = wn.fetch_node_use(prom, t1, t2, step="10s", rate_window="20s")
        series = wn.resource_frame(use, "cpu_util")["value"]
        n_cpu = use.nodes["n_cpu"][0]
    finally:
        busy.kill()
        busy.wait(10)
        prom_server.stop()

    print(f"/proc/stat {truth:.4f}  PromQL over the window {whole:.4f}  "
          f"mean of the report series {series.mean():.4f}")
    assert truth > 0.45, f"the busy process should load at least one core: {truth:.3f}"
    assert abs(whole - truth) < 0.04, (whole, truth)
    assert series.len() >= WINDOW_S // 10
    assert abs(series.mean() - truth) < 0.05, (series.mean(), truth)  # type: ignore[operator]
    assert n_cpu == len([line for line in Path("/proc/stat").read_text().splitlines()
                         if line.startswith("cpu") and line[3].isdigit()])
    assert use.nodes["matched_by"].to_list() == ["instance"]  # no kube-state-metrics here
    assert wn.use_summary(use).filter(pl.col("node") == target).height == 1
