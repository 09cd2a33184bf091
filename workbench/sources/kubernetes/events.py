"""Kubernetes Events (``/api/v1/events``) as a workload-events frame.

The frame is the one :mod:`workbench.events` builds from kube-state-metrics and kubelet metrics,
so live Events and the metric history can be shown and filtered together. Kubernetes keeps
Events for about an hour (``--event-ttl``); older history comes from the metrics.

Columns (:data:`EVENT_SCHEMA`)
------------------------------
``source``
    ``kubernetes`` here; ``kube-state-metrics`` or ``kubelet`` for events derived from metrics.
``type``
    ``Warning`` or ``Normal``.
``reason``
    ``BackOff``, ``Failed``, ``OOMKilled``, ``CrashLoopBackOff``, ``PVCUsageHigh``, ...
``namespace``, ``kind``, ``name``, ``container``
    The object (``Pod``, ``PersistentVolumeClaim``, ``Node``); ``container`` when known.
``first_seen``, ``last_seen``
    :data:`~workbench.frames.TIMESTAMP`.
``count``
    Occurrences between first and last seen.
``value``
    A figure behind the event (PVC used ratio, restarts), null when none.
``message``
    Human-readable text.

Examples
--------
>>> body = b'''{"items": [{"metadata": {"namespace": "web"}, "type": "Warning",
...   "reason": "BackOff", "involvedObject": {"kind": "Pod", "name": "api-1",
...   "fieldPath": "spec.containers{api}"}, "count": 7,
...   "firstTimestamp": "2026-01-05T08:00:00Z", "lastTimestamp": "2026-01-05T08:30:00Z",
...   "message": "Back-off restarting failed container api"}]}'''
>>> decode_events([body]).select("reason", "name", "container", "count").row(0)
('BackOff', 'api-1', 'api', 7)
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import orjson
import polars as pl

from ..._errors import KubeAPIError
from ...frames import TIMESTAMP

if TYPE_CHECKING:
    from .client import MetricsServer

__all__ = ["EVENT_SCHEMA", "decode_events", "empty_events", "fetch_kube_events"]

#: Columns of every workload-events frame.
EVENT_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(), "type": pl.String(), "reason": pl.String(), "namespace": pl.String(),
    "kind": pl.String(), "name": pl.String(), "container": pl.String(),
    "first_seen": TIMESTAMP, "last_seen": TIMESTAMP, "count": pl.Int64(),
    "value": pl.Float64(), "message": pl.String(),
}
_FIELD_CONTAINER = re.compile(r"spec\.(?:init|ephemeral)?[cC]ontainers\{([^}]*)\}")


def empty_events() -> pl.DataFrame:
    """An events frame with no rows."""
    return pl.DataFrame(schema=EVENT_SCHEMA)


def _time(ev: dict[str, Any], *keys: str) -> str | None:
    for k in keys:
        v = (ev.get("series") or {}).get("lastObservedTime") if k == "series" else ev.get(k)
        if isinstance(v, str) and v:
            return v
    return None


def decode_events(bodies: list[bytes]) -> pl.DataFrame:
    """core/v1 EventList bodies -> an events frame (``source="kubernetes"``)."""
    try:
        rows = [row for body in bodies for row in _event_rows(body)]
        frame = pl.DataFrame(rows, schema={**EVENT_SCHEMA, "first_seen": pl.String,
                                           "last_seen": pl.String})
    except (orjson.JSONDecodeError, AttributeError, TypeError, ValueError, OverflowError,
            pl.exceptions.PolarsError) as exc:
        msg = (f"The Kubernetes API answered the events list with a body that is not an "
               f"EventList ({type(exc).__name__}: {exc!s:.80}). Fix: check that the kubeconfig "
               "points at a Kubernetes API server, not a proxy or login page.")
        raise KubeAPIError(msg, verb="list", resource="events", group="") from None
    if not rows:
        return empty_events()
    return frame.with_columns(
        pl.col("first_seen", "last_seen").str.to_datetime(time_zone="UTC", time_unit="ms",
                                                          strict=False).cast(TIMESTAMP)
    ).sort("last_seen", descending=True, nulls_last=True)


def _event_rows(body: bytes) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    doc = orjson.loads(body)
    for ev in doc.get("items") or []:
        obj = ev.get("involvedObject") or ev.get("regarding") or {}
        meta = ev.get("metadata") or {}
        m = _FIELD_CONTAINER.search(obj.get("fieldPath") or "")
        first = _time(ev, "firstTimestamp", "eventTime", "lastTimestamp")
        last = _time(ev, "lastTimestamp", "series", "eventTime", "firstTimestamp")
        series = ev.get("series") or {}
        count = ev.get("count") or series.get("count") or 1
        rows.append({
            "source": "kubernetes", "type": ev.get("type") or "Normal",
            "reason": ev.get("reason") or "", "namespace": obj.get("namespace")
            or meta.get("namespace"), "kind": obj.get("kind"), "name": obj.get("name"),
            "container": m.group(1) if m else None, "first_seen": first, "last_seen": last,
            "count": int(count), "value": None,
            "message": str(ev.get("message") or "").strip()})
    return rows


def fetch_kube_events(ms: MetricsServer, namespace: str | None = None, *,
                      field_selector: str | None = None,
                      warnings_only: bool = False) -> pl.DataFrame:
    """Live Kubernetes Events through ``ms``'s API client (``kubectl get events``), newest first.

    Parameters
    ----------
    ms
        A :class:`~workbench.MetricsServer` (its kubeconfig, timeout, paging and error messages).
    namespace
        One namespace, or all.
    field_selector
        Passed to the API server, e.g. ``"involvedObject.kind=Pod"``.
    warnings_only
        Only ``type=Warning`` events (filtered here: not every server supports the field).

    Raises
    ------
    KubeAPIError
        (and its subclasses) when the API server cannot be reached or refuses the list.
    """
    from kubernetes.client import CoreV1Api

    api = CoreV1Api(ms.api_client)
    common: dict[str, Any] = {"verb": "list", "resource": "events", "group": "",
                              "namespace": namespace, "limit": ms.chunk_size,
                              "field_selector": field_selector}
    if namespace:
        bodies = ms._fetch(lambda **kw: api.list_namespaced_event(namespace, **kw), **common)
    else:
        bodies = ms._fetch(api.list_event_for_all_namespaces, **common)
    out = decode_events(bodies)
    return out.filter(pl.col("type") == "Warning") if warnings_only else out
