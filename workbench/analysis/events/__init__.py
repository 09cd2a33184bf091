"""kwatch-style workload events with history (public as ``workbench.events``).

* :mod:`.occurrences` — series samples -> occurrences -> event rows (pure);
* :mod:`.fetch` — :func:`fetch_workload_events` (crash loops, image pull errors, OOM kills and
  other terminations, restart bursts, failed/pending pods, PVCs over a threshold) from
  kube-state-metrics and kubelet metrics, and :func:`pvc_usage`;
* live Kubernetes Events in the same frame: :func:`fetch_kube_events` (from
  :mod:`workbench.sources.kubernetes.events`).

Examples
--------
>>> from workbench import Prometheus, events
>>> events.fetch_workload_events(Prometheus("demo"), "now-7d")  # doctest: +SKIP
"""

from __future__ import annotations

from ...sources.kubernetes.events import EVENT_SCHEMA, decode_events, empty_events, fetch_kube_events
from .fetch import QUERIES, fetch_workload_events, pvc_usage
from .occurrences import fold, occurrences, restart_bursts

__all__ = [
    "EVENT_SCHEMA",
    "QUERIES",
    "decode_events",
    "empty_events",
    "fetch_kube_events",
    "fetch_workload_events",
    "fold",
    "occurrences",
    "pvc_usage",
    "restart_bursts",
]
