"""Many clusters: every report once per Prometheus profile, clusters in parallel processes,
one index with a section per cluster.

``workbench report run-all --profile prod-eu --profile prod-us --jobs 2`` runs the reports of
each profile (their ``prometheus`` parameter set to the profile) into ``OUT/<profile>/`` (the
usual per-report folders, ``latest.html`` and an ``index.html`` of that cluster), one worker
process per cluster at a time, then writes ``OUT/index.html`` with one section per cluster.

Examples
--------
>>> check_cluster_name("prod-eu.1")
'prod-eu.1'
>>> check_cluster_name("../etc")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
workbench._errors.ReportParameterError: Cluster profile name '../etc' cannot name a folder. ...
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from .._errors import ReportParameterError
from ._export import atomic_write
from ._index import index_lock, load_records

__all__ = ["ClusterRun", "check_cluster_name", "run_clusters", "summary_line",
           "write_clusters_index"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


@dataclass(frozen=True)
class ClusterRun:
    """One report's run on one cluster (what the parent process gets back from a worker)."""

    cluster: str
    name: str
    status: str
    duration_s: float
    html: str
    error: str | None


def check_cluster_name(name: str) -> str:
    """A profile name usable as a folder under the reports directory, or ReportParameterError."""
    if not _NAME.match(name) or name in (".", ".."):
        msg = (f"Cluster profile name {name!r} cannot name a folder. Fix: use letters, digits, "
               "'.', '_' or '-' (a profile name such as prod-eu).")
        raise ReportParameterError(msg)
    return name


def _run_one_cluster(cluster: str, out_dir: str, timeout: float | None,
                     notebooks_dir: str | None, kernel_name: str) -> list[ClusterRun]:
    """Run every report against ``cluster`` (in a worker process)."""
    from ._registry import list_reports
    from ._run import run_report

    runs = []
    for spec in list_reports(notebooks_dir):
        values = {"prometheus": cluster} if "prometheus" in spec.defaults() else {}
        r = run_report(spec.name, values, out_dir=Path(out_dir) / cluster, timeout=timeout,
                       notebooks_dir=notebooks_dir, kernel_name=kernel_name)
        runs.append(ClusterRun(cluster, r.name, r.status, r.duration_s,
                               str(Path(cluster) / Path(r.html).relative_to(
                                   Path(out_dir) / cluster)), r.error))
    return runs


def run_clusters(clusters: Sequence[str], *, out_dir: str | Path = "reports", jobs: int = 1,
                 timeout: float | None = None, notebooks_dir: str | Path | None = None,
                 kernel_name: str = "python3",
                 on_result: Callable[[ClusterRun], None] | None = None) -> list[ClusterRun]:
    """Run all reports once per cluster profile, ``jobs`` clusters at a time; write the index.

    Each cluster runs in its own process (a fresh interpreter), so a cluster's slow or failing
    reports never hold another's memory; results come back as :class:`ClusterRun` rows.
    """
    names = [check_cluster_name(c) for c in clusters]
    if len(set(names)) != len(names):
        msg = f"A cluster profile is named twice in {names}. Fix: name each once."
        raise ReportParameterError(msg)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    nb = str(notebooks_dir) if notebooks_dir is not None else None
    results: list[ClusterRun] = []
    with ProcessPoolExecutor(max(1, min(jobs, len(names))),
                             mp_context=get_context("spawn")) as pool:
        futs = {pool.submit(_run_one_cluster, c, str(out), timeout, nb, kernel_name): c
                for c in names}
        for fut in as_completed(futs):
            try:
                runs = fut.result()
            except Exception as exc:  # the worker died (out of memory, killed): say which
                runs = [ClusterRun(futs[fut], "(all reports)", "failed", 0.0, "",
                                   f"the process running this cluster failed: {exc!r}")]
            for run in runs:
                results.append(run)
                if on_result is not None:
                    on_result(run)
    write_clusters_index(out, names)
    return sorted(results, key=lambda r: (names.index(r.cluster), r.name))


