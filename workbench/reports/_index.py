"""Run records (one JSON sidecar per run) and ``reports/index.html`` built from them."""

from __future__ import annotations

import contextlib
import html
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ._export import atomic_write

__all__ = ["RunRecord", "index_lock", "load_records", "rebuild_index"]


@dataclass
class RunRecord:
    """What one run left behind; stored as ``<stem>.json`` next to its notebook and page."""

    name: str
    status: str  # "ok", "failed" or "timeout"
    started: str  # ISO 8601 UTC
    duration_s: float
    parameters: dict[str, Any]
    ipynb: str  # paths relative to the reports directory
    html: str
    figures: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    description: str = ""

    def to_json(self) -> str:
        """The record as JSON text."""
        return json.dumps(asdict(self), indent=2, sort_keys=True, default=str)


def load_records(out_dir: str | Path) -> list[RunRecord]:
    """Every run record under ``out_dir``, newest first (unreadable files are skipped)."""
    root = Path(out_dir)
    records = []
    for path in root.glob("*/*/*.json"):
        try:
            data = json.loads(path.read_text())
            records.append(RunRecord(**data))
        except (OSError, ValueError, TypeError):
            continue
    return sorted(records, key=lambda r: r.started, reverse=True)


def _figures(figures: dict[str, Any]) -> str:
    return "<br>".join(f"{html.escape(str(k))}: <b>{html.escape(str(v))}</b>"
                       for k, v in figures.items())


def _link(href: str, text: str) -> str:
    return f'<a href="{html.escape(href, quote=True)}">{html.escape(text)}</a>'


@contextlib.contextmanager
def index_lock(out_dir: str | Path) -> Iterator[None]:
    """Hold ``out_dir/.index.lock`` (an exclusive ``flock``) while the block runs.

    Runs of reports that share a reports directory (two cron lines, a manual run during a
    scheduled one) update ``latest.html`` and ``index.html`` one at a time. A run writes its own
    record before taking the lock, so whichever run rebuilds the index last sees every record.
    """
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, as before
        yield
        return
    with open(root / ".index.lock", "a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def rebuild_index(out_dir: str | Path) -> Path:
    """Write ``out_dir/index.html``: latest good run per report, then every run newest first."""
    with index_lock(out_dir):
        return write_index(out_dir)


def write_index(out_dir: str | Path) -> Path:
    """:func:`rebuild_index` for a caller that already holds :func:`index_lock`."""
    root = Path(out_dir)
    records = load_records(root)
    colours = {"ok": "#4c9f70", "failed": "#d1495b", "timeout": "#d1495b"}
    latest_rows = []
    for name in sorted({r.name for r in records}):
        good = (root / name / "latest.html").is_file()
        last = next(r for r in records if r.name == name)
        latest_rows.append(
            f"<tr><td>{html.escape(name)}</td>"
            f"<td>{_link(f'{name}/latest.html', 'latest good report') if good else 'none yet'}"
            f"</td><td class=\"time\" style=\"color:{colours.get(last.status, '#333')}\">"
            f"{html.escape(last.status)} at {html.escape(last.started)}</td></tr>")
    rows = []
    for r in records:
        params = ", ".join(f"{k}={v}" for k, v in sorted(r.parameters.items()))
        error = f"<div class=\"err\">{html.escape((r.error or '')[:400])}</div>" if r.error else ""
        rows.append(
            f'<tr class="{html.escape(r.status)}" data-status="{html.escape(r.status)}">'
            f"<td class=\"time\">{html.escape(r.started)}</td><td>{html.escape(r.name)}</td>"
            f"<td style=\"color:{colours.get(r.status, '#333')};font-weight:bold\">"
            f"{html.escape(r.status)}</td><td>{r.duration_s:.1f} s</td>"
            f"<td>{_figures(r.figures)}</td><td class=\"params\">{html.escape(params)}</td>"
            f"<td>{_link(r.html, 'report')} · {_link(r.ipynb, 'notebook')}{error}</td></tr>")
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Reports</title>
<style>
body {{ font-family: DejaVu Sans, Helvetica, Arial, sans-serif; margin: 24px; color: #222; }}
table {{ border-collapse: collapse; margin-bottom: 24px; font-size: 13px; }}
td, th {{ border: 1px solid #d0d7de; padding: 4px 8px; vertical-align: top; text-align: left; }}
.time {{ white-space: nowrap; }}
.params {{ max-width: 360px; color: #555; font-size: 12px; }}
.err {{ color: #d1495b; font-size: 12px; max-width: 420px; white-space: pre-wrap; }}
</style></head><body>
<h1>Reports</h1>
<h2>Latest good report per name</h2>
<table><tr><th>report</th><th>latest good</th><th>last run</th></tr>{''.join(latest_rows)}</table>
<h2>All runs, newest first</h2>
<table id="runs"><tr><th>started (UTC)</th><th>report</th><th>status</th><th>duration</th>
<th>key figures</th><th>parameters</th><th>output</th></tr>{''.join(rows)}</table>
</body></html>
"""
    path = root / "index.html"
    atomic_write(path, page)
    return path
