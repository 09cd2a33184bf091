"""The node-exporter report against the demo stack finds the planted truth (ground_truth.json):
the filling filesystem's time to full within 10 %, the node-down window, no false flags."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from workbench import Prometheus
from workbench import nodes as wn
from workbench.reports import run_report

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def demo(small_demo: dict[str, Any]) -> Iterator[dict[str, Any]]:
    with Prometheus(small_demo["eps"]["prometheus"]) as prom:
        yield {**small_demo, "prom": prom}


def _simulated(gt: dict[str, Any]) -> list[str]:
    return [n["name"] for n in gt["nodes"]]


def test_filesystem_time_to_full_within_10_percent(demo: dict[str, Any]) -> None:
    gt = demo["gt"]
    fs = gt["scenarios"]["filesystem_filling"]
    end = gt["history"]["end_s"]
    use = wn.fetch_node_use(demo["prom"], end - 24 * 3600, end)
    forecast = wn.fs_forecast(use.filesystems)
    row = forecast.filter(pl.col("node") == fs["node"], pl.col("mountpoint") == fs["mountpoint"]
                          ).row(0, named=True)
    avail_end = fs["avail_at_start_bytes"] - fs["fill_rate_bytes_per_s"] * (
        end - gt["history"]["start_s"])
    planted_h = avail_end / fs["fill_rate_bytes_per_s"] / 3600
    assert row["hours_to_full"] == pytest.approx(planted_h, rel=0.10)
    assert row["deriv_bytes_per_s"] == pytest.approx(-fs["fill_rate_bytes_per_s"], rel=0.10)
    assert row["device"] == fs["device"]
    assert row["filling"] is True
    flagged = forecast.filter(pl.col("filling") | pl.col("almost_full"))
    assert set(flagged["node"]) == {fs["node"]}
    # the report's first row is the soonest-full filesystem
    assert forecast.row(0, named=True)["mountpoint"] == fs["mountpoint"]


def test_down_window_and_no_false_flags(demo: dict[str, Any]) -> None:
    gt = demo["gt"]
    down = gt["scenarios"]["node_down"]
    fs = gt["scenarios"]["filesystem_filling"]
    h = gt["history"]
    use = wn.fetch_node_use(demo["prom"], h["start_s"] + 3600, h["end_s"])
    summary = wn.use_summary(use)
    row = summary.filter(pl.col("node") == down["node"]).row(0, named=True)
    planted = down["end_s"] - down["start_s"]
    assert row["downtime_s"] == pytest.approx(planted, abs=use.step_s)
    (window,) = row["down_windows"]
    assert abs(window["start"].timestamp() - down["start_s"]) <= use.step_s
    assert abs(window["end"].timestamp() - down["end_s"]) <= use.step_s
    flags = dict(zip(summary["node"], summary["flags"].to_list(), strict=True))
    assert flags[down["node"]] == ["down"]
    assert set(flags[fs["node"]]) <= {"fs_filling", "fs_almost_full"}
    assert "fs_filling" in flags[fs["node"]]
    healthy = set(_simulated(gt)) - {down["node"], fs["node"]}
    assert healthy
    for node in healthy:
        assert flags[node] == [], (node, flags[node])
    # every simulated node is named through kube-state-metrics, not left as an address
    named = use.nodes.filter(pl.col("node").is_in(_simulated(gt)))
    assert set(named["matched_by"]) == {"kube_pod_info"}
    assert sorted(named["n_cpu"].to_list()) == sorted(n["cpus"] for n in gt["nodes"])
    # worst first: the two planted nodes lead the table
    assert set(summary["node"].to_list()[:2]) == {down["node"], fs["node"]}


def test_notebook_report_on_the_demo(demo: dict[str, Any], tmp_path: Path) -> None:
    gt = demo["gt"]
    fs = gt["scenarios"]["filesystem_filling"]
    result = run_report("node_exporter", {"prometheus": demo["eps"]["prometheus"]},
                        out_dir=tmp_path, timeout=600)
    assert result.status == "ok", result.error
    assert result.figures["nodes"] >= len(gt["nodes"])
    assert result.figures["min_hours_to_full"] is not None
    assert result.html.read_text().count('class="workbench-chart"') >= 14
    assert fs["node"] in result.html.read_text()


def test_run_all_on_the_demo(demo: dict[str, Any], tmp_path: Path) -> None:
    """What `make demo` runs after `workbench demo up`: every report with its defaults."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")}
    env["WORKBENCH_DEMO_DIR"] = str(demo["dir"])
    res = subprocess.run([sys.executable, "-m", "workbench", "report", "run-all", "--out",
                          str(tmp_path)], env=env, stdin=subprocess.DEVNULL, capture_output=True,
                         text=True, timeout=600, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "node_exporter: ok" in res.stdout
    assert 'data-status="ok"' in (tmp_path / "index.html").read_text()
    assert (tmp_path / "node_exporter" / "latest.html").is_file()
