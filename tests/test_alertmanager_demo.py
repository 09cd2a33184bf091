"""simulate() equals a real Alertmanager on the demo's planted incidents (time compressed).

The demo's own rules are backtested over its history; the episodes of a 40-minute slice of the
daily flapping window (NodeLoadFlapping flaps every 15 min; whatever else fires then comes
along) are replayed 60x faster (a demo minute is a second) through a real Alertmanager running
the seed's routing (``group_by: [job]``, Slack with ``send_resolved`` and the seed's title/text)
with its timers divided by 60 (10s / 1m / 5m -> 167ms / 1s / 5s), plus a webhook integration on
the same receiver for group keys and fingerprints. Every message, its time, its alerts and its
rendered Slack text equal ``simulate`` on the same episodes (times within 0.3 s plus 3% of the
elapsed time: at 60x, the drift of Alertmanager's flush timer on a busy machine shows).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml

from tests.amreplay import (
    Episode,
    assert_same,
    episodes_frame,
    real_messages,
    replay,
    schedule,
    sim_messages,
)
from workbench import Prometheus, Rule, backtest
from workbench.analysis.alertmanager import AlertmanagerConfig, simulate
from workbench.demo.rules import ALERT_RULES, EVAL_INTERVAL_S, alertmanager_config

pytestmark = pytest.mark.server

SCALE = 60.0                 # demo seconds per replay second
WINDOW_S = 40 * 60           # demo seconds replayed
SLACK = {"/slack": "slack-notifications/slack[0]"}


def _config_template() -> str:
    doc = yaml.safe_load(alertmanager_config("SINKURL/slack"))
    route = doc["route"]
    route.update(group_wait="167ms", group_interval="1s", repeat_interval="5s")
    route["routes"].append({"matchers": ['alertname="Dummy"'], "receiver": "blackhole"})
    receiver = doc["receivers"][0]
    receiver["slack_configs"][0]["api_url"] = "SINKURL/slack"
    receiver["webhook_configs"] = [{"url": "SINKURL/slack-notifications"}]
    doc["receivers"].append({"name": "blackhole"})
    text = yaml.safe_dump(doc, sort_keys=False, width=200)
    return text.replace("{", "{{").replace("}", "}}").replace("SINKURL", "{sink}")


def _demo_episodes(small_demo: dict[str, Any]) -> list[Episode]:
    gt = small_demo["gt"]
    h = gt["history"]
    start, end = h["start_s"] + 600, h["end_s"]
    frames = []
    with Prometheus(small_demo["eps"]["prometheus"]) as prom:
        for r in ALERT_RULES:
            ep = backtest(prom, Rule.from_dict(r), start, end, f"{EVAL_INTERVAL_S}s").episodes
            frames.append(ep.select(pl.exclude("pending_s", "firing_s")))
    episodes = pl.concat(frames, how="diagonal_relaxed").with_columns(
        pl.col("active_at", "fired_at", "resolved_at").dt.epoch("s"))
    flap = episodes.filter(pl.col("alertname") == "NodeLoadFlapping",
                           pl.col("fired_at").is_not_null()).sort("active_at")
    assert flap.height >= 3
    w0 = flap["active_at"][0] - EVAL_INTERVAL_S             # on the evaluation grid
    picked = episodes.filter(pl.col("fired_at").is_not_null(), pl.col("active_at") >= w0,
                             pl.col("fired_at") < w0 + WINDOW_S).sort("active_at")
    label_cols = [c for c in picked.columns if c not in ("active_at", "fired_at", "resolved_at")]
    out = []
    for row in picked.iter_rows(named=True):
        labels = {c: row[c] for c in label_cols if row[c]}
        resolved = row["resolved_at"]
        out.append(Episode(
            labels, f"{labels['alertname']} on {labels.get('instance') or labels.get('pod')}",
            fired=(row["fired_at"] - w0) / SCALE, active=(row["active_at"] - w0) / SCALE,
            resolved=None if resolved is None or resolved >= w0 + WINDOW_S
            else (resolved - w0) / SCALE))
    return out


def test_demo_incidents_equal_real_alertmanager(small_demo: dict[str, Any],
                                                tmp_path: Path) -> None:
    episodes = _demo_episodes(small_demo)
    assert sum(e.labels["alertname"] == "NodeLoadFlapping" for e in episodes) >= 2
    end = WINDOW_S / SCALE + 3
    template = _config_template()
    sched = schedule(episodes, end, step=2.0, valid=4.0, retention=15.0, resolve_early=0.05)
    run = replay(tmp_path, template, sched, end)
    cfg = AlertmanagerConfig.from_yaml(template.format(sink="http://127.0.0.1:1"))
    sim = simulate(episodes_frame(episodes, run.t0), cfg, eval_interval="1s",
                   resend_delay="1s", resolved_retention="15s",
                   maintenance_phase=f"{run.phase_ms}ms",
                   end=datetime.fromtimestamp(run.t0 + end - 0.5, UTC))
    real = real_messages(run, SLACK)
    ours = sim_messages(sim, run.t0, SLACK)
    # kept for a failure's post-mortem: the replayed episodes and both sides' messages
    (tmp_path / "replay.json").write_text(json.dumps(
        {"episodes": [e.__dict__ for e in episodes], "cleanup": run.cleanup, "t0": run.t0,
         "real": real, "sim": ours}, default=str, indent=1))
    # 1 s ticks; under heavy load Alertmanager's re-armed timer falls behind ~1 s in 40 ticks
    assert_same(real, ours, tolerance=0.3, drift=0.03)
    reasons = set(sim["reason"])
    assert {"new", "resolved"} <= reasons
    assert len(real["/slack"]) >= 4
