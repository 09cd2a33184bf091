"""Series with exactly known values, backfilled into the test Prometheus.

Every value is a closed-form function of the sample index, so tests can assert exact numbers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from workbench.testing.openmetrics import OpenMetricsWriter

#: 2026-01-01T00:00:00Z, the first sample of every series.
BASE_S = 1_767_225_600
SCRAPE_S = 15
#: Two days of 15 s samples for the long series (enough for a 1 s step range to need 3+ chunks).
LONG_N = 2 * 86_400 // SCRAPE_S
MANY_SERIES = 1_000
MANY_N = 240  # one hour
COUNTER_RATES = {"a": 1.0, "b": 2.5, "c": 0.125}
GAP = (BASE_S + 3_600, BASE_S + 3_600 + 1_800)  # 30 min without samples in wb_gappy
WEIRD_LABEL = '<script>alert(1)</script> "quoted" \\ },"values":[ ünïcode'


def gauge_value(i: int, k: int) -> float:
    """wb_gauge{i} at sample k."""
    return i * 1000.0 + k * 0.5


def counter_value(rate: float, k: int) -> float:
    """wb_requests_total{path} at sample k: grows by rate per second."""
    return rate * k * SCRAPE_S


def many_value(idx: int, k: int) -> float:
    return float(idx) + k / 1000.0


def write(path: Path) -> int:
    """Write the test OpenMetrics file; returns the number of samples."""
    ks = np.arange(LONG_N)
    ts = BASE_S + ks * SCRAPE_S
    with path.open("w") as fh:
        w = OpenMetricsWriter(fh)
        w.family("wb_gauge", "gauge", "Gauge i*1000 + k/2.")
        for i in range(3):
            w.series("wb_gauge", {"i": str(i), "job": "test"}, ts.astype(float),
                     np.array([gauge_value(i, k) for k in ks.tolist()]))
        w.family("wb_requests", "counter", "Counter with a constant rate.")
        for path_label, rate in COUNTER_RATES.items():
            w.series("wb_requests_total", {"path": path_label, "job": "test"}, ts.astype(float),
                     np.array([counter_value(rate, k) for k in ks.tolist()]))
        w.family("wb_gappy", "gauge", "Gauge with a 30 minute hole.")
        keep = (ts < GAP[0]) | (ts >= GAP[1])
        w.series("wb_gappy", {"job": "test"}, ts[keep].astype(float), np.ones(int(keep.sum())))
        w.family("wb_special", "gauge", "NaN, +Inf, -Inf and tiny values.")
        special = np.array([np.nan, np.inf, -np.inf, 1e-05, -0.0, 1.5e300])
        w.series("wb_special", {"job": "test"}, (BASE_S + np.arange(6) * SCRAPE_S).astype(float),
                 special)
        w.family("wb_weird", "gauge", "A label value that needs escaping.")
        w.series("wb_weird", {"job": "test", "label": WEIRD_LABEL}, ts[:240].astype(float),
                 np.full(240, 7.0))
        w.family("wb_many", "gauge", "Many series.")
        mts = (BASE_S + np.arange(MANY_N) * SCRAPE_S).astype(float)
        for idx in range(MANY_SERIES):
            w.series("wb_many", {"idx": f"{idx:04d}", "job": "test", "group": str(idx % 7)}, mts,
                     np.array([many_value(idx, k) for k in range(MANY_N)]))
        w.close()
        return w.samples_written
