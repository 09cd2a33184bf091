"""Run one report: validate, execute with papermill in a fresh kernel, export, index.

Layout under the reports directory::

    reports/index.html
    reports/<name>/latest.html                          the last good run (only ok runs replace it)
    reports/<name>/<YYYY-MM-DD>/<name>_<YYYYmmddTHHMMSSZ>.ipynb / .html / .json

Every file is written through a temporary file and a rename. A failed run (a cell raised, or a
cell ran past the timeout) still leaves its notebook and page, marked failed with the error
cell visible, and its record in the index.
"""

from __future__ import annotations

import contextlib
import html as _html
import json
import os
import re
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .._errors import ReportInterrupted
from ._export import FIGURES_MIME, atomic_write, export_html, status_banner
from ._index import RunRecord, index_lock, write_index
from ._params import validate_parameters
from ._registry import ReportSpec, get_report

__all__ = ["RunResult", "run_report"]


@dataclass(frozen=True)
class RunResult:
    """The outcome of :func:`run_report`."""

    name: str
    status: str  # "ok", "failed", "timeout"
    ipynb: Path
    html: Path
    record: Path
    index: Path
    duration_s: float
    figures: dict[str, Any]
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the run succeeded."""
        return self.status == "ok"


def _figures(nb: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            data = o.get("data", {}).get(FIGURES_MIME)
            if isinstance(data, dict):
                out.update(data)
    return out


def _error_cell(nb: Any) -> int | None:
    for i, cell in enumerate(nb.cells):
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            return i
    return None


def _is_workbench_error(ename: str) -> bool:
    """Whether ``ename`` names a :class:`WorkbenchError` subclass (an expected failure).

    >>> _is_workbench_error("ServerUnreachableError"), _is_workbench_error("KeyError")
    (True, False)
    """
    from .. import _errors

    cls = getattr(_errors, ename, None)
    return isinstance(cls, type) and issubclass(cls, _errors.WorkbenchError)


_DETAIL_TAGS = frozenset({"papermill-error-cell-tag", "workbench-status",
                          "workbench-error-source"})


def _without_error_details(nb: Any) -> Any:
    """A copy of ``nb`` for the page of an expected failure: the banner states the message once,
    so papermill's red error cells, the FAILED block and the traceback are left out (the saved
    ``.ipynb`` keeps them)."""
    import copy

    shown = copy.deepcopy(nb)
    shown.cells = [c for c in shown.cells
                   if not _DETAIL_TAGS & set(c.get("metadata", {}).get("tags") or [])]
    for cell in shown.cells:
        if "outputs" in cell:
            cell.outputs = [o for o in cell.outputs if o.get("output_type") != "error"]
    return shown


def _fenced(text: str, lang: str = "") -> str:
    """``text`` as a Markdown code block it cannot close early.

    The fence is longer than any run of backticks in ``text``, so an error message holding a
    line of backticks followed by HTML stays code (escaped) instead of becoming page markup.
    """
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{text}\n{fence}"


def _mark_failed(nb: Any, status: str, error: str, cell_index: int | None) -> None:
    """Put a failure banner on top and the failing cell's source next to its traceback."""
    import nbformat

    title = "Report FAILED (timeout)" if status == "timeout" else "Report FAILED"
    top = nbformat.v4.new_markdown_cell(
        f"## {title}\n\n{_fenced(error)}", metadata={"tags": ["workbench-status"]})
    if cell_index is not None and nb.cells[cell_index].cell_type == "code":
        src = nb.cells[cell_index].source
        nb.cells.insert(cell_index, nbformat.v4.new_markdown_cell(
            f"**This cell failed ({_html.escape(status)}).** Its source:\n\n"
            f"{_fenced(src, 'python')}",
            metadata={"tags": ["workbench-error-source"]}))
    nb.cells.insert(0, top)


