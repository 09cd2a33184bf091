"""``workbench query`` prints one line per series in PromQL syntax (not a polars table whose
dozens of label columns wrap into fragments on a terminal), against a real Prometheus."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from . import promdata as pd

CLI = [str(Path(sys.executable).with_name("workbench")), "query"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120,
                          check=False)


def test_instant_query_prints_each_series_with_its_value(prom_url: str) -> None:
    at = str(pd.BASE_S + 100 * pd.SCRAPE_S)
    res = _run("-P", prom_url, f"wb_gauge @ {at}")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].startswith("3 series at ") and lines[0].endswith(" UTC")  # evaluated now
    assert lines[1].split() == ["value", "series"]
    want = {f'wb_gauge{{i="{i}", job="test"}}': pd.gauge_value(i, 100) for i in range(3)}
    got = {line.split(maxsplit=1)[1]: float(line.split(maxsplit=1)[0]) for line in lines[2:]}
    assert got == want


def test_range_query_prints_points_and_statistics_per_series(prom_url: str) -> None:
    t0, t1 = pd.BASE_S, pd.BASE_S + 600
    res = _run("-P", prom_url, 'rate(wb_requests_total{path="b"}[1m])', "--start", str(t0),
               "--end", str(t1), "--step", "60")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].startswith("1 series x 10 samples")          # the first step has no rate
    assert lines[1].split() == ["points", "min", "mean", "max", "last", "series"]
    points, lo, mean, hi, last, series = lines[2].split(maxsplit=5)
    assert int(points) == 10 and series == '{job="test", path="b"}'
    assert {float(lo), float(mean), float(hi), float(last)} == {pd.COUNTER_RATES["b"]}


def test_no_series_says_so_and_csv_keeps_every_sample(prom_url: str) -> None:
    res = _run("-P", prom_url, "wb_no_such_metric")
    assert res.returncode == 0 and res.stdout.startswith("empty result: no series matched")
    at = str(pd.BASE_S + 100 * pd.SCRAPE_S)
    csv = _run("-P", prom_url, f"wb_gauge @ {at}", "--csv")
    assert csv.stdout.splitlines()[0] == "timestamp,value,__name__,i,job"
    assert len(csv.stdout.splitlines()) == 4
