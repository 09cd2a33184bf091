"""Alertmanager config parsing and routing against amtool (the oracle).

``cfg.route(labels)`` must give the receivers ``amtool config routes test`` prints, in order, on
seeded random label sets over several configs; configs amtool rejects must raise
AlertmanagerConfigError with a position, and configs it accepts must parse.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import zlib
from pathlib import Path

import pytest

from workbench import AlertmanagerConfigError
from workbench.analysis.alertmanager import AlertmanagerConfig, parse_matchers

AMTOOL = shutil.which("amtool")
needs_amtool = pytest.mark.skipif(AMTOOL is None, reason="amtool not installed")

RECEIVERS = "receivers: [{name: default}, {name: pager}, {name: db}, {name: web}, " \
            "{name: noteam}, {name: infra}, {name: legacy}, {name: other}]\n"

CONFIGS = {
    "nested_continue": """
route:
  receiver: default
  group_by: [job]
  routes:
    - matchers: ['severity="critical"']
      receiver: pager
      continue: true
      routes:
        - matchers: ['team=~"db.*"']
          receiver: db
        - matchers: ['team!~"web|infra"', 'env != prod']
          receiver: other
    - matchers: ['job=~"db|postgres"']
      receiver: db
      continue: true
    - matchers: ['job=~".*web.*"', 'severity!="info"']
      receiver: web
    - matchers: ['team=""']
      receiver: noteam
""",
    "legacy_and_mixed": """
route:
  receiver: default
  routes:
    - match: {severity: critical, env: prod}
      receiver: legacy
      routes:
        - match_re: {team: "db|infra"}
          receiver: infra
          continue: true
        - match: {team: ""}
          receiver: noteam
        - matchers: ['{job="web", env=~"p.*"}']
      continue: true
    - match_re: {job: "(db|web)-[0-9]+"}
      matchers: ["team != db"]
      receiver: web
    - matchers: ['severity=~"warning|info"']
      receiver: other
      continue: true
    - matchers: ['env!~"prod|staging"']
      receiver: noteam
""",
    "quoting_and_empty": r"""
route:
  receiver: default
  routes:
    - matchers: ['msg="a, b"', 'env=~"prod|"']
      receiver: pager
    - matchers: ['msg = "say \"hi\""']
      receiver: web
    - matchers: ["team=~'.*'", 'job!=""']
      receiver: db
      continue: true
    - matchers: ['team!~".+"']
      receiver: noteam
      routes:
        - matchers: ['job=~"db.*"']
          receiver: infra
        - matchers: [severity=critical]
          receiver: pager
          continue: true
        - matchers: [severity=~crit.*]
          receiver: other
""",
    "deep": """
route:
  receiver: default
  routes:
    - matchers: ['env="prod"']
      continue: true
      routes:
        - matchers: ['severity="critical"']
          receiver: pager
          routes:
            - matchers: ['team="db"']
              receiver: db
              continue: true
            - matchers: ['team=~"db|web"']
              receiver: web
    - matchers: ['env=~"prod|staging"', 'job!~"db"']
      receiver: infra
    - receiver: other
      continue: true
    - matchers: ['team="db"']
      receiver: db
""",
}

POOLS = {
    "job": ["db", "postgres", "web", "frontend-web", "db-1", "web-22", "api", ""],
    "severity": ["critical", "warning", "info", ""],
    "team": ["db", "dba", "web", "infra", "", "ops"],
    "env": ["prod", "staging", "dev", ""],
    "msg": ["a, b", 'say "hi"', "x", ""],
}


def _label_sets(seed: int, n: int) -> list[dict[str, str]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        labels = {"alertname": rng.choice(["A", "B"])}
        for name, pool in POOLS.items():
            if rng.random() < 0.8:
                labels[name] = rng.choice(pool)
        out.append(labels)
    return out


def _amtool(path: Path, labels: dict[str, str]) -> list[str]:
    assert AMTOOL is not None
    args = [f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
            for k, v in labels.items()]
    res = subprocess.run([AMTOOL, "config", "routes", "test", f"--config.file={path}", *args],
                         capture_output=True, text=True, check=True, timeout=30)
    return res.stdout.strip().split(",")


@needs_amtool
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_routing_equals_amtool(name: str, tmp_path: Path) -> None:
    path = tmp_path / "am.yml"
    path.write_text(CONFIGS[name] + RECEIVERS)
    cfg = AlertmanagerConfig.from_file(path)
    seen = set()
    for labels in _label_sets(zlib.crc32(name.encode()), 40):
        ours = [r.receiver for r in cfg.route(labels)]
        assert ours == _amtool(path, labels), labels
        seen.add(tuple(ours))
    assert len(seen) >= 3          # the label sets exercise several branches


def test_group_by_and_timer_inheritance() -> None:
    cfg = AlertmanagerConfig.from_yaml("""
