"""Packaging invariants: environment.yml mirrors pyproject, the import stays light, exports."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
import tomllib
import types
from pathlib import Path

import pytest
import yaml

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


#: Packages whose ``__all__`` must list exactly their public names.
PUBLIC_PACKAGES = [
    "workbench", "workbench.frames", "workbench.sources.prometheus", "workbench.sources.kubernetes",
    "workbench.analysis.nodes", "workbench.analysis.alerting", "workbench.charts",
    "workbench.widgets", "workbench.reports",
]


@pytest.mark.parametrize("name", PUBLIC_PACKAGES)
def test_all_lists_exactly_the_public_names(name: str) -> None:
    """As httpx does: ``__all__`` equals the module's public names (submodules aside)."""
    module = importlib.import_module(name)
    lazy = set(getattr(module, "_ANALYSIS", ()))
    public = {n for n, v in vars(module).items()
              if not n.startswith("_") and not isinstance(v, types.ModuleType)
              and n not in ("annotations", "TYPE_CHECKING")}
    exported = [n for n in module.__all__ if n != "__version__"]
    assert len(exported) == len(set(exported))
    assert set(exported) == public | lazy
    for attr in module.__all__:
        assert getattr(module, attr) is not None
