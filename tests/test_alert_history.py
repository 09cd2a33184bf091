"""Alert history from raw ALERTS samples, hand-computed cases: restarts, flaps, ``$value``
labels, missing ALERTS_FOR_STATE, window edges; summaries and the heat map."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from workbench import alert_history as ah
from workbench.frames import TIMESTAMP

M = 60_000
T0 = 1_767_600_000_000  # 2026-01-05 08:00 UTC, a Monday


def _alerts(rows: list[tuple[int, str, dict[str, str]]]) -> pl.DataFrame:
    """(minute, alertstate, labels) -> a raw ALERTS series frame."""
    names = sorted({k for _, _, lab in rows for k in lab})
    return pl.DataFrame({
        "timestamp": [T0 + m * M for m, _, _ in rows],
        "value": [1.0] * len(rows),
        "alertstate": [s for _, s, _ in rows],
        **{n: [lab.get(n) for _, _, lab in rows] for n in names},
    }, schema_overrides={"timestamp": TIMESTAMP})


def _for_state(alerts: pl.DataFrame, active_min: list[int]) -> pl.DataFrame:
    return alerts.drop("alertstate").with_columns(
        value=pl.Series([(T0 + a * M) / 1000 for a in active_min]))


def _times(ep: pl.DataFrame) -> list[tuple[int | None, ...]]:
    def minute(c: str) -> pl.Expr:
        return ((pl.col(c).dt.epoch("ms") - T0) // M).alias(c)

    return ep.select(minute("active_at"), minute("fired_at"), minute("resolved_at")).rows()


def test_restart_gap_with_the_same_active_at_is_one_episode() -> None:
    lab = {"alertname": "A", "job": "x"}
    rows = [(0, "pending", lab), (1, "pending", lab), (2, "firing", lab), (3, "firing", lab),
            # Prometheus down for 7 minutes, active_at restored from ALERTS_FOR_STATE
            (11, "firing", lab), (12, "firing", lab)]
    a = _alerts(rows)
    ep = ah.episodes_from_samples(a, _for_state(a, [0] * 6), end_ms=T0 + 30 * M)
    assert _times(ep) == [(0, 2, 13)]
    assert ep["firing_s"].to_list() == [11 * 60.0]
    assert ep["pending_s"].to_list() == [120.0]


def test_resolve_and_refire_with_a_new_active_at_are_two_episodes() -> None:
    lab = {"alertname": "A", "job": "x"}
    rows = [(0, "firing", lab), (1, "firing", lab), (3, "firing", lab), (4, "firing", lab)]
    rows += [(m, "firing", {"alertname": "Watchdog"}) for m in range(5)]  # the server was up
    a = _alerts(rows)
    ep = ah.episodes_from_samples(a, _for_state(a, [0, 0, 3, 3] + [0] * 5), end_ms=T0 + 30 * M)
    ep = ep.filter(pl.col("alertname") == "A").drop("job").with_columns(job=pl.lit("x"))
    assert _times(ep) == [(0, 0, 2), (3, 3, 5)]
    s = ah.alert_summary(ep)
    assert s.select("episodes", "fired", "flapping", "mttr_s").row(0) == (2, 2, 1, 120.0)


def test_without_for_state_the_gap_tolerance_decides() -> None:
    lab = {"alertname": "A"}
    rows = [(0, "firing", lab), (1, "firing", lab), (5, "firing", lab),  # 4 min gap: same
            (20, "firing", lab)]                                         # 15 min gap: new
    ep = ah.episodes_from_samples(_alerts(rows), None, end_ms=T0 + 60 * M)
    assert _times(ep) == [(0, 0, 6), (20, 20, 21)]
    ep2 = ah.episodes_from_samples(_alerts(rows), None, end_ms=T0 + 60 * M,
                                   gap_tolerance_ms=2 * M)
    assert len(ep2) == 3


def test_value_label_identities_collapse_into_one_episode() -> None:
    rows = []
    for m, v in enumerate(["91.2%", "91.2%", "93.5%", "95%", "95%"]):
        rows.append((m, "firing" if m else "pending",
                     {"alertname": "DiskFull", "instance": "a", "label_value": v}))
    # a per-CPU alert: cpu looks numeric but has all its values at once -> kept
    for m in range(3):
        for cpu in ("0", "1"):
            rows.append((m, "firing", {"alertname": "CPUHot", "instance": "a", "cpu": cpu}))
    a = _alerts(rows)
    assert ah.volatile_labels(a) == {"DiskFull": ["label_value"]}
    fs = _for_state(a, [0, 0, 2, 3, 3] + [0] * 6)
    ep = ah.episodes_from_samples(a, fs, end_ms=T0 + 30 * M)
    disk = ep.filter(pl.col("alertname") == "DiskFull")
    assert _times(disk) == [(0, 1, 5)]
    assert "label_value" not in disk.columns  # no other alert has it
    cpu = ep.filter(pl.col("alertname") == "CPUHot")
    assert cpu["cpu"].to_list() == ["0", "1"]
    assert _times(cpu) == [(0, 0, 3), (0, 0, 3)]


def test_still_active_at_the_end_and_already_active_at_the_start() -> None:
    lab = {"alertname": "A"}
    rows = [(0, "firing", lab), (1, "firing", lab), (2, "firing", lab)]
    a = _alerts(rows)
    ep = ah.episodes_from_samples(a, _for_state(a, [-90] * 3), end_ms=T0 + 2 * M + 30_000)
    assert _times(ep) == [(-90, 0, None)]
    assert ep["firing_s"].to_list() == [180.0]
    assert ah.alert_summary(ep)["still_firing"].to_list() == [1]


def test_summary_by_severity_and_heatmap() -> None:
    rows = [(m, "firing", {"alertname": "A", "severity": "warning", "pod": p})
            for p, ms in (("p1", (0, 1, 2)), ("p2", (60, 61))) for m in ms]
    rows += [(m, "firing", {"alertname": "B", "severity": "critical"}) for m in (0, 1, 2, 3)]
    ep = ah.episodes_from_samples(_alerts(rows), None, end_ms=T0 + 600 * M)
    s = ah.alert_summary(ep, by=("severity",))
    assert s.select("severity", "fired", "identities", "firing_s", "p50_s", "p90_s").rows() == [
        ("warning", 2, 2, 300.0, 150.0, 180.0), ("critical", 1, 1, 240.0, 240.0, 240.0)]
    hm = ah.heatmap(ep)
    assert hm.height == 168
    assert hm.filter(pl.col("fired") > 0).select("weekday", "hour", "fired").rows() == [
        ("Mon", 8, 2), ("Mon", 9, 1)]
    top = ah.top_identities(ep, n=2, end=datetime(2026, 1, 5, 18, tzinfo=UTC))
    assert sorted(set(top["identity"])) == ['A{pod="p1",severity="warning"}',
                                            'B{severity="critical"}']


def test_no_samples_is_an_empty_frame() -> None:
    ep = ah.episodes_from_samples(pl.DataFrame(schema={"timestamp": TIMESTAMP,
                                                       "value": pl.Float64}))
    assert ep.height == 0
    assert ah.alert_summary(ep).height == 0
    assert ah.heatmap(ep)["fired"].sum() == 0


def test_restart_that_reset_active_at_is_not_a_resolve() -> None:
    """Prometheus restarted (nothing written for 3 minutes) and did not restore active_at: one
    episode. The same gap while another alert kept firing is a resolve and a new alert."""
    a_lab, w_lab = {"alertname": "A"}, {"alertname": "Watchdog"}
    rows = [(m, "firing", a_lab) for m in (0, 1, 2, 6, 7)]
    a = _alerts(rows)
    ep = ah.episodes_from_samples(a, _for_state(a, [0, 0, 0, 6, 6]), end_ms=T0 + 30 * M)
    assert _times(ep) == [(0, 0, 8)]
    rows += [(m, "firing", w_lab) for m in range(8)]
    a = _alerts(rows)
    ep = ah.episodes_from_samples(a, _for_state(a, [0, 0, 0, 6, 6] + [0] * 8),
                                  end_ms=T0 + 30 * M)
    assert _times(ep.filter(pl.col("alertname") == "A")) == [(0, 0, 3), (6, 6, 8)]


def test_annotations_rendered_from_the_rules_with_value_unknown() -> None:
    from workbench.analysis.alert_history.annotations import VALUE_UNKNOWN, annotate_episodes
    from workbench.analysis.alerting import Rule

    rules = [Rule(alert="A", expr="x > 1", labels={"severity": "warning"},
                  annotations={"description": "{{ $labels.pod }} warn at {{ $value }}"}),
             Rule(alert="A", expr="x > 2", labels={"severity": "critical"},
                  annotations={"description": "{{ $labels.pod }} critical"})]
    ep = pl.DataFrame({"alertname": ["A", "A", "B"], "pod": ["p1", "p2", "p3"],
                       "severity": ["warning", "critical", None]})
    out, notes = annotate_episodes(ep, rules)
    assert out["annotation_description"].to_list() == [f"p1 warn at {VALUE_UNKNOWN}",
                                                       "p2 critical", None]
    assert any("No loaded rule for B" in n and "can't be reconstructed" in n for n in notes)
    assert any("A.description" in n and "$value" in n for n in notes)
