"""The workbench exception tree.

Every error the package raises on purpose derives from :class:`WorkbenchError`, and every
message says what failed and how to fix it. Credentials never appear in a message.

::

    WorkbenchError
    ├── ConfigError                 bad or missing configuration (profile, env var, kubeconfig)
    ├── MissingBinaryError          a server binary (prometheus, promtool, ...) is not installed
    ├── AlertmanagerConfigError     an Alertmanager config Alertmanager itself would reject
    ├── AlertmanagerError           talking to Alertmanager's /api/v2 failed (down, HTTP error)
    ├── AlertRuleError              an alerting rule cannot be backtested or exported as given
    │   └── DuplicateAlertError     two samples map to one alert label set (a 2.x eval error)
    ├── PromtoolError               promtool check/test rules rejected an exported file
    ├── PrometheusError             anything that went wrong talking to Prometheus
    │   ├── QueryError              the server rejected the query (bad PromQL, too many points, ...)
    │   ├── ServerUnreachableError  connection refused, DNS failure, TLS failure
    │   ├── QueryTimeoutError       no answer within the timeout
    │   ├── ServerHTTPError         4xx/5xx with no Prometheus error body (proxy, auth, overload)
    │   └── ResponseDecodeError     the body is not a Prometheus API response
    ├── NodeDataError               no node-exporter data for the job/window (workbench.nodes)
    ├── CapacityDataError           capacity data missing or asked for wrongly (workbench.capacity)
    ├── MetricsServerError          the metrics.k8s.io API (see workbench.sources.kubernetes)
    │   └── KubeAPIError            the Kubernetes API server answered an error or not at all
    │       ├── MetricsAPINotFoundError     404: metrics.k8s.io not served (metrics-server missing)
    │       ├── MetricsAPIUnavailableError  503: registered, but metrics-server does not answer
    │       ├── KubeForbiddenError          403: RBAC lacks a verb on a resource
    │       ├── KubeUnauthorizedError       401: credentials rejected or expired
    │       └── KubeUnreachableError        connection refused, DNS, TLS, timeout
    ├── QuantityError               not a Kubernetes quantity (also a ValueError)
    └── ReportError                 running or exporting a report notebook
        ├── ReportInterrupted       SIGTERM/SIGINT stopped a run (recorded as failed first)
        ├── ReportNotFoundError     no notebook of that name in notebooks/
        └── ReportParameterError    unknown, mistyped or secret-looking report parameter
"""

from __future__ import annotations

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
    "MetricsServerError",
    "MissingBinaryError",
    "NodeDataError",
    "PrometheusError",
    "PromtoolError",
    "QuantityError",
    "QueryError",
    "QueryTimeoutError",
    "ReportError",
    "ReportInterrupted",
    "ReportNotFoundError",
    "ReportParameterError",
    "ResponseDecodeError",
    "ServerHTTPError",
    "ServerUnreachableError",
    "WorkbenchError",
]

_QUERY_PREVIEW = 200


def _preview(query: str | None) -> str:
    if query is None:
        return ""
    q = " ".join(query.split())
    return q if len(q) <= _QUERY_PREVIEW else q[: _QUERY_PREVIEW - 3] + "..."


class WorkbenchError(Exception):
    """Root of every error raised by workbench on purpose."""


class ConfigError(WorkbenchError):
    """Configuration is missing or invalid (profile, environment variable, kubeconfig)."""


class MissingBinaryError(WorkbenchError):
    """A server binary the operation needs is not installed.

    The message carries the exact command that installs it.
    """

    def __init__(self, binary: str, package: str) -> None:
        self.binary = binary
        self.package = package
        super().__init__(
            f"{binary!r} was not found on PATH. Install it with: "
            f"sudo apt-get install -y {package}   (Debian/Ubuntu package {package!r})"
        )


