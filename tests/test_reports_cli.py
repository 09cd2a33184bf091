"""`workbench report` failure paths with tiny fixture notebooks: exit codes, index status, the
last good report kept, parameter validation before anything runs."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from workbench.reports import list_reports

PARAMS = '''fail: bool = False  # raise in the second cell
sleep_s: float = 0.0  # seconds the second cell sleeps
label: str = "x"  # text shown in the output
interactive: bool = True  # static when False'''
BODY = '''import time
print("label is " + repr(label))
time.sleep(sleep_s)
if fail:
    raise RuntimeError("planted failure " + label)
print("done")'''


def _notebook(path: Path, params: str = PARAMS, body: str = BODY) -> None:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [new_markdown_cell("# Fixture report\n\nA report for the CLI tests."),
                new_code_cell(params, metadata={"tags": ["parameters"]}),
                new_code_cell(body)]
    nbformat.write(nb, path)


@pytest.fixture()
def nbdir(tmp_path: Path) -> Path:
    d = tmp_path / "notebooks"
    d.mkdir()
    _notebook(d / "fixture.ipynb")
    return d


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")}
    return subprocess.run([sys.executable, "-m", "workbench", "report", *args], env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300,
                          check=False)


def _text(page: str) -> str:
    """The page's text: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def _records(out: Path) -> list[dict[str, object]]:
    return sorted((json.loads(p.read_text()) for p in out.glob("fixture/*/*.json")),
                  key=lambda r: str(r["started"]))


def test_list_shows_parameters(nbdir: Path) -> None:
    res = _cli("list", "--notebooks", str(nbdir))
    assert res.returncode == 0, res.stderr
    assert "fixture: Fixture report: A report for the CLI tests" in res.stdout
    assert "fail: bool = False  # raise in the second cell" in res.stdout
    assert "sleep_s: float = 0.0" in res.stdout


def test_list_wraps_descriptions_to_the_terminal_and_skips_heavy_imports() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")}
    env["COLUMNS"] = "60"
    res = subprocess.run([sys.executable, "-X", "importtime", "-m", "workbench", "report", "list"],
                         env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                         timeout=300, check=False)
    assert res.returncode == 0, res.stderr
    described = [ln for ln in res.stdout.splitlines() if not ln.startswith("    ")]
    assert any(ln.startswith("alert_history: ") for ln in described)
    assert max(len(ln) for ln in described) <= 60
    imported = {ln.split("|")[-1].strip() for ln in res.stderr.splitlines() if "|" in ln}
    assert not imported & {"nbformat", "papermill", "nbconvert", "altair"}


def test_status_banner_shows_backticks_as_code() -> None:
    from workbench.reports._export import status_banner

    banner = status_banner("ok", "alert_history: episodes from `ALERTS` <series>", ["x & y"])
    assert "episodes from <code>ALERTS</code> &lt;series&gt;" in banner
    assert "`" not in banner
    assert "<div>x &amp; y</div>" in banner


def test_expected_workbench_error_is_stated_once_without_traceback(tmp_path: Path) -> None:
    d = tmp_path / "notebooks"
    d.mkdir()
    body = ("from workbench._errors import ServerUnreachableError\n"
            "raise ServerUnreachableError(url='http://127.0.0.1:9', cause='connection refused')")
    _notebook(d / "fixture.ipynb", body=body)
    out = tmp_path / "reports"
    res = _cli("run", "fixture", "--notebooks", str(d), "--out", str(out))
    assert res.returncode == 1, res.stdout + res.stderr
    (rec,) = _records(out)
    page = (out / str(rec["html"])).read_text()
    text = _text(page)
    assert text.count("connection refused") == 1  # the banner only
    assert 'data-status="failed"' in page
    for noise in ("An Exception was encountered", "Traceback", "Report FAILED\n",
                  "This cell failed"):
        assert noise not in text, noise
    # the notebook keeps the whole story for whoever opens it
    nb = nbformat.read(out / str(rec["ipynb"]), as_version=4)
    assert any(o.get("output_type") == "error" for c in nb.cells for o in c.get("outputs", []))