def _link(href: str, text: str) -> str:
    return f'<a href="{html.escape(href, quote=True)}">{html.escape(text)}</a>'


def _known_clusters(root: Path, clusters: Sequence[str]) -> list[str]:
    """``clusters`` added to ``root/clusters.json`` (the clusters ever run into ``root``, so one
    CronJob per cluster sharing a directory still gives an index with every cluster)."""
    path = root / "clusters.json"
    try:
        known = [str(c) for c in json.loads(path.read_text())]
    except (OSError, ValueError, TypeError):
        known = []
    merged = [*known, *(c for c in clusters if c not in known)]
    if merged != known:
        atomic_write(path, json.dumps(merged, indent=2))
    return merged


def write_clusters_index(out_dir: str | Path, clusters: Sequence[str]) -> Path:
    """Write ``out_dir/index.html``: one section per cluster (those run now and before into
    ``out_dir``), with its latest run of each report."""
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    with index_lock(root):
        return _write(root, _known_clusters(root, clusters))


def _write(root: Path, clusters: Sequence[str]) -> Path:
    colours = {"ok": "#4c9f70", "failed": "#d1495b", "timeout": "#d1495b"}
    sections = []
    summary = []
    for cluster in clusters:
        records = load_records(root / cluster)
        rows = []
        bad = 0
        for name in sorted({r.name for r in records}):
            last = next(r for r in records if r.name == name)
            bad += last.status != "ok"
            good = (root / cluster / name / "latest.html").is_file()
            figures = ", ".join(f"{k}: {v}" for k, v in last.figures.items())
            err = (f'<div class="err">{html.escape((last.error or "")[:300])}</div>'
                   if last.error else "")
            rows.append(
                f"<tr><td>{html.escape(name)}</td>"
                f"<td style=\"color:{colours.get(last.status, '#333')};font-weight:bold\">"
                f"{html.escape(last.status)}</td><td>{html.escape(last.started)}</td>"
                f"<td>{last.duration_s:.1f} s</td><td>{html.escape(figures)}{err}</td>"
                f"<td>{_link(f'{cluster}/{name}/latest.html', 'latest good') if good else 'no good run yet'}"
                f" · {_link(f'{cluster}/{last.html}', 'last run')}</td></tr>")
        state = "all ok" if records and not bad else f"{bad} failing" if bad else "no runs"
        colour = "#d1495b" if bad or not records else "#4c9f70"
        summary.append(f"<li>{_link(f'#cluster-{cluster}', cluster)}: "
                       f"<span style=\"color:{colour}\">{html.escape(state)}</span></li>")
        sections.append(
            f'<section id="cluster-{html.escape(cluster, quote=True)}">'
            f"<h2>{html.escape(cluster)}</h2>"
            f"<p>{_link(f'{cluster}/index.html', 'every run of this cluster')}</p>"
            "<table><tr><th>report</th><th>status</th><th>started (UTC)</th><th>duration</th>"
            f"<th>key figures</th><th>pages</th></tr>{''.join(rows)}</table></section>")
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Reports by cluster</title>
<style>
body {{ font-family: DejaVu Sans, Helvetica, Arial, sans-serif; margin: 24px; color: #222; }}
table {{ border-collapse: collapse; margin-bottom: 24px; font-size: 13px; }}
td, th {{ border: 1px solid #d0d7de; padding: 4px 8px; vertical-align: top; text-align: left; }}
.err {{ color: #d1495b; font-size: 12px; max-width: 420px; white-space: pre-wrap; }}
</style></head><body>
<h1>Reports by cluster</h1>
<ul>{''.join(summary)}</ul>
{''.join(sections)}
</body></html>
"""
    path = root / "index.html"
    atomic_write(path, page)
    return path


def summary_line(run: ClusterRun) -> str:
    """One line per run for the CLI."""
    return f"[{run.cluster}] {run.name}: {run.status} in {run.duration_s:.1f} s -> {run.html}"
