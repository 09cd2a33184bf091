"""The capacity report's data layer: requests, limits, usage and allocatable from container to
cluster; right-sizing, overcommit, throttling, OOM kills, forecasts and Prometheus's own storage.

Public as ``workbench.capacity`` (``from workbench import capacity``). Modules, one concern each:

* ``queries``: the PromQL (one query per metric family, statistics computed by Prometheus);
* ``fetch``: :func:`fetch_usage` (network) -> :class:`CapacityUsage`;
* ``usage``: the bundle and the pure shaping (owner chains -> workloads);
* ``recommend``: :func:`recommend` (KRR's simple strategy) and :func:`savings`;
* ``checks``: :func:`flags`, :func:`worst_flags`, :func:`overcommit`, :func:`quota_use`,
  :func:`quota_overcommit`;
* ``forecast``: :func:`forecast` (trend crossings), :func:`pack` (first-fit decreasing);
* ``storage``: :func:`storage_capacity` (Prometheus's disk);
* ``summary``: :func:`key_figures` (the report's headline).
"""

from __future__ import annotations

from .checks import (
    FLAGS,
    SEVERITY,
    Thresholds,
    flags,
    overcommit,
    quota_overcommit,
    quota_use,
    worst_flags,
)
from .fetch import DEFAULT_PERCENTILES, fetch_usage
from .forecast import forecast, pack, pack_recommendations
from .recommend import STRATEGIES, recommend, savings
from .storage import storage_capacity
from .summary import key_figures
from .usage import CapacityUsage, resolve_workloads

__all__ = [
    "DEFAULT_PERCENTILES",
    "FLAGS",
    "SEVERITY",
    "STRATEGIES",
    "CapacityUsage",
    "Thresholds",
    "fetch_usage",
    "flags",
    "forecast",
    "key_figures",
    "overcommit",
    "pack",
    "pack_recommendations",
    "quota_overcommit",
    "quota_use",
    "recommend",
    "resolve_workloads",
    "savings",
    "storage_capacity",
    "worst_flags",
]
