"""A real Prometheus evaluating, every second, an alert whose label templates ``$value``: a new
identity at every evaluation (each old one ended by a staleness marker). The history collapses
them into the one alert it is, and the label is reported as volatile; a second alert that resolves
and fires again gives two episodes."""

from __future__ import annotations

import time
from pathlib import Path

import polars as pl
import pytest

from workbench import Prometheus, alert_history
from workbench.testing.servers import start_prometheus

from .conftest import require_binary

pytestmark = pytest.mark.server

RULES = """\
groups:
  - name: volatile
    interval: 1s
    rules:
      - alert: CounterHigh
        expr: floor(vector(time()) % 100000)
        labels:
          severity: warning
          reading: "{{ $value }}"
      - alert: EveryOtherFiveSeconds
        expr: floor(vector(time()) % 10) < 5
        labels:
          severity: info
"""


def test_value_label_and_flaps_from_a_live_prometheus(tmp_path: Path) -> None:
    require_binary("prometheus")
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES)
    config = (f"global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
              f"rule_files: [{str(rules)!r}]\n")
    server = start_prometheus(tmp_path / "tsdb", config_text=config)
    try:
        with Prometheus(server.url) as prom:
            t0 = prom.now() / 1000
            time.sleep(16)
            deadline = time.monotonic() + 90  # a busy machine: rule evaluation may start late
            while True:
                h = alert_history.fetch_alert_history(prom, t0 - 1, "now")
                raw = prom.query(
                    f'ALERTS{{alertname="CounterHigh"}}[{int(time.time() - t0) + 2}s]')
                fired = h.episodes.filter(pl.col("alertname") == "EveryOtherFiveSeconds")
                if ((fired.height >= 2 and raw.height and raw["reading"].n_unique() >= 8)
                        or time.monotonic() > deadline):
                    break
                time.sleep(2)
    finally:
        server.stop()
    assert raw["reading"].n_unique() >= 8  # Prometheus wrote a new identity every second
    assert h.volatile == {"CounterHigh": ["reading"]}
    counter = h.episodes.filter(pl.col("alertname") == "CounterHigh")
    assert counter.height == 1
    assert counter["resolved_at"].to_list() == [None]
    flaps = h.episodes.filter(pl.col("alertname") == "EveryOtherFiveSeconds").sort("active_at")
    assert flaps.height >= 2  # 5 s firing, 5 s resolved: CounterHigh kept writing meanwhile
    gaps = (flaps["active_at"][1:] - flaps["resolved_at"][:-1]).dt.total_seconds().to_list()
    assert all(4 <= g <= 6 for g in gaps), gaps