route:
  receiver: a
  group_by: [job]
  group_wait: 10s
  routes:
    - matchers: [x="1"]
      group_by: ['...']
      repeat_interval: 1h
      routes:
        - matchers: [y="1"]
          group_interval: 2m
        - matchers: [y="2"]
          group_by: []
    - matchers: [x="2"]
      group_by: [cluster, alertname]
receivers: [{name: a}]
""")
    r = {tuple(sorted(labels.items())): cfg.route(labels)[0] for labels in
         ({"x": "1", "y": "1"}, {"x": "1", "y": "2"}, {"x": "2"}, {"x": "3"})}
    y1, y2, x2, x3 = r.values()
    assert (y1.group_by_all, y1.group_wait_ms, y1.group_interval_ms, y1.repeat_interval_ms) == \
        (True, 10_000, 120_000, 3_600_000)
    assert y2.group_by_all            # group_by: [] leaves GroupBy unset: inherited
    assert (x2.group_by, x2.group_by_all, x2.group_interval_ms) == (("cluster", "alertname"),
                                                                    False, 300_000)
    assert (x3.group_by, x3.repeat_interval_ms) == (("job",), 4 * 3_600_000)
    assert y1.key == '{}/{x="1"}/{y="1"}'
    assert y1.group_key({"x": "1", "y": "1", "job": 'a"b'}) == \
        '{}/{x="1"}/{y="1"}:{job="a\\"b", x="1", y="1"}'


def test_matcher_parsing_like_alertmanager() -> None:
    ms = parse_matchers(r'{foo = "bar", dings != "bums", }')
    assert [(m.name, m.op, m.value) for m in ms] == [("foo", "=", "bar"), ("dings", "!=", "bums")]
    (m,) = parse_matchers(r'quote="She said: \"Hi, ladies!\""')
    assert m.value == 'She said: "Hi, ladies!"'
    (m,) = parse_matchers(r"path=~C:\\temp\d")
    assert m.value == "C:\\temp\\d"
    (m,) = parse_matchers('statuscode=~"5.."')
    assert m.matches("503") and not m.matches("5030")


BAD = {
    "undefined receiver": ("route:\n  receiver: a\n  routes:\n    - receiver: nope\n"
                           "receivers: [{name: a}]\n", 4),
    "bad regex": ("route:\n  receiver: a\n  routes:\n    - matchers: ['job=~\"(\"']\n"
                  "receivers: [{name: a}]\n", 4),
    "bad duration": "route:\n  receiver: a\n  group_wait: 10 s\nreceivers: [{name: a}]\n",
    "zero repeat": "route:\n  receiver: a\n  repeat_interval: 0s\nreceivers: [{name: a}]\n",
    "no root receiver": "route:\n  group_by: [job]\nreceivers: [{name: a}]\n",
    "root matchers": "route:\n  receiver: a\n  matchers: [x=1]\nreceivers: [{name: a}]\n",
    "wildcard mix": "route:\n  receiver: a\n  group_by: ['...', job]\nreceivers: [{name: a}]\n",
    "unknown field": "route:\n  receiver: a\n  group_wiat: 1m\nreceivers: [{name: a}]\n",
    "duplicate receiver": "route:\n  receiver: a\nreceivers: [{name: a}, {name: a}]\n",
    "no routes": "receivers: [{name: a}]\n",
    "unquoted quote": "route:\n  receiver: a\n  routes:\n    - matchers: ['x=a\"b']\n"
                      "receivers: [{name: a}]\n",
    "slack without url": "route:\n  receiver: a\nreceivers: [{name: a, slack_configs: [{}]}]\n",
    "bad yaml": "route:\n  receiver: [a\n",
    "undefined time interval": ("route:\n  receiver: a\n  routes:\n    - receiver: a\n"
                                "      mute_time_intervals: [night]\nreceivers: [{name: a}]\n"),
}


@needs_amtool
@pytest.mark.parametrize("name", sorted(BAD))
def test_rejected_like_amtool(name: str, tmp_path: Path) -> None:
    case = BAD[name]
    text, line = case if isinstance(case, tuple) else (case, None)
    path = tmp_path / "bad.yml"
    path.write_text(text)
    assert AMTOOL is not None
    res = subprocess.run([AMTOOL, "check-config", str(path)], capture_output=True, text=True,
                         check=False, timeout=30)
    assert res.returncode != 0, res.stdout      # the oracle rejects it
    with pytest.raises(AlertmanagerConfigError) as info:
        AlertmanagerConfig.from_file(path)
    assert str(path) in str(info.value) and "Fix:" in str(info.value)
    if line is not None:
        assert info.value.line == line


@needs_amtool
def test_accepted_configs_check_with_amtool(tmp_path: Path) -> None:
    for name, text in CONFIGS.items():
        path = tmp_path / f"{name}.yml"
        path.write_text(text + RECEIVERS)
        res = subprocess.run([AMTOOL, "check-config", str(path)], capture_output=True,
                             text=True, check=False, timeout=30)
        assert res.returncode == 0, res.stdout
        AlertmanagerConfig.from_file(path)
