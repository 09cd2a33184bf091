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
is garbage-collected and starts again with group_wait, an open episode, and the empty
``Description:`` of a grouped message whose alerts' descriptions differ.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import requests

from workbench.analysis.alertmanager import AlertmanagerConfig, simulate
from workbench.sources.alertmanager import Alertmanager
from workbench.testing.servers import start_alertmanager
from workbench.testing.webhook import WebhookSink

pytestmark = pytest.mark.server

STEP_S = 2.0            # resend: every 2nd evaluation (interval 1 s, resend_delay 1 s)
VALID_S = 4.0           # EndsAt = ts + 4 x max(interval, resend_delay)
RETENTION_S = 6.0       # Prometheus keeps re-sending resolved alerts (15 min, compressed)
TOLERANCE_S = 0.3

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

# (labels, description, fired s, resolved s or None) relative to T0
EPISODES = [
    ({"alertname": "HighCPU", "job": "api", "severity": "warning", "instance": "a"}, "cpu a",
     0, 9),
    ({"alertname": "HighCPU", "job": "api", "severity": "warning", "instance": "b"}, "cpu b",
     2, 22),
    ({"alertname": "ApiDown", "job": "api", "severity": "critical"}, "api down", 12, 17),
    ({"alertname": "HighCPU", "job": "db", "severity": "warning", "instance": "c"}, "cpu c",
     4, 6),
    ({"alertname": "HighCPU", "job": "db", "severity": "warning", "instance": "c"}, "cpu c",
     31, 36),
    ({"alertname": "HighMem", "job": "api", "severity": "warning", "instance": "a"}, "mem a",
     25, None),
    ({"alertname": "HighCPU", "job": "db", "severity": "warning", "instance": "d"}, "cpu d",
     40, None),
]
END_S = 47.0


def _schedule(t0: float) -> list[tuple[float, list[dict[str, Any]]]]:
    """What Prometheus would post, and when: [(unix s, alerts)]."""
    posts: dict[float, list[dict[str, Any]]] = {}
    for i, (labels, desc, fired, resolved) in enumerate(EPISODES):
        nxt = next((EPISODES[j][2] - 1 for j in range(i + 1, len(EPISODES))
                    if EPISODES[j][0] == labels), None)
        base = {"labels": labels, "annotations": {"description": desc},
                "starts_at": datetime.fromtimestamp(t0 + fired, UTC)}
        t = float(fired)
        while t <= END_S and (resolved is None or t < resolved):
            posts.setdefault(t, []).append({**base, "ends_at": datetime.fromtimestamp(
                t0 + t + VALID_S, UTC)})
            t += STEP_S
        if resolved is None:
            continue
        t = float(resolved)
        while t - resolved <= RETENTION_S and t <= END_S and (nxt is None or t < nxt):
            posts.setdefault(t, []).append({**base, "ends_at": datetime.fromtimestamp(
                t0 + resolved, UTC)})
            t += STEP_S
    return [(t0 + t, posts[t]) for t in sorted(posts)]


def _episodes_frame(t0: float) -> pl.DataFrame:
    def ts(s: float | None) -> datetime | None:
        return None if s is None else datetime.fromtimestamp(t0 + s, UTC)

    names = sorted({k for e in EPISODES for k in e[0]})
    rows = [{**{n: e[0].get(n) for n in names}, "annotation_description": e[1],
             "active_at": ts(e[2] - 1), "fired_at": ts(e[2]), "resolved_at": ts(e[3])}
            for e in EPISODES]
    return pl.DataFrame(rows).with_columns(pl.col("active_at", "fired_at", "resolved_at")
                                           .dt.cast_time_unit("ms"))


