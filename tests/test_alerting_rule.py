"""Rule, comparisons, templates, advice and export; exported files validated by real promtool."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml

from workbench import AlertRuleError, MissingBinaryError, PromtoolError, Rule
from workbench.analysis.alerting import backtest_matrix, evaluation_grid, sweep_matrix
from workbench.analysis.alerting.advice import advice
from workbench.analysis.alerting.compare import format_threshold, passes
from workbench.analysis.alerting.export import promtool_test_document, rule_file_text, selector
from workbench.analysis.alerting.identity import series_matrix
from workbench.analysis.alerting.lookback import instant_vector, lookback_closed
from workbench.analysis.alerting.promtool import check_rules_text, test_rules
from workbench.analysis.alerting.templates import go_float, humanize, render

from .conftest import require_binary

NAN = float("nan")


# -- Rule ------------------------------------------------------------------------------------

def test_condition_parenthesises_only_when_needed() -> None:
    def cond(expr: str) -> str:
        return Rule(alert="A", expr=expr, op=">", threshold=0.5).condition

    assert cond("up") == "up > 0.5"
    assert cond('node_load1{job="node"}') == 'node_load1{job="node"} > 0.5'
    assert cond("rate(x_total[5m])") == "rate(x_total[5m]) > 0.5"
    assert cond("a / b") == "(a / b) > 0.5"
    assert cond("sum by (job) (x)") == "(sum by (job) (x)) > 0.5"
    assert cond("rate(a[5m]) / rate(b[5m])") == "(rate(a[5m]) / rate(b[5m])) > 0.5"
    assert cond('label_replace(x, "a", ")", "b", "c")') == \
        'label_replace(x, "a", ")", "b", "c") > 0.5'
    assert Rule(alert="A", expr="x", op="<=", threshold=1e21).condition == "x <= 1e+21"
    assert Rule(alert="A", expr="x", op="!=", threshold=math.inf).condition == "x != +Inf"


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"op": ">"}, "both op= and threshold="),
    ({"op": "=>", "threshold": 1}, "op must be one of"),
    ({"labels": {"0bad": "x"}}, "invalid label name"),
    ({"labels": {"alertname": "x"}}, "alertname"),
    ({"labels": {"a": 1}}, "must be a string"),
    ({"for_": "5x"}, "Invalid duration"),
    ({"expr": " "}, "expr= is empty"),
])
def test_rule_validation(kwargs: dict, match: str) -> None:
    base = {"alert": "A", "expr": "up"} | kwargs
    with pytest.raises(AlertRuleError, match=match):
        Rule(**base)


def test_rule_file_round_trip_and_promtool_check() -> None:
    require_binary("promtool")
    rule = Rule(alert="NodeHighCPU", expr="instance:node_cpu_utilisation:rate5m", op=">",
                threshold=0.9, for_="1m30s", keep_firing_for=300,
                labels={"severity": "warning", "team": "{{ $labels.job }}"},
                annotations={"summary": "{{ $labels.instance }} at {{ $value | humanize }}"})
    text = rule.to_rule_file(group="node", interval="30s")
    doc = yaml.safe_load(text)
    group = doc["groups"][0]
    assert (group["name"], group["interval"]) == ("node", "30s")
    node = group["rules"][0]
    assert node == {"alert": "NodeHighCPU", "expr": "instance:node_cpu_utilisation:rate5m > 0.9",
                    "for": "1m30s", "keep_firing_for": "5m",
                    "labels": {"severity": "warning", "team": "{{ $labels.job }}"},
                    "annotations": {"summary": "{{ $labels.instance }} at "
                                               "{{ $value | humanize }}"}}
    back = Rule.from_dict(node)
    assert (back.condition, back.for_ms, back.keep_firing_for_ms) == (
        rule.condition, 90_000, 300_000)
    assert "SUCCESS" in check_rules_text(text)


def test_prometheus_rule_object() -> None:
    require_binary("promtool")
    rule = Rule(alert="X", expr="up == 0", for_="5m", labels={"severity": "page"},
                annotations={"summary": "down"})
    obj = yaml.safe_load(rule.to_prometheus_rule("wb-rules", "monitoring",
                                                 labels={"release": "kube-prometheus-stack"}))
    assert obj["apiVersion"] == "monitoring.coreos.com/v1" and obj["kind"] == "PrometheusRule"
    assert obj["metadata"] == {"name": "wb-rules", "namespace": "monitoring",
                               "labels": {"release": "kube-prometheus-stack"}}
    assert obj["spec"]["groups"][0]["rules"][0]["expr"] == "up == 0"
    assert "SUCCESS" in check_rules_text(yaml.safe_dump(obj["spec"]))


@pytest.mark.parametrize(("name", "namespace", "bad"), [
    ("NodeHighCPU", "monitoring", "'nodehighcpu'"),
    ("wb-rules", "Monitoring_NS", "'monitoring-ns'"),
    ("wb-rules", "monitoring.prod", "'monitoring.prod'"),  # dots are fine in names, not namespaces
    ("-wb", "monitoring", "'wb'"),
])
def test_prometheus_rule_refuses_names_the_api_server_would_reject(name: str, namespace: str,
                                                                     bad: str) -> None:
    rule = Rule(alert="X", expr="up == 0")
    with pytest.raises(AlertRuleError, match="not a valid Kubernetes") as info:
        rule.to_prometheus_rule(name, namespace, check=False)
    assert bad in str(info.value)
    # dotted names are valid object names
    assert "name: wb.rules" in rule.to_prometheus_rule("wb.rules", "monitoring", check=False)


def test_invalid_rules_are_rejected_by_promtool() -> None:
    require_binary("promtool")
    with pytest.raises(PromtoolError, match="could not parse expression") as info:
        Rule(alert="Bad", expr="sum(rate(x[5m])", op=">", threshold=1).to_rule_file()
    assert info.value.returncode == 1 and "Bad" in info.value.output
    with pytest.raises(PromtoolError, match="summary"):
        Rule(alert="BadTpl", expr="up", annotations={"summary": "{{ $labels.x "}).to_rule_file()


def test_missing_promtool_names_the_package(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingBinaryError, match="apt-get install -y prometheus"):
        Rule(alert="A", expr="up").to_rule_file()
    assert os.environ["PATH"] == str(tmp_path)


# -- comparisons, templates, advice ----------------------------------------------------------

def test_comparisons_follow_go_float_semantics() -> None:
    v = np.array([0.5, 0.9, NAN, math.inf, -math.inf])
    assert passes(v, ">", 0.5).tolist() == [False, True, False, True, False]
    assert passes(v, ">=", 0.5).tolist() == [True, True, False, True, False]
    assert passes(v, "<", 0.9).tolist() == [True, False, False, False, True]
    assert passes(v, "==", 0.9).tolist() == [False, True, False, False, False]
    assert passes(v, "!=", 0.9).tolist() == [True, False, True, True, True]   # NaN != x
    assert passes(v, "<=", NAN).tolist() == [False] * 5
    assert format_threshold(0.1 + 0.2) == "0.30000000000000004"
    assert float(format_threshold(1 / 3)) == 1 / 3


TEMPLATES = {
    "plain": "{{ $value }}",
    "h": "{{ $value | humanize }}",
    "h1024": "{{ $value | humanize1024 }}",
    "pct": "{{ $value | humanizePercentage }}",
    "dur": "{{ $value | humanizeDuration }}",
    "printf": '{{ printf "%.2f" $value }}/{{ $value | printf "%.3g" }}',
    "labels": "{{ $labels.instance | toUpper }}-{{ .Labels.job | title }}-"
              '{{ index $labels "instance" }}-{{- " trimmed" -}} x',
}
VALUES = [1234567.0, 0.1234, 0.9, 1e-05, -3.5, 100000.0, 1e21, 0.0, 86461.5, 0.0042, 1025.0,
          2.5e-7, 59.99]


def test_templates_render_like_promtool(tmp_path: Path) -> None:
    """Every supported template form, on awkward values, rendered by promtool and by us."""
    require_binary("promtool")
    assert render(TEMPLATES["plain"], {}, 1234567.0) == "1.234567e+06"
    assert humanize(0.9) == "900m" and go_float(100000.0) == "100000"
    rule = Rule(alert="Tpl", expr="tpl", op=">", threshold=-math.inf, annotations=TEMPLATES)
    (tmp_path / "rules.yml").write_text(rule_file_text([rule], check=False))
    series, checks = [], []
    for i, v in enumerate(VALUES):
        labels = {"instance": f"host-{i}.x", "job": "node exporter"}
        series.append((selector("tpl", labels), go_float(v)))
    alerts = []
    for i, v in enumerate(VALUES):
        labels = {"instance": f"host-{i}.x", "job": "node exporter"}
        ann = {k: render(t, labels | {"__name__": "tpl"}, v) for k, t in TEMPLATES.items()}
        alerts.append((labels, ann))
    checks.append((0, "Tpl", alerts))
    path = tmp_path / "test.yml"
    path.write_text(promtool_test_document(rule_files=["rules.yml"], interval_ms=60_000,
                                           input_series=series, alert_checks=checks))
    test_rules(path)


def test_unsupported_template_is_a_clear_error() -> None:
    with pytest.raises(AlertRuleError, match="not supported"):
        render("{{ with query \"up\" }}x{{ end }}", {}, 1.0)


def test_advice_topics() -> None:
    bad = Rule(alert="X", expr="rate(x_total[1m]) + irate(y[90s]) + rate(z[2m])", op=">", threshold=1,
               keep_firing_for="1m", annotations={"description": "d"})
    notes = advice(bad, 60_000, scrape_interval_ms=30_000, server_version="2.40.1")
    topics = [n.split(":")[0] for n in notes]
    assert topics == ["for", "rate window", "rate window", "severity", "summary",
                      "keep_firing_for"]
    good = Rule(alert="X", expr="rate(x_total[5m])", op=">", threshold=1, for_="5m",
                labels={"severity": "page"}, annotations={"summary": "s"})
    assert advice(good, 60_000, scrape_interval_ms=30_000, server_version="2.42.0") == []
    assert [n.split(":")[0] for n in advice(good, 60_000, server_version="3.1.0")] == ["version"]


# -- lookback, grid, matrix, summary ---------------------------------------------------------

def test_lookback_closed_in_2x_open_in_3x() -> None:
    assert lookback_closed("2.42.0") and not lookback_closed("3.0.1")
    args = {"series_idx": [0, 0], "t_ms": [0, 400_000], "values": [1.0, 2.0], "stale": None,
            "n_series": 1, "eval_times_ms": [300_000, 360_000, 650_000, 700_000, 700_001]}
    _, ok2 = instant_vector(**args, closed=True)
    _, ok3 = instant_vector(**args, closed=False)
    assert ok2.tolist() == [[True, False, True, True, False]]     # [ts-5m, ts]
    assert ok3.tolist() == [[False, False, True, False, False]]   # (ts-5m, ts]


def test_evaluation_grid_and_offset() -> None:
    assert evaluation_grid(0, 180, "1m").tolist() == [0, 60_000, 120_000, 180_000]
    assert evaluation_grid(10, 130, "1m", offset="17s").tolist() == [17_000, 77_000]
    assert evaluation_grid(61, 62, "1m").tolist() == []


def _frame(rows: list[tuple[int, float, str]]) -> pl.DataFrame:
    return pl.DataFrame({"timestamp": [r[0] for r in rows], "value": [r[1] for r in rows],
                         "instance": [r[2] for r in rows]}
                        ).with_columns(pl.col("timestamp").cast(pl.Datetime("ms", "UTC")))


def test_series_matrix_checks_grid_and_handles_interleaved_series() -> None:
    t = np.arange(3) * 60_000
    m = series_matrix(_frame([(0, 1.0, "a"), (0, 2.0, "b"), (60_000, 3.0, "a")]), t)
    assert m.labels["instance"].to_list() == ["a", "b"]
    assert m.present.tolist() == [[True, True, False], [True, False, False]]
    assert m.values[0, 1] == 3.0
    with pytest.raises(AlertRuleError, match="not on the evaluation grid"):
        series_matrix(_frame([(30_000, 1.0, "a")]), t)


def test_summary_and_episodes_hand_computed() -> None:
    # a: true 0-4 (fires at 2 with for=2m), gap 5, true 6-7 (for not reached), true 9-11 (fires
    # at 11). b: never true. interval 1m, 12 steps.
    t = np.arange(12) * 60_000
    a = [1, 1, 1, 1, 1, 0, 1, 1, 0, 1, 1, 1]
    rows = [(int(t[k]), 1.0 if x else 0.0, "a") for k, x in enumerate(a)]
    rows += [(int(t[k]), 0.0, "b") for k in range(12)]
    m = series_matrix(_frame(rows), t)
    rule = Rule(alert="A", expr="x", op=">", threshold=0.5, for_="2m",
                labels={"severity": "page"})
    bt = backtest_matrix(m, rule, 60_000)
    ep = bt.episodes
    assert ep.select("instance", "pending_s", "firing_s").rows() == [
        ("a", 120.0, 180.0), ("a", 120.0, 0.0), ("a", 120.0, 60.0)]
    assert ep["resolved_at"].to_list()[2] is None
    s = bt.summary(flap_gap="15m").row(0, named=True)
    assert s == {"episodes": 3, "alerts_fired": 2, "pending_only": 1, "identities_fired": 1,
                 "firing_s": 240.0, "firing_share": 240 / 720, "median_firing_s": 120.0,
                 "p90_firing_s": 180.0, "fired_per_day": 2 / (720 / 86_400), "flapping": 1,
                 "still_firing": 1}
    grid = sweep_matrix(m, rule, [0.5, 2.0], ["0s", "2m"], interval_ms=60_000)
    assert grid.select("threshold", "for_s", "alerts_fired").rows() == [
        (0.5, 0.0, 3), (0.5, 120.0, 2), (2.0, 0.0, 0), (2.0, 120.0, 0)]
    samples = bt.samples()
    assert samples.height == int((bt.states().state > 0).sum()) == 12 - 2
    assert set(samples["alertstate"]) == {"pending", "firing"}


def test_series_matrix_finds_series_that_start_after_others_end() -> None:
    # A at steps 0-5, B at 7-9 (no timestamp decrease between them), C at 0-3, D at 4-6, E at 0
    t = np.arange(10) * 60_000
    spans = {"A": range(6), "B": range(7, 10), "C": range(4), "D": range(4, 7), "E": range(1)}
    rows = [(int(t[k]), float(k), name) for name, steps in spans.items() for k in steps]
    m = series_matrix(_frame(rows), t)
    assert m.labels["instance"].to_list() == list(spans)
    for i, steps in enumerate(spans.values()):
        assert np.flatnonzero(m.present[i]).tolist() == list(steps)
        assert m.values[i, steps[0]] == float(steps[0])
