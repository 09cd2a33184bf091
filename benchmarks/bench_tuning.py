"""Threshold tuner: the cost of one slider move after the single fetch.

Input: bench_backtest's frame (1,000 series x 20,160 steps, 14 days at 1m; ``--quick``: 100 x
20,160, about the demo's size x 20) already on the evaluation grid. Timed per interaction, as the
tuner does it: ``Tuning.evaluate`` (comparison + identities + state machine + summary + incident
score) for a new threshold and ``for``, ``episode_bands`` and the chart spec; then the heat map
(12 thresholds x 8 ``for`` values; recomputed only when the rule or ``keep_firing_for`` changes).
Target: well under 1 s per interaction at the demo's size (5 series). The Alertmanager
simulation (the Slack counter) scales with the alerts fired, not with the series: see
bench_alertmanager.

Run: ``python -m benchmarks tuning [--quick]``.
"""

from __future__ import annotations

import time

import numpy as np
import polars as pl

from .bench_backtest import STEP_MS, make_frame


def main(quick: bool = False) -> None:
    from workbench.analysis.alerting import Rule
    from workbench.analysis.alerting.identity import series_matrix
    from workbench.analysis.alerting.tuning import Tuning, episode_bands
    from workbench.charts.tuning import heatmap_chart, tuning_chart

    tuning_chart(pl.DataFrame({"timestamp": [], "series": [], "value": []}), pl.DataFrame(
        {"start": [], "end": [], "state": [], "alert": []}), threshold=1, title="warm-up")
    for n_series in ((5, 100) if quick else (5, 100, 1000)):
        frame, t = make_frame(n_series, 20_160)
        m = series_matrix(frame, t)
        rule = Rule(alert="HighCPU", expr="node_cpu_utilisation", op=">", threshold=0.9,
                    for_="5m", labels={"severity": "warning"})
        inc = pl.DataFrame({"start": [t[100] // 1000], "end": [t[400] // 1000],
                            "instance": ["node-0000:9100"]})
        from workbench.analysis.alerting import load_incidents

        tuning = Tuning(rule, m, STEP_MS, load_incidents(inc))
        series = tuning.series()                       # once per rule
        times = []
        for thr, f in [(0.9, "5m"), (0.85, "10m"), (0.8, "2m"), (0.9, "0s"), (0.92, "15m")]:
            t0 = time.perf_counter()
            tuned = tuning.evaluate(thr, f)
            bands = episode_bands(tuned.result)
            tuning_chart(series, bands, threshold=thr, title="x").to_dict(validate=False)
            times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        heat = tuning.heatmap()
        heatmap_chart(heat, current=(0.9, 300.0)).to_dict(validate=False)
        heat_s = time.perf_counter() - t0
        print(f"{n_series:>5} series x 20,160 steps: slider move median "
              f"{np.median(times) * 1000:.0f} ms (max {max(times) * 1000:.0f} ms), "
              f"{tuned.figures['alerts_fired']} alerts; heat map {heat.height} cells "
              f"{heat_s:.2f} s")
