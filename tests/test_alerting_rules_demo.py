"""`backtest_rules` on the demo's Prometheus: every rule it runs plus the kube-prometheus-stack-shaped
fixtures, equal to one `backtest` per rule; failing rules carry their error, fetches are shared."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

from workbench import Prometheus, backtest
from workbench._errors import WorkbenchError
from workbench.analysis.alerting import Rule, backtest_rules, load_rules

pytestmark = pytest.mark.server

DATA = Path(__file__).parent / "data" / "rules"


class CountingPrometheus(Prometheus):
    """The real client, remembering which expressions went to query_range."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fetched: list[str] = []

    def query_range(self, expr: str, *args: Any, **kwargs: Any) -> pl.DataFrame:
        self.fetched.append(expr)
        return super().query_range(expr, *args, **kwargs)


def test_backtest_rules_equals_one_backtest_per_rule(small_demo: dict[str, Any]) -> None:
    h = small_demo["gt"]["history"]
    start, end = h["start_s"] + 600, h["end_s"]
    with CountingPrometheus(small_demo["eps"]["prometheus"]) as prom:
        rules = load_rules(prom) + load_rules(DATA) + [
            Rule(alert="BrokenPromQL", expr="rate(up[5m] > 1", group="extra"),
            Rule(alert="LoadAbove2", expr='node_load1{job="node-exporter"} > 2', for_="5m",
                 group="extra"),
        ]
        assert len(rules) == 6 + 10 + 2
        results: dict[int, Any] = {}
        frame = backtest_rules(prom, rules, start, end, "1m", results=results)
        shared = list(prom.fetched)
        assert frame.height == len(rules)
        assert frame["alert"].to_list() == [r.alert for r in rules]
        # NodeHighLoad (> 3), LoadAbove2 (> 2) and the demo's NodeLoadFlapping share one fetch.
        assert shared.count('node_load1{job="node-exporter"}') == 1
        assert len(shared) < len(rules)
        errors = dict(frame.filter(pl.col("error").is_not_null()).select("alert", "error").rows())
        assert set(errors) == {"BrokenPromQL", "NodeHighLoad", "KubePersistentVolumeFillingUp"}
        assert "reReplaceAll" in errors["NodeHighLoad"]              # label outside the subset
        assert "QueryError" in errors["BrokenPromQL"]
        compared = 0
        for pos, rule in enumerate(rules):
            row = frame.row(pos, named=True)
            try:
                one = backtest(prom, rule, start, end, "1m")
            except WorkbenchError as exc:
                assert row["error"] is not None and str(exc) in row["error"]
                continue
            assert row["error"] is None, row
            expected = one.summary().row(0, named=True)
            assert {k: row[k] for k in expected} == expected, rule.alert
            mine = results[pos].episodes
            # no alerts: the left-hand side's label columns may exist where the condition's don't
            assert mine.equals(one.episodes) or mine.height == one.episodes.height == 0
            assert row["group"] == rule.group and row["severity"] == rule.labels.get("severity")
            assert row["advice"] == one.advice
            compared += 1
        assert compared == len(rules) - 3
    fired = dict(frame.select("alert", "alerts_fired").rows())
    assert fired["Watchdog"] == 1 and fired["NodeExporterDown"] == 1
    assert fired["NodeExporterTargetDown"] == fired["NodeExporterDown"]   # the same condition
    assert fired["LoadAbove2"] >= fired["NodeLoadFlapping"] > 0
