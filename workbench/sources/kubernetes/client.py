"""`MetricsServer`: the metrics.k8s.io API (what ``kubectl top`` shows) as tidy polars frames.

Reads go through the real ``kubernetes`` client (``CustomObjectsApi`` for metrics.k8s.io,
``CoreV1Api`` for nodes and pods), so kubeconfig contexts, exec plugins, client certificates and
in-cluster service accounts work as they do for ``kubectl``. Bodies are taken raw
(``_preload_content=False``) and decoded with orjson straight into columns, which avoids the
client's per-object model building.

Frames
------
``nodes()``
    ``node`` (String), ``timestamp`` (Datetime ms UTC, the end of metrics-server's window),
    ``window_s`` (Float64), ``cpu_cores`` (Float64, exact nanocores / 1e9), ``memory_bytes``
    (Int64, working set).
``pods(containers=False)``
    ``namespace``, ``pod``, ``timestamp``, ``window_s``, ``cpu_cores``, ``memory_bytes``, summed
    over the pod's containers; with ``containers=True`` one row per container and a
    ``container`` column after ``pod``.
``top_nodes()``
    ``nodes()`` plus ``cpu_allocatable_cores``, ``memory_allocatable_bytes`` (or ``*_capacity_*``
    with ``show_capacity=True``), ``cpu_percent``, ``memory_percent`` (Int64, kubectl's
    truncated percentages). Nodes without metrics come last with null usage (kubectl's
    ``<unknown>``).
``top_pods()``
    ``pods()`` in kubectl's order; ``text=True`` renders kubectl's table instead.
``usage_vs_requests()``
    one row per container: usage beside ``cpu_request_cores``, ``cpu_limit_cores``,
    ``memory_request_bytes``, ``memory_limit_bytes`` and the ratios ``cpu_request_ratio``,
    ``memory_request_ratio``, ``cpu_limit_ratio``, ``memory_limit_ratio`` (null where there is no
    request/limit, never zero); ``node``, ``phase``, ``owner_kind``, ``owner_name``, ``qos_class``
    from the pod spec; ``spec_found`` is false for pods deleted between the two reads.
``sample()``
    repeated ``pods()``/``nodes()`` stacked, de-duplicated on the API's own timestamps.

kubectl parity (``kubectl top``, ``pkg/metricsutil/metrics_printer.go``)
-------------------------------------------------------------------------
* CPU cell = ``MilliValue()`` (rounded **up** to a millicore); memory cell = ``Value() / 2**20``
  (rounded **down** to a MiB). Only the text table rounds; data columns stay exact.
* Percent = ``int64(float64(usage.MilliValue()) / float64(available.MilliValue()) * 100)``:
  float64 division, then truncation toward zero; ``available`` is the node's allocatable (or
  capacity with ``show_capacity=True``), 0 when it is 0.
* Pod usage = the exact sum of its containers' quantities, rounded only when printed.
* The text tables are byte-for-byte what ``kubectl top`` prints (Go tabwriter, trailing blanks
  included; checked against the real kubectl in the tests). Headers follow kubectl >= 1.33
  (``CPU(%)``; older versions printed ``CPU%``), and a zero allocatable gives 0% as kubectl >=
  1.33 does (older versions printed ``int64(NaN)``).

Examples
--------
>>> from workbench import MetricsServer
>>> ms = MetricsServer.from_kubeconfig(context="kind-dev")   # doctest: +SKIP
>>> ms.top_nodes()                                            # doctest: +SKIP
>>> print(ms.top_pods(namespace="default", text=True))        # doctest: +SKIP
"""


from __future__ import annotations

import os
import time as _time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, overload

import orjson
import polars as pl

