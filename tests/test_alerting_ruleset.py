"""`load_rules` on rule files, PrometheusRule objects (multi-document, ``kind: List``) and a running
Prometheus, checked against promtool's rule count and against what Prometheus itself loads from the
same files; `threshold_rule` against hand-split expressions; errors naming file, group and rule."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from workbench import AlertRuleError, Prometheus
from workbench.analysis.alerting import Rule, load_rules, threshold_rule
from workbench.analysis.alerting.promtool import check_rules
from workbench.testing.servers import start_prometheus

from .conftest import require_binary

DATA = Path(__file__).parent / "data" / "rules"
FILES = ["general-list.yaml", "kube-prometheus-stack.yaml", "node-exporter.rules.yml"]


def _raw_alert_nodes(path: Path) -> list[tuple[str, dict]]:
    """(group, rule node) of every alerting rule, read independently of the loader."""
    out = []
    for doc in yaml.safe_load_all(path.read_text()):
        items = doc.get("items", [doc]) if doc.get("kind") == "List" else [doc]
        for item in items:
            groups = (item.get("spec") or {}).get("groups") if item.get("kind") else item.get(
                "groups")
            for g in groups or []:
                out += [(g["name"], r) for r in g["rules"] if "alert" in r]
    return out


@pytest.fixture()
def rule_dir(tmp_path: Path) -> Path:
    """This module's fixtures alone in a directory (others share tests/data/rules)."""
    d = tmp_path / "rules"
    (d / "sub").mkdir(parents=True)
    for f in FILES[:2]:
        (d / f).write_text((DATA / f).read_text())
    (d / "sub" / FILES[2]).write_text((DATA / FILES[2]).read_text())
    (d / "README.md").write_text("not a rule file\n")
    return d


def _files(d: Path) -> list[Path]:
    return [d / FILES[0], d / FILES[1], d / "sub" / FILES[2]]


def test_directory_loads_every_alert_rule_with_group_file_interval(rule_dir: Path) -> None:
    rules = load_rules(rule_dir)
    expected = [(str(f), g, n) for f in _files(rule_dir) for g, n in _raw_alert_nodes(f)]
    assert len(rules) == len(expected) == 10
    for rule, (file, group, node) in zip(rules, expected, strict=True):
        assert (rule.file, rule.group, rule.alert) == (file, group, node["alert"])
        assert rule.expr == node["expr"]                          # verbatim, multi-line kept
        assert rule.labels == node.get("labels", {})
        assert rule.annotations == node.get("annotations", {})
    by = {r.alert: r for r in rules}
    assert by["NodeHighLoad"].interval_ms == 60_000 and by["NodeHighLoad"].for_ms == 120_000
    assert by["NodeHighLoad"].keep_firing_for_ms == 300_000
    assert by["KubePodCrashLooping"].keep_firing_for_ms == 600_000
    assert by["CPUThrottlingHigh"].interval_ms == 30_000
    assert by["TargetDown"].interval is None                      # global evaluation_interval
    assert by["Watchdog"].for_ms == 0
    # printf / humanize / humanizePercentage / reReplaceAll templates all load unexpanded
    assert "{{ $value | humanizePercentage }}" in by["CPUThrottlingHigh"].annotations["description"]
    assert by["NodeHighLoad"].labels["instance_short"].startswith("{{ $labels.instance | reRe")


def test_glob_text_and_lists_agree_with_the_directory(rule_dir: Path) -> None:
    all_rules = load_rules(rule_dir)
    assert [r.alert for r in load_rules(str(rule_dir / "*.yaml"))] == [
        r.alert for r in all_rules if not r.file.endswith(".yml")]
    assert [r.alert for r in load_rules(str(rule_dir / "**" / "*.yml"))] == [
        r.alert for r in all_rules if r.file.endswith(".yml")]
    text = (DATA / "node-exporter.rules.yml").read_text()
    from_text = load_rules(text)
    assert [r.alert for r in from_text] == [r.alert for r in all_rules if r.file.endswith(".yml")]
    assert all(r.file is None for r in from_text)
    assert load_rules([DATA / FILES[0], str(DATA / FILES[2])]) == load_rules(DATA / FILES[0]) + \
        load_rules(DATA / FILES[2])


def test_promtool_counts_the_same_rules(tmp_path: Path) -> None:
    """promtool's 'N rules found' (alerting + recording) on each file or PrometheusRule spec."""
    require_binary("promtool")
    out = check_rules(DATA / "node-exporter.rules.yml")
    assert "5 rules found" in out                                # 4 alerting + 1 recording
    assert len(load_rules(DATA / "node-exporter.rules.yml")) == 4
    for i, doc in enumerate(yaml.safe_load_all((DATA / "kube-prometheus-stack.yaml").read_text())):
        if doc["kind"] != "PrometheusRule":
            continue
        f = tmp_path / f"spec{i}.yml"
        f.write_text(yaml.safe_dump(doc["spec"]))
        n = sum(len(g["rules"]) for g in doc["spec"]["groups"])
        assert f"{n} rules found" in check_rules(f)
        assert len(load_rules(f)) == n


