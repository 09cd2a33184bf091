"""Wire decoders: metrics.k8s.io and core/v1 list bodies -> raw frames with exact integer columns.

Quantities stay exact (nanocores, milli-bytes) until the frame shaping in :mod:`.shape` divides
them once; bodies are decoded with orjson, never through the client's model classes.
"""



from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import orjson
import polars as pl

from ..._errors import MetricsServerError, QuantityError, WorkbenchError
from ..._quantity import parse_go_duration, scaled_value
from ..._runtime import gc_paused
from ...frames import TIMESTAMP

__all__ = ["decode_node_metrics", "decode_nodes", "decode_pod_metrics", "decode_pod_specs"]

_NANO = 1_000_000_000





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


_F = TypeVar("_F", bound=Callable[..., pl.DataFrame])


def _checked(what: str) -> Callable[[_F], _F]:
    """Turn a body of the wrong shape (a missing field, a number where text belongs, ...) into
    a :class:`MetricsServerError` that names the field, instead of a raw Python error."""
    def wrap(fn: _F) -> _F:
        @functools.wraps(fn)
        def inner(bodies: list[bytes]) -> pl.DataFrame:
            try:
                return fn(bodies)
            except QuantityError as exc:
                problem = f"a quantity is not valid ({str(exc)[:160]})"
            except WorkbenchError:
                raise
            except KeyError as exc:
                problem = f"an item lacks the field {exc.args[0]!r}"
            except (TypeError, AttributeError, ValueError, IndexError, OverflowError,
                    pl.exceptions.PolarsError) as exc:
                problem = f"an item has a field of the wrong type or value ({type(exc).__name__}: " \
                          f"{str(exc)[:120]})"
            msg = (f"The Kubernetes API answered a malformed {what}: {problem}. Fix: check the "
                   "API server (or the proxy in front of it) and metrics-server's version.")
            raise MetricsServerError(msg) from None
        return inner  # type: ignore[return-value]
    return wrap


@_checked("NodeMetrics list")
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
                usage = it["usage"]  # no usage is not zero usage: a missing field is an error
                names.append(it["metadata"]["name"])
                ts.append(ts_cache[it["timestamp"]])
                win.append(win_cache[it.get("window") or "0s"])
                cpu.append(_cpu_nanos(usage["cpu"]))
                mem.append(_mem_millis(usage["memory"]))
    return pl.DataFrame(
        {"node": names, "timestamp": ts, "window_s": win, "_cpu_n": cpu, "_mem_m": mem},
        schema={"node": pl.String, "timestamp": pl.Int64, "window_s": pl.Float64,
                "_cpu_n": pl.Int64, "_mem_m": pl.Int64},
    ).with_columns(pl.col("timestamp").cast(TIMESTAMP))


@_checked("PodMetrics list")
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
                    usage = c["usage"]
                    nss.append(ns)
                    pods.append(name)
                    ctrs.append(c["name"])
                    ts.append(t)
                    win.append(w)
                    cpu.append(_cpu_nanos(usage["cpu"]))
                    mem.append(_mem_millis(usage["memory"]))
    return pl.DataFrame(
        {"namespace": nss, "pod": pods, "container": ctrs, "timestamp": ts, "window_s": win,
         "_cpu_n": cpu, "_mem_m": mem},
        schema={"namespace": pl.String, "pod": pl.String, "container": pl.String,
                "timestamp": pl.Int64, "window_s": pl.Float64, "_cpu_n": pl.Int64,
                "_mem_m": pl.Int64},
    ).with_columns(pl.col("timestamp").cast(TIMESTAMP))


@_checked("Node list")
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


@_checked("Pod list")
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