from ..._errors import (
    ConfigError,
    KubeAPIError,
    KubeForbiddenError,
    KubeUnauthorizedError,
    KubeUnreachableError,
    MetricsAPINotFoundError,
    MetricsAPIUnavailableError,
    MetricsServerError,
)
from ..._runtime import interactive
from ..._time import DurationLike, parse_duration_ms
from .config import in_cluster_client, kubeconfig_client
from .decode import decode_node_metrics, decode_nodes, decode_pod_metrics, decode_pod_specs
from .shape import finish_specs, finish_usage, sum_pods, top_nodes_frame, top_pods_frame, usage_vs_requests
from .text import render_top_nodes, render_top_pods

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

__all__ = ["MetricsServer"]

GROUP = "metrics.k8s.io"
VERSION = "v1beta1"
_INSTALL_HINT = (
    "install it (kubectl apply -f https://github.com/kubernetes-sigs/metrics-server/releases/"
    "latest/download/components.yaml, or the metrics-server Helm chart) and check "
    "`kubectl get apiservice v1beta1.metrics.k8s.io`"
)





# -- the client --------------------------------------------------------------------------------------


def _short_cause(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    inner = reason if isinstance(reason, BaseException) else exc
    text = str(inner)
    for marker in ("Connection refused", "Name or service not known", "timed out",
                   "No route to host", "certificate verify failed", "Connection reset"):
        if marker.lower() in text.lower():
            return marker.lower()
    text = text.split(": ", 1)[-1] if ": " in text else text
    return f"{type(inner).__name__}: {text[:160]}"


#: A list stops with an error after this many pages (a paging loop that never ends).
MAX_PAGES = 10_000


def _continue_token(body: bytes) -> str | None:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None  # the decoder names a body that is not JSON
    meta = doc.get("metadata") if isinstance(doc, dict) else None
    cont = meta.get("continue") if isinstance(meta, dict) else None
    return cont if isinstance(cont, str) and cont else None


def _redact_url(url: str) -> str:
    if "@" in url.split("//", 1)[-1].split("/", 1)[0]:
        scheme, rest = url.split("//", 1)
        return scheme + "//" + rest.split("@", 1)[1]
    return url


class MetricsServer:
    """Read metrics.k8s.io (and the pod/node specs it is judged against) into polars frames.

    Parameters
    ----------
    api_client
        A ``kubernetes.client.ApiClient`` (the transport seam: build it however your cluster
        needs). Prefer :meth:`from_kubeconfig` or :meth:`in_cluster`.
    timeout
        Seconds per request.
    context
        The kubeconfig context name, for messages.
    progress
        ``True``/``False`` forces :meth:`sample`'s progress bar; ``None`` shows it when the output
        is a terminal or a notebook.
    chunk_size
        List core objects (pods, nodes) in pages of this many (``limit``/``continue``, as
        ``kubectl get --chunk-size``), which eases the API server's memory on very large
        clusters; ``None`` (default) asks for everything at once. metrics-server ignores paging.
    sleep, clock
        Injected ``time.sleep`` and ``time.monotonic`` (for tests of :meth:`sample`).

    Examples
    --------
    >>> ms = MetricsServer.from_kubeconfig("~/.kube/config", context="prod")  # doctest: +SKIP
    >>> ms.pods(namespace="shop", label_selector="app=web", containers=True)  # doctest: +SKIP
    """

    def __init__(
        self,
        api_client: ApiClient,
        *,
        timeout: float = 30.0,
        context: str | None = None,
        progress: bool | None = None,
        chunk_size: int | None = None,
        sleep: Callable[[float], None] = _time.sleep,
        clock: Callable[[], float] = _time.monotonic,
    ) -> None:
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) \
                or not 0 < timeout <= 7 * 86_400:  # NaN fails this too
            msg = (f"timeout must be a positive, finite number of seconds (at most a week), got "
                   f"{str(timeout)[:40]}. Fix: pass e.g. timeout=30.")
            raise ConfigError(msg)
        if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(
                chunk_size, int) or chunk_size < 1):
            msg = f"chunk_size must be a positive whole number or None, got {str(chunk_size)[:40]}."
            raise ConfigError(msg)
        self.api_client = api_client
        self.timeout = float(timeout)
        self.context = context
        self.progress = progress
        self._sleep = sleep
        self._clock = clock
        self.last_fetch_s = 0.0
        self.last_decode_s = 0.0
        self.chunk_size = chunk_size

    # -- constructors --

    @classmethod
    def from_kubeconfig(
        cls,
        path: str | os.PathLike[str] | None = None,
        context: str | None = None,
        *,
        timeout: float = 30.0,
        environ: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> MetricsServer:
        """Connect with a kubeconfig: ``path`` or ``$KUBECONFIG`` (``:``-separated list) or
        ``~/.kube/config``; ``context`` or the file's ``current-context``.

        Raises
        ------
        ConfigError
            No kubeconfig at any of those places, an unknown context (the message lists the
            known ones), or a file the client cannot load.
        """
        api_client, context = kubeconfig_client(path, context, environ)
        return cls(api_client, timeout=timeout, context=context, **kwargs)

    @classmethod
    def in_cluster(
        cls,
        *,
        timeout: float = 30.0,
        environ: Mapping[str, str] | None = None,
        token_path: str | os.PathLike[str] = "/var/run/secrets/kubernetes.io/serviceaccount/token",
        ca_path: str | os.PathLike[str] = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
        **kwargs: Any,
    ) -> MetricsServer:
        """Connect with the pod's service account (``KUBERNETES_SERVICE_HOST`` + mounted token).

        The token file is re-read as the client refreshes it, so rotated tokens keep working.
        """
        api_client = in_cluster_client(environ, token_path, ca_path)
        return cls(api_client, timeout=timeout, context="in-cluster", **kwargs)

    # -- plumbing --

    @property
    def server(self) -> str:
        """The API server URL (never with credentials)."""
        return _redact_url(str(self.api_client.configuration.host))

    def __repr__(self) -> str:
        ctx = f", context={self.context!r}" if self.context else ""
        return f"MetricsServer(server={self.server!r}{ctx})"

    def close(self) -> None:
        """Close the connection pool of the underlying client."""
        self.api_client.close()

    def __enter__(self) -> MetricsServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _redact(self, text: str) -> str:
        """``text`` without any credential the client sends (token, password, basic-auth
        base64, default headers), in case the server or a proxy echoes one back."""
        import base64

        cfg = self.api_client.configuration
        found = [str(v) for v in (getattr(cfg, "api_key", None) or {}).values()]
        found += [str(v) for k, v in (getattr(self.api_client, "default_headers", None)
                                      or {}).items() if str(k).lower() in ("authorization",
                                                                           "cookie")]
        user, pw = getattr(cfg, "username", None), getattr(cfg, "password", None)
        if pw:
            found += [str(pw), base64.b64encode(f"{user or ''}:{pw}".encode()).decode()]
        found += [v.split(" ", 1)[-1] for v in list(found)]
        for secret in sorted({v for v in found if len(v) >= 4}, key=len, reverse=True):
            text = text.replace(secret, "<hidden>")
        return text

    def _error(self, exc: BaseException, *, verb: str, resource: str, group: str,
               namespace: str | None, name: str | None) -> KubeAPIError:
        """Turn a client exception into a workbench error whose message states the fix."""
        where = f"in namespace {namespace!r}" if namespace else "cluster-wide"
        what = f"{resource}.{group}" if group else resource
        target = f"{what} {name!r}" if name else what
        ctx = f" (context {self.context!r})" if self.context else ""
        kw = {"verb": verb, "resource": resource, "group": group, "namespace": namespace}
        status = getattr(exc, "status", None)
        if not isinstance(status, int) or status == 0:
            cause = self._redact(_short_cause(exc))
            return KubeUnreachableError(
                f"Cannot reach the Kubernetes API server at {self.server}{ctx}: {cause}. Fix: "
                "check that the kubeconfig context points at a running cluster reachable from "
                "here (VPN, proxy, port-forward); for TLS errors check the cluster's "
                "certificate-authority.", status_code=None, **kw)
        body: dict[str, Any] = {}
        raw = getattr(exc, "body", None)
        if raw:
            try:
                parsed = orjson.loads(raw)
                body = parsed if isinstance(parsed, dict) else {}
            except orjson.JSONDecodeError:
                body = {}
        server_msg = self._redact(str(body.get("message") or getattr(exc, "reason", "") or ""))
        server_msg = server_msg[:300]
        said = f" The server said: {server_msg!r}." if server_msg else ""
        if status == 401:
            return KubeUnauthorizedError(
                f"The Kubernetes API server at {self.server}{ctx} rejected the credentials "
                f"(HTTP 401) when trying to {verb} {what}. Fix: refresh them (log in again, or "
                "renew the token/client certificate in the kubeconfig).", status_code=401, **kw)
        if status == 403:
            scope = (f'a Role in namespace {namespace!r} (or a ClusterRole bound with a '
                     'RoleBinding)' if namespace else "a ClusterRole + ClusterRoleBinding")
            return KubeForbiddenError(
                f"Forbidden (HTTP 403): the credentials{ctx} may not {verb!r} resource "
                f"{resource!r} in API group {group!r} {where}.{said} Fix: grant {scope} with "
                f"rules: apiGroups: [{group!r}], resources: [{resource!r}], verbs: "
                f"['get', 'list'] (check with `kubectl auth can-i {verb} {what}"
                f"{' -n ' + namespace if namespace else ''}`).", status_code=403, **kw)
        if group == GROUP and status == 404 and not (body.get("details") or {}).get("name"):
            return MetricsAPINotFoundError(
                f"The metrics API ({GROUP}/{VERSION}) is not served by {self.server}{ctx} "
                f"(HTTP 404 on {verb} {what}): is metrics-server installed? Fix: {_INSTALL_HINT}.",
                status_code=404, **kw)
        if group == GROUP and status == 503:
            return MetricsAPIUnavailableError(
                f"The metrics API ({GROUP}/{VERSION}) is registered but not answering (HTTP "
                f"503 on {verb} {what}){ctx}: metrics-server is down or unreachable from the API "
                f"server.{said} Fix: check `kubectl -n kube-system get pods -l "
                "k8s-app=metrics-server` and its logs, and that `kubectl get apiservice "
                "v1beta1.metrics.k8s.io` shows AVAILABLE True.",
                status_code=503, **kw)
        if status == 404:
            hint = ("metrics-server omits objects it has scraped fewer than twice; wait one "
                    "resolution (15-60 s) and retry" if group == GROUP
                    else "check the name and namespace")
            return KubeAPIError(
                f"{target} not found {where} (HTTP 404){ctx}.{said} Fix: {hint}.",
                status_code=404, **kw)
        if status == 400:
            return KubeAPIError(
                f"The API server rejected the request to {verb} {what} (HTTP 400).{said} Fix: "
                "check the label/field selector syntax (e.g. 'app=web,tier in (a,b)').",
                status_code=400, **kw)
        return KubeAPIError(
            f"The Kubernetes API server at {self.server}{ctx} answered HTTP {status} to {verb} "
            f"{what}.{said} Fix: retry; if it persists check the API server's health.",
            status_code=status, **kw)

    def _fetch(self, call: Callable[..., Any], *, verb: str, resource: str, group: str,
               namespace: str | None = None, name: str | None = None,
               **params: Any) -> list[bytes]:
        """Run one client call (looping on ``metadata.continue``) and return the raw bodies."""
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError as Urllib3Error

        bodies: list[bytes] = []
        cont: str | None = None
        seen: set[str] = set()
        t0 = _time.perf_counter()
        for _ in range(MAX_PAGES):
            kwargs = {k: v for k, v in params.items() if v is not None}
            if cont:
                kwargs["_continue"] = cont
            try:
                resp = call(_preload_content=False, _request_timeout=self.timeout, **kwargs)
                body = resp.data
            except (ApiException, Urllib3Error, OSError) as exc:
                raise self._error(exc, verb=verb, resource=resource, group=group,
                                  namespace=namespace, name=name) from None
            except (ValueError, TypeError) as exc:
                # e.g. a token with characters HTTP headers cannot carry: the codec's error
                # holds the whole header value, so it is never quoted.
                msg = (f"The request to {verb} {resource} could not be sent to {self.server} "
                       f"({type(exc).__name__}; details hidden, they may hold a credential). Fix: "
                       "check the kubeconfig's token/password for characters outside Latin-1 "
                       "and the server URL.")
                raise KubeUnreachableError(msg, verb=verb, resource=resource, group=group,
                                           namespace=namespace) from None
            bodies.append(body)
            cont = None
            # Servers page only when asked (limit=) and put metadata before items, so an
            # unpaged answer is recognised without a second parse of a large body.
            if name is None and ("limit" in kwargs or b'"continue"' in body[:400]):
                cont = _continue_token(body)
            if not cont:
                break
            if cont in seen:  # a server that hands back a token it gave before never ends
                raise KubeAPIError(
                    f"The Kubernetes API server at {self.server} returned the same continue token "
                    f"twice while listing {resource} (page {len(bodies)}), so the list would never "
                    "end and rows would repeat. Fix: list without paging (chunk_size=None), or "
                    "check the API server or the proxy in front of it.",
                    verb=verb, resource=resource, group=group, namespace=namespace)
            seen.add(cont)
        else:
            raise KubeAPIError(
                f"Listing {resource} from {self.server} did not finish after {MAX_PAGES} pages. "
                "Fix: use a larger chunk_size (or None), or narrow the list with a namespace or "
                "label selector.",
                verb=verb, resource=resource, group=group, namespace=namespace)
        self.last_fetch_s = _time.perf_counter() - t0
        return bodies

    def _metrics_bodies(self, resource: str, namespace: str | None, label_selector: str | None,
                        name: str | None = None) -> list[bytes]:
        from kubernetes.client import CustomObjectsApi

        api = CustomObjectsApi(self.api_client)
        common: dict[str, Any] = {"verb": "get" if name else "list", "resource": resource,
                                  "group": GROUP, "namespace": namespace, "name": name}
        if name is not None:
            if namespace:
                return self._fetch(lambda **kw: api.get_namespaced_custom_object(
                    GROUP, VERSION, namespace, resource, name, **kw), **common)
            return self._fetch(lambda **kw: api.get_cluster_custom_object(
                GROUP, VERSION, resource, name, **kw), **common)
        if namespace:
            return self._fetch(lambda **kw: api.list_namespaced_custom_object(
                GROUP, VERSION, namespace, resource, **kw), label_selector=label_selector,
                **common)
        return self._fetch(lambda **kw: api.list_cluster_custom_object(
            GROUP, VERSION, resource, **kw), label_selector=label_selector, **common)

    def _timed(self, fn: Callable[[], pl.DataFrame]) -> pl.DataFrame:
        t0 = _time.perf_counter()
        out = fn()
        self.last_decode_s = _time.perf_counter() - t0
        return out

    # -- metrics --

    def _raw_nodes(self, label_selector: str | None, name: str | None) -> pl.DataFrame:
        bodies = self._metrics_bodies("nodes", None, label_selector, name)
        return self._timed(lambda: decode_node_metrics(bodies))

    def _raw_pods(self, namespace: str | None, label_selector: str | None,
                  name: str | None = None) -> pl.DataFrame:
        if name is not None and namespace is None:
            msg = "A pod name needs its namespace: pass namespace=... with name=..."
            raise ConfigError(msg)
        bodies = self._metrics_bodies("pods", namespace, label_selector, name)
        return self._timed(lambda: decode_pod_metrics(bodies))

    def nodes(self, label_selector: str | None = None, *, name: str | None = None) -> pl.DataFrame:
        """Node usage now: ``node, timestamp, window_s, cpu_cores, memory_bytes``.

        Parameters
        ----------
        label_selector
            Kubernetes label selector on the nodes' labels (``"topology.kubernetes.io/zone=a"``).
        name
            One node only (404 when it has no metrics yet).
        """
        return finish_usage(self._raw_nodes(label_selector, name))

    def pods(self, namespace: str | None = None, label_selector: str | None = None,
             containers: bool = False, *, name: str | None = None) -> pl.DataFrame:
        """Pod usage now: ``namespace, pod, [container], timestamp, window_s, cpu_cores, memory_bytes``.

        Parameters
        ----------
        namespace
            One namespace, or ``None`` for all.
        label_selector
            Kubernetes label selector on the pods' labels.
        containers
            One row per container instead of per pod (pod rows are exact sums).
        name
            One pod (with ``namespace``).
        """
        raw = self._raw_pods(namespace, label_selector, name)
        if containers:
            return finish_usage(raw)
        return finish_usage(sum_pods(raw))

    # -- specs --

    def _core_bodies(self, resource: str, namespace: str | None, label_selector: str | None,
                     field_selector: str | None = None) -> list[bytes]:
        from kubernetes.client import CoreV1Api

        api = CoreV1Api(self.api_client)
        common: dict[str, Any] = {"verb": "list", "resource": resource, "group": "",
                                  "namespace": namespace, "limit": self.chunk_size}
        if resource == "nodes":
            return self._fetch(api.list_node, label_selector=label_selector,
                               field_selector=field_selector, **common)
        if namespace:
            return self._fetch(lambda **kw: api.list_namespaced_pod(namespace, **kw),
                               label_selector=label_selector, field_selector=field_selector,
                               **common)
        return self._fetch(api.list_pod_for_all_namespaces, label_selector=label_selector,
                           field_selector=field_selector, **common)

    def pod_specs(self, namespace: str | None = None, label_selector: str | None = None,
                  *, field_selector: str | None = None) -> pl.DataFrame:
        """Per-container requests and limits from CoreV1 pods.

        Columns: ``namespace, pod, container, node, phase, owner_kind, owner_name, qos_class,
        cpu_request_cores, cpu_limit_cores, memory_request_bytes, memory_limit_bytes`` (null
        where the container sets none). ``field_selector`` is passed to the API server
        (e.g. ``"spec.nodeName=node-1"``).
        """
        bodies = self._core_bodies("pods", namespace, label_selector, field_selector)
        raw = self._timed(lambda: decode_pod_specs(bodies))
        return finish_specs(raw)

    def usage_vs_requests(self, namespace: str | None = None,
                          label_selector: str | None = None) -> pl.DataFrame:
        """Per-container usage beside requests and limits, with usage/request ratios.

        Metrics are read first, then the pod specs; a pod deleted in between keeps its usage
        row with ``spec_found`` false and null spec columns. Pods created in between (no
        metrics yet) are not listed.
        """
        usage = self.pods(namespace, label_selector, containers=True)
        specs = self.pod_specs(namespace, label_selector)
        return usage_vs_requests(usage, specs)

    def _node_specs(self, label_selector: str | None) -> pl.DataFrame:
        bodies = self._core_bodies("nodes", None, label_selector)
        return decode_nodes(bodies)

    # -- kubectl top --

    @overload
    def top_nodes(self, label_selector: str | None = ..., *, show_capacity: bool = ...,
                  sort_by: str | None = ..., text: Literal[False] = ...) -> pl.DataFrame: ...

    @overload
    def top_nodes(self, label_selector: str | None = ..., *, show_capacity: bool = ...,
                  sort_by: str | None = ..., text: Literal[True]) -> str: ...

    def top_nodes(self, label_selector: str | None = None, *, show_capacity: bool = False,
                  sort_by: str | None = None, text: bool = False) -> pl.DataFrame | str:
        """``kubectl top node``: usage with percentages of allocatable (or capacity).

        Parameters
        ----------
        label_selector
            Sent to both the metrics and the node list, as kubectl does.
        show_capacity
            Percentages against ``status.capacity`` instead of ``status.allocatable``.
        sort_by
            ``"cpu"`` or ``"memory"`` (descending); default by name.
        text
            Return kubectl's text table instead of the frame.

        Raises
        ------
        MetricsServerError
            ``metrics not available yet`` when metrics-server returns no node at all.
        """
        raw = self._raw_nodes(label_selector, None)
        if raw.height == 0:
            msg = ("metrics not available yet: metrics-server returned no node metrics. Fix: "
                   "wait for its first two scrapes (15-60 s after it starts) and retry.")
            raise MetricsServerError(msg)
        specs = self._node_specs(label_selector)
        frame = top_nodes_frame(raw, specs, show_capacity=show_capacity, sort_by=sort_by)
        return render_top_nodes(frame) if text else frame

    @overload
    def top_pods(self, namespace: str | None = ..., label_selector: str | None = ...,
                 containers: bool = ..., *, sort_by: str | None = ...,
                 text: Literal[False] = ...) -> pl.DataFrame: ...

    @overload
    def top_pods(self, namespace: str | None = ..., label_selector: str | None = ...,
                 containers: bool = ..., *, sort_by: str | None = ...,
                 text: Literal[True]) -> str: ...

    def top_pods(self, namespace: str | None = None, label_selector: str | None = None,
                 containers: bool = False, *, sort_by: str | None = None,
                 text: bool = False) -> pl.DataFrame | str:
        """``kubectl top pod``: per-pod usage summed over containers, in kubectl's order.

        ``namespace=None`` is ``-A``. ``sort_by`` is ``"cpu"`` or ``"memory"`` (descending, by
        the rounded values kubectl compares); default namespace then name. ``text=True`` returns
        the table kubectl prints.
        """
        raw = self._raw_pods(namespace, label_selector)
        frame = top_pods_frame(raw, containers=containers, sort_by=sort_by)
        return render_top_pods(frame, all_namespaces=namespace is None) if text else frame

    # -- time series --

    def sample(
        self,
        every: DurationLike = "15s",
        count: int = 20,
        *,
        what: Literal["pods", "nodes"] = "pods",
        namespace: str | None = None,
        label_selector: str | None = None,
        containers: bool = False,
    ) -> pl.DataFrame:
        """Take ``count`` snapshots ``every`` apart and stack them into one frame.

        Rows carry the API's own ``timestamp``; a snapshot in which metrics-server has not
        refreshed an object (same timestamp as already seen) adds nothing, so the result is a
        clean time series. A progress bar shows in terminals and notebooks.

        Examples
        --------
        >>> ms.sample(every="15s", count=8, namespace="shop")  # doctest: +SKIP
        """
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            msg = f"count must be at least 1 (a whole number), got {str(count)[:40]!r}."
            raise ConfigError(msg)
        if what not in ("pods", "nodes"):
            msg = f"what must be 'pods' or 'nodes', got {str(what)[:40]!r}."
            raise ConfigError(msg)
        step_s = parse_duration_ms(every) / 1000
        show = self.progress if self.progress is not None else interactive()
        bar = None
        if show and count > 1:
            from tqdm.auto import tqdm

            bar = tqdm(total=count, desc=f"sampling {what}", unit="snapshot")
        keys = ["node"] if what == "nodes" else (
            ["namespace", "pod", "container"] if containers else ["namespace", "pod"])
        frames: list[pl.DataFrame] = []
        seen: pl.DataFrame | None = None
        start = self._clock()
        try:
            for i in range(count):
                if i:
                    delay = start + i * step_s - self._clock()
                    if delay > 0:
                        self._sleep(delay)
                if what == "nodes":
                    snap = self.nodes(label_selector)
                else:
                    snap = self.pods(namespace, label_selector, containers)
                ident = snap.select([*keys, "timestamp"])
                if seen is not None:
                    snap = snap.join(seen, on=[*keys, "timestamp"], how="anti", nulls_equal=True)
                    seen = pl.concat([seen, snap.select(ident.columns)])
                else:
                    seen = ident
                frames.append(snap)
                if bar is not None:
                    bar.update(1)
        finally:
            if bar is not None:
                bar.close()
        return pl.concat(frames).sort([*keys, "timestamp"], maintain_order=True)
