"""The wheel is what the CronJob image installs: it carries the report notebooks, and an install
outside the checkout lists and runs the reports against a real Prometheus."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from workbench.testing.servers import ManagedProcess

from . import nodes_data as nd

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out),
                    str(ROOT)], check=True, capture_output=True, timeout=600)
    (whl,) = out.glob("observability_workbench-*.whl")
    return whl


@pytest.fixture(scope="module")
def fresh_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv outside the checkout with the wheel installed (--no-deps).

    Its dependencies are borrowed from the test interpreter's environment (same versions, no
    download): its site-packages through a ``.pth`` line, and their data files (nbconvert's
    templates, the kernelspec) through a link to its ``share/jupyter``. That site-packages' own
    ``.pth`` files (the editable install of the checkout) are *not* processed, so ``workbench``
    can only come from the wheel.
    """
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    py = venv / "bin" / "python"
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    Path(site, "borrowed-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    (venv / "share").mkdir(exist_ok=True)
    (venv / "share" / "jupyter").symlink_to(Path(sys.prefix) / "share" / "jupyter")
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True,
                   capture_output=True, timeout=600)
    return venv


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("WORKBENCH_", "PYTHONPATH", "VIRTUAL_ENV"))}


def test_wheel_carries_every_notebook_once(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    shipped = sorted(n.rsplit("/", 1)[1] for n in names if n.startswith("workbench/notebooks/"))
    assert shipped == NOTEBOOKS
    assert "workbench/py.typed" in names
    entry = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt")))
    assert b"workbench = workbench.cli:main" in entry
    assert b"demo = workbench.demo.stack:profile_url" in entry


@pytest.mark.server
def test_installed_wheel_lists_and_runs_reports(fresh_venv: Path, node_prom: ManagedProcess,
                                                tmp_path: Path) -> None:
    bin_dir = fresh_venv / "bin"
    where = subprocess.run([str(bin_dir / "python"), "-c", "import workbench; print(workbench.__file__)"],
                           cwd=tmp_path, env=_env(), check=True, capture_output=True, text=True)
    assert where.stdout.strip().startswith(str(fresh_venv))
    listed = subprocess.run([str(bin_dir / "workbench"), "report", "list"], cwd=tmp_path, env=_env(),
                            check=True, capture_output=True, text=True, timeout=120)
    names = set(re.findall(r"^(\w+)", listed.stdout, re.MULTILINE))
    assert {p.removesuffix(".ipynb") for p in NOTEBOOKS} <= names
    env = {**_env(), "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    run = subprocess.run(
        [str(bin_dir / "workbench"), "report", "run", "node_exporter", "-p",
         f"prometheus={node_prom.url}", "-p", f"start={nd.BASE_S}", "-p", f"end={nd.END_S}",
         "--out", str(tmp_path / "reports"), "--timeout", "300"],
        cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=600, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    (html,) = (tmp_path / "reports" / "node_exporter").glob("*/*.html")
    assert "node-b" in html.read_text()


def test_dockerfile_builds_from_the_wheel_and_matches_the_cronjob() -> None:
    """No container engine here: check what can be checked without one."""
    import yaml

    text = (ROOT / "deploy" / "Dockerfile").read_text()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    froms = [ln.split()[1] for ln in lines if ln.startswith("FROM ")]
    assert len(froms) == 2 and all(f.startswith("python:3.11") for f in froms)
    for ln in lines:
        if ln.startswith("COPY ") and "--from" not in ln:
            for src in ln.split()[1:-1]:
                assert (ROOT / src).exists(), f"COPY source {src} is not in the repository"
    assert 'RUN python -m pip install --no-cache-dir /tmp/dist/*.whl' in text
    assert re.search(r'^ENTRYPOINT \["workbench"\]$', text, re.MULTILINE)
    cron = [d for d in yaml.safe_load_all((ROOT / "deploy" / "kubernetes" / "cronjob.yaml").read_text())
            if d and d.get("kind") == "CronJob"]
    assert cron
    for job in cron:
        pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        user = re.search(r"^USER (\d+)$", text, re.MULTILINE)
        assert user and int(user.group(1)) == pod["securityContext"]["runAsUser"]
        (container,) = pod["containers"]
        assert container["command"] == ["workbench"]
        assert container["image"].endswith(":0.1.0")