class AlertmanagerConfigError(WorkbenchError):
    """An Alertmanager configuration that Alertmanager 0.25 would reject.

    Attributes: ``source`` (file name or ``"<string>"``), ``line`` and ``column`` (1-based, or
    ``None`` when the problem has no single position).
    """

    def __init__(self, message: str, *, source: str = "<string>", line: int | None = None,
                 column: int | None = None) -> None:
        self.source = source
        self.line = line
        self.column = column
        super().__init__(message)


class AlertmanagerError(WorkbenchError):
    """Talking to an Alertmanager's ``/api/v2`` failed (down, HTTP error, not an API body).

    Attributes: ``url`` (never with credentials) and ``status_code`` (``None`` if no answer).
    """

    def __init__(self, message: str, *, url: str = "", status_code: int | None = None) -> None:
        self.url = url
        self.status_code = status_code
        super().__init__(message)


class AlertRuleError(WorkbenchError):
    """An alerting rule cannot be backtested or exported as given (bad field, template, op)."""


class DuplicateAlertError(AlertRuleError):
    """Two samples of one evaluation map to the same alert label set.

    Prometheus fails that evaluation with "vector contains metrics with the same labelset after
    applying alert labels". Attributes: ``labels`` (dict) and ``timestamp_ms`` (int).
    """

    def __init__(self, message: str, *, labels: dict[str, str], timestamp_ms: int) -> None:
        self.labels = labels
        self.timestamp_ms = timestamp_ms
        super().__init__(message)


class PromtoolError(WorkbenchError):
    """``promtool check rules`` / ``promtool test rules`` rejected a file.

    Attributes: ``command`` (list of str), ``returncode`` (int), ``output`` (its stdout+stderr).
    """

    def __init__(self, message: str, *, command: list[str], returncode: int,
                 output: str) -> None:
        self.command = command
        self.returncode = returncode
        self.output = output
        super().__init__(message)


class PrometheusError(WorkbenchError):
    """Something went wrong talking to a Prometheus-compatible server.

    Attributes
    ----------
    url : str
        The server's base URL (never with credentials).
    query : str or None
        The PromQL expression, when the request carried one.
    """

    def __init__(self, message: str, *, url: str = "", query: str | None = None) -> None:
        self.url = url
        self.query = query
        super().__init__(message)


class QueryError(PrometheusError):
    """The server rejected the request (bad PromQL, too many points, bad parameters, ...).

    Attributes
    ----------
    error_type : str
        Prometheus's ``errorType`` (``bad_data``, ``execution``, ``timeout``, ...).
    error : str
        Prometheus's ``error`` text, including the parse position for syntax errors.
    status_code : int
        HTTP status code of the response.
    """

    def __init__(
        self, *, url: str, query: str | None, error_type: str, error: str, status_code: int
    ) -> None:
        self.error_type = error_type
        self.error = error
        self.status_code = status_code
        hint = {
            "bad_data": "fix the expression or parameters (the position above is line:column "
            "in the query)",
            "execution": "the query failed while running; narrow the range or the series it touches",
            "timeout": "the server's query timeout was hit; narrow the range, raise the step, "
            "or raise --query.timeout on the server",
            "canceled": "the server canceled the query; retry, or narrow it",
            "unavailable": "the server is not ready; retry later",
        }.get(error_type, "check the query and the server log")
        where = f" for query {_preview(query)!r}" if query else ""
        super().__init__(
            f"Prometheus at {url} rejected the request{where}: {error_type}: {error} "
            f"(HTTP {status_code}). Fix: {hint}.",
            url=url,
            query=query,
        )


class ServerUnreachableError(PrometheusError):
    """The server could not be reached (refused, DNS, TLS, reset)."""

    def __init__(self, *, url: str, cause: str, query: str | None = None) -> None:
        self.cause = cause
        super().__init__(
            f"Cannot reach Prometheus at {url}: {cause}. Fix: check the URL and that the server "
            "is running and reachable from here (for TLS errors, pass ca_bundle=... rather than "
            "verify=False).",
            url=url,
            query=query,
        )


