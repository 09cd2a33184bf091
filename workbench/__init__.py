"""observability-workbench: Kubernetes cluster Prometheus data as tidy polars frames.

Importing this package is light: it pulls in polars, requests and orjson only. Charts
(altair), widgets (ipywidgets) and reports (papermill) are imported when first used.

The folders are the layers data flows through, each importing only those below it:
``sources`` (network I/O) -> ``frames`` (the schema) -> ``analysis`` (pure) -> ``charts`` /
``widgets`` -> ``reports``; ``demo`` and ``testing`` sit on top. The analysis packages are
public under short names: ``from workbench import nodes, alerting``.

Examples
--------
>>> from workbench import Prometheus
>>> prom = Prometheus("http://127.0.0.1:9090")
>>> prom.query("up")  # doctest: +SKIP
"""

import importlib as _importlib
from typing import Any as _Any

from ._errors import (
    AlertmanagerConfigError,
    AlertmanagerError,
    AlertRuleError,
    CapacityDataError,
    ConfigError,
    DuplicateAlertError,
    KubeAPIError,
    KubeForbiddenError,
    KubeUnauthorizedError,
    KubeUnreachableError,
    MetricsAPINotFoundError,
    MetricsAPIUnavailableError,
    MetricsServerError,
    MissingBinaryError,
    NodeDataError,
    PrometheusError,
    PromtoolError,
    QuantityError,
    QueryError,
    QueryTimeoutError,
    ReportError,
    ReportInterrupted,
    ReportNotFoundError,
    ReportParameterError,
    ResponseDecodeError,
    ServerHTTPError,
    ServerUnreachableError,
    WorkbenchError,
)
from ._quantity import parse_quantity
from .analysis.alerting import Rule, backtest, sweep
from .sources.kubernetes import MetricsServer
from .sources.prometheus import PromConfig, Prometheus, PrometheusWarning, Secret

__version__ = "0.1.0"

__all__ = [
    "AlertRuleError",
    "AlertmanagerConfigError",
    "AlertmanagerError",
    "CapacityDataError",
    "ConfigError",
    "DuplicateAlertError",
    "KubeAPIError",
    "KubeForbiddenError",
    "KubeUnauthorizedError",
    "KubeUnreachableError",
    "MetricsAPINotFoundError",
    "MetricsAPIUnavailableError",
    "MetricsServer",
    "MetricsServerError",
    "MissingBinaryError",
    "NodeDataError",
    "PromConfig",
    "Prometheus",
    "PrometheusError",
    "PrometheusWarning",
    "PromtoolError",
    "QuantityError",
    "QueryError",
    "QueryTimeoutError",
    "ReportError",
    "ReportInterrupted",
    "ReportNotFoundError",
    "ReportParameterError",
    "ResponseDecodeError",
    "Rule",
    "Secret",
    "ServerHTTPError",
    "ServerUnreachableError",
    "WorkbenchError",
    "__version__",
    "alert_history",
    "alerting",
    "alertmanager",
    "backtest",
    "capacity",
    "events",
    "nodes",
    "parse_quantity",
    "sweep",
]

#: Public short names of the analysis packages, imported on first use.
_ANALYSIS = {
    "alert_history": "workbench.analysis.alert_history",
    "alerting": "workbench.analysis.alerting",
    "alertmanager": "workbench.analysis.alertmanager",
    "capacity": "workbench.analysis.capacity",
    "events": "workbench.analysis.events",
    "nodes": "workbench.analysis.nodes",
}


def __getattr__(name: str) -> _Any:
    if name in _ANALYSIS:
        module = _importlib.import_module(_ANALYSIS[name])
        globals()[name] = module
        return module
    msg = f"module 'workbench' has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    return sorted([*globals(), *_ANALYSIS])
