"""The alert-history report end to end: CLI run against the demo (a fresh kernel, the demo's
Alertmanager config read from its state dir), key figures equal the library's, the offline page
renders every chart in headless Chromium with the network blocked; a Prometheus without ALERTS
gives an ok page that says so; an Alertmanager that is down is a note, not a crash."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import polars as pl
import pytest

from workbench import Prometheus, alert_history
from workbench.testing.servers import ManagedProcess, free_port

from .conftest import ipc_kernel_manager, offline_chromium

pytestmark = pytest.mark.server
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


def _run(out: Path, env_extra: dict[str, str], *params: str) -> Path:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")}
    proc = subprocess.run(
        [sys.executable, "-m", "workbench", "report", "run", "alert_history",
         *[a for p in params for a in ("-p", p)], "--out", str(out), "--timeout", "600"],
        env={**env, **env_extra}, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=900, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (record,) = out.glob("alert_history/*/*.json")
    return record


@pytest.fixture(scope="module")
def demo_run(small_demo: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
             ) -> dict[str, Any]:
    gt = small_demo["gt"]
    start, end = int(gt["history"]["start_s"] + 600), int(gt["history"]["end_s"])
    record = _run(tmp_path_factory.mktemp("ah-report"),
                  {"WORKBENCH_DEMO_DIR": str(small_demo["dir"])},
                  "prometheus=demo", f"start={start}", f"end={end}", "alertmanager=demo")
    with Prometheus(small_demo["eps"]["prometheus"]) as prom:
        data = alert_history.fetch_alert_report(
            prom, start, end, alertmanager_config=str(Path(small_demo["dir"]) /
                                                      "alertmanager.yml"), alertmanager="")
    return {"record": record, "html": record.with_suffix(".html"), "data": data,
            "ipynb": record.with_suffix(".ipynb")}


def test_figures_equal_the_library(demo_run: dict[str, Any]) -> None:
    rec = json.loads(demo_run["record"].read_text())
    assert rec["status"] == "ok"
    expected = alert_history.key_figures(demo_run["data"])
    assert rec["figures"] == expected
    assert expected["alerts_fired"] == demo_run["data"].history.episodes[
        "fired_at"].is_not_null().sum() > 0
    assert expected["messages_sent"] > expected["alerts_fired"]
    assert expected["noisiest_alert"] == "NodeLoadFlapping"  # fires 8 times a day


def test_page_shows_the_planted_incidents_offline(demo_run: dict[str, Any]) -> None:
    page = demo_run["html"].read_text()
    for text in ("NodeExporterDown", "KubeContainerOOMKilled", "CrashLoopBackOff", "ErrImagePull",
                 "PVCUsageHigh", "*Description:*", "Messages per receiver"):
        assert text in page, text
    for cdn in ("cdn.jsdelivr.net", "unpkg.com", "cdnjs.cloudflare.com"):
        assert cdn not in page
    # humanised durations ("6h12m") under headers without the _s unit suffix; flapping says
    # what it counts (re-fires, not identities as on alert_rules)
    for head in (">firing<", ">MTTR<", ">p50<", ">p90<", ">re-fires &lt;15 min<"):
        assert head in page, head
    for head in (">firing_s<", ">mttr_s<", ">p50_s<", ">flapping<"):
        assert head not in page, head
    # the workload events' message column wraps instead of widening the page
    assert re.search(r'white-space:normal">Container [^<]+ of pod ', page)
    nb = nbformat.read(demo_run["ipynb"], as_version=4)
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]


def test_chromium_offline_renders_every_chart(demo_run: dict[str, Any]) -> None:
    page = demo_run["html"]
    n_charts = page.read_text().count('class="workbench-chart"')
    assert n_charts == 6  # timeline, heat map, noisiest, messages, events, PVC
    dom = offline_chromium(page.as_uri(), "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    rendered = len(re.findall(r'<(?:canvas|svg)[^>]*class="marks"', dom.stdout))
    assert rendered == n_charts, (rendered, n_charts)
    heights = [int(h) for h in re.findall(r'<(?:canvas|svg)[^>]*class="marks"[^>]*height="(\d+)"',
                                          dom.stdout)]
    assert max(heights) < 1500, heights
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "alert_history_report.png"
    shot.unlink(missing_ok=True)
    res = offline_chromium(page.as_uri(), "--window-size=1400,4000", f"--screenshot={shot}")
    assert res.returncode == 0, res.stderr[-2000:]
    assert shot.stat().st_size > 50_000


def test_no_alerts_series_is_an_ok_page_that_says_so(node_prom: ManagedProcess,
                                                     tmp_path: Path) -> None:
    """A Prometheus without rules (and an Alertmanager URL where nothing listens)."""
    record = _run(tmp_path, {}, f"prometheus={node_prom.url}", "start=now-3d",
                  "alertmanager_config=", f"alertmanager=http://127.0.0.1:{free_port()}")
    rec = json.loads(record.read_text())
    assert rec["status"] == "ok"
    assert rec["figures"]["alerts_fired"] == 0
    assert rec["figures"]["messages_sent"] is None
    page = record.with_suffix(".html").read_text()
    assert "No ALERTS series between" in page
    assert "Nothing is pending or firing now" in page      # the empty Firing now table says so
    assert "Messages are not counted" in page
    assert "Alertmanager: " in page and "127.0.0.1" in page


def test_whatif_and_filters_follow_the_widgets(demo_run: dict[str, Any],
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """The what-if with the configured timers sends exactly the configured messages; the
    severity filter keeps the critical alert only; the tuner's controls drive both."""
    from workbench.widgets import alert_history_tuner

    data = demo_run["data"]
    ep, h = data.history.episodes, data.history
    same = alert_history.simulate_messages(ep, data.config, h.end, group_interval="1m",
                                           repeat_interval="5m")  # the demo's own timers
    assert same.height == data.notifications.height
    assert data.whatif.height < data.notifications.height  # 5m / 12h send fewer
    # the report's what-if counts without rendering text: same messages, times and receivers
    full = alert_history.simulate_messages(ep, data.config, h.end, **data.whatif_timers)
    assert full["title"].drop_nulls().len() == full.height > 0
    keys = ["time", "receiver", "group_key", "status", "reason", "firing", "resolved"]
    assert data.whatif.select(keys).equals(full.select(keys))
    crit = alert_history.filter_episodes(ep, severity="critical")
    assert set(crit["alertname"]) == {"NodeExporterDown"}
    box = alert_history_tuner(data)
    box.controls["severity"].value = "critical"
    box.controls["repeat_interval"].value = "1h"
    assert box.state["severity"] == "critical"
    assert box.state["repeat_interval"] == "1h"
    assert box.state["group_interval"] == "5m"
    capsys.readouterr()  # outside a kernel the views print as text