@pytest.mark.server
def test_running_prometheus_matches_the_files(tmp_path: Path) -> None:
    """Prometheus loads the same files; load_rules(prom) gives the same rules (expressions as
    the server prints them), with the server's file names and group intervals."""
    require_binary("prometheus")
    files = [DATA / "node-exporter.rules.yml"]
    for i, doc in enumerate(yaml.safe_load_all((DATA / "kube-prometheus-stack.yaml").read_text())):
        if doc["kind"] == "PrometheusRule":
            files.append(tmp_path / f"prometheusrule-{i}.yml")
            files[-1].write_text(yaml.safe_dump(doc["spec"]))
    config = ("global:\n  scrape_interval: 15s\n  evaluation_interval: 45s\nrule_files:\n"
              + "".join(f"  - {f}\n" for f in files))
    server = start_prometheus(tmp_path / "tsdb", config_text=config)
    try:
        with Prometheus(server.url) as prom:
            live = load_rules(prom)
    finally:
        server.stop()
    expected = [r for f in files for r in load_rules(f)]
    assert sorted((r.file, r.group, r.alert) for r in live) == sorted(
        (r.file, r.group, r.alert) for r in expected)
    by = {r.alert: r for r in live}
    for r in expected:
        got = by[r.alert]
        assert (got.for_ms, got.keep_firing_for_ms) == (r.for_ms, r.keep_firing_for_ms)
        assert got.labels == r.labels and got.annotations == r.annotations
        assert got.interval_ms == (r.interval_ms or 45_000)
    assert by["NodeHighLoad"].expr == 'node_load1{job="node-exporter"} > 3'


@pytest.mark.parametrize(("text", "names"), [
    ("groups:\n- name: g1\n  rules:\n  - alert: A\n    expr: up == 0\n    for: 5 minutes\n",
     ["g1", "'A'", "for_"]),
    ("groups:\n- name: g2\n  rules:\n  - alert: B\n    for: 5m\n", ["g2", "'B'", "expr"]),
    ("groups:\n- name: g3\n  rules:\n  - alert: C\n    expr: up\n    labels: {bad-name: x}\n",
     ["g3", "'C'", "bad-name"]),
    ("groups:\n- name: g4\n  rules:\n  - expr: up\n", ["g4", "'record'"]),
    ("groups:\n- name: g5\n  interval: often\n  rules: []\n", ["g5", "interval"]),
    ("kind: PrometheusRule\nspec:\n  groups:\n  - name: g6\n    rules:\n    - alert: D\n"
     "      expr: up\n      annotations: [a]\n", ["g6", "'D'", "annotations"]),
])
def test_a_rule_that_cannot_load_names_file_group_and_rule(tmp_path: Path, text: str,
                                                           names: list[str]) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    with pytest.raises(AlertRuleError) as err:
        load_rules(f)
    for name in [str(f), *names]:
        assert name in str(err.value)


def test_not_a_rule_file_and_missing_paths(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text("scrape_configs: []\n")
    with pytest.raises(AlertRuleError, match="neither a rule file"):
        load_rules(tmp_path / "x.yaml")
    with pytest.raises(AlertRuleError, match="does not exist"):
        load_rules(tmp_path / "nope.yaml")
    with pytest.raises(AlertRuleError, match="No rule file matches"):
        load_rules(str(tmp_path / "*.rules"))
    (tmp_path / "y.yaml").write_text("groups: [\n")
    with pytest.raises(AlertRuleError, match="not valid YAML"):
        load_rules(tmp_path / "y.yaml")


@pytest.mark.parametrize(("expr", "split"), [
    ("node_load1 > 3", ("node_load1", ">", 3.0)),
    ('up{job="a>b"} == 0', ('up{job="a>b"}', "==", 0.0)),
    ("(a / b) >= (25 / 100)", ("a / b", ">=", 0.25)),
    ("100 - (x * 100) < 4*1024", ("100 - (x * 100)", "<", 4096.0)),
    ("rate(x[5m]) != -1e-3", ("rate(x[5m])", "!=", -0.001)),
    ("a > 3 and b == 0", None),
    ("(a > 3 and b == 0)", None),
    ("a > bool 3", None),
    ("3 < a", None),
    ("a > b", None),
    ("vector(1)", None),
    ("a > 1 < 5", None),
    ("count(up == 0) by (job) > 1", ("count(up == 0) by (job)", ">", 1.0)),
])
def test_threshold_rule_splits_only_top_level_numeric_comparisons(expr: str, split: tuple | None
                                                                  ) -> None:
    rule = Rule(alert="X", expr=expr, for_="5m", labels={"severity": "warning"}, group="g")
    got = threshold_rule(rule)
    if split is None:
        assert got is rule
    else:
        assert (got.expr, got.op, got.threshold) == split
        assert (got.for_ms, got.labels, got.group) == (300_000, {"severity": "warning"}, "g")
