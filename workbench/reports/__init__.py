"""Scheduled notebook reports: registry, parameter validation, papermill runs, offline HTML.

``workbench report`` (:mod:`workbench.reports.cli`) is a thin layer over :func:`run_report`.
papermill, nbconvert and altair are imported only when a report runs or is exported.

Examples
--------
>>> from workbench.reports import list_reports, run_report
>>> [r.name for r in list_reports()]  # doctest: +SKIP
['node_exporter']
>>> result = run_report("node_exporter", {"start": "now-6h"}, out_dir="reports")  # doctest: +SKIP
>>> result.status, result.html  # doctest: +SKIP
"""

from __future__ import annotations

from ._export import FIGURES_MIME, export_html
from ._index import RunRecord, load_records, rebuild_index
from ._params import load_params_file, parse_cli_params, validate_parameters
from ._registry import Parameter, ReportSpec, get_report, list_reports, read_spec
from ._run import RunResult, run_report

__all__ = [
    "FIGURES_MIME",
    "Parameter",
    "ReportSpec",
    "RunRecord",
    "RunResult",
    "export_html",
    "get_report",
    "list_reports",
    "load_params_file",
    "load_records",
    "parse_cli_params",
    "read_spec",
    "rebuild_index",
    "run_report",
    "validate_parameters",
]