def test_interactive_notebook_shows_the_tuner(small_demo: dict[str, Any], tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """What JupyterLab gets (interactive=True): one tuner box with the window slider, the
    severity/namespace dropdowns and the two timer sliders, no error."""
    import papermill as pm

    from workbench.reports import get_report

    monkeypatch.setenv("WORKBENCH_DEMO_DIR", str(small_demo["dir"]))
    gt = small_demo["gt"]
    nb = pm.execute_notebook(
        str(get_report("alert_history").path), str(tmp_path / "interactive.ipynb"),
        kernel_name="python3", progress_bar=False, cwd=str(tmp_path),
        kernel_manager_class=ipc_kernel_manager(), execution_timeout=240,
        parameters={"start": str(int(gt["history"]["start_s"])),
                    "end": str(int(gt["history"]["end_s"]))})
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    views = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(views) == 1
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    sliders = {m["state"]["description"]: m["state"].get("index")
               for m in state.values() if m["model_name"] == "SelectionSliderModel"}
    assert set(sliders) == {"group_interval", "repeat_interval"}
    dropdowns = {m["state"]["description"] for m in state.values()
                 if m["model_name"] == "DropdownModel"}
    assert dropdowns == {"severity", "namespace"}


def test_messages_carry_the_rules_rendered_annotations(demo_run: dict[str, Any],
                                                       small_demo: dict[str, Any]) -> None:
    """ALERTS keeps no annotations: the report renders the loaded rules' templates with each
    alert's labels, so the replayed Slack text has the description the real webhook got."""
    data = demo_run["data"]
    pvc = small_demo["gt"]["scenarios"]["pvc_over_70"]["persistentvolumeclaim"]
    texts = data.notifications.filter(
        pl.col("alertnames").list.contains("KubePersistentVolumeUsageHigh"))["text"].to_list()
    assert texts
    want = f"*Description:* PVC {pvc} is over 70% full (kwatch pvcMonitor threshold)."
    assert all(want in t for t in texts)
    # A one-alert message of a rule with a description shows it (CommonAnnotations of a group
    # whose alerts differ is empty in the real Alertmanager too, so those are not checked).
    described = {"NodeExporterDown", "KubeContainerOOMKilled", "KubePersistentVolumeUsageHigh",
                 "NodeLoadFlapping"}
    single = data.notifications.filter((pl.col("firing") + pl.col("resolved") == 1)
                                       & pl.col("alertnames").list.first().is_in(described))
    assert single.height > 0
    assert not [t for t in single["text"] if re.search(r"\*Description:\*\s*(\n|$)", t)]
    ep = data.history.episodes
    assert ep.filter(pl.col("alertname") == "NodeExporterDown")[
        "annotation_description"].str.starts_with("node-exporter ").all()
    assert "annotation_description" not in alert_history.episode_labels(ep)
    assert not [n for n in data.notes if "can't be reconstructed" in n]
