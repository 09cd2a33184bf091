"""simulate() on hand-computed cases (no server; the real-Alertmanager oracle is in
test_alertmanager_oracle.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from workbench import alertmanager
from workbench.analysis.alertmanager import (
    AlertmanagerConfig,
    messages_per_day,
    simulate,
    what_if,
)

T0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)        # a Monday


def _cfg(route: str, receivers: str = "", extra: str = "") -> AlertmanagerConfig:
    rec = receivers or ("receivers:\n  - name: s\n    slack_configs:\n"
                        "      - {send_resolved: true}\n")
    return AlertmanagerConfig.from_yaml(
        f"global: {{slack_api_url: 'http://127.0.0.1:1/'}}\nroute:\n{route}\n{rec}{extra}")


def _episodes(rows: list[tuple[dict[str, str], float, float | None]], unit: str = "s",
              annotations: list[str] | None = None) -> pl.DataFrame:
    def ts(v: float | None) -> datetime | None:
        return None if v is None else T0 + timedelta(**{{"s": "seconds", "m": "minutes"}[unit]: v})

    names = sorted({k for r in rows for k in r[0]})
    data = [{**{n: r[0].get(n) for n in names}, "active_at": ts(r[1]), "fired_at": ts(r[1]),
             "resolved_at": ts(r[2])} for r in rows]
    frame = pl.DataFrame(data).with_columns(
        pl.col("active_at", "fired_at", "resolved_at").cast(pl.Datetime("ms", "UTC")))
    if annotations is not None:
        frame = frame.with_columns(annotation_description=pl.Series(annotations))
    return frame


def _times(n: pl.DataFrame) -> list[tuple[float, str, int, int]]:
    return [(round((r["time"] - T0).total_seconds(), 3), r["status"], r["firing"], r["resolved"])
            for r in n.iter_rows(named=True)]


def test_reference_experiment() -> None:
    # group_wait 2s, group_interval 6s, repeat 12s; A fires 0 s, resolves 17 s; B fires 4 s,
    # resolves 41 s. A local Alertmanager sent exactly these five messages.
    cfg = _cfg("  receiver: s\n  group_wait: 2s\n  group_interval: 6s\n  repeat_interval: 12s")
    ep = _episodes([({"alertname": "A"}, 0, 17), ({"alertname": "B"}, 4, 41)])
    n = simulate(ep, cfg, eval_interval="1s", resend_delay="1s", resolved_retention="6s")
    assert _times(n) == [(2.0, "firing", 1, 0), (8.0, "firing", 2, 0), (20.0, "firing", 1, 1),
                         (38.0, "firing", 1, 0), (44.0, "resolved", 0, 1)]
    assert n["reason"].to_list() == ["new", "new", "resolved", "repeat", "resolved"]


def test_seed_routing_repeats_every_6_minutes_and_empty_description() -> None:
    cfg = _cfg("  receiver: s\n  group_by: [job]\n  group_wait: 10s\n  group_interval: 1m\n"
               "  repeat_interval: 5m",
               "receivers:\n  - name: s\n    slack_configs:\n      - send_resolved: true\n"
               "        title: '[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}'\n"
               "        text: \"*Description:* {{ .CommonAnnotations.description }}\\n\"\n")
    ep = _episodes([({"alertname": "CPUThrottlingHigh", "job": "kubelet", "pod": "a"}, 0, 30),
                    ({"alertname": "CPUThrottlingHigh", "job": "kubelet", "pod": "b"}, 0, 30)],
                   unit="m", annotations=["pod a throttled", "pod b throttled"])
    n = simulate(ep, cfg)
    # first at +10 s, then repeats every 6 min (5m rounded up to the next 1m tick)
    seconds = [(t - T0).total_seconds() for t in n["time"]]
    assert seconds == [10 + 360 * k for k in range(6)]
    assert n["title"][0] == "[FIRING] CPUThrottlingHigh"
    assert n["text"][0] == "*Description:* \n"            # descriptions differ -> empty
    assert n["title"][-1] == "[RESOLVED] CPUThrottlingHigh"


def test_send_resolved_false_sends_no_resolved_message_but_logs_it() -> None:
    cfg = _cfg("  receiver: s\n  group_wait: 10s\n  group_interval: 1m\n  repeat_interval: 1h",
               "receivers:\n  - name: s\n    webhook_configs: [{url: 'http://x:1/', "
               "send_resolved: false}]\n")
    ep = _episodes([({"alertname": "A"}, 0, 5), ({"alertname": "B"}, 3, 10),
                    ({"alertname": "A"}, 20, None)], unit="m")
    n = simulate(ep, cfg, end=T0 + timedelta(minutes=40))
    # A at 0:10; B joins at the 3:10 tick (B new; A still firing); the all-resolved flush at
    # 10:10 is logged, not sent. The emptied group is cleaned up at 19:30; at 20:00 B's
    # resolved re-send (Prometheus re-sends for 15 min) creates a new group whose first alert
    # started long ago, so it flushes at once, together with A's new episode: 20:00, not 20:10.
    assert _times(n) == [(10.0, "firing", 1, 0), (190.0, "firing", 2, 0),
                         (1200.0, "firing", 1, 0)]
    # resolved alerts never appear in a send_resolved: false message
    assert n["resolved"].sum() == 0


def test_inhibition_mutes_warning_while_critical_fires() -> None:
    cfg = _cfg("  receiver: s\n  group_by: [alertname]\n  group_wait: 10s\n"
               "  group_interval: 1m\n  repeat_interval: 1h",
               extra="inhibit_rules:\n  - source_matchers: [severity=critical]\n"
                     "    target_matchers: [severity=warning]\n    equal: [job]\n")
    ep = _episodes([({"alertname": "Down", "job": "a", "severity": "critical"}, 0, 10),
                    ({"alertname": "Slow", "job": "a", "severity": "warning"}, 1, 20),
                    ({"alertname": "Slow2", "job": "b", "severity": "warning"}, 1, 20)],
                   unit="m")
    n = simulate(ep, cfg)
    slow = n.filter(pl.col("alertnames").list.first() == "Slow")
    # muted while Down fires (0-10 min): first message at the first tick after 10:00
    assert (slow["time"][0] - T0).total_seconds() == 10 * 60 + 10
    slow2 = n.filter(pl.col("alertnames").list.first() == "Slow2")
    assert (slow2["time"][0] - T0).total_seconds() == 70          # other job: not inhibited


def test_mute_time_interval_drops_flushes() -> None:
    cfg = _cfg("  receiver: s\n  group_wait: 30s\n  group_interval: 5m\n  repeat_interval: 4h\n"
               "  routes:\n    - receiver: s\n      mute_time_intervals: [night]",
               extra="time_intervals:\n  - name: night\n    time_intervals:\n"
                     "      - times: [{start_time: '00:00', end_time: '06:00'}]\n")
    ep = _episodes([({"alertname": "A"}, 0, None)], unit="m")
    n = simulate(ep, cfg, end=T0 + timedelta(hours=7))
    assert [(t - T0).total_seconds() for t in n["time"]] == [6 * 3600 + 30]


def test_continue_sends_to_both_receivers_and_default_title() -> None:
    cfg = _cfg("  receiver: s\n  group_by: [job]\n  group_wait: 10s\n  routes:\n"
               "    - {matchers: ['severity=\"critical\"'], receiver: p, continue: true}\n"
               "    - {matchers: ['job=~\".+\"'], receiver: s}",
               "receivers:\n  - {name: s, slack_configs: [{send_resolved: true}]}\n"
               "  - {name: p, webhook_configs: [{url: 'http://x:1/'}]}\n")
    ep = _episodes([({"alertname": "Down", "job": "api", "severity": "critical"}, 0, 3)],
                   unit="m")
    n = simulate(ep, cfg)
    assert sorted(n["receiver"].unique()) == ["p", "s"]
    s = n.filter(pl.col("receiver") == "s")
    assert s["title"].to_list() == ["[FIRING:1] api (Down critical)", "[RESOLVED] api (Down critical)"]
    assert s["group_key"][0] == '{}/{job=~".+"}:{job="api"}'


def test_what_if_and_messages_per_day() -> None:
    cfg = _cfg("  receiver: s\n  group_by: [job]\n  group_wait: 10s\n  group_interval: 1m\n"
               "  repeat_interval: 5m")
    ep = _episodes([({"alertname": "A", "job": "x"}, 0, 60 * 24 * 2)], unit="m")
    seed = messages_per_day(simulate(ep, cfg))
    kube = messages_per_day(what_if(ep, cfg, group_wait="30s", group_interval="5m",
                                    repeat_interval="12h"))
    # seed: a message every 6 min -> 240 per day; kube-prometheus: every 12h05m -> 2 per day
    assert seed["messages"].to_list() == [240, 240, 1]
    assert kube["messages"].to_list()[:2] == [2, 2]
    assert alertmanager.simulate is simulate
    counts = simulate(ep, cfg, detail=False)
    full = simulate(ep, cfg)
    assert counts.select("time", "firing", "resolved").equals(full.select("time", "firing",
                                                                             "resolved"))
    assert counts["alerts"].list.len().sum() == 0 and counts["title"].null_count() == 2 * 240 + 1
    table = alertmanager.compare_timers(ep, cfg)
    assert table.filter(pl.col("scenario") == "configured")["messages"].to_list() == [240, 240, 1]
    assert table.filter(pl.col("scenario") == "kube-prometheus")["messages"].to_list()[:2] == [2, 2]


def test_pending_only_episodes_are_never_sent() -> None:
    cfg = _cfg("  receiver: s")
    ep = _episodes([({"alertname": "A"}, 0, 5)], unit="m").with_columns(
        fired_at=pl.lit(None, dtype=pl.Datetime("ms", "UTC")))
    assert simulate(ep, cfg).height == 0


def test_missing_columns_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="fired_at"):
        simulate(pl.DataFrame({"alertname": ["A"]}), _cfg("  receiver: s"))
