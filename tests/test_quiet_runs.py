"""Quiet scheduled runs: no kernel transport warning on stderr, widgets say when a value is outside
a slider's range (never clamp it), and project docs point only at files in the repository."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import nbformat
import pytest

from workbench.testing.servers import ManagedProcess

from . import nodes_data as nd

ROOT = Path(__file__).resolve().parents[1]


def test_report_run_prints_nothing_to_stderr(tmp_path: Path) -> None:
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Tiny\n\nThe smallest report."),
        nbformat.v4.new_code_cell("n: int = 2  # a number\ninteractive: bool = True  # widgets",
                                  metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("print(n * 21)")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, nbs / "tiny.ipynb")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")}
    res = subprocess.run([sys.executable, "-m", "workbench", "report", "run", "tiny",
                          "--notebooks", str(nbs), "--out", str(tmp_path / "out")],
                         capture_output=True, text=True, timeout=300, env=env,
                         stdin=subprocess.DEVNULL, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "tiny: ok" in res.stdout
    assert "without encryption" not in res.stderr  # ipykernel's TCP warning
    assert res.stderr == ""
    (ipynb,) = (tmp_path / "out" / "tiny").glob("*/*.ipynb")
    assert "42" in ipynb.read_text()


@pytest.mark.server
def test_tuner_says_when_a_value_is_outside_a_slider(node_prom: ManagedProcess) -> None:
    from workbench import Prometheus, nodes
    from workbench.widgets import use_tuner

    use = nodes.fetch_node_use(Prometheus(node_prom.url), nd.BASE_S, nd.END_S)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        box = use_tuner(use, nodes.UseThresholds(sustain_min=600.0, cpu_util=0.01),
                        charts=False)
    assert box.sliders["sustain_min"].value == 600.0  # not clamped to the slider's 240
    assert box.state["thresholds"].sustain_min == 600.0
    assert box.sliders["cpu_util"].value == 0.01
    assert len(box.notes) == 2
    assert any("sustain_min = 600 is above the slider range 0–240" in n for n in box.notes)
    assert any("cpu_util = 0.01 is below" in n for n in box.notes)
    assert sorted(str(w.message) for w in caught if w.category is UserWarning) == sorted(box.notes)
    shown = [c.value for c in box.children if hasattr(c, "value") and "widened" in str(c.value)]
    assert len(shown) == 2


_OUTSIDE = re.compile(r"shared/reference|\b(?:CAPACITY_NODE|ALERTING|NOTEBOOKS|STYLE|PEERS)\.md\b"
                      r"|/work/|~/shared")
_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def _project_files() -> list[Path]:
    files = [ROOT / "README.md", *(ROOT / "docs").glob("*.md"),
             *(ROOT / "notebooks").glob("*.ipynb"), *(ROOT / "workbench").rglob("*.py"),
             *(ROOT / "tests").glob("*.py")]
    return [f for f in files if f.is_file() and f.name != Path(__file__).name]


def test_project_docs_point_only_inside_the_repository() -> None:
    bad = []
    for f in _project_files():
        text = f.read_text(errors="replace")
        bad += [f"{f.relative_to(ROOT)}: {m.group()}" for m in _OUTSIDE.finditer(text)]
        if f.suffix == ".md":
            for link in _LINK.findall(text):
                if "://" in link or link.startswith("mailto:"):
                    continue
                if not (f.parent / link).resolve().exists():
                    bad.append(f"{f.relative_to(ROOT)}: link to missing {link}")
    assert bad == []
