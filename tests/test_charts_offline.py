"""``import workbench.notebook`` makes plain altair charts of an ad-hoc notebook render offline:
the notebook runs in a real kernel, is exported with nbconvert, and the HTML is opened in a
headless Chromium with every network name unresolvable."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbconvert import HTMLExporter

from .conftest import require_binary

CHART = ('import altair as alt, polars as pl\n'
         'alt.Chart(pl.DataFrame({"x": [1, 2, 3], "y": [3, 1, 2]})).mark_{mark}().encode(\n'
         '    x="x:Q", y="y:Q")')


def _export(tmp_path: Path, first_cell: str | None) -> Path:
    cells = [nbformat.v4.new_code_cell(first_cell)] if first_cell else []
    cells += [nbformat.v4.new_code_cell(CHART.replace("{mark}", m)) for m in ("line", "bar")]
    nb = nbformat.v4.new_notebook(cells=cells)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={
        "metadata": {"path": str(tmp_path)}}).execute()
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    page = tmp_path / "adhoc.html"
    page.write_text(body)
    return page


def _rendered(page: Path) -> tuple[int, str]:
    binary = require_binary("chromium")
    res = subprocess.run(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--no-first-run", "--host-resolver-rules=MAP * ~NOTFOUND",
         "--proxy-server=127.0.0.1:9", "--virtual-time-budget=20000", "--dump-dom",
         page.as_uri()], capture_output=True, text=True, timeout=180, check=False)
    assert res.returncode == 0, res.stderr[-2000:]
    return len(re.findall(r'<(?:canvas|svg)[^>]*class="marks"', res.stdout)), res.stdout


@pytest.mark.slow
def test_import_workbench_notebook_renders_any_altair_chart_offline(tmp_path: Path) -> None:
    page = _export(tmp_path, "import workbench.notebook")
    n, dom = _rendered(page)
    assert n == 2
    assert ">Chart not rendered" not in dom and ">Chart error" not in dom  # div text, not JS
    # the control: without it, altair's default renderer needs a CDN and nothing renders
    (tmp_path / "plain").mkdir()
    n, _ = _rendered(_export(tmp_path / "plain", None))
    assert n == 0


def test_enable_offline_outside_a_kernel_sets_renderer_and_theme() -> None:
    import altair as alt

    from workbench.charts import enable_offline

    alt.renderers.enable("default")
    enable_offline()
    assert (alt.renderers.active, alt.theme.active) == ("workbench", "workbench")