def test_good_then_failing_run_keeps_the_last_good_report(nbdir: Path, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    ok = _cli("run", "fixture", "--notebooks", str(nbdir), "--out", str(out), "-p", "label=007",
              "-p", "fail=false")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    latest = out / "fixture" / "latest.html"
    good_page = latest.read_bytes()
    assert "label is '007'" in _text(good_page.decode())  # a str parameter stays a string
    bad = _cli("run", "fixture", "--notebooks", str(nbdir), "--out", str(out), "-p", "fail=true",
               "-p", "label=boom")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "planted failure boom" in bad.stderr
    assert latest.read_bytes() == good_page  # the failure did not replace the good report
    first, second = _records(out)
    assert (first["status"], second["status"]) == ("ok", "failed")
    assert "RuntimeError: planted failure boom" in str(second["error"])
    page = (out / str(second["html"])).read_text()
    assert 'data-status="failed"' in page
    assert "planted failure boom" in page  # the traceback
    assert 'raise RuntimeError("planted failure " + label)' in _text(page)  # the cell's source
    nb = nbformat.read(out / str(second["ipynb"]), as_version=4)
    assert nb.metadata["workbench"]["status"] == "failed"
    assert nb.cells[0].source.startswith("## Report FAILED")
    index = (out / "index.html").read_text()
    assert index.count('data-status="failed"') == 1
    assert index.count('data-status="ok"') == 1
    # timestamps never wrap mid-date: every time cell is in the nowrap class
    assert ".time { white-space: nowrap; }" in index
    for stamp in (first["started"], second["started"]):
        assert f'<td class="time">{stamp}</td>' in index


def test_error_text_cannot_break_out_of_the_failure_banner(nbdir: Path, tmp_path: Path) -> None:
    # An exception message (label values, server error text) holding a line of backticks and
    # then HTML must stay text: the banner's Markdown code block must not close early.
    out = tmp_path / "reports"
    payload = "x\n```\n<img src=x onerror=\"document.title='pwned'\">\n````\n<b>bold</b>"
    res = _cli("run", "fixture", "--notebooks", str(nbdir), "--out", str(out), "-p", "fail=true",
               "-p", f"label={payload}")
    assert res.returncode == 1, res.stdout + res.stderr
    (rec,) = _records(out)
    page = (out / str(rec["html"])).read_text()
    assert re.search(r"<img[^>]*onerror", page) is None
    assert "<b>bold</b>" not in page
    assert "&lt;img src=x onerror=" in page  # shown as text in the banner
    nb = nbformat.read(out / str(rec["ipynb"]), as_version=4)
    assert nb.cells[0].source.startswith("## Report FAILED\n\n`````\n")  # longer fence


_RUN_AT = """
import sys
from datetime import UTC, datetime
from workbench.reports import run_report
nbdir, out, second, sleep_s, label = sys.argv[1:]
at = datetime(2026, 3, 1, 6, 0, int(second), tzinfo=UTC)
r = run_report("fixture", {"label": label, "sleep_s": float(sleep_s)}, out_dir=out,
               notebooks_dir=nbdir, now=lambda: at)
print(r.status, r.html)
"""


def test_concurrent_runs_keep_every_record_and_the_newest_latest(nbdir: Path,
                                                                  tmp_path: Path) -> None:
    # Three runs of one report share a reports directory: "old" (started 06:00:00, slow) and
    # "same" start in the same second, "new" starts a second later and finishes first.
    out = tmp_path / "reports"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")}

    def start(second: int, sleep_s: float, label: str) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-c", _RUN_AT, str(nbdir), str(out),
                                 str(second), str(sleep_s), label], env=env, text=True,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)

    old = start(0, 6.0, "old")
    time.sleep(1.0)
    rest = [start(0, 0.0, "same"), start(1, 0.0, "new")]
    outputs = [p.communicate(timeout=240)[0].split() for p in (*rest, old)]
    assert [o[0] for o in outputs] == ["ok", "ok", "ok"], outputs
    assert len({o[1] for o in outputs}) == 3  # three different pages
    records = _records(out)
    assert sorted(str(r["parameters"]["label"]) for r in records) == ["new", "old", "same"]  # type: ignore[index]
    for r in records:
        page = _text((out / str(r["html"])).read_text())
        assert f"label is '{r['parameters']['label']}'" in page  # type: ignore[index]
    index = (out / "index.html").read_text()
    assert index.count('data-status="ok"') == 3
    latest = json.loads((out / "fixture" / "latest.json").read_text())
    assert latest["parameters"]["label"] == "new"  # the slow older run did not replace it
    assert "label is 'new'" in _text((out / "fixture" / "latest.html").read_text())
    assert not list(out.glob("fixture/*/.*"))  # no work directories left behind


