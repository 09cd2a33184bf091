"""Prometheus's own capacity: ingestion, bytes per sample, disk growth, what retention costs.

``bytes_per_sample`` comes from the compaction histograms when the server exposes them
(``prometheus_tsdb_compaction_chunk_size_bytes_sum / ..._chunk_samples_sum``, increases over the
window), else from the growth of the persisted blocks over the samples appended in the same
window (valid while retention has not started deleting), else it is unknown. Disk per day =
samples/s x bytes per sample x 86,400 (the Prometheus storage documentation's sizing rule).

Examples
--------
>>> st = pl.DataFrame({"samples_per_s": [1000.0], "head_series": [30000.0],
...     "blocks_bytes": [5e8], "wal_bytes": [1e8], "blocks_growth": [1.2e9],
...     "appended": [1e9], "chunk_bytes": [None], "chunk_samples": [None]},
...     schema_overrides={"chunk_bytes": pl.Float64, "chunk_samples": pl.Float64})
>>> r = storage_capacity(st, retention_size=10 * 2**30, retention_days=5)
>>> r["bytes_per_sample"], round(r["days_fit"], 2), r["bytes_per_sample_source"]
(1.2, 103.56, 'blocks growth / samples appended')
"""

from __future__ import annotations

from typing import Any

import polars as pl

from .usage import CapacityUsage

__all__ = ["storage_capacity"]

GIB = 1024**3


def storage_capacity(usage: CapacityUsage | pl.DataFrame, retention_size: float = 10 * GIB,
                     retention_days: float = 5.0) -> dict[str, Any]:
    """The figures (a dict): ``samples_per_s``, ``head_series``, ``bytes_per_sample`` (+ its
    source), ``growth_bytes_per_day``, ``days_fit`` (in ``retention_size``), ``retention_bytes``
    (what ``retention_days`` costs), ``retention_fits``, ``blocks_bytes``, ``wal_bytes``.
    Values are None when Prometheus does not scrape itself."""
    st = usage.storage if isinstance(usage, CapacityUsage) else usage
    row = st.row(0, named=True) if st.height else {}
    rate = row.get("samples_per_s")
    bps, src = None, None
    if row.get("chunk_bytes") and row.get("chunk_samples"):
        bps, src = row["chunk_bytes"] / row["chunk_samples"], "compaction chunk histograms"
    elif row.get("blocks_growth") and row.get("appended") and row["blocks_growth"] > 0:
        bps, src = row["blocks_growth"] / row["appended"], "blocks growth / samples appended"
    per_day = rate * bps * 86400 if rate and bps else None
    return {
        "samples_per_s": rate, "head_series": row.get("head_series"),
        "bytes_per_sample": bps, "bytes_per_sample_source": src,
        "growth_bytes_per_day": per_day,
        "days_fit": retention_size / per_day if per_day else None,
        "retention_size": float(retention_size), "retention_days": float(retention_days),
        "retention_bytes": per_day * retention_days if per_day else None,
        "retention_fits": (per_day * retention_days <= retention_size) if per_day else None,
        "blocks_bytes": row.get("blocks_bytes"), "wal_bytes": row.get("wal_bytes"),
    }
