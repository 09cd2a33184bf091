"""Alert history and Alertmanager simulation over 30 days of 5,000 alert identities.

Input, built in memory (the fetch is the foundation's raw range-selector reads, see
bench_decode): 5,000 identities of 25 alert names at a 1m evaluation interval over 30 days; each
identity has episodes with exponential gaps (mean 2 days) and durations (mean 40 min, some
pending-only), so about 2 % of identity-minutes are active — raw ``ALERTS`` and
``ALERTS_FOR_STATE`` samples exactly as Prometheus writes them. Timed:

* history = samples -> episodes (:func:`workbench.alert_history.episodes_from_samples`:
  volatile-label detection, joins, gaps, restarts) + summaries + heat map;
* simulation = :func:`workbench.alertmanager.simulate` of those episodes through a
  kube-prometheus-style route tree (group_by alertname/namespace, 10s / 1m / 5m like the demo's
  seed, Slack receiver with send_resolved).

Target: history + simulation under 10 s (``--quick``: 500 identities, 7 days).
Run: ``python -m benchmarks alert_history [--quick]``.
"""

from __future__ import annotations

import os
import time

import numpy as np
import polars as pl

T0_MS = 1_767_225_600_000
STEP_MS = 60_000
CONFIG = """
global: {slack_api_url: "http://127.0.0.1:1/"}
route:
  receiver: slack
  group_by: [alertname, namespace]
  group_wait: 10s
  group_interval: 1m
  repeat_interval: 5m
  routes:
    - {receiver: pager, matchers: ['severity="critical"'], continue: true}
receivers:
  - {name: slack, slack_configs: [{send_resolved: true}]}
  - {name: pager, slack_configs: [{send_resolved: true}]}
"""


def make_samples(n_ident: int, days: float, seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    steps = int(days * 1440)
    rows_i, rows_s, rows_e = [], [], []
    for i in range(n_ident):
        t = int(rng.exponential(2 * 1440))
        while t < steps:
            d = max(1, int(rng.exponential(40)))
            rows_i.append(i)
            rows_s.append(t)
            rows_e.append(min(steps, t + d))
            t += d + 1 + int(rng.exponential(2 * 1440))
    idx = np.array(rows_i)
    s = np.array(rows_s)
    e = np.array(rows_e)
    n = e - s
    rep_i = np.repeat(idx, n)
    step = np.repeat(s, n) + (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n))
    active = np.repeat(s, n)
    for_steps = (idx % 4) * 5  # for: 0m / 5m / 10m / 15m
    state = np.where(step - active >= np.repeat(for_steps, n), "firing", "pending")
    names = np.array([f"Alert{k:02d}" for k in range(25)])
    sev = np.array(["warning", "critical", "info"])
    frame = pl.DataFrame({
        "timestamp": T0_MS + step * STEP_MS,
        "value": np.ones(len(step)),
        "alertname": names[rep_i % 25],
        "alertstate": state,
        "namespace": np.char.add("ns-", (rep_i % 40).astype(str)),
        "pod": np.char.add("pod-", rep_i.astype(str)),
        "severity": sev[rep_i % 3],
    }).with_columns(pl.col("timestamp").cast(pl.Datetime("ms", "UTC")))
    for_state = frame.drop("alertstate").with_columns(
        value=pl.Series((T0_MS + active * STEP_MS) / 1000.0))
    return frame, for_state


def main(quick: bool = False) -> None:
    from workbench import alert_history
    from workbench.analysis.alertmanager import AlertmanagerConfig, simulate

    n, days = (500, 7.0) if quick else (5000, 30.0)
    alerts, for_state = make_samples(n, days)
    end_ms = T0_MS + int(days * 1440) * STEP_MS
    print(f"{n:,} identities, {days:g} days at 1m: {alerts.height:,} ALERTS samples")
    t0, c0 = time.perf_counter(), time.process_time()
    ep = alert_history.episodes_from_samples(alerts, for_state, end_ms=end_ms)
    summary = alert_history.alert_summary(ep)
    alert_history.alert_summary(ep, ("severity",))
    alert_history.heatmap(ep)
    t_hist, c_hist = time.perf_counter() - t0, time.process_time() - c0
    print(f"history: {ep.height:,} episodes, {int(ep['fired_at'].is_not_null().sum()):,} fired, "
          f"{summary.height} alert names in {t_hist:.2f} s ({c_hist:.2f} s CPU)")
    cfg = AlertmanagerConfig.from_yaml(CONFIG)
    t0, c0 = time.perf_counter(), time.process_time()
    notes = simulate(ep, cfg, end=end_ms / 1000)
    t_sim, c_sim = time.perf_counter() - t0, time.process_time() - c0
    print(f"simulation: {notes.height:,} notifications in {t_sim:.2f} s ({c_sim:.2f} s CPU)")
    total = t_hist + t_sim
    print(f"history + simulation: {total:.2f} s wall, {c_hist + c_sim:.2f} s CPU "
          f"(target < 10 s) -> {'OK' if total < 10 else 'SLOW'}; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
