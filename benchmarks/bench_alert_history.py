"""Alert history and Alertmanager simulation over 30 days of 5,000 alert identities.

Three months, built in memory as raw ``ALERTS`` and ``ALERTS_FOR_STATE`` samples exactly as
Prometheus writes them at a 1m evaluation interval (the fetch is the foundation's raw
range-selector reads, see bench_decode):

* *mixed* (:func:`make_samples`): 25 alert names, episodes with exponential gaps (mean 2 days)
  and durations (mean 40 min, some pending-only), four ``for:`` values;
* *typical* and *noisy*: ``bench_alertmanager``'s episodes (each identity fires every 3-30
  days, or every 10 h-5 days) turned into samples (:func:`samples_from_episodes`).

Timed per month: history = samples -> episodes (:func:`workbench.alert_history.episodes_from_samples`:
volatile-label detection, joins, gaps, restarts) + summaries + heat map; simulation =
:func:`workbench.alertmanager.simulate` of those episodes (10s / 1m / 5m, Slack receiver with
send_resolved), counts only (``detail=False``) and with alert lists and Slack text.

Target: history + simulation under 10 s (``--quick``: 500 identities, 7 days). Measured
2026-11-26 on 2 cores shared with other helpers (load average 3.4-4.9), wall, history + counts /
+ text: mixed 3.9 / 6.2 s, typical 1.2 / 2.4 s, noisy 8.0 / 23.0 s (at load 9-12: 2.5-5x
longer). Before the per-group simulation engine: mixed 21.4 s with text (load 2.6).
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


def samples_from_episodes(ep: pl.DataFrame, end_ms: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Raw ``ALERTS`` / ``ALERTS_FOR_STATE`` samples (1m) of an episodes frame (the months of
    bench_alertmanager): one sample per minute from ``active_at`` up to ``resolved_at`` (or the
    window's end), ``pending`` before ``fired_at``."""
    ms = ep.select(pl.col("active_at", "fired_at", "resolved_at").dt.epoch("ms"))
    a = ms["active_at"].to_numpy()
    f = ms["fired_at"].to_numpy()
    e = ms["resolved_at"].fill_null(end_ms).to_numpy()
    n = (e - a) // STEP_MS
    row = np.repeat(np.arange(ep.height), n)
    t = np.repeat(a, n) + (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)) * STEP_MS
    labels = ep.drop("active_at", "fired_at", "resolved_at")[row]
    frame = labels.with_columns(
        pl.Series("timestamp", t).cast(pl.Datetime("ms", "UTC")),
        pl.Series("value", np.ones(len(t))),
        pl.Series("alertstate", np.where(t >= np.repeat(f, n), "firing", "pending")))
    for_state = frame.drop("alertstate").with_columns(
        value=pl.Series(np.repeat(a, n) / 1000.0))
    return frame, for_state


def _measure(label: str, alerts: pl.DataFrame, for_state: pl.DataFrame, end_ms: int,
             config: str) -> None:
    from workbench import alert_history
    from workbench.analysis.alertmanager import AlertmanagerConfig, simulate

    print(f"[{label}] {alerts.height:,} ALERTS samples")
    t0, c0 = time.perf_counter(), time.process_time()
    ep = alert_history.episodes_from_samples(alerts, for_state, end_ms=end_ms)
    summary = alert_history.alert_summary(ep)
    alert_history.alert_summary(ep, ("severity",))
    alert_history.heatmap(ep)
    t_hist, c_hist = time.perf_counter() - t0, time.process_time() - c0
    print(f"  history: {ep.height:,} episodes, {int(ep['fired_at'].is_not_null().sum()):,} "
          f"fired, {summary.height} alert names in {t_hist:.2f} s ({c_hist:.2f} s CPU)")
    cfg = AlertmanagerConfig.from_yaml(config)
    t0, c0 = time.perf_counter(), time.process_time()
    notes = simulate(ep, cfg, end=end_ms / 1000, detail=False)
    t_sim, c_sim = time.perf_counter() - t0, time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    full = simulate(ep, cfg, end=end_ms / 1000)
    t_full, c_full = time.perf_counter() - t0, time.process_time() - c0
    assert full.height == notes.height
    print(f"  simulation: {notes.height:,} notifications in {t_sim:.2f} s ({c_sim:.2f} s CPU); "
          f"with alert lists and Slack text {t_full:.2f} s ({c_full:.2f} s CPU)")
    for what, wall, cpu in (("counts", t_hist + t_sim, c_hist + c_sim),
                            ("with Slack text", t_hist + t_full, c_hist + c_full)):
        print(f"  history + simulation ({what}): {wall:.2f} s wall, {cpu:.2f} s CPU "
              f"(target < 10 s) -> {'OK' if wall < 10 else 'SLOW'}")


def main(quick: bool = False) -> None:
    from benchmarks.bench_alertmanager import CONFIG as SEED_CONFIG
    from benchmarks.bench_alertmanager import make_episodes

    n, days = (500, 7) if quick else (5000, 30)
    end_ms = T0_MS + days * 1440 * STEP_MS
    print(f"{n:,} identities x {days} days at 1m; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs")
    alerts, for_state = make_samples(n, days)
    _measure("mixed: exponential gaps (mean 2 days), pending-only episodes, 4 for: values",
             alerts, for_state, end_ms, CONFIG)
    for label, gaps in (("typical: each identity fires every 3 to 30 days",
                         (3 * 1440, 10 * 1440, 30 * 1440)),
                        ("noisy: each identity fires every 10 h to 5 days", (600, 2000, 8000))):
        ep = make_episodes(n, days, gaps_min=gaps).with_columns(
            pl.col("active_at").dt.offset_by("0m"))
        alerts, for_state = samples_from_episodes(ep, end_ms)
        del ep
        _measure(label, alerts, for_state, end_ms, SEED_CONFIG)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