class QueryTimeoutError(PrometheusError):
    """No complete answer arrived within the client timeout."""

    def __init__(self, *, url: str, query: str | None, timeout: float) -> None:
        self.timeout = timeout
        where = f"query {_preview(query)!r}" if query else "request"
        super().__init__(
            f"Prometheus at {url} did not answer the {where} within {timeout:g} s. Fix: narrow "
            "the range, raise the step, or pass a larger timeout=...",
            url=url,
            query=query,
        )


class ServerHTTPError(PrometheusError):
    """An HTTP error status without a Prometheus error body (auth proxy, gateway, overload)."""

    def __init__(
        self, *, url: str, status_code: int, body: str, query: str | None = None
    ) -> None:
        self.status_code = status_code
        self.body = body[:500]
        hint = {
            401: "the server wants credentials: set a token (token_env=/token_file=) or basic auth",
            403: "the credentials lack permission for this API path",
            404: "the URL does not point at a Prometheus API; use the base URL without /api/v1",
            429: "the server is rate-limiting; wait and retry or lower concurrency",
        }.get(status_code, "check the server (or the proxy in front of it) and retry")
        super().__init__(
            f"Prometheus at {url} answered HTTP {status_code}: {self.body.strip()[:200]!r}. "
            f"Fix: {hint}.",
            url=url,
            query=query,
        )


class ResponseDecodeError(PrometheusError):
    """The response body is not a valid Prometheus API response."""


class NodeDataError(WorkbenchError):
    """Prometheus holds no node-exporter data for the requested job and window."""


class CapacityDataError(WorkbenchError):
    """The capacity report cannot run as asked: no kube-state-metrics or cAdvisor series, a
    namespace filter matching nothing, a window shorter than the step, a missing percentile."""


class MetricsServerError(WorkbenchError):
    """The Kubernetes metrics API (metrics.k8s.io) could not be read."""


class KubeAPIError(MetricsServerError):
    """The Kubernetes API server answered with an error, or could not be reached.

    Attributes
    ----------
    status_code : int or None
        HTTP status (``None`` when no answer arrived).
    verb, resource, group, namespace : str or None
        The request that failed (``list``, ``pods``, ``metrics.k8s.io``, ``default``).
    """

    def __init__(self, message: str, *, status_code: int | None = None, verb: str | None = None,
                 resource: str | None = None, group: str | None = None,
                 namespace: str | None = None) -> None:
        self.status_code = status_code
        self.verb = verb
        self.resource = resource
        self.group = group
        self.namespace = namespace
        super().__init__(message)


class MetricsAPINotFoundError(KubeAPIError):
    """HTTP 404 on metrics.k8s.io: the API is not registered (metrics-server not installed)."""


class MetricsAPIUnavailableError(KubeAPIError):
    """HTTP 503 on metrics.k8s.io: the APIService exists but metrics-server does not answer."""


class KubeForbiddenError(KubeAPIError):
    """HTTP 403: RBAC does not grant ``verb`` on ``resource`` in ``group``."""


class KubeUnauthorizedError(KubeAPIError):
    """HTTP 401: the API server rejected the credentials (expired or wrong token/certificate)."""


class KubeUnreachableError(KubeAPIError):
    """The Kubernetes API server could not be reached (refused, DNS, TLS, timeout)."""


class QuantityError(WorkbenchError, ValueError):
    """A string is not a valid Kubernetes quantity or Go duration; the message shows the grammar."""


class ReportError(WorkbenchError):
    """A report notebook could not be run or exported."""


class ReportNotFoundError(ReportError):
    """No notebook of that name in the report registry (the message lists the known ones)."""


class ReportParameterError(ReportError):
    """A report parameter is unknown, of the wrong type, or looks like a secret.

    Raised before anything runs; the message lists the accepted parameters and their types.
    """


class ReportInterrupted(ReportError):
    """A signal stopped a report run; the partial run was recorded as failed before raising.

    Attributes
    ----------
    signum : int
        The signal number; ``exit_code`` is ``128 + signum`` as a shell reports it.
    """

    def __init__(self, message: str, *, signum: int) -> None:
        self.signum = signum
        self.exit_code = 128 + signum
        super().__init__(message)
