"""simulate() against a real Alertmanager 0.25 with compressed timers (the oracle).

The same episodes are fed to a real ``prometheus-alertmanager`` through ``/api/v2/alerts`` on the
schedule Prometheus would use (eval interval 1 s, resend delay 1 s so every 2nd evaluation,
``EndsAt = ts + 4 s`` while firing, resolved alerts re-sent for 6 s instead of 15 min), and
what reaches the webhook and Slack sinks is compared group by group with ``simulate``: the same
messages, in the same order, with the same firing/resolved alert fingerprints, at the same
times (within 0.3 s), and Slack titles/texts rendered identically.

The scenario covers group_wait, group_interval ticks, repeat_interval rounded up to a tick,
``continue`` to two receivers, send_resolved true and false, inhibition by a critical alert,
alerts that fire and resolve between two flushes, the resolved re-sends, a group that empties,
is garbage-collected and starts again with group_wait, one that still existed and flushed on
its tick, an open episode, and the empty ``Description:`` of a grouped message whose alerts'
descriptions differ.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.amreplay import (
    Episode,
    assert_same,
    episodes_frame,
    real_messages,
    replay,
    schedule,
    sim_messages,
)
from workbench.analysis.alertmanager import AlertmanagerConfig, simulate

pytestmark = pytest.mark.server

CONFIG = """
route:
  receiver: team
  group_by: [job]
  group_wait: 1700ms
  group_interval: 3400ms
  repeat_interval: 7s
  routes:
    - matchers: ['severity="critical"']
      receiver: ops
      group_by: [alertname]
      continue: true
    - matchers: ['alertname="Dummy"']
      receiver: blackhole
    - matchers: ['alertname=~".+"']
      receiver: team
receivers:
  - name: team
    slack_configs:
      - api_url: {sink}/slack
        channel: '#team'
        send_resolved: true
        title: '[{{{{ .Status | toUpper }}}}] {{{{ .CommonLabels.alertname }}}}'
        text: "*Description:* {{{{ .CommonAnnotations.description }}}}\\n"
      - api_url: {sink}/slack-default
        send_resolved: true
    webhook_configs:
      - url: {sink}/team
  - name: ops
    webhook_configs:
      - url: {sink}/ops
        send_resolved: false
  - name: blackhole
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [job]
"""
SLACK = {"/slack": "team/slack[0]", "/slack-default": "team/slack[1]"}


def _cpu(job: str, inst: str) -> dict[str, str]:
    return {"alertname": "HighCPU", "job": job, "severity": "warning", "instance": inst}


EPISODES = [
    Episode(_cpu("api", "a"), "cpu a", 0, 9),
    Episode(_cpu("api", "b"), "cpu b", 2, 22),
    Episode({"alertname": "ApiDown", "job": "api", "severity": "critical"}, "api down", 12, 17),
    Episode(_cpu("db", "c"), "cpu c", 4, 6),
    Episode(_cpu("db", "c"), "cpu c", 31, 36, active=30),
    Episode({"alertname": "HighMem", "job": "api", "severity": "warning", "instance": "a"},
            "mem a", 25, None),
    Episode(_cpu("db", "d"), "cpu d", 40, None),
]
END_S = 47.0


def test_simulation_equals_real_alertmanager(tmp_path: Path) -> None:
    sched = schedule(EPISODES, END_S, step=2.0, valid=4.0, retention=6.0)
    run = replay(tmp_path, CONFIG, sched, END_S)
    cfg = AlertmanagerConfig.from_yaml(CONFIG.format(sink="http://127.0.0.1:1"))
    sim = simulate(episodes_frame(EPISODES, run.t0), cfg, eval_interval="1s",
                   resend_delay="1s", resolved_retention="6s",
                   maintenance_phase=f"{run.phase_ms}ms",
                   end=datetime.fromtimestamp(run.t0 + END_S - 0.5, UTC))
    real = real_messages(run, SLACK)
    ours = sim_messages(sim, run.t0, SLACK)
    assert_same(real, ours, tolerance=0.3)
    # the grouped HighCPU message of job api has an empty description; a lone alert has one
    texts = [m["text"] for m in real["/slack"]]
    assert "*Description:* \n" in texts and "*Description:* cpu c\n" in texts
    # the 30 s cleanup matters: the emptied db group was deleted, so the re-fire at 31 s
    # starts a new group (group_wait); the api group still existed at 25 s (next tick)
    assert 26 < run.cleanup[0] - run.t0 < 30.5, "the cleanup ticker ran at an unexpected time"
    db = next(v for k, v in ours.items() if k.startswith("team|") and 'job="db"' in k)
    assert any(abs(m["t"] - (31 + 1.7)) < 0.05 for m in db)
    api = next(v for k, v in ours.items() if k.startswith("team|") and 'job="api"' in k)
    assert any(abs(m["t"] - (25 + 1.7)) > 0.2 and 25 < m["t"] < 25 + 3.4 for m in api)
