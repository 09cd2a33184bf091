"""The threshold tuner on the demo: slider moves give the same figures as a fresh backtest, the
Slack counter equals Alertmanager's simulation of that backtest, the buttons write files that
promtool accepts; the static report path and the audit run on the same data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from workbench import Prometheus, backtest
from workbench.analysis.alerting import (
    backtest_rules,
    incident_score,
    incidents_from_ground_truth,
    rules_audit,
)
from workbench.analysis.alerting.promtool import check_rules
from workbench.analysis.alerting.promtool import test_rules as run_promtool_test
from workbench.analysis.alertmanager import simulate
from workbench.widgets.tuning import (
    alertmanager_config,
    choose_rule,
    threshold_tuner,
    threshold_tuning_report,
)

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def setup(small_demo: dict[str, Any]) -> Any:
    h = small_demo["gt"]["history"]
    prom = Prometheus(small_demo["eps"]["prometheus"])
    rule, rules = choose_rule(prom, "prometheus", "NodeLoadFlapping")
    cfg, note = alertmanager_config(small_demo["eps"]["alertmanager"], prom)
    assert cfg is not None, note
    inc = incidents_from_ground_truth(small_demo["gt"])
    yield {"prom": prom, "rule": rule, "rules": rules, "cfg": cfg, "inc": inc,
           "start": h["start_s"] + 600, "end": h["end_s"]}
    prom.close()


def test_slider_moves_match_fresh_backtests(setup: dict[str, Any], tmp_path: Path) -> None:
    s = setup
    box = threshold_tuner(s["prom"], s["rule"], s["start"], s["end"], rules=s["rules"],
                          incidents=s["inc"], am_config=s["cfg"], output_dir=tmp_path)
    thr = box.sliders["threshold"]
    assert thr.value == 6.0 and box.sliders["for"].value == "2m"
    before = box.outputs["counters"].value
    thr.value = 4.0
    box.sliders["for"].value = "5m"
    after = box.outputs["counters"].value
    assert after != before
    rule = s["rule"].with_(expr='node_load1{job="node-exporter"} > 4', for_="5m")
    fresh = backtest(s["prom"], rule, s["start"], s["end"], "1m")
    tuned = box.state["tuned"]
    assert tuned.figures["alerts_fired"] == fresh.summary()["alerts_fired"][0] > 0
    assert tuned.result.episodes.equals(fresh.episodes)
    score = incident_score(fresh, s["inc"])
    for k in ("incidents_caught", "incidents_missed", "alerts_outside"):
        assert tuned.figures[k] == score.figures[k]
    sent = simulate(fresh.episodes, s["cfg"], eval_interval="1m", end=s["end"])
    days = box.state["tuning"].days
    assert box.state["slack"] == pytest.approx(sent.height / days)
    assert f"{box.state['slack']:.3g}" in after
    # the rule picker refetches another rule and resets the sliders to its values
    box.rule_picker.value = "NodeExporterDown"
    assert box.sliders["for"].value == "5m" and box.state["tuned"].figures["alerts_fired"] == 1
    box.rule_picker.value = "NodeLoadFlapping"
    thr.value = 4.0
    for name, button in box.buttons.items():
        button.click()
        assert "written to" in box.outputs["yaml"].value, name
    rules_file = tmp_path / "NodeLoadFlapping.rules.yml"
    assert "> 4" in rules_file.read_text() and "SUCCESS" in check_rules(rules_file)
    assert "kind: PrometheusRule" in (tmp_path / "NodeLoadFlapping.prometheusrule.yaml"
                                      ).read_text()
    run_promtool_test(tmp_path / "NodeLoadFlapping.test.yml")


def test_static_report_and_audit(setup: dict[str, Any]) -> None:
    s = setup
    views, figures = threshold_tuning_report(
        s["prom"], s["rule"], s["start"], s["end"], rules=s["rules"], incidents=s["inc"],
        am_config=s["cfg"], interactive=False, threshold="3", for_="0s")
    fresh = backtest(s["prom"], s["rule"].with_(expr='node_load1{job="node-exporter"} > 3',
                                                for_="0s"), s["start"], s["end"])
    assert figures["alerts_fired"] == fresh.summary()["alerts_fired"][0]
    assert len(views) == 4                                    # counters, chart, heat map, YAML
    audit = rules_audit(backtest_rules(s["prom"], s["rules"], s["start"], s["end"]))
    assert audit.height == 6 and audit["attention"].is_sorted(descending=True)
    flap = audit.filter(pl.col("alert") == "NodeLoadFlapping").row(0, named=True)
    assert any(f.startswith("flapping") for f in flap["findings"])
    oom = audit.filter(pl.col("alert") == "KubeContainerOOMKilled").row(0, named=True)
    assert "short for: 0s < 2 x 1m" in oom["findings"]
    assert all("no summary" in f for f in audit["findings"])   # the demo rules have none


def test_intro_does_not_promise_buttons_on_the_static_page() -> None:
    # The intro Markdown is the first thing a scheduled (static) page shows: buttons exist only
    # in JupyterLab, so every sentence naming them says so.
    from workbench.reports import get_report

    nb = json.loads(get_report("threshold_tuning").path.read_text())
    intro = "".join(nb["cells"][0]["source"])
    sentences = [s for s in intro.split(". ") if "button" in s.lower()]
    assert sentences and all("interactive=True" in s for s in sentences)
    assert "a scheduled run shows the rule" in intro
