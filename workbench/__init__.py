"""observability-workbench: Kubernetes cluster Prometheus data as tidy polars frames.

Importing this package is light: it pulls in polars, requests and orjson only. Charts
(altair), widgets (ipywidgets) and reports (papermill) are imported when first used.

Examples
--------
>>> from workbench import Prometheus
>>> prom = Prometheus("http://127.0.0.1:9090")
>>> prom.query("up")  # doctest: +SKIP
"""

from __future__ import annotations

from ._config import PromConfig, Secret
from ._errors import (
    AlertRuleError,
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
from ._http import PrometheusWarning
from ._quantity import parse_quantity
from .alerting import Rule, backtest, sweep
from .metrics_server import MetricsServer
from .prometheus import Prometheus

__version__ = "0.1.0"

__all__ = [
    "AlertRuleError",
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
    "backtest",
    "parse_quantity",
    "sweep",
]
