"""Alertmanager notification simulation speed on a month of alert history.

Input: 5,000 alert identities (``alertname`` x ``job`` x ``instance``, 50 jobs) over 30 days on a
1m evaluation grid, each with episodes of random length (median ~20 min) separated by random
quiet spells (``--quick``: 1,000 identities x 7 days). Routed through the seed's routing
(``group_by: [job]``, 10s / 1m / 5m, one Slack receiver with ``send_resolved``) and through
kube-prometheus's timers (30s / 5m / 12h) with :func:`what_if`; messages per day per receiver
follow. Two months are simulated: *typical* (each identity fires every 3 to 30 days) and
*noisy* (every 10 h to 5 days). Target: under 10 s at full size together with the history
(``bench_alert_history`` times both).

Without inhibit rules or time intervals ``simulate`` runs the per-group engine
(``fastpath.py``); the event engine (``dispatcher.py``, what runs otherwise) is timed beside it
on the same input as the peer, and the frames are checked equal.

Measured 2026-11-26 on 2 cores shared with other helpers (load average 8-13, so CPU seconds;
wall was 3-5x), counts (``detail=False``), event engine -> per-group engine: typical 3.49 ->
0.55 s, noisy 22.45 -> 3.35 s; with alert lists and Slack text: typical 5.62 -> 1.96 s, noisy
45.07 -> 22.66 s (rendering the distinct messages is what is left). History + simulation
against the 10 s target: ``bench_alert_history``.

Run: ``python -m benchmarks alertmanager [--quick]``.
"""

from __future__ import annotations

import os
import time
from unittest import mock

import numpy as np
import polars as pl

from workbench.analysis.alertmanager import (
    AlertmanagerConfig,
    fastpath,
    messages_per_day,
    simulate,
    what_if,
)

T0_MS = 1_767_225_600_000
MIN_MS = 60_000
CONFIG = """
global: {slack_api_url: "http://127.0.0.1:1/slack"}
route:
  receiver: slack
  group_by: [job]
  group_wait: 10s
  group_interval: 1m
  repeat_interval: 5m
  routes:
    - matchers: ['severity="critical"']
      receiver: pager
      continue: true
receivers:
  - name: slack
    slack_configs:
      - send_resolved: true
        title: '[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}'
        text: "*Description:* {{ .CommonAnnotations.description }}"
  - name: pager
    webhook_configs: [{url: "http://127.0.0.1:1/pager"}]
"""


def make_episodes(n_ident: int, days: int, seed: int = 0,
                  gaps_min: tuple[float, ...] = (600, 2000, 8000)) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    span = days * 1440
    rows: dict[str, list[object]] = {k: [] for k in ("alertname", "job", "instance", "severity",
                                                     "active_at", "fired_at", "resolved_at")}
    names = [f"Alert{i}" for i in range(40)]
    for i in range(n_ident):
        t = int(rng.integers(0, 1440))
        mean_gap = float(rng.choice(gaps_min))
        while t < span:
            length = int(rng.lognormal(3.0, 1.0)) + 1
            fire = t + 5
            if fire < span:
                end = fire + length
                rows["alertname"].append(names[i % 40])
                rows["job"].append(f"job{i % 50}")
                rows["instance"].append(f"host{i}")
                rows["severity"].append("critical" if i % 10 == 0 else "warning")
                rows["active_at"].append(T0_MS + t * MIN_MS)
                rows["fired_at"].append(T0_MS + fire * MIN_MS)
                rows["resolved_at"].append(T0_MS + end * MIN_MS if end < span else None)
                t = end
            t += int(rng.exponential(mean_gap)) + 1
    return pl.DataFrame(rows).with_columns(
        pl.col("active_at", "fired_at", "resolved_at").cast(pl.Datetime("ms", "UTC")))


def _run(label: str, ep: pl.DataFrame, cfg: AlertmanagerConfig) -> float:
    t0 = time.perf_counter()
    seed = simulate(ep, cfg)
    t_seed = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    counts = simulate(ep, cfg, detail=False)
    t_counts, c_counts = time.perf_counter() - t0, time.process_time() - c0
    # the peer: the event engine (what simulate runs with inhibit rules or time intervals)
    t0, c0 = time.perf_counter(), time.process_time()
    with mock.patch.object(fastpath, "applies", return_value=False):
        events = simulate(ep, cfg, detail=False)
    t_events, c_events = time.perf_counter() - t0, time.process_time() - c0
    t0 = time.perf_counter()
    kube = what_if(ep, cfg, group_wait="30s", group_interval="5m", repeat_interval="12h",
                   detail=False)
    t_kube = time.perf_counter() - t0
    assert counts.height == seed.height
    assert events.equals(counts)
    per_day = messages_per_day(seed)
    print(f"[{label}] {ep.height:,} episodes")
    print(f"  simulate, seed 10s/1m/5m, with alerts and Slack text: {t_seed:.2f} s, "
          f"{seed.height:,} messages ({per_day['messages'].mean():.0f} per receiver-day)")
    print(f"  simulate, counts only (detail=False): {t_counts:.2f} s ({c_counts:.2f} s CPU); "
          f"event engine {t_events:.2f} s ({c_events:.2f} s CPU, "
          f"{c_events / max(c_counts, 1e-9):.1f}x the CPU), same frame")
    print(f"  what_if kube-prometheus 30s/5m/12h, counts only: {t_kube:.2f} s, "
          f"{kube.height:,} messages")
    return t_counts


def main(quick: bool = False) -> None:
    n_ident, days = (1_000, 7) if quick else (5_000, 30)
    cfg = AlertmanagerConfig.from_yaml(CONFIG)
    print(f"input: {n_ident:,} identities x {days} days; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    _run("typical: each identity fires every 3 to 30 days", make_episodes(
        n_ident, days, gaps_min=(3 * 1440, 10 * 1440, 30 * 1440)), cfg)
    t = _run("noisy: each identity fires every 10 h to 5 days", make_episodes(n_ident, days),
             cfg)
    if not quick:
        print(f"target: under 10 s (counts, noisy; history + simulation in "
              f"bench_alert_history): {'met' if t < 10 else 'MISSED'}")
