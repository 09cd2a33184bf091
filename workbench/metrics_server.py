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
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

import orjson
import polars as pl

from ._errors import (
    ConfigError,
    KubeAPIError,
    KubeForbiddenError,
    KubeUnauthorizedError,
    KubeUnreachableError,
    MetricsAPINotFoundError,
    MetricsAPIUnavailableError,
    MetricsServerError,
)
from ._quantity import parse_go_duration, scaled_value
from ._runtime import gc_paused, interactive
from ._time import DurationLike, parse_duration_ms

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

__all__ = [
    "MetricsServer",
    "render_top_nodes",
    "render_top_pods",
    "usage_vs_requests",
]

GROUP = "metrics.k8s.io"
VERSION = "v1beta1"
TIMESTAMP = pl.Datetime("ms", "UTC")
_NANO = 1_000_000_000
_INSTALL_HINT = (
    "install it (kubectl apply -f https://github.com/kubernetes-sigs/metrics-server/releases/"
    "latest/download/components.yaml, or the metrics-server Helm chart) and check "
    "`kubectl get apiservice v1beta1.metrics.k8s.io`"
)



# -- decoding (pure: bytes -> frames) -------------------------------------------------------------


class _Cache(dict[str, Any]):
    """str -> parsed value memo for timestamps and windows (a snapshot repeats them)."""

    def __init__(self, fn: Callable[[str], Any]) -> None:
        super().__init__()
        self.fn = fn

    def __missing__(self, key: str) -> Any:
        value = self[key] = self.fn(key)
        return value


