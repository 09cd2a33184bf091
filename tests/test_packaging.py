"""Packaging invariants: environment.yml mirrors pyproject, the import stays light, exports."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

import workbench

ROOT = Path(__file__).resolve().parents[1]
#: PyPI name -> conda-forge name where they differ.
CONDA_NAMES = {"kubernetes": "python-kubernetes"}


def _split(req: str) -> tuple[str, str]:
    m = re.match(r"^([A-Za-z0-9_.\-]+)\s*(.*)$", req.strip())
    assert m, req
    return m.group(1).lower(), m.group(2).replace(" ", "")


def test_environment_yml_mirrors_pyproject() -> None:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    want = {CONDA_NAMES.get(n, n): spec for n, spec in map(_split, deps)}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    got = dict(_split(d) for d in env["dependencies"] if isinstance(d, str))
    got.pop("python", None)
    got.pop("pip", None)
    assert got == want


def test_import_is_light() -> None:
    code = ("import sys, workbench; heavy = ['altair', 'ipywidgets', 'papermill', 'pandas', "
            "'kubernetes', 'nbconvert', 'tqdm', 'IPython']; "
            "print(','.join(m for m in heavy if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_exports_are_sorted_and_importable() -> None:
    names = [n for n in workbench.__all__ if n != "__version__"]
    assert names == sorted(names)
    for name in workbench.__all__:
        assert getattr(workbench, name) is not None
