"""The notebooks in a real browser: JupyterLab on a copy of the notebooks, headless Chromium
(Playwright driving Debian's /usr/bin/chromium, no browser download), run all cells, move a
slider with the keyboard, and see the counters and the chart change (the kernel's callbacks ran).

Everything but 127.0.0.1 is unresolvable for the browser, so the pages work offline."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from workbench.testing.servers import free_port, wait_http_ok

from .conftest import require_binary

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ("threshold_tuning.ipynb", "node_exporter.ipynb")


@pytest.fixture(scope="module")
def lab(small_demo: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[dict[str, Any]]:
    require_binary("chromium")
    pytest.importorskip("playwright.sync_api")
    root = tmp_path_factory.mktemp("lab")
    for name in NOTEBOOKS:
        shutil.copy(ROOT / "notebooks" / name, root / name)
    token, port = secrets.token_hex(16), free_port()
    env = {**os.environ, "WORKBENCH_DEMO_DIR": str(small_demo["dir"]),
           "JUPYTER_CONFIG_DIR": str(root / ".jupyter"), "JUPYTER_RUNTIME_DIR": str(root / ".rt")}
    log = root / "lab.log"
    jupyter = Path(sys.executable).with_name("jupyter")
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(jupyter), "lab", "--no-browser", "--allow-root", "--ip", "127.0.0.1",
             "--port", str(port), f"--IdentityProvider.token={token}",
             f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
             "--LabApp.news_url=", "--LabApp.check_for_updates_class="
             "jupyterlab.NeverCheckForUpdate"],
            stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        wait_http_ok(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=60, proc=proc,
                     log_path=log)
        yield {"url": f"http://127.0.0.1:{port}", "token": token, "root": root}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def browser(lab: dict[str, Any]) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--no-sandbox", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"])
        yield b
        b.close()


def _open_and_run(browser: Any, lab: dict[str, Any], name: str) -> Any:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(120_000)
    page.goto(f"{lab['url']}/lab/tree/{name}?token={lab['token']}", wait_until="domcontentloaded")
    page.wait_for_function("() => window.jupyterapp && document.querySelector("
                           "'.jp-NotebookPanel .jp-Notebook .jp-Cell')")
    # the kernel must be connected before run-all, or the cells queue behind a kernel picker
    page.wait_for_function("() => { const w = window.jupyterapp.shell.currentWidget;"
                           " return w && w.sessionContext && w.sessionContext.session &&"
                           " w.sessionContext.session.kernel &&"
                           " w.sessionContext.session.kernel.connectionStatus === 'connected'; }")
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    return page


def _slider(page: Any, label: str) -> Any:
    return page.locator(".widget-slider", has=page.locator(f"label:text-is('{label}')")).first


def _move(page: Any, label: str, key: str, times: int) -> None:
    handle = _slider(page, label).locator(".noUi-handle")
    handle.focus()
    for _ in range(times):
        handle.press(key)


def _wait_change(page: Any, selector: str, before: str, timeout_s: float = 60) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        now = page.locator(selector).first.inner_html()
        if now != before:
            return now
        time.sleep(0.2)
    raise AssertionError(f"{selector} did not change")


def test_threshold_tuning_in_jupyterlab(lab: dict[str, Any], browser: Any) -> None:
    page = _open_and_run(browser, lab, "threshold_tuning.ipynb")
    tuner = ".workbench-threshold-tuner"
    page.wait_for_selector(f"{tuner} .workbench-counters")
    page.wait_for_selector(f"{tuner} .vega-embed canvas, {tuner} .vega-embed svg")
    counters = page.locator(f"{tuner} .workbench-counters").first.inner_text()
    assert "alerts fired" in counters and "incidents caught" in counters
    assert "Slack messages per day" in counters
    readout = _slider(page, "threshold").locator(".widget-readout").inner_text()
    assert float(readout) == 6.0
    chart = f"{tuner} .widget-output"
    chart_before = page.locator(chart).first.inner_html()
    shot_before = page.locator(f"{chart} .vega-embed").first.screenshot()
    html_before = page.locator(f"{tuner} .workbench-counters").first.inner_html()
    _move(page, "threshold", "ArrowLeft", 25)                   # 6 -> 4 in steps of 0.08
    after = _wait_change(page, f"{tuner} .workbench-counters", html_before)
    assert float(_slider(page, "threshold").locator(".widget-readout").inner_text()) < 6.0
    _wait_change(page, chart, chart_before)
    page.wait_for_selector(f"{chart} .vega-embed canvas, {chart} .vega-embed svg")
    time.sleep(1)                                                # let vega draw
    assert page.locator(f"{chart} .vega-embed").first.screenshot() != shot_before

    def fired(text: str) -> int:
        import re

        return int(re.search(r"alerts fired\s*(\d+)", text).group(1))    # type: ignore[union-attr]

    assert fired(page.locator(f"{tuner} .workbench-counters").first.inner_text()) > fired(
        counters), after
    page.screenshot(path=str(lab["root"] / "threshold_tuning.png"), full_page=True)
    page.close()


def test_node_exporter_sliders_in_jupyterlab(lab: dict[str, Any], browser: Any) -> None:
    page = _open_and_run(browser, lab, "node_exporter.ipynb")
    page.wait_for_selector(".widget-slider")
    out = ".widget-vbox .widget-output"
    page.wait_for_selector(f"{out} .vega-embed")
    before = page.locator(out).first.inner_html()
    assert float(_slider(page, "cpu_util").locator(".widget-readout").inner_text()) == 0.9
    _move(page, "cpu_util", "ArrowLeft", 30)                    # 0.90 -> 0.60
    after = _wait_change(page, out, before)
    assert float(_slider(page, "cpu_util").locator(".widget-readout").inner_text()) < 0.9
    assert "0.6" in after and after.count("vega-embed") >= 1
    page.close()
