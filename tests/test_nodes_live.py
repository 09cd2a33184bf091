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
from workbench.analysis.nodes import queries
from workbench.testing.servers import ManagedProcess, free_port, spawn, start_prometheus, wait_http_ok

from .conftest import require_binary

pytestmark = [pytest.mark.slow, pytest.mark.server]

SCRAPE_S = 5
WARMUP_S = 25
WINDOW_S = 100
RATE_S = 20  # the report series' rate window and step: its windows tile [t1, t2] exactly


MODES = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


def _proc_stat() -> dict[str, float]:
    """Jiffies of all CPUs per mode (the first eight fields of the ``cpu`` line)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    return dict(zip(MODES, (float(x) for x in fields[:8]), strict=True))


@pytest.fixture()
def node_exporter(tmp_path: Path) -> ManagedProcess:
    binary = require_binary("prometheus-node-exporter")
    port = free_port()
    log = tmp_path / "node_exporter.log"
    proc = spawn([binary, f"--web.listen-address=127.0.0.1:{port}", "--collector.disable-defaults",
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
        j1 = _proc_stat()
        time.sleep(WINDOW_S)
        t2 = time.time()
        j2 = _proc_stat()
        time.sleep(SCRAPE_S + 1)  # the scrape after t2 lands
        delta = {m: j2[m] - j1[m] for m in MODES}
        total = sum(delta.values())
        truth = 1 - (delta["idle"] + delta["iowait"] + delta["steal"]) / total  # node-mixin busy
        share = {m: delta[m] / total for m in MODES}

        prom = Prometheus(prom_server.url)
        # the report's PromQL, one rate over exactly the window
        instant = prom.query(queries.cpu_utilisation(queries.selector("node-exporter"),
                                                     f"{round((t2 - t1) * 1000)}ms"), t2)
        whole = float(instant["value"][0])
        window = f"{round((t2 - t1) * 1000)}ms"
        modes = prom.query(f"sum by (mode) (rate(node_cpu_seconds_total[{window}])) / scalar("
                           f"sum(rate(node_cpu_seconds_total[{window}])))", t2)
        prom_share = dict(zip(modes["mode"], modes["value"], strict=True))
        # the report's fetch path: rate windows of RATE_S ending every RATE_S from t1 + RATE_S to
        # t2 cover the window once each, so their mean is comparable with /proc/stat's window
        use = wn.fetch_node_use(prom, t1 + RATE_S, t2, step=f"{RATE_S}s", rate_window=f"{RATE_S}s")
        series = wn.resource_frame(use, "cpu_util")["value"]
        n_cpu = use.nodes["n_cpu"][0]
    finally:
        busy.kill()
        busy.wait(10)
        prom_server.stop()

    print(f"/proc/stat {truth:.4f}  PromQL over the window {whole:.4f}  "
          f"mean of the report series {series.mean():.4f}  user {share['user']:.4f} vs "
          f"{prom_share['user']:.4f}  system {share['system']:.4f} vs {prom_share['system']:.4f}")
    assert truth > 0.45, f"the busy process should load at least one core: {truth:.3f}"
    assert abs(whole - truth) < 0.04, (whole, truth)
    # each mode's share, too: non-trivial even when other work saturates the machine
    for mode in ("user", "system", "idle"):
        assert abs(prom_share[mode] - share[mode]) < 0.03, (mode, prom_share, share)
    assert series.len() == WINDOW_S // RATE_S
    assert abs(series.mean() - truth) < 0.05, (series.mean(), truth)  # type: ignore[operator]
    assert n_cpu == len([line for line in Path("/proc/stat").read_text().splitlines()
                         if line.startswith("cpu") and line[3].isdigit()])
    assert use.nodes["matched_by"].to_list() == ["instance"]  # no kube-state-metrics here
    assert wn.use_summary(use).filter(pl.col("node") == target).height == 1
