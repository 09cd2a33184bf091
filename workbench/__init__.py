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
    ConfigError,
    KubeAPIError,
    KubeForbiddenError,
    KubeUnauthorizedError,
    KubeUnreachableError,
    MetricsAPINotFoundError,
    MetricsAPIUnavailableError,
    MetricsServerError,
    MissingBinaryError,
    PrometheusError,
    QuantityError,
    QueryError,
    QueryTimeoutError,
    ReportError,
    ResponseDecodeError,
    ServerHTTPError,
    ServerUnreachableError,
    WorkbenchError,
)
from ._http import PrometheusWarning
from ._quantity import parse_quantity
from .metrics_server import MetricsServer
from .prometheus import Prometheus

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "KubeAPIError",
    "KubeForbiddenError",
    "KubeUnauthorizedError",
    "KubeUnreachableError",
    "MetricsAPINotFoundError",
    "MetricsAPIUnavailableError",
    "MetricsServer",
    "MetricsServerError",
    "MissingBinaryError",
    "PromConfig",
    "Prometheus",
    "PrometheusError",
    "PrometheusWarning",
    "QuantityError",
    "QueryError",
    "QueryTimeoutError",
    "ReportError",
    "ResponseDecodeError",
    "Secret",
    "ServerHTTPError",
    "ServerUnreachableError",
    "WorkbenchError",
    "__version__",
    "parse_quantity",
]
