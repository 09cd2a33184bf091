"""``workbench report``: list, run and run-all, a thin layer over :mod:`workbench.reports`.

Exit codes: 0 success; 1 the report ran and failed (a cell raised), or the Prometheus a report
needs is unreachable (run-all); 2 bad usage (unknown report, bad or secret-looking parameter;
nothing ran); 3 a cell ran past ``--timeout``. Nothing prompts or needs a terminal.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from .._errors import ReportNotFoundError, ReportParameterError, WorkbenchError

__all__ = ["EXIT_CODES", "report"]

EXIT_CODES = {"ok": 0, "failed": 1, "timeout": 3}
EXIT_USAGE = 2

_notebooks = click.option("--notebooks", type=click.Path(file_okay=False, path_type=Path),
                          default=None, help="Notebook directory (default: the project's "
                          "notebooks/).")
_out = click.option("--out", type=click.Path(file_okay=False, path_type=Path),
                    default=Path("reports"), show_default=True, help="Reports directory.")
_timeout = click.option("--timeout", type=float, default=None,
                        help="Per-cell time limit in seconds (default: none).")
_kernel = click.option("--kernel", default="python3", show_default=True,
                       help="Jupyter kernel to run the notebooks in.")


def _usage_error(exc: Exception) -> None:
    click.echo(f"error: {exc}", err=True)
    sys.exit(EXIT_USAGE)


def _print_result(result: Any) -> None:
    figures = ", ".join(f"{k}={v}" for k, v in result.figures.items())
    click.echo(f"{result.name}: {result.status} in {result.duration_s:.1f} s -> {result.html}")
    if figures:
        click.echo(f"  {figures}")
    if result.error:
        click.echo(f"  error: {result.error}", err=True)


@click.group("report")
def report() -> None:
    """Run the parameterised notebooks as scheduled reports (offline HTML + index)."""


@report.command("list")
@_notebooks
def list_cmd(notebooks: Path | None) -> None:
    """List the reports with their parameters, types and defaults."""
    import shutil

    from ._registry import list_reports

    width = max(40, min(shutil.get_terminal_size().columns, 100))
    for spec in list_reports(notebooks):
        click.echo(click.wrap_text(f"{spec.name}: {spec.description}", width,
                                   subsequent_indent="  "))
        for p in spec.parameters:
            help_ = f"  # {p.help}" if p.help else ""
            click.echo(f"    {p.name}: {p.type} = {p.default!r}{help_}")


@report.command("run")
@click.argument("name")
@click.option("-p", "--param", "params", multiple=True, metavar="KEY=VALUE",
              help="A parameter, converted by its declared type (repeatable).")
@click.option("-f", "--params-file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="YAML mapping of parameters (-p values override it).")
@_out
@_timeout
@_notebooks
@_kernel
def run_cmd(name: str, params: tuple[str, ...], params_file: Path | None, out: Path,
            timeout: float | None, notebooks: Path | None, kernel: str) -> None:
    """Run report NAME once; the page lands under OUT/NAME/<date>/ and in OUT/index.html."""
    from ._params import load_params_file, parse_cli_params
    from ._registry import get_report
    from ._run import run_report

    try:
        spec = get_report(name, notebooks)
        values = load_params_file(params_file) if params_file else {}
        values.update(parse_cli_params(spec, params))
        result = run_report(name, values, out_dir=out, timeout=timeout, notebooks_dir=notebooks,
                            kernel_name=kernel)
    except (ReportNotFoundError, ReportParameterError) as exc:
        _usage_error(exc)
        return
    _print_result(result)
    sys.exit(EXIT_CODES[result.status])


def preflight(spec: Any) -> None:
    """Check that the Prometheus a report reads by default answers (before a run-all)."""
    from ..sources.prometheus.client import Prometheus
    from ..sources.prometheus.config import PromConfig

    target = spec.defaults().get("prometheus")
    if not isinstance(target, str):
        return
    try:
        with Prometheus(PromConfig.resolve(target), timeout=10, max_retries=0) as prom:
            prom.build_info()
    except WorkbenchError as exc:
        fix = ("Fix: start the demo with `workbench demo up` (or `make demo`)."
               if target == "demo" else "Fix: check that Prometheus runs and the profile is right.")
        text = str(exc)
        msg = (f"Report {spec.name!r} reads Prometheus {target!r}, which is not available: "
               f"{text}" + ("" if "Fix:" in text else f" {fix}"))
        raise WorkbenchError(msg) from None


@report.command("run-all")
@_out
@_timeout
@_notebooks
@_kernel
@click.option("--profile", "profiles", multiple=True, metavar="NAME",
              help="A cluster's Prometheus profile (repeatable): every report runs once per "
                   "profile into OUT/NAME/, and OUT/index.html gets a section per cluster.")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Clusters run at the same time, each in its own process (with --profile).")
def run_all_cmd(out: Path, timeout: float | None, notebooks: Path | None, kernel: str,
                profiles: tuple[str, ...], jobs: int) -> None:
    """Run every report with its default parameters (used by `make demo` and cron)."""
    from ._registry import list_reports
    from ._run import run_report

    if profiles:
        _run_all_clusters(list(profiles), out, timeout, notebooks, kernel, jobs)
        return
    specs = list_reports(notebooks)
    if not specs:
        click.echo("error: no report notebooks found.", err=True)
        sys.exit(1)
    try:
        for spec in specs:
            preflight(spec)
    except WorkbenchError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    worst = 0
    for spec in specs:
        result = run_report(spec.name, {}, out_dir=out, timeout=timeout, notebooks_dir=notebooks,
                            kernel_name=kernel)
        _print_result(result)
        worst = max(worst, EXIT_CODES[result.status])
    click.echo(f"index: {out / 'index.html'}")
    sys.exit(worst)


def preflight_profile(profile: str) -> None:
    """Check that a cluster's Prometheus profile resolves and answers (before a run-all)."""
    from ..sources.prometheus.client import Prometheus
    from ..sources.prometheus.config import PromConfig

    try:
        with Prometheus(PromConfig.resolve(profile), timeout=10, max_retries=0) as prom:
            prom.query("1")
    except WorkbenchError as exc:
        text = str(exc)
        fix = "" if "Fix:" in text else " Fix: check that it runs and the profile is right."
        msg = f"Cluster profile {profile!r} is not available: {text}{fix}"
        raise WorkbenchError(msg) from None


def _run_all_clusters(profiles: list[str], out: Path, timeout: float | None,
                      notebooks: Path | None, kernel: str, jobs: int) -> None:
    from ._clusters import check_cluster_name, run_clusters, summary_line
    from ._registry import list_reports

    try:
        for p in profiles:
            check_cluster_name(p)
        if not list_reports(notebooks):
            click.echo("error: no report notebooks found.", err=True)
            sys.exit(1)
    except ReportParameterError as exc:
        _usage_error(exc)
        return
    try:
        for p in profiles:
            preflight_profile(p)
    except WorkbenchError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    runs = run_clusters(profiles, out_dir=out, jobs=jobs, timeout=timeout,
                        notebooks_dir=notebooks, kernel_name=kernel,
                        on_result=lambda r: click.echo(summary_line(r)))
    click.echo(f"index: {out / 'index.html'} ({len(profiles)} clusters)")
    sys.exit(max((EXIT_CODES[r.status] for r in runs), default=0))
