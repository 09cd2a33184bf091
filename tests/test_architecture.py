"""The import contract in pyproject.toml holds, and it would catch an upward import."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([str(LINT_IMPORTS), "--config", str(tree / "pyproject.toml"),
                           "--no-cache"], cwd=tree, env=env, capture_output=True, text=True,
                          timeout=300, check=False)


@pytest.fixture()
def tree_copy(tmp_path: Path) -> Path:
    """The package and its contract copied out of the checkout (the copy shadows the install)."""
    shutil.copytree(ROOT / "workbench", tmp_path / "workbench", symlinks=True,
                    ignore=shutil.ignore_patterns("__pycache__", "notebooks"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_contract_is_kept(tree_copy: Path) -> None:
    out = _lint(tree_copy)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout


@pytest.mark.parametrize(("module", "line", "contract"), [
    ("sources/prometheus/config.py", "from ...demo import stack as _stack",
     "Layers: a lower layer never imports a higher one"),
    ("analysis/nodes/fetch.py", "from ...testing import servers as _servers",
     "Only the demo (and the tests) use the real-server helpers"),
    ("frames.py", "from .sources.prometheus import client as _client",
     "Layers: a lower layer never imports a higher one"),
])
def test_an_upward_import_breaks_the_contract(tree_copy: Path, module: str, line: str,
                                              contract: str) -> None:
    path = tree_copy / "workbench" / module
    text = path.read_text()
    anchor = "from __future__ import annotations\n"
    assert anchor in text
    path.write_text(text.replace(anchor, anchor + "\n" + line + "\n", 1))
    out = _lint(tree_copy)
    assert out.returncode == 1, out.stdout + out.stderr
    assert f"{contract} BROKEN" in out.stdout
