"""The node-exporter report end to end: CLI run in a fresh kernel, offline HTML checked in a
headless Chromium with the network blocked, no secret anywhere, label values shown as text."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from workbench.testing.servers import ManagedProcess

from . import nodes_data as nd
from .conftest import ipc_kernel_manager, offline_chromium

TOKEN = "wb-test-token-5f3c9a0e1d7b4c2a"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")}
    return {**env, **extra}


@pytest.fixture(scope="module")
def report_run(node_prom: ManagedProcess, tmp_path_factory: pytest.TempPathFactory
               ) -> dict[str, Path]:
    """One CLI run against the fixture Prometheus, token in the environment, no terminal."""
    out = tmp_path_factory.mktemp("reports")
    proc = subprocess.run(
        [sys.executable, "-m", "workbench", "report", "run", "node_exporter",
         "-p", "prometheus=env", "-p", f"start={nd.BASE_S}", "-p", f"end={nd.END_S}",
         "--out", str(out), "--timeout", "300"],
        env=_env(WORKBENCH_PROMETHEUS_URL=node_prom.url, WORKBENCH_PROMETHEUS_TOKEN=TOKEN),
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (record,) = out.glob("node_exporter/*/*.json")
    return {"out": out, "record": record, "ipynb": record.with_suffix(".ipynb"),
            "html": record.with_suffix(".html"), "stdout": Path(proc.stdout)}


def test_run_record_and_index(report_run: dict[str, Path]) -> None:
    rec = json.loads(report_run["record"].read_text())
    assert rec["status"] == "ok"
    assert rec["error"] is None
    assert rec["figures"] == {"nodes": 3, "flagged_nodes": 2, "worst_node": "node-b",
                              "min_hours_to_full": 12.0, "downtime_min": 60.0}
    assert rec["parameters"]["interactive"] is False
    assert rec["parameters"]["cpu_util"] == 0.9  # defaults are recorded with the overrides
    index = (report_run["out"] / "index.html").read_text()
    assert 'data-status="ok"' in index
    assert rec["html"] in index
    latest = report_run["out"] / "node_exporter" / "latest.html"
    assert latest.read_bytes() == report_run["html"].read_bytes()


def test_static_output_and_no_widgets(report_run: dict[str, Path]) -> None:
    nb = nbformat.read(report_run["ipynb"], as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert "interactive = False" in injected[0].source
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    mimes = {m for o in outputs for m in o.get("data", {})}
    assert "application/vnd.jupyter.widget-view+json" not in mimes
    assert "widgets" not in nb.metadata
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert nb.metadata["workbench"]["status"] == "ok"


def test_token_appears_nowhere(report_run: dict[str, Path]) -> None:
    for path in report_run["out"].rglob("*"):
        if path.is_file():
            assert TOKEN not in path.read_text(errors="replace"), path


class _Sources(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("script", "img", "iframe") and a.get("src"):
            self.sources.append(a["src"] or "")
        if tag == "link" and a.get("href"):
            self.sources.append(a["href"] or "")


def test_page_loads_nothing_from_the_network(report_run: dict[str, Path]) -> None:
    page = report_run["html"].read_text()
    parser = _Sources()
    parser.feed(page)
    assert not [s for s in parser.sources if re.match(r"(https?:)?//", s)], parser.sources
    assert not re.search(r"@import\s+url\(\s*['\"]?https?:", page)
    for cdn in ("cdn.jsdelivr.net", "unpkg.com", "cdnjs.cloudflare.com"):
        assert cdn not in page
    # inputs are hidden: neither the parameters cell nor the calls show
    assert "fetch_node_use(" not in page
    assert "prometheus: str" not in page
    assert page.count("window.vegaEmbed=") == 1  # the bundle, once


def test_label_values_are_escaped_in_the_file(report_run: dict[str, Path]) -> None:
    page = report_run["html"].read_text()
    assert nd.XSS not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the table cell
    assert "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e" in page  # chart data


def test_chromium_offline_renders_every_chart(report_run: dict[str, Path]) -> None:
    page = report_run["html"]
    n_charts = page.read_text().count('class="workbench-chart"')
    assert n_charts >= 14  # overview, filesystems, availability, 11 resources
    dom = offline_chromium(page.as_uri(), "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    rendered = len(re.findall(r'<(?:canvas|svg)[^>]*class="marks"', dom.stdout))
    assert rendered == n_charts, (rendered, n_charts)
    # each chart div holds its chart, not the "bundle missing" or error text
    for div in re.findall(r'<div id="(wb-chart-[0-9a-f]+)"', dom.stdout):
        after = dom.stdout.split(f'id="{div}"', 1)[1][:3000]
        assert 'class="marks"' in after, div
    # no chart blows up its layout (a threshold rule outside the y domain once made 9 Mpx)
    heights = [int(h) for h in re.findall(r'<(?:canvas|svg)[^>]*class="marks"[^>]*height="(\d+)"',
                                          dom.stdout)]
    assert len(heights) == n_charts
    assert max(heights) < 1500, heights
    # the label value is text in the DOM, never an element
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom.stdout
    assert nd.XSS not in dom.stdout
    assert 'data-status="ok"' in dom.stdout
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "node_exporter_report.png"
    shot.unlink(missing_ok=True)
    res = offline_chromium(page.as_uri(), "--window-size=1400,6000", f"--screenshot={shot}")
    assert res.returncode == 0, res.stderr[-2000:]
    assert shot.stat().st_size > 50_000


def test_interactive_notebook_shows_the_tuner(node_prom: ManagedProcess, tmp_path: Path) -> None:
    """What JupyterLab gets (interactive=True): the threshold sliders as widgets, no error."""
    import papermill as pm

    from workbench.reports import get_report

    out = tmp_path / "interactive.ipynb"
    nb = pm.execute_notebook(
        str(get_report("node_exporter").path), str(out), kernel_name="python3",
        parameters={"prometheus": node_prom.url, "start": str(nd.BASE_S), "end": str(nd.END_S)},
        progress_bar=False, cwd=str(tmp_path),
        kernel_manager_class=ipc_kernel_manager(), execution_timeout=300)
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    views = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(views) == 1  # the tuner box
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    sliders = {m["state"]["description"]: m["state"]["value"] for m in state.values()
               if m["model_name"] == "FloatSliderModel"}
    assert sliders["cpu_util"] == 0.9
    assert sliders["sustain_min"] == 15.0
    assert len(sliders) == 11
    # the bundle is displayed once so the charts render in JupyterLab without network
    html_out = ["".join(o["data"]["text/html"]) for o in outputs if "text/html" in o.get("data", {})]
    assert sum("window.vegaEmbed=" in h for h in html_out) == 1