def _stamp(now: datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%SZ")


def _reserve(out_dir: Path, name: str, now: datetime) -> tuple[Path, str, Path]:
    """Pick a free output stem and claim it by creating the run's hidden work directory.

    ``mkdir`` is atomic, so two runs of one report started in the same second get different
    stems (``..._<stamp>`` and ``..._<stamp>-2``) instead of overwriting each other's files.
    """
    day = out_dir / name / now.strftime("%Y-%m-%d")
    day.mkdir(parents=True, exist_ok=True)
    n = 1
    while True:
        stem = f"{name}_{_stamp(now)}" + (f"-{n}" if n > 1 else "")
        n += 1
        if any((day / f"{stem}{ext}").exists() for ext in (".ipynb", ".html", ".json")):
            continue
        work = day / f".{stem}.run"
        try:
            work.mkdir()
        except FileExistsError:
            continue
        return day, stem, work


def run_report(
    name: str,
    parameters: Mapping[str, Any] | None = None,
    *,
    out_dir: str | Path = "reports",
    timeout: float | None = None,
    notebooks_dir: str | Path | None = None,
    kernel_name: str = "python3",
    start_timeout: float = 120.0,
    now: Callable[[], datetime] | None = None,
) -> RunResult:
    """Run the report ``name`` and write its notebook, HTML page and record; rebuild the index.

    Parameters
    ----------
    name
        A notebook in ``notebooks_dir`` (``workbench report list`` shows them).
    parameters
        Values for the notebook's declared parameters, checked before anything runs.
        ``interactive`` is forced to False.
    out_dir
        The reports directory.
    timeout
        Per-cell limit in seconds (None: no limit). A cell running longer fails the run.
    notebooks_dir
        Where the notebooks are (default: the project's ``notebooks/``).
    kernel_name
        Jupyter kernel (a fresh one per run).
    start_timeout
        Seconds to wait for the kernel to start.
    now
        Clock for the output names (tests).

    Returns
    -------
    RunResult
        ``status`` is ``"ok"``, ``"failed"`` or ``"timeout"``; a failed run does not raise.

    Raises
    ------
    ReportNotFoundError, ReportParameterError
        Before anything ran: unknown report, unknown/mistyped/secret-looking parameter.

    Examples
    --------
    >>> run_report("node_exporter", {"prometheus": "demo", "start": "now-6h"})  # doctest: +SKIP
    """
    spec = get_report(name, notebooks_dir)
    values = validate_parameters(spec, parameters)
    return _execute(spec, values, Path(out_dir), timeout=timeout, kernel_name=kernel_name,
                    start_timeout=start_timeout, now=now or (lambda: datetime.now(UTC)))


class _Stopped(BaseException):
    """Raised in the main thread by the SIGTERM handler while a report runs."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def _sigterm_as_exception() -> Iterator[None]:
    """Turn SIGTERM (cron ``timeout``, a CronJob deadline, ``kill``) into :class:`_Stopped` so the
    interrupted run is still recorded. Only the main thread can install handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        raise _Stopped(signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _quiet_progress() -> Iterator[None]:
    """The kernel papermill starts inherits this process's environment: no progress bars in a
    scheduled report (unless the caller set WORKBENCH_PROGRESS explicitly)."""
    if "WORKBENCH_PROGRESS" in os.environ:
        yield
        return
    os.environ["WORKBENCH_PROGRESS"] = "0"
    try:
        yield
    finally:
        os.environ.pop("WORKBENCH_PROGRESS", None)


def _ipc_kernel_manager() -> type:
    """A kernel manager talking to the kernel over local IPC sockets instead of TCP ports.

    A kernel on TCP without CurveZMQ keys prints "Kernel is running over TCP without encryption"
    to stderr on every run (cron mails it); over IPC the sockets are files only this user can
    open, no port is taken, and the kernel says nothing.
    """
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import CaselessStrEnum

    class IpcKernelManager(AsyncKernelManager):
        transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)

    return IpcKernelManager


def _execute(spec: ReportSpec, values: dict[str, Any], out_dir: Path, *, timeout: float | None,
             kernel_name: str, start_timeout: float, now: Callable[[], datetime]) -> RunResult:
    import nbformat
    import papermill as pm
    from nbclient.exceptions import CellTimeoutError

    started = now()
    day, stem, work = _reserve(out_dir, spec.name, started)
    ipynb, page, record_path = (day / f"{stem}{ext}" for ext in (".ipynb", ".html", ".json"))
    t0 = time.perf_counter()
    status, error = "ok", None
    expected = False  # a WorkbenchError: its message is the whole story, no traceback shown
    stopped: int | None = None
    try:
        partial = work / f"{stem}.ipynb"
        try:
            with _sigterm_as_exception(), _quiet_progress():
                pm.execute_notebook(
                    str(spec.path), str(partial), parameters=values, kernel_name=kernel_name,
                    language="python", cwd=str(work), execution_timeout=timeout,
                    start_timeout=start_timeout, progress_bar=False, log_output=False,
                    report_mode=False, kernel_manager_class=_ipc_kernel_manager())
        except pm.PapermillExecutionError as exc:
            status = "failed"
            error = f"{exc.ename}: {exc.evalue} (cell {exc.exec_count})"
            expected = _is_workbench_error(exc.ename)
        except CellTimeoutError as exc:
            status = "timeout"
            error = (f"A cell ran longer than the {timeout:g} s cell timeout and was stopped. "
                     f"{str(exc).splitlines()[0] if str(exc) else ''}").strip()
        except Exception as exc:  # kernel died, kernel missing, notebook unreadable, ...
            status, error = "failed", f"{type(exc).__name__}: {exc}"
        except (_Stopped, KeyboardInterrupt) as exc:
            stopped = exc.signum if isinstance(exc, _Stopped) else int(signal.SIGINT)
            status = "failed"
            error = (f"The run was stopped by {signal.Signals(stopped).name} before it finished "
                     "(a scheduler's time limit, or someone pressed Ctrl-C).")
        duration = time.perf_counter() - t0
        nb = (nbformat.read(partial, as_version=4) if partial.is_file()
              else nbformat.read(spec.path, as_version=4))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if status != "ok":
        # papermill's cell_index predates the banner cells it adds; find the error output.
        cell_index = _error_cell(nb)
        _mark_failed(nb, status, error or status, cell_index)
    nb.metadata["workbench"] = {"status": status, "error": error, "report": spec.name,
                                "started": started.isoformat()}
    figures = _figures(nb)
    shown = {**spec.defaults(), **values}
    lines = [f"started {started:%Y-%m-%d %H:%M:%S} UTC, {duration:.1f} s",
             "parameters: " + ", ".join(f"{k}={v}" for k, v in shown.items())]
    if error:
        lines.append(error)
    title = f"{spec.name}: {spec.description}" if spec.description else spec.name
    atomic_write(ipynb, nbformat.writes(nb))
    shown_nb = _without_error_details(nb) if expected else nb
    atomic_write(page, export_html(shown_nb, title=title,
                                   banner=status_banner(status, title, lines)))
    rec = RunRecord(name=spec.name, status=status, started=started.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    duration_s=round(duration, 3), parameters=shown,
                    ipynb=str(ipynb.relative_to(out_dir)), html=str(page.relative_to(out_dir)),
                    figures=figures, error=error, description=spec.description)
    atomic_write(record_path, rec.to_json())
    with index_lock(out_dir):
        if status == "ok":
            _promote(rec, page, out_dir / spec.name)
        index = write_index(out_dir)
    if stopped is not None:
        raise ReportInterrupted(
            f"Report {spec.name!r} was stopped by {signal.Signals(stopped).name}; the partial run "
            f"is recorded as failed in {index} and the last good report was kept.",
            signum=stopped)
    return RunResult(spec.name, status, ipynb, page, record_path, index, duration, figures, error)


def _promote(rec: RunRecord, page: Path, report_dir: Path) -> None:
    """Make this good run ``latest.html`` unless a run that started later already is.

    Called under :func:`index_lock`: a long run finishing after a newer, quicker one must not put
    its older window back in place.
    """
    try:
        current = json.loads((report_dir / "latest.json").read_text()).get("started", "")
    except (OSError, ValueError, AttributeError):
        current = ""
    if isinstance(current, str) and current > rec.started:
        return
    atomic_write(report_dir / "latest.html", page.read_bytes())
    atomic_write(report_dir / "latest.json", rec.to_json())