def _ts_ms(text: str) -> int:
    return round(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def _cpu_nanos(text: str) -> int:
    """Exact nanocores; fast path for metrics-server's ``<digits>n``."""
    if text[-1:] == "n" and text[:-1].isdigit():
        return int(text[:-1])
    return scaled_value(text, -9)


def _mem_millis(text: str) -> int:
    """Exact milli-bytes (Go ``MilliValue()``); fast path for ``<digits>Ki`` and plain bytes."""
    if text[-2:] == "Ki" and text[:-2].isdigit():
        return int(text[:-2]) * 1_024_000
    if text.isdigit():
        return int(text) * 1000
    return scaled_value(text, -3)


def _load(body: bytes) -> dict[str, Any]:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        msg = f"The Kubernetes API answered something that is not JSON ({exc}). Fix: check the " \
              "server URL in the kubeconfig points at an API server, not a proxy page."
        raise MetricsServerError(msg) from None
    if not isinstance(doc, dict):
        msg = "The Kubernetes API answered JSON that is not an object."
        raise MetricsServerError(msg)
    return doc


def decode_node_metrics(bodies: list[bytes]) -> pl.DataFrame:
    """NodeMetricsList bodies -> raw frame with exact ``_cpu_n`` and ``_mem_m`` columns."""
    ts_cache, win_cache = _Cache(_ts_ms), _Cache(parse_go_duration)
    names: list[str] = []
    ts: list[int] = []
    win: list[float] = []
    cpu: list[int] = []
    mem: list[int] = []
    with gc_paused():
        for body in bodies:
            doc = _load(body)
            items = doc.get("items") if doc.get("kind") != "NodeMetrics" else [doc]
            for it in items or ():
                usage = it.get("usage") or {}
                names.append(it["metadata"]["name"])
                ts.append(ts_cache[it["timestamp"]])
                win.append(win_cache[it.get("window") or "0s"])
                cpu.append(_cpu_nanos(usage.get("cpu", "0")))
                mem.append(_mem_millis(usage.get("memory", "0")))
    return pl.DataFrame(
        {"node": names, "timestamp": ts, "window_s": win, "_cpu_n": cpu, "_mem_m": mem},
        schema={"node": pl.String, "timestamp": pl.Int64, "window_s": pl.Float64,
                "_cpu_n": pl.Int64, "_mem_m": pl.Int64},
    ).with_columns(pl.col("timestamp").cast(TIMESTAMP))


def decode_pod_metrics(bodies: list[bytes]) -> pl.DataFrame:
    """PodMetricsList bodies -> one row per container with exact ``_cpu_n``/``_mem_m``."""
    ts_cache, win_cache = _Cache(_ts_ms), _Cache(parse_go_duration)
    nss: list[str] = []
    pods: list[str] = []
    ctrs: list[str] = []
    ts: list[int] = []
    win: list[float] = []
    cpu: list[int] = []
    mem: list[int] = []
    with gc_paused():
        for body in bodies:
            doc = _load(body)
            items = doc.get("items") if doc.get("kind") != "PodMetrics" else [doc]
            for it in items or ():
                meta = it["metadata"]
                ns, name = meta.get("namespace", ""), meta["name"]
                t, w = ts_cache[it["timestamp"]], win_cache[it.get("window") or "0s"]
                for c in it.get("containers") or ():
                    usage = c.get("usage") or {}
                    nss.append(ns)
                    pods.append(name)
                    ctrs.append(c["name"])
                    ts.append(t)
                    win.append(w)
                    cpu.append(_cpu_nanos(usage.get("cpu", "0")))
                    mem.append(_mem_millis(usage.get("memory", "0")))
    return pl.DataFrame(
        {"namespace": nss, "pod": pods, "container": ctrs, "timestamp": ts, "window_s": win,
         "_cpu_n": cpu, "_mem_m": mem},
        schema={"namespace": pl.String, "pod": pl.String, "container": pl.String,
                "timestamp": pl.Int64, "window_s": pl.Float64, "_cpu_n": pl.Int64,
                "_mem_m": pl.Int64},
    ).with_columns(pl.col("timestamp").cast(TIMESTAMP))


def _div(frame: pl.DataFrame, column: str, divisor: int, name: str) -> pl.Series:
    """``column / divisor`` as correctly rounded float64 (one IEEE division per value).

    polars turns division by a constant into multiplication by its reciprocal, which is off by
    one ulp for ~40% of values (``706041732 / 1e9`` -> ``0.7060417320000001``); numpy divides.
    """
    values = frame[column].cast(pl.Float64).to_numpy() / float(divisor)
    return pl.Series(name, values, dtype=pl.Float64).fill_nan(None)


def _finish(raw: pl.DataFrame) -> pl.DataFrame:
    """Exact internal columns -> the documented ``cpu_cores`` / ``memory_bytes``."""
    return raw.with_columns(
        _div(raw, "_cpu_n", _NANO, "cpu_cores"),
        # Go Value(): round up to a whole byte
        memory_bytes=(pl.col("_mem_m") + 999) // 1000,
    ).drop("_cpu_n", "_mem_m")


def _sum_pods(raw: pl.DataFrame) -> pl.DataFrame:
    """Per-pod exact sums (kubectl adds the containers' quantities before rounding)."""
    return raw.group_by("namespace", "pod", maintain_order=True).agg(
        pl.col("timestamp").min(), pl.col("window_s").first(), pl.col("_cpu_n").sum(),
        pl.col("_mem_m").sum())


def decode_nodes(bodies: list[bytes]) -> pl.DataFrame:
    """NodeList bodies -> ``node`` and the exact milli-values of capacity and allocatable."""
    rows: dict[str, list[Any]] = {k: [] for k in (
        "node", "internal_ip", "ready", "_cap_cpu_m", "_cap_mem_m", "_alloc_cpu_m",
        "_alloc_mem_m")}
    with gc_paused():
        for body in bodies:
            doc = _load(body)
            for it in doc.get("items") or ():
                status = it.get("status") or {}
                cap, alloc = status.get("capacity") or {}, status.get("allocatable") or {}
                rows["node"].append(it["metadata"]["name"])
                rows["internal_ip"].append(next(
                    (a.get("address") for a in status.get("addresses") or ()
                     if a.get("type") == "InternalIP"), None))
                rows["ready"].append(next(
                    (c.get("status") == "True" for c in status.get("conditions") or ()
                     if c.get("type") == "Ready"), None))
                for col, src, res in (("_cap_cpu_m", cap, "cpu"), ("_cap_mem_m", cap, "memory"),
                                      ("_alloc_cpu_m", alloc, "cpu"),
                                      ("_alloc_mem_m", alloc, "memory")):
                    q = src.get(res)
                    rows[col].append(None if q is None else scaled_value(q, -3))
    return pl.DataFrame(rows, schema={"node": pl.String, "internal_ip": pl.String,
                                      "ready": pl.Boolean, "_cap_cpu_m": pl.Int64,
                                      "_cap_mem_m": pl.Int64, "_alloc_cpu_m": pl.Int64,
                                      "_alloc_mem_m": pl.Int64})


_SPEC_SCHEMA = {
    "namespace": pl.String, "pod": pl.String, "container": pl.String, "node": pl.String,
    "phase": pl.String, "owner_kind": pl.String, "owner_name": pl.String,
    "qos_class": pl.String, "_cpu_req_n": pl.Int64, "_cpu_lim_n": pl.Int64,
    "memory_request_bytes": pl.Int64, "memory_limit_bytes": pl.Int64,
}


def decode_pod_specs(bodies: list[bytes]) -> pl.DataFrame:
    """PodList bodies -> one row per (app) container with requests and limits, exact."""
    cols: dict[str, list[Any]] = {k: [] for k in _SPEC_SCHEMA}
    nanos = _Cache(lambda q: scaled_value(q, -9))  # specs repeat the same few quantities
    whole = _Cache(scaled_value)
    (ns_a, pod_a, ctr_a, node_a, phase_a, okind_a, oname_a, qos_a, creq_a, clim_a, mreq_a,
     mlim_a) = (cols[k].append for k in _SPEC_SCHEMA)
    with gc_paused():
        for body in bodies:
            doc = _load(body)
            for it in doc.get("items") or ():
                meta, spec, status = it["metadata"], it.get("spec") or {}, it.get("status") or {}
                ns, name, node = meta.get("namespace", ""), meta["name"], spec.get("nodeName")
                phase, qos = status.get("phase"), status.get("qosClass")
                okind = oname = None
                for o in meta.get("ownerReferences") or ():
                    if o.get("controller"):
                        okind, oname = o.get("kind"), o.get("name")
                        break
                for c in spec.get("containers") or ():
                    res = c.get("resources") or {}
                    req, lim = res.get("requests") or {}, res.get("limits") or {}
                    ns_a(ns)
                    pod_a(name)
                    ctr_a(c["name"])
                    node_a(node)
                    phase_a(phase)
                    okind_a(okind)
                    oname_a(oname)
                    qos_a(qos)
                    q = req.get("cpu")
                    creq_a(None if q is None else nanos[q])
                    q = lim.get("cpu")
                    clim_a(None if q is None else nanos[q])
                    q = req.get("memory")
                    mreq_a(None if q is None else whole[q])
                    q = lim.get("memory")
                    mlim_a(None if q is None else whole[q])
    return pl.DataFrame(cols, schema=_SPEC_SCHEMA)


def usage_vs_requests(usage: pl.DataFrame, specs: pl.DataFrame) -> pl.DataFrame:
    """Join per-container usage with the pod specs (pure; see :meth:`MetricsServer.usage_vs_requests`).

    ``usage`` has ``namespace, pod, container, timestamp, window_s, cpu_cores, memory_bytes``;
    ``specs`` is :meth:`MetricsServer.pod_specs`. Containers without a request or limit get
    null (not zero) in the corresponding column and ratio; rows whose pod is missing from
    ``specs`` (deleted between the two reads) have ``spec_found`` false.

    Examples
    --------
    >>> import polars as pl
    >>> usage = pl.DataFrame({"namespace": ["a"], "pod": ["p"], "container": ["c"],
    ...                       "cpu_cores": [0.5], "memory_bytes": [100]})
    >>> specs = pl.DataFrame({"namespace": ["a"], "pod": ["p"], "container": ["c"],
    ...                       "cpu_request_cores": [0.25], "memory_request_bytes": [None]},
    ...                      schema_overrides={"memory_request_bytes": pl.Int64})
    >>> out = usage_vs_requests(usage, specs)
    >>> out["cpu_request_ratio"].to_list(), out["memory_request_ratio"].to_list()
    ([2.0], [None])
    """
    keys = ["namespace", "pod", "container"]
    spec_cols = [c for c in specs.columns if c not in keys]
    joined = usage.join(specs.with_columns(pl.lit(True).alias("_found")), on=keys, how="left")
    out = joined.with_columns(spec_found=pl.col("_found").fill_null(False)).drop("_found")
    ratios = []
    for res, unit, usage_col in (("cpu", "cores", "cpu_cores"), ("memory", "bytes", "memory_bytes")):
        for kind in ("request", "limit"):
            col = f"{res}_{kind}_{unit}"
            if col in out.columns:
                denom = pl.col(col).cast(pl.Float64)
                ratios.append(pl.when(denom > 0).then(pl.col(usage_col).cast(pl.Float64) / denom)
                              .otherwise(None).alias(f"{res}_{kind}_ratio"))
    front = list(usage.columns)
    return out.with_columns(ratios).select(
        front + [c for c in spec_cols if c in out.columns] + ["spec_found"]
        + [r.meta.output_name() for r in ratios])


# -- kubectl rendering (pure) -----------------------------------------------------------------------


def _tabwriter(rows: list[list[str]]) -> str:
    """Go text/tabwriter as kubectl configures it (min width 6, padding 3).

    kubectl terminates every cell with a tab, so the last column is padded too: lines end in
    blanks, exactly as ``kubectl top`` prints them.
    """
    if not rows:
        return ""
    widths = [0] * max(len(r) for r in rows)
    for r in rows:
        for i, cell in enumerate(r):
            widths[i] = max(widths[i], len(cell))
    widths = [max(w + 3, 6) for w in widths]
    return "".join(
        "".join(cell.ljust(widths[i]) for i, cell in enumerate(r)) + "\n" for r in rows)


def _cpu_cell(cores: float | None) -> str:
    if cores is None:
        return "<unknown>"
    nanos = round(cores * _NANO)  # exact: cores came from whole nanocores
    return f"{-(-nanos // 1_000_000)}m"


def _mem_cell(num_bytes: int | None) -> str:
    return "<unknown>" if num_bytes is None else f"{num_bytes // 2**20}Mi"


def render_top_nodes(frame: pl.DataFrame, *, no_headers: bool = False) -> str:
    """Render a :meth:`MetricsServer.top_nodes` frame as ``kubectl top node`` prints it.

    Examples
    --------
    >>> import polars as pl
    >>> f = pl.DataFrame({"node": ["n1"], "cpu_cores": [0.1375], "cpu_percent": [3],
    ...                   "memory_bytes": [1886375936], "memory_percent": [11]})
    >>> print(render_top_nodes(f), end="")  # doctest: +NORMALIZE_WHITESPACE
    NAME   CPU(cores)   CPU(%)   MEMORY(bytes)   MEMORY(%)
    n1     138m         3%       1798Mi          11%
    """
    rows = [] if no_headers else [["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]]
    for r in frame.iter_rows(named=True):
        if r["cpu_cores"] is None:
            rows.append([r["node"]] + ["<unknown>"] * 4)
            continue
        pct = [("" if p is None else f"{p}%") for p in (r["cpu_percent"], r["memory_percent"])]
        rows.append([r["node"], _cpu_cell(r["cpu_cores"]), pct[0], _mem_cell(r["memory_bytes"]),
                     pct[1]])
    return _tabwriter(rows)


def render_top_pods(frame: pl.DataFrame, *, no_headers: bool = False,
                    all_namespaces: bool | None = None) -> str:
    """Render a :meth:`MetricsServer.top_pods` frame as ``kubectl top pod [-A] [--containers]``.

    The NAMESPACE column appears when the frame spans several namespaces (or when
    ``all_namespaces`` says so); with a ``container`` column the layout is ``POD NAME ...``.
    """
    if frame.height == 0:  # kubectl prints nothing (and "No resources found" on stderr)
        return ""
    if all_namespaces is None:
        all_namespaces = frame["namespace"].n_unique() > 1
    containers = "container" in frame.columns
    header = (["NAMESPACE"] if all_namespaces else []) + (["POD"] if containers else []) + [
        "NAME", "CPU(cores)", "MEMORY(bytes)"]
    rows = [] if no_headers else [header]
    for r in frame.iter_rows(named=True):
        rows.append(([r["namespace"]] if all_namespaces else [])
                    + ([r["pod"], r["container"]] if containers else [r["pod"]])
                    + [_cpu_cell(r["cpu_cores"]), _mem_cell(r["memory_bytes"])])
    return _tabwriter(rows)


def _kubectl_percent(usage_milli: pl.Expr, available_milli: pl.Expr) -> pl.Expr:
    """``int64(float64(usage.MilliValue()) / float64(available.MilliValue()) * 100)``."""
    ratio = usage_milli.cast(pl.Float64) / available_milli.cast(pl.Float64) * 100.0
    return (pl.when(available_milli == 0).then(pl.lit(0, pl.Int64))
            .otherwise(ratio.cast(pl.Int64, strict=False)))


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
        self.api_client = api_client
        self.timeout = timeout
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
        import yaml
        from kubernetes import client as k8s_client
        from kubernetes import config as k8s_config

        env = os.environ if environ is None else environ
        source = "path="
        if path is None:
            path = env.get("KUBECONFIG") or "~/.kube/config"
            source = "$KUBECONFIG" if env.get("KUBECONFIG") else "the default location"
        paths = [str(Path(p).expanduser()) for p in str(path).split(os.pathsep) if p]
        existing = [p for p in paths if os.path.isfile(p)]
        if not existing:
            msg = (
                f"No kubeconfig found at {', '.join(paths) or repr(path)} (from {source}). Fix: "
                "pass path= to the file, set KUBECONFIG, or inside a pod use "
                "MetricsServer.in_cluster()."
            )
            raise ConfigError(msg)
        joined = os.pathsep.join(existing)
        try:
            contexts, current = k8s_config.list_kube_config_contexts(config_file=joined)
        except (k8s_config.ConfigException, OSError, ValueError, TypeError,
                yaml.YAMLError) as exc:
            if isinstance(exc, yaml.YAMLError):  # never echo file content: it may hold secrets
                mark = getattr(exc, "problem_mark", None)
                where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
                detail = f"not valid YAML{where}"
            else:
                detail = str(exc)
            msg = f"Cannot read the kubeconfig {joined}: {detail}. Fix: check the file is " \
                  "valid YAML with clusters, users and contexts (`kubectl config view`)."
            raise ConfigError(msg) from None
        names = [c.get("name") for c in contexts or []]
        if context is not None and context not in names:
            msg = (
                f"The kubeconfig {joined} has no context {context!r} (known: "
                f"{', '.join(map(str, names)) or 'none'}). Fix: pass one of those, or check "
                "`kubectl config get-contexts`."
            )
            raise ConfigError(msg)
        if context is None:
            if not current:
                msg = (f"The kubeconfig {joined} sets no current-context (known: "
                       f"{', '.join(map(str, names)) or 'none'}). Fix: pass context=..., or run "
                       "`kubectl config use-context NAME`.")
                raise ConfigError(msg)
            context = current["name"]
        configuration = k8s_client.Configuration()
        try:
            k8s_config.load_kube_config(config_file=joined, context=context,
                                        client_configuration=configuration,
                                        persist_config=False)
        except (k8s_config.ConfigException, OSError, ValueError, TypeError) as exc:
            msg = f"Cannot load context {context!r} from {joined}: {exc}. Fix: check its " \
                  "cluster server URL and user credentials (`kubectl --context " \
                  f"{context} get --raw /version`)."
            raise ConfigError(msg) from None
        return cls(k8s_client.ApiClient(configuration), timeout=timeout, context=context,
                   **kwargs)

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
        from kubernetes import client as k8s_client
        from kubernetes import config as k8s_config
        from kubernetes.config.incluster_config import InClusterConfigLoader

        env = dict(os.environ if environ is None else environ)
        configuration = k8s_client.Configuration()
        try:
            InClusterConfigLoader(token_filename=str(token_path), cert_filename=str(ca_path),
                                  environ=env).load_and_set(configuration)
        except k8s_config.ConfigException as exc:
            msg = (
                f"In-cluster configuration failed: {exc}. Fix: run inside a pod with a service "
                "account (KUBERNETES_SERVICE_HOST/PORT set and the token mounted at "
                f"{token_path}), or use MetricsServer.from_kubeconfig()."
            )
            raise ConfigError(msg) from None
        return cls(k8s_client.ApiClient(configuration), timeout=timeout, context="in-cluster",
                   **kwargs)

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
            cause = _short_cause(exc)
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
        server_msg = str(body.get("message") or getattr(exc, "reason", "") or "")[:300]
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
        t0 = _time.perf_counter()
        for _ in range(10_000):
            kwargs = {k: v for k, v in params.items() if v is not None}
            if cont:
                kwargs["_continue"] = cont
            try:
                resp = call(_preload_content=False, _request_timeout=self.timeout, **kwargs)
                body = resp.data
            except (ApiException, Urllib3Error, OSError) as exc:
                raise self._error(exc, verb=verb, resource=resource, group=group,
                                  namespace=namespace, name=name) from None
            bodies.append(body)
            cont = None
            # Servers page only when asked (limit=) and put metadata before items, so an
            # unpaged answer is recognised without a second parse of a large body.
            if name is None and ("limit" in kwargs or b'"continue"' in body[:400]):
                meta = orjson.loads(body).get("metadata") or {}
                cont = meta.get("continue") or None
            if not cont:
                break
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
        return _finish(self._raw_nodes(label_selector, name))

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
            return _finish(raw)
        return _finish(_sum_pods(raw))

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
        return _finish_specs(raw)

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
        if count < 1:
            msg = f"count must be at least 1, got {count!r}."
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


def _finish_specs(raw: pl.DataFrame) -> pl.DataFrame:
    out = raw.with_columns(
        _div(raw, "_cpu_req_n", _NANO, "cpu_request_cores"),
        _div(raw, "_cpu_lim_n", _NANO, "cpu_limit_cores"),
    ).drop("_cpu_req_n", "_cpu_lim_n")
    return out.select("namespace", "pod", "container", "node", "phase", "owner_kind",
                      "owner_name", "qos_class", "cpu_request_cores", "cpu_limit_cores",
                      "memory_request_bytes", "memory_limit_bytes")


def top_nodes_frame(raw: pl.DataFrame, specs: pl.DataFrame, *, show_capacity: bool = False,
                    sort_by: str | None = None) -> pl.DataFrame:
    """kubectl's node view from decoded metrics (exact columns) and decoded Node specs."""
    den = "cap" if show_capacity else "alloc"
    label = "capacity" if show_capacity else "allocatable"
    specs = specs.select("node", pl.col(f"_{den}_cpu_m").alias("_avail_cpu_m"),
                         pl.col(f"_{den}_mem_m").alias("_avail_mem_m"))
    joined = raw.join(specs, on="node", how="left")
    cpu_milli = (pl.col("_cpu_n") + 999_999) // 1_000_000  # MilliValue(): round up
    out = joined.with_columns(
        cpu_percent=_kubectl_percent(cpu_milli, pl.col("_avail_cpu_m")),
        memory_percent=_kubectl_percent(pl.col("_mem_m"), pl.col("_avail_mem_m")),
        _sort_cpu=cpu_milli,
        _sort_mem=(pl.col("_mem_m") + 999) // 1000,
    )
    if sort_by == "cpu":
        out = out.sort(["_sort_cpu", "node"], descending=[True, False])
    elif sort_by == "memory":
        out = out.sort(["_sort_mem", "node"], descending=[True, False])
    elif sort_by is None:
        out = out.sort("node")
    else:
        msg = f"sort_by must be 'cpu', 'memory' or None, got {sort_by!r}."
        raise ConfigError(msg)
    missing = specs.join(raw.select("node"), on="node", how="anti").sort("node")
    out = pl.concat([out, missing], how="diagonal_relaxed")
    out = out.with_columns(
        _div(out, "_avail_cpu_m", 1000, f"cpu_{label}_cores"),
        ((pl.col("_avail_mem_m") + 999) // 1000).alias(f"memory_{label}_bytes"),
    )
    return _finish(out).select("node", "timestamp", "window_s", "cpu_cores", "memory_bytes",
                               f"cpu_{label}_cores", f"memory_{label}_bytes", "cpu_percent",
                               "memory_percent")


def top_pods_frame(raw: pl.DataFrame, *, containers: bool = False,
                   sort_by: str | None = None) -> pl.DataFrame:
    """kubectl's pod view from decoded container metrics (exact sums, kubectl's ordering)."""
    pods = _sum_pods(raw)
    order = pods.with_columns(
        _cpu_m=(pl.col("_cpu_n") + 999_999) // 1_000_000,
        _mem_b=(pl.col("_mem_m") + 999) // 1000,
    )
    if sort_by == "cpu":
        order = order.sort("_cpu_m", descending=True, maintain_order=True)
    elif sort_by == "memory":
        order = order.sort("_mem_b", descending=True, maintain_order=True)
    elif sort_by is None:
        order = order.sort("namespace", "pod")
    else:
        msg = f"sort_by must be 'cpu', 'memory' or None, got {sort_by!r}."
        raise ConfigError(msg)
    if not containers:
        return _finish(order.drop("_cpu_m", "_mem_b"))
    rank = order.select("namespace", "pod").with_row_index("_rank")
    ctr = raw.join(rank, on=["namespace", "pod"]).with_columns(
        _cpu_m=(pl.col("_cpu_n") + 999_999) // 1_000_000,
        _mem_b=(pl.col("_mem_m") + 999) // 1000,
    )
    if sort_by == "cpu":
        ctr = ctr.sort(["_rank", "_cpu_m"], descending=[False, True], maintain_order=True)
    elif sort_by == "memory":
        ctr = ctr.sort(["_rank", "_mem_b"], descending=[False, True], maintain_order=True)
    else:
        ctr = ctr.sort("_rank", "container")
    return _finish(ctr.drop("_rank", "_cpu_m", "_mem_b"))

