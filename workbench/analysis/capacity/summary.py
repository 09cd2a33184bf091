"""The capacity report's headline figures (what the report index shows).

Examples
--------
>>> key_figures.__name__
'key_figures'
"""

from __future__ import annotations

from typing import Any

import polars as pl

from .checks import flags, overcommit
from .forecast import forecast
from .recommend import savings
from .storage import storage_capacity
from .usage import CapacityUsage

__all__ = ["key_figures"]


def key_figures(usage: CapacityUsage, recs: pl.DataFrame, *,
                cpu_core_hour: float | None = None, memory_gib_hour: float | None = None,
                retention_size: float = 10 * 1024**3, retention_days: float = 5.0
                ) -> dict[str, Any]:
    """Cores/GiB reclaimable, workloads flagged, days to N-1 exhaustion, retention days that fit.

    Every value is a plain number, ready for ``report.record(...)``; a figure that cannot be
    computed (no prices, no crossing, no retention size) is left out.
    """
    sv: dict[str, Any] = savings(recs, cpu_core_hour, memory_gib_hour).row(0, named=True)
    fl = flags(usage)
    oc = overcommit(usage)
    fc = forecast(usage)
    n1 = fc.filter(pl.col("series") == "requests", pl.col("line") == "n_minus_1")
    days = n1["days"].drop_nulls()
    st = storage_capacity(usage, retention_size, retention_days)
    cpu_ratio = oc.filter(pl.col("resource") == "cpu")["requests_ratio"][0]
    figures = {
        "cores_reclaimable": round(float(sv["reclaimable_cpu_cores"]), 2),
        "gib_reclaimable": round(float(sv["reclaimable_memory_gib"]), 2),
        "money_per_month": None if sv["total_per_month"] is None
        else round(float(sv["total_per_month"]), 2),
        "workloads_flagged": fl.select(pl.struct("namespace", "workload_kind", "workload")
                                       .n_unique()).item() if fl.height else 0,
        "days_to_n_minus_1": None if days.is_empty() else round(float(days.to_numpy().min()), 1),
        "cpu_requests_of_n_minus_1": None if cpu_ratio is None else round(float(cpu_ratio), 3),
        "retention_days_fit": None if st["days_fit"] is None else round(st["days_fit"], 1),
    }
    return {k: v for k, v in figures.items() if v is not None}