def test_cell_timeout_is_a_failure(nbdir: Path, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    res = _cli("run", "fixture", "--notebooks", str(nbdir), "--out", str(out), "-p",
               "sleep_s=60", "--timeout", "4")
    assert res.returncode == 3, res.stdout + res.stderr
    (rec,) = _records(out)
    assert rec["status"] == "timeout"
    assert "4 s cell timeout" in str(rec["error"])
    assert float(rec["duration_s"]) < 40  # type: ignore[arg-type]
    page = (out / str(rec["html"])).read_text()
    assert 'data-status="timeout"' in page
    assert "time.sleep(sleep_s)" in _text(page)  # the interrupted cell is shown
    assert 'data-status="timeout"' in (out / "index.html").read_text()
    assert not (out / "fixture" / "latest.html").exists()


def test_sigterm_mid_run_is_recorded_and_keeps_the_last_good_report(nbdir: Path,
                                                                     tmp_path: Path) -> None:
    """A scheduler's time limit (cron `timeout`, a CronJob deadline) sends SIGTERM."""
    import signal

    out = tmp_path / "reports"
    good = _cli("run", "fixture", "--notebooks", str(nbdir), "--out", str(out), "-p", "label=good")
    assert good.returncode == 0, good.stdout + good.stderr
    latest = (out / "fixture" / "latest.html").read_text()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")}
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "report", "run", "fixture",
                             "--notebooks", str(nbdir), "--out", str(out), "-p", "sleep_s=120",
                             "-p", "label=slow"], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not list(out.glob("fixture/*/.*.run")) and time.monotonic() < deadline:
        time.sleep(0.2)  # the run has claimed its files
    time.sleep(4)  # the kernel is inside the sleeping cell
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, stdout + stderr
    assert "stopped by SIGTERM" in stderr and "last good report was kept" in stderr
    first, second = _records(out)
    assert first["status"] == "ok" and second["status"] == "failed"
    assert "stopped by SIGTERM" in str(second["error"])
    assert second["parameters"]["label"] == "slow"  # type: ignore[index]
    assert 'data-status="failed"' in (out / str(second["html"])).read_text()
    assert "stopped by SIGTERM" in _text((out / "index.html").read_text())
    assert (out / "fixture" / "latest.html").read_text() == latest
    assert not list(out.glob("fixture/*/.*"))  # no work directory left behind


@pytest.mark.parametrize(("args", "message"), [
    (["-p", "fail=maybe"], "must be true or false"),
    (["-p", "nope=1"], "has no parameter 'nope'"),
    (["-p", "sleep_s=soon"], "must be a number"),
    (["-p", "api_token=abc"], "looks like a secret"),
    (["-p", "Authorization=Bearer x"], "looks like a secret"),
    (["-p", "interactive=true"], "interactive=True is for JupyterLab"),
    (["-p", "label=https://admin:hunter2@prom.example:9090"], "URL with credentials"),
])
def test_bad_parameters_exit_2_before_running(nbdir: Path, tmp_path: Path, args: list[str],
                                              message: str) -> None:
    out = tmp_path / "reports"
    res = _cli("run", "fixture", "--notebooks", str(nbdir), "--out", str(out), *args)
    assert res.returncode == 2, res.stdout + res.stderr
    assert message in res.stderr
    assert "Accepted parameters" in res.stderr or message in (
        "looks like a secret", "interactive=True is for JupyterLab", "URL with credentials")
    assert "hunter2" not in res.stderr
    assert not out.exists()  # nothing ran, nothing written


