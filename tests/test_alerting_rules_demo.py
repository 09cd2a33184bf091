"""`backtest_rules` on the demo's Prometheus: every rule it runs plus the kube-prometheus-stack-shaped
fixtures, equal to one `backtest` per rule; failing rules carry their error, fetches are shared."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

from workbench import Prometheus, backtest, sweep
from workbench._errors import WorkbenchError
from workbench.analysis.alerting import (
    Rule,
    backtest_rules,
    incident_score,
    incidents_from_ground_truth,
    load_incidents,
    load_rules,
    threshold_rule,
)

pytestmark = pytest.mark.server

DATA = Path(__file__).parent / "data" / "rules"
FIXTURES = [DATA / f for f in (
    "general-list.yaml", "kube-prometheus-stack.yaml", "node-exporter.rules.yml")]


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
        rules = load_rules(prom) + load_rules(FIXTURES) + [
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


def test_backtest_rules_lets_each_matrix_go(small_demo: dict[str, Any],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Each fetched matrix is backtested as it arrives and let go: with 2 workers at most 3 are
    alive at any time over 8 distinct fetches (gathered first, all 8 were), and the rows are
    the same as with every matrix held."""
    import threading
    import weakref

    from workbench.analysis.alerting import batch

    h = small_demo["gt"]["history"]
    start, end = h["start_s"] + 600, h["end_s"]
    alive: list[weakref.ref[Any]] = []
    peak = [0]
    lock = threading.Lock()
    real = batch.fetch_matrix

    def counting(*args: Any, **kwargs: Any) -> Any:
        m = real(*args, **kwargs)
        with lock:
            alive.append(weakref.ref(m))
            peak[0] = max(peak[0], sum(r() is not None for r in alive))
        return m

    rules = [Rule(alert=f"Load{i}", expr=f'node_load1{{job="node-exporter"}} + {i} > 3',
                  for_="2m", group="g") for i in range(8)]
    with Prometheus(small_demo["eps"]["prometheus"]) as prom:
        held: dict[int, Any] = {}
        expected = backtest_rules(prom, rules, start, end, "1m", max_workers=2, results=held)
        monkeypatch.setattr(batch, "fetch_matrix", counting)
        frame = backtest_rules(prom, rules, start, end, "1m", max_workers=2)
    assert len(alive) == 8 and len(held) == 8
    assert 1 <= peak[0] <= 3, peak
    assert frame.equals(expected)
    # a higher sum is above 3 at a superset of the steps, so it fires at a superset too
    firing = frame["firing_s"].to_list()
    assert firing == sorted(firing) and firing[-1] > firing[0] > 0, firing


def test_incident_scores_on_the_demo_ground_truth(small_demo: dict[str, Any],
                                                  tmp_path: Path) -> None:
    gt = small_demo["gt"]
    h = gt["history"]
    start, end = h["start_s"] + 600, h["end_s"]
    incidents = incidents_from_ground_truth(gt)
    sc = gt["scenarios"]
    assert incidents.height == (1 + len(sc["oom_kills"]["times_s"]) + 1 + 1
                                + len(sc["cpu_throttling"]["pods"])
                                + len(sc["flapping_alert"]["windows_s"]))
    # Incidents that start before the rules first run (or too close to the end) are left out.
    inside = incidents.filter(pl.col("start").dt.epoch("s").is_between(start, end - 600))
    csv = tmp_path / "incidents.csv"
    inside.with_columns(pl.col("start", "end").dt.to_string("%Y-%m-%dT%H:%M:%SZ")).write_csv(csv)
    assert load_incidents(csv).equals(inside)
    with Prometheus(small_demo["eps"]["prometheus"]) as prom:
        rules = {r.alert: r for r in load_rules(prom)}
        scores = {name: incident_score(backtest(prom, rule, start, end, "1m"), csv)
                  for name, rule in rules.items()}
        flap = threshold_rule(rules["NodeLoadFlapping"])
        ranked = sweep(prom, flap, thresholds=[flap.threshold * 0.5, flap.threshold,
                                              flap.threshold * 3], for_=["0s", "2m", "30m"],
                       start=start, end=end, incidents=csv)
        one = incident_score(backtest(prom, flap.with_(threshold=flap.threshold * 0.5),
                                      start, end, "1m"), csv)
    nd = scores["NodeExporterDown"]
    assert nd.figures["incidents"] == nd.figures["incidents_caught"] == 1
    assert 300 <= nd.figures["max_delay_s"] < 300 + 120                 # for: 5m
    assert nd.figures["alerts_outside"] == 0 and nd.outside.height == 0
    oom = scores["KubeContainerOOMKilled"]
    assert oom.figures["incidents"] >= 2 and oom.figures["incidents_missed"] == 0
    assert oom.figures["max_delay_s"] < 120 and oom.figures["alerts_outside"] == 0
    fl = scores["NodeLoadFlapping"]
    n_windows = inside.filter(pl.col("alertname") == "NodeLoadFlapping").height
    assert n_windows >= 1 and fl.figures["incidents_caught"] == n_windows
    assert fl.incidents["caught"].all() and (fl.incidents["delay_s"] >= 120).all()   # for: 2m
    assert fl.figures["alerts_outside"] == 0
    # The sweep ranks variants by the same figures an individual score gives.
    assert ranked["rank"].to_list() == list(range(1, 10))
    best = ranked.row(0, named=True)
    assert best["incidents_missed"] == 0 and best["alerts_outside"] == 0
    assert ranked["incidents_missed"].is_sorted()
    low = ranked.filter((pl.col("threshold") == flap.threshold * 0.5) & (pl.col("for_s") == 120))
    for k in ("incidents_caught", "incidents_missed", "alerts_outside", "median_delay_s"):
        assert low[k][0] == one.figures[k], k
    assert one.figures["alerts_outside"] > 0          # half the threshold fires outside windows
    slow = ranked.filter((pl.col("threshold") == flap.threshold) & (pl.col("for_s") == 1800))
    assert slow["incidents_missed"][0] > 0            # for: 30m outlasts every flap


def test_incident_score_warns_when_the_rule_matches_no_incident(
        small_demo: dict[str, Any]) -> None:
    """The docs' `NodeDown` rule: the planted node-down incident is meant for `NodeExporterDown`,
    so scoring it as named warns (naming both) instead of silently reporting 0 incidents; the
    documented fix (`alertname=`) scores the planted incident."""
    gt = small_demo["gt"]
    h = gt["history"]
    incidents = incidents_from_ground_truth(gt)
    rule = Rule(alert="NodeDown", expr='up{job="node-exporter"} == 0', for_="5m")
    with Prometheus(small_demo["eps"]["prometheus"]) as prom:
        bt = backtest(prom, rule, h["start_s"] + 600, h["end_s"], "1m")
    with pytest.warns(UserWarning, match=r"'NodeDown'.*'NodeExporterDown'.*alertname="):
        blind = incident_score(bt, incidents, grace="5m")
    assert blind.figures["incidents"] == 0
    score = incident_score(bt, incidents, grace="5m", alertname="NodeExporterDown")
    assert score.figures["incidents"] == score.figures["incidents_caught"] == 1
    assert 300 <= score.figures["max_delay_s"] < 300 + 120                # for: 5m
