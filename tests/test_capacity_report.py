"""The capacity report end to end on the demo stack: a CLI run in a fresh kernel records the
headline figures, and the page renders every chart in a headless Chromium with the network off."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import ipc_kernel_manager, offline_chromium

pytestmark = pytest.mark.server

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


@pytest.fixture(scope="module")
def report_run(small_demo: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
               ) -> dict[str, Any]:
    h = small_demo["gt"]["history"]
    out = tmp_path_factory.mktemp("capacity-report")
    proc = subprocess.run(
        [sys.executable, "-m", "workbench", "report", "run", "capacity",
         "-p", f"prometheus={small_demo['eps']['prometheus']}", "-p", f"start={int(h['start_s'])}",
         "-p", f"end={int(h['end_s'])}", "-p", "interactive=false", "-p", "cpu_core_hour=0.03",
         "--out", str(out), "--timeout", "600"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (record,) = out.glob("capacity/*/*.json")
    return {"record": json.loads(record.read_text()), "html": record.with_suffix(".html"),
            "gt": small_demo["gt"]}


def test_headline_figures_are_recorded(report_run: dict[str, Any]) -> None:
    f = report_run["record"]["figures"]
    cap = report_run["gt"]["capacity"]
    assert set(f) >= {"cores_reclaimable", "gib_reclaimable", "workloads_flagged",
                      "days_to_n_minus_1", "retention_days_fit", "money_per_month"}
    assert f["retention_days_fit"] == pytest.approx(cap["prometheus"]["days_fit"], rel=0.02)
    assert f["cpu_requests_of_n_minus_1"] == pytest.approx(cap["n_minus_1"]["cpu_ratio"],
                                                           abs=1e-3)
    assert f["money_per_month"] is not None and f["money_per_month"] > 0
    assert f["workloads_flagged"] >= 4


def test_offline_page_draws_every_chart(report_run: dict[str, Any]) -> None:
    page: Path = report_run["html"]
    text = page.read_text()
    for cdn in ("cdn.jsdelivr.net", "unpkg.com", "cdnjs.cloudflare.com"):
        assert cdn not in text
    assert "fetch_usage(" not in text  # inputs hidden
    n_charts = text.count('class="workbench-chart"')
    # namespaces, node allocation, request vs usage, throttling, forecast, storage
    assert n_charts == 6
    dom = offline_chromium(page.as_uri(), "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    for div in re.findall(r'<div id="(wb-chart-[0-9a-f]+)"', dom.stdout):
        after = dom.stdout.split(f'id="{div}"', 1)[1][:3000]
        assert 'class="marks"' in after, div
    rendered = len(re.findall(r'<(?:canvas|svg)[^>]*class="marks"', dom.stdout))
    assert rendered == n_charts
    heights = [int(h) for h in re.findall(r'<(?:canvas|svg)[^>]*class="marks"[^>]*height="(\d+)"',
                                          dom.stdout)]
    assert max(heights) < 1500, heights
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "capacity_report.png"
    shot.unlink(missing_ok=True)
    res = offline_chromium(page.as_uri(), "--window-size=1400,6000", f"--screenshot={shot}")
    assert res.returncode == 0, res.stderr[-2000:]
    assert shot.stat().st_size > 50_000


def test_interactive_notebook_shows_the_tuner(small_demo: dict[str, Any], tmp_path: Path) -> None:
    """What JupyterLab gets (interactive=True): percentile, buffer and namespace widgets, no error."""
    import papermill as pm

    from workbench.reports import get_report

    h = small_demo["gt"]["history"]
    out = tmp_path / "interactive.ipynb"
    nb = pm.execute_notebook(
        str(get_report("capacity").path), str(out), kernel_name="python3",
        parameters={"prometheus": small_demo["eps"]["prometheus"], "start": str(int(h["start_s"])),
                    "end": str(int(h["end_s"])), "buffer": 0.3},
        progress_bar=False, cwd=str(tmp_path),
        kernel_manager_class=ipc_kernel_manager(), execution_timeout=240, start_timeout=300)
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    views = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(views) == 1  # the tuner box
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    values = {m["state"].get("description"): m["state"].get("value") for m in state.values()
              if m["model_name"] in ("FloatSliderModel", "DropdownModel", "TextModel")}
    assert values["memory buffer"] == 0.3
    assert values["namespace regex"] == ""