@pytest.mark.parametrize(("report", "param", "message"), [
    ("capacity", "start=yesterday", "Parameter 'start' of report 'capacity': Invalid time"),
    ("capacity", "percentile=150", "a percentile between 0 and 100"),
    ("capacity", "step=0", "a duration above zero"),
    ("capacity", "buffer=-0.1", "a share of at least 0"),
    ("alert_history", "whatif_group_interval=5minutes", "Invalid duration '5minutes'"),
    ("alert_history", "pvc_threshold=70", "a used ratio between 0 and 1"),
    ("node_exporter", "fs_avail_pct=120", "a percentage between 0 and 100"),
    ("node_exporter", "sustain_min=-5", "a number of at least 0"),
    ("threshold_tuning", "end=2026-13-01", "Invalid time '2026-13-01'"),
])
def test_shipped_reports_refuse_meaningless_values_before_a_kernel_starts(
        tmp_path: Path, report: str, param: str, message: str) -> None:
    """Times, durations and shares that the notebook would reject minutes later are refused up
    front with exit 2 (the shipped notebooks' own parameter names)."""
    out = tmp_path / "reports"
    res = _cli("run", report, "--out", str(out), "-p", param)
    assert res.returncode == 2, res.stdout + res.stderr
    assert message in res.stderr
    assert "Traceback" not in res.stderr
    assert not out.exists()


def test_shipped_reports_defaults_pass_the_meaning_checks() -> None:
    from workbench.reports import list_reports, validate_parameters

    specs = list_reports()
    assert {"capacity", "alert_history", "node_exporter", "threshold_tuning"} <= {
        s.name for s in specs}
    for spec in specs:
        defaults = {k: v for k, v in spec.defaults().items() if k != "interactive"}
        assert validate_parameters(spec, defaults) == defaults | {"interactive": False}


def test_yaml_string_false_is_refused(nbdir: Path, tmp_path: Path) -> None:
    params = tmp_path / "p.yaml"
    params.write_text('fail: "false"\n')
    res = _cli("run", "fixture", "--notebooks", str(nbdir), "--out", str(tmp_path / "r"),
               "-f", str(params))
    assert res.returncode == 2
    assert "not the string 'false'" in res.stderr
    assert "fail (bool, default False)" in res.stderr


def test_unknown_report_lists_known(nbdir: Path) -> None:
    res = _cli("run", "nope", "--notebooks", str(nbdir))
    assert res.returncode == 2
    assert "known: fixture" in res.stderr


def test_registry_refuses_bad_notebooks(tmp_path: Path) -> None:
    from workbench import ReportError

    _notebook(tmp_path / "secret.ipynb", params='api_key: str = ""\ninteractive: bool = True')
    with pytest.raises(ReportError, match="looks like a secret"):
        list_reports(tmp_path)
    (tmp_path / "secret.ipynb").unlink()
    _notebook(tmp_path / "static.ipynb", params="n: int = 3")
    with pytest.raises(ReportError, match="no `interactive: bool` parameter"):
        list_reports(tmp_path)


def test_repo_notebooks_are_stored_without_outputs() -> None:
    specs = list_reports()
    assert "node_exporter" in [s.name for s in specs]
    for spec in specs:
        nb = nbformat.read(spec.path, as_version=4)
        assert all(not c.get("outputs") and c.get("execution_count") is None
                   for c in nb.cells if c.cell_type == "code"), spec.path
        assert spec.parameter("interactive") is not None


def test_run_all_without_the_demo_fails_clearly(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")}
    env["WORKBENCH_DEMO_DIR"] = str(tmp_path / "no-demo-here")
    res = subprocess.run([sys.executable, "-m", "workbench", "report", "run-all", "--out",
                          str(tmp_path / "reports")], env=env, stdin=subprocess.DEVNULL,
                         capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 1
    assert "No demo stack is running" in res.stderr
    assert "workbench demo up" in res.stderr
    assert not (tmp_path / "reports").exists()
