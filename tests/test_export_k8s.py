"""Exports the Kubernetes API server would reject are refused, and every text survives a YAML
round trip. Rules from k8s.io/apimachinery validation (IsDNS1123Subdomain/Label,
IsQualifiedName, IsValidLabelValue), hand-written cases."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench import AlertRuleError, Rule
from workbench.analysis.alerting.export import prometheus_rule_text, rule_file_text

from .conftest import require_binary

RULE = Rule(alert="X", expr="up == 0")


@pytest.mark.parametrize(("name", "namespace"), [
    ("wb-rules\n", "monitoring"), ("wb-rules", "monitoring\n"), ("wb.rules\n", "monitoring"),
    ("wb-rules\r\n", "monitoring"), ("wb-rules", "monitoring\n\n"),
])
def test_names_with_a_trailing_newline_are_refused(name: str, namespace: str) -> None:
    with pytest.raises(AlertRuleError, match="not a valid Kubernetes"):
        prometheus_rule_text([RULE], name=name, namespace=namespace, check=False)


@pytest.mark.parametrize("labels", [
    {"release\n": "x"}, {"team": "x\n"}, {"": "x"}, {"-team": "x"}, {"team-": "x"},
    {"a/b/c": "x"}, {"Example.com/team": "x"}, {"/team": "x"}, {"example.com/": "x"},
    {"t" * 64: "x"}, {"team": "v" * 64}, {"team": "has space"}, {"team": "-lead"},
    {"team": "ünï"}, {"team": "a\x85"}, {"team": 5},
])
def test_labels_kubernetes_rejects_are_refused(labels: dict) -> None:
    with pytest.raises(AlertRuleError, match=r"Kubernetes|strings"):
        prometheus_rule_text([RULE], name="wb", namespace="monitoring", labels=labels,
                             check=False)


def test_labels_kubernetes_accepts_round_trip() -> None:
    labels = {"release": "kube-prometheus-stack", "app.kubernetes.io/name": "wb",
              "team": "", "Tier_1.x": "A-b_c.9", "t" * 63: "v" * 63,
              "example.com/" + "n" * 63: "ok"}
    obj = yaml.safe_load(prometheus_rule_text([RULE], name="wb", namespace="monitoring",
                                              labels=labels, check=False))
    assert obj["metadata"]["labels"] == labels


_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30) | \
    st.lists(st.sampled_from(["\x85", "\u2028", "\u2029", "\ufeff", "\n", "\r", "\t", " ", "a",
                              "#", ":", "'", '"', "|", "\\", "{{ $value }}", "\x00", "\x1b"]),
             max_size=10).map("".join)


@settings(max_examples=300, deadline=None)
@given(_TEXT, _TEXT)
def test_annotation_and_label_texts_survive_a_yaml_round_trip(summary: str, value: str) -> None:
    rule = Rule(alert="X", expr="up == 0", labels={"severity": value},
                annotations={"summary": summary})
    doc = yaml.safe_load(rule_file_text([rule], check=False))
    got = doc["groups"][0]["rules"][0]
    assert got["annotations"]["summary"] == summary
    assert got["labels"]["severity"] == value


def test_line_separators_pass_promtool_and_round_trip() -> None:
    require_binary("promtool")
    summary = "disk\x85full\u2028on {{ $labels.instance }}\u2029now"
    rule = Rule(alert="X", expr="up == 0", annotations={"summary": summary})
    text = rule_file_text([rule], check=True)  # promtool check rules parses it (Go YAML)
    assert "\\N" in text and "\x85" not in text
    assert yaml.safe_load(text)["groups"][0]["rules"][0]["annotations"]["summary"] == summary