class _GroupCounter(threading.Thread):
    """Polls alertmanager_dispatcher_aggregation_groups; a drop marks a 30 s cleanup tick."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.drops: list[tuple[float, float]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        last, last_t = None, time.time()
        while not self.stop.is_set():
            t = time.time()
            text = requests.get(f"{self.url}/metrics", timeout=2).text
            value = next(float(line.split()[-1]) for line in text.splitlines()
                         if line.startswith("alertmanager_dispatcher_aggregation_groups "))
            if last is not None and value < last:
                self.drops.append((last_t, t))
            last, last_t = value, t
            time.sleep(0.05)


def _real(posts: list[dict[str, Any]], t0: float) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for p in posts:
        body = p["body"]
        if p["path"] in ("/team", "/ops"):
            alerts = body["alerts"]
            out.setdefault(p["path"][1:] + "|" + body["groupKey"], []).append({
                "t": p["time"] - t0, "status": body["status"],
                "firing": sorted(a["fingerprint"] for a in alerts if a["status"] == "firing"),
                "resolved": sorted(a["fingerprint"] for a in alerts
                                   if a["status"] == "resolved")})
        else:
            att = body["attachments"][0]
            out.setdefault(p["path"], []).append({"t": p["time"] - t0, "title": att["title"],
                                                  "text": att["text"]})
    return out


def _simulated(n: pl.DataFrame, t0: float) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in n.sort("time").iter_rows(named=True):
        t = r["time"].timestamp() - t0
        if r["integration"].startswith("webhook"):
            out.setdefault(f"{r['receiver']}|{r['group_key']}", []).append({
                "t": t, "status": r["status"], "n": (r["firing"], r["resolved"]),
                "fps": r["alerts"]})
        else:
            path = "/slack" if r["integration"] == "slack[0]" else "/slack-default"
            out.setdefault(path, []).append({"t": t, "title": r["title"], "text": r["text"]})
    return out


def test_simulation_equals_real_alertmanager(tmp_path: Path) -> None:
    with WebhookSink() as sink:
        text = CONFIG.format(sink=sink.url)
        cfg = AlertmanagerConfig.from_yaml(text)
        proc = start_alertmanager(text, tmp_path / "am")
        counter = _GroupCounter(proc.url)
        try:
            am = Alertmanager(proc.url)
            counter.start()
            # the dispatcher's cleanup ticker starts with the process: about t0 + 27.5 s
            t0 = float(proc.extra["started"]) + 2.5
            # a resolved alert for a receiver without integrations: its group is flushed,
            # emptied and cleaned up at once, which reveals the cleanup ticker's phase
            am.post_alerts([{"labels": {"alertname": "Dummy"}, "starts_at": (t0 - 60) * 1000,
                             "ends_at": (t0 - 30) * 1000}])
            for when, alerts in _schedule(t0):
                time.sleep(max(0.0, when - time.time()))
                am.post_alerts(alerts)
            time.sleep(max(0.0, t0 + END_S - time.time()))
        finally:
            counter.stop.set()
            proc.stop()
        posts = sink.posts()
    assert counter.drops, "no aggregation-group cleanup was observed"
    lo, hi = counter.drops[0]
    assert hi - lo < 0.5
    phase_ms = round(hi * 1000) % 30_000
    sim = simulate(_episodes_frame(t0), cfg, eval_interval="1s", resend_delay="1s",
                   resolved_retention=f"{int(RETENTION_S)}s", maintenance_phase=f"{phase_ms}ms",
                   end=datetime.fromtimestamp(t0 + END_S - 0.5, UTC))
    real = _real(posts, t0)
    ours = _simulated(sim, t0)
    assert sorted(real) == sorted(ours)
    for key, msgs in real.items():
        mine = ours[key]
        assert len(msgs) == len(mine), (key, msgs, mine)
        for got, want in zip(msgs, mine, strict=True):
            assert abs(got["t"] - want["t"]) < TOLERANCE_S, (key, got, want)
            if "title" in got:
                assert (got["title"], got["text"]) == (want["title"], want["text"])
            else:
                assert got["status"] == want["status"]
                assert (len(got["firing"]), len(got["resolved"])) == want["n"], (key, got, want)
                # fingerprints are Alertmanager's own (FNV-1a of the labels)
                assert sorted(got["firing"] + got["resolved"]) == sorted(want["fps"])
    # the grouped HighCPU message of job api has an empty description; a lone alert has one
    texts = [m["text"] for m in real["/slack"]]
    assert "*Description:* \n" in texts and "*Description:* cpu c\n" in texts
    # the 30 s cleanup matters: the emptied db group was deleted, so the re-fire at 31 s
    # starts a new group (group_wait); the api group still existed at 25 s (next tick)
    assert 26 < lo - t0 < 30.5, "the cleanup ticker ran at an unexpected time"
    db = next(v for k, v in ours.items() if k.startswith("team|") and 'job="db"' in k)
    assert any(abs(m["t"] - (31 + 1.7)) < 0.05 for m in db)
    api = next(v for k, v in ours.items() if k.startswith("team|") and 'job="api"' in k)
    assert any(abs(m["t"] - (25 + 1.7)) > 0.2 and 25 < m["t"] < 25 + 3.4 for m in api)
