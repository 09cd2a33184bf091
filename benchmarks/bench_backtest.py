"""Backtest and sweep speed, and the cost per series-step beside promtool's on the same input.

Input: a query_range-shaped frame (workbench schema: timestamp, value, __name__, instance, job)
built in memory, 1,000 series x 20,160 steps (14 days at 1m; ``--quick``: 1,000 x 5,040), with
regime switches around the threshold, 0.5% missing evaluations and 0.1% NaN. The fetch is not
timed (it is the foundation's query_range; see bench_decode); everything after it is:

* backtest = pivot onto the grid + comparison + identities + state machine + episodes + summary
  (target: under 1 s at full size);
* sweep = 20 thresholds x 5 ``for`` values from the same matrix (target: under 10 s);
* peer: ``promtool test rules`` (Prometheus 2.42's rule manager) on a 50-series x 2,000-step
  slice of the same data with the same rule and a single check, so its time is the rule
  evaluation itself; both costs are printed per series-step.

Run: ``python -m benchmarks backtest [--quick]``.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

T0_MS = 1_767_225_600_000
STEP_MS = 60_000


def make_frame(n_series: int, n_steps: int, seed: int = 0) -> tuple[pl.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    flips = rng.random((n_series, n_steps)) < 0.004
    regime = np.cumsum(flips, axis=1) % 2
    values = np.where(regime == 1, 0.95, 0.6) + rng.normal(0, 0.03, (n_series, n_steps))
    values = np.round(values, 3)
    values[rng.random(values.shape) < 0.001] = np.nan
    present = rng.random(values.shape) >= 0.005
    t = T0_MS + np.arange(n_steps, dtype=np.int64) * STEP_MS
    sid, step = np.nonzero(present)
    frame = pl.DataFrame({
        "timestamp": pl.Series(t[step]).cast(pl.Datetime("ms", "UTC")),
        "value": values[sid, step],
        "__name__": pl.Series(["node_cpu_utilisation"] * sid.size, dtype=pl.String),
        "instance": pl.Series([f"node-{i:04d}:9100" for i in range(n_series)])[sid],
        "job": pl.Series(["node-exporter"] * sid.size, dtype=pl.String),
    })
    return frame, t


def _best(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _promtool_seconds(frame: pl.DataFrame, t: np.ndarray, rule, n_series: int,
                      n_steps: int) -> float | None:
    """promtool on the first ``n_series`` x ``n_steps``, checked at the last step against the
    backtester's answer there (so the run is also a correctness check)."""
    from workbench.analysis.alerting import backtest_matrix
    from workbench.analysis.alerting.export import promtool_test_document, rule_file_text
    from workbench.analysis.alerting.identity import SeriesMatrix, series_matrix
    from workbench.analysis.alerting.promtool import test_rules
    from workbench.analysis.alerting.promtool_test import expected_checks, input_series

    if shutil.which("promtool") is None:
        print("promtool not installed (sudo apt-get install -y prometheus): peer skipped")
        return None
    m = series_matrix(frame, t)
    sub = SeriesMatrix(t[:n_steps] - t[0], m.labels[:n_series], m.values[:n_series, :n_steps],
                       m.present[:n_series, :n_steps])
    bt = backtest_matrix(sub, rule, STEP_MS)
    labels = [{k: v for k, v in r.items() if v is not None}
              for r in sub.labels.iter_rows(named=True)]
    alert_checks, _ = expected_checks(rule, bt.alerts, sub, bt.raw_episodes, sub.eval_times_ms,
                                      template_labels=labels, steps=[n_steps - 1])
    with tempfile.TemporaryDirectory(prefix="bench-backtest-") as d:
        Path(d, "rules.yml").write_text(rule_file_text([rule], group="bench", check=False))
        doc = promtool_test_document(rule_files=["rules.yml"], interval_ms=STEP_MS,
                                     input_series=input_series(sub), alert_checks=alert_checks)
        path = Path(d, "test.yml")
        path.write_text(doc)
        t0 = time.perf_counter()
        test_rules(path)          # raises if promtool disagrees with the backtester
        return time.perf_counter() - t0


def main(quick: bool) -> None:
    from workbench.analysis.alerting import Rule, backtest_matrix, sweep_matrix
    from workbench.analysis.alerting.identity import series_matrix

    n_series, n_steps = 1_000, 5_040 if quick else 20_160
    frame, t = make_frame(n_series, n_steps)
    rule = Rule(alert="NodeHighCPU", expr="node_cpu_utilisation", op=">", threshold=0.9,
                for_="10m", keep_firing_for="2m", labels={"severity": "warning"},
                annotations={"summary": "{{ $labels.instance }} CPU high"})
    print(f"input: {n_series} series x {n_steps} steps = {n_series * n_steps:,} series-steps, "
          f"{frame.height:,} samples")

    def run() -> object:
        m = series_matrix(frame, t)
        bt = backtest_matrix(m, rule, STEP_MS)
        bt.summary()
        return bt.episodes

    secs, episodes = _best(run, 3)
    per_step_ns = secs / (n_series * n_steps) * 1e9
    print(f"backtest after fetch: {secs:.3f} s ({per_step_ns:.1f} ns per series-step), "
          f"{episodes.height:,} episodes (target < 1 s at 1,000 x 20,160: "  # type: ignore[attr-defined]
          f"{'met' if secs < 1 or quick else 'MISSED'})")
    secs_pivot, m = _best(lambda: series_matrix(frame, t), 3)
    secs_eval, _ = _best(lambda: backtest_matrix(m, rule, STEP_MS).episodes, 3)  # type: ignore[arg-type]
    print(f"  of which pivot onto the grid {secs_pivot:.3f} s, rule evaluation + episodes "
          f"{secs_eval:.3f} s (best of 3 each)")

    m = series_matrix(frame, t)
    thresholds = [round(0.8 + 0.01 * i, 2) for i in range(20)]
    fors = ["0s", "2m", "5m", "10m", "15m"]
    secs_sweep, grid = _best(lambda: sweep_matrix(m, rule, thresholds, fors, interval_ms=STEP_MS),
                             1)
    print(f"sweep 20 thresholds x 5 for: {secs_sweep:.3f} s, {grid.height} rows "  # type: ignore[attr-defined]
          f"(target < 10 s: {'met' if secs_sweep < 10 else 'MISSED'})")

    ps, pt = 50, 2_000
    secs_pt = _promtool_seconds(frame, t, rule, ps, pt)
    if secs_pt is not None:
        pt_ns = secs_pt / (ps * pt) * 1e9
        print(f"promtool test rules on {ps} x {pt} of the same data (agrees at the last step): "
              f"{secs_pt:.2f} s "
              f"({pt_ns / 1000:.1f} us per series-step)")
        print(f"per series-step: workbench {per_step_ns:.1f} ns vs promtool {pt_ns:.0f} ns "
              f"-> workbench is {pt_ns / per_step_ns:.0f}x faster")
