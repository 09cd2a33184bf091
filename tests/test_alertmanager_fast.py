"""The optimised simulate() gives byte-identical frames to the frozen reference implementation
(tests/alertmanager_reference/, the event engine as it was before the speed work) on random
episode sets and configs: routing with ``continue``, group_by variants, inhibition, mute time
intervals, send_resolved on/off, several integrations, re-fires of one identity, alerts still
firing at the end, pending-only episodes, maintenance phases and ``detail`` on/off.

The per-group engine (``fastpath.py``, used without inhibit rules and time intervals) has its
own cases with crowded groups (deleted and re-created by the 30 s cleanup, group_wait and
group_interval off the evaluation grid so a cleanup can fall on a post), a truncated ``end``,
and the inputs it hands back to the event engine (overlapping episodes, twin routes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from tests.alertmanager_reference.simulate import simulate as reference_simulate
from workbench.analysis.alertmanager import AlertmanagerConfig, simulate

T0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)        # a Monday
_NAMES = ["Down", "Slow", "Full"]
_JOBS = ["a", "b", None]
_SEV = ["critical", "warning", None]


@st.composite
def configs(draw: st.DrawFn) -> str:
    group_by = draw(st.sampled_from(["[alertname]", "[job]", "[alertname, job]", "[]",
                                     "['...']"]))
    gw = draw(st.sampled_from(["0s", "10s", "30s", "1m", "3m"]))
    gi = draw(st.sampled_from(["30s", "1m", "2m", "5m"]))
    ri = draw(st.sampled_from(["1m", "2m", "5m", "7m", "1h"]))
    sr1 = draw(st.booleans())
    sr2 = draw(st.booleans())
    routes = []
    if draw(st.booleans()):
        cont = draw(st.booleans())
        routes.append(f"    - {{matchers: ['severity=\"critical\"'], receiver: p, "
                      f"group_by: [alertname], group_interval: {gi}, "
                      f"continue: {str(cont).lower()}}}")
    if draw(st.booleans()):
        routes.append("    - {matchers: ['job=\"b\"'], receiver: s, group_wait: 20s, "
                      "mute_time_intervals: [odd]}")
    route = (f"route:\n  receiver: s\n  group_by: {group_by}\n  group_wait: {gw}\n"
             f"  group_interval: {gi}\n  repeat_interval: {ri}\n")
    if routes:
        route += "  routes:\n" + "\n".join(routes) + "\n"
    text = ("global: {slack_api_url: 'http://127.0.0.1:1/'}\n" + route +
            "receivers:\n"
            f"  - name: s\n    slack_configs:\n      - {{send_resolved: {str(sr1).lower()}}}\n"
            f"      - {{send_resolved: {str(sr2).lower()}, title: 'x {{{{ .Status }}}}'}}\n"
            "  - name: p\n    webhook_configs: [{url: 'http://127.0.0.1:1/p'}]\n"
            "time_intervals:\n  - name: odd\n    time_intervals:\n"
            "      - times: [{start_time: '00:10', end_time: '00:25'}]\n")
    if draw(st.booleans()):
        equal = draw(st.sampled_from(["[job]", "[]", "[alertname]"]))
        text += ("inhibit_rules:\n  - source_matchers: [severity=critical]\n"
                 f"    target_matchers: [severity=warning]\n    equal: {equal}\n")
    return text


@st.composite
def episode_sets(draw: st.DrawFn) -> pl.DataFrame:
    n_ident = draw(st.integers(1, 6))
    idents = [(draw(st.sampled_from(_NAMES)), draw(st.sampled_from(_JOBS)),
               draw(st.sampled_from(_SEV))) for _ in range(n_ident)]
    rows = []
    for name, job, sev in dict.fromkeys(idents):
        t = draw(st.integers(0, 20))
        for _ in range(draw(st.integers(1, 4))):
            pending = draw(st.sampled_from([0, 0, 1, 3]))
            length = draw(st.integers(0, 40))
            fired = t + pending
            never = length == 0 and pending > 0 and draw(st.booleans())
            still = draw(st.integers(0, 9)) == 0
            rows.append({"alertname": name, "job": job, "severity": sev,
                         "active_at": T0 + timedelta(minutes=t),
                         "fired_at": None if never else T0 + timedelta(minutes=fired),
                         "resolved_at": None if still else
                         T0 + timedelta(minutes=fired + max(length, 1)),
                         "annotation_description": draw(st.sampled_from(["d", None]))})
            if still:
                break
            t = fired + max(length, 1) + draw(st.integers(1, 30))
    return pl.DataFrame(rows, schema={
        "alertname": pl.String, "job": pl.String, "severity": pl.String,
        "active_at": pl.Datetime("ms", "UTC"), "fired_at": pl.Datetime("ms", "UTC"),
        "resolved_at": pl.Datetime("ms", "UTC"), "annotation_description": pl.String})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ep=episode_sets(), cfg_text=configs(), phase=st.integers(0, 29_999),
       detail=st.booleans(), delay=st.sampled_from(["1m", "0s", "2m"]))
def test_fast_path_equals_reference(ep: pl.DataFrame, cfg_text: str, phase: int, detail: bool,
                                    delay: str) -> None:
    cfg = AlertmanagerConfig.from_yaml(cfg_text)
    kwargs = {"maintenance_phase": phase, "detail": detail, "resend_delay": delay}
    want = reference_simulate(ep, cfg, **kwargs)         # type: ignore[arg-type]
    got = simulate(ep, cfg, **kwargs)                    # type: ignore[arg-type]
    assert_frame_equal(got, want)
    assert got.to_arrow() == want.to_arrow()


def test_fast_path_equals_reference_on_a_busy_week() -> None:
    from benchmarks.bench_alertmanager import CONFIG, make_episodes

    cfg = AlertmanagerConfig.from_yaml(CONFIG)
    ep = make_episodes(150, 7)
    for detail in (True, False):
        assert_frame_equal(simulate(ep, cfg, detail=detail),
                           reference_simulate(ep, cfg, detail=detail))
    kube = {"group_wait": "30s", "group_interval": "5m", "repeat_interval": "12h"}
    from tests.alertmanager_reference.simulate import what_if as reference_what_if
    from workbench.analysis.alertmanager import what_if
    assert_frame_equal(what_if(ep, cfg, **kube), reference_what_if(ep, cfg, **kube))


# -- the per-group engine (fastpath.py): configs it runs, more members per group ----------------

@st.composite
def plain_configs(draw: st.DrawFn) -> str:
    """Configs without inhibit rules or time intervals (the per-group engine runs them)."""
    group_by = draw(st.sampled_from(["[alertname]", "[job]", "[]", "['...']"]))
    gw = draw(st.sampled_from(["0s", "10s", "50s", "1m", "3m"]))
    gi = draw(st.sampled_from(["20s", "50s", "1m", "2m", "5m"]))
    ri = draw(st.sampled_from(["1m", "2m", "5m", "7m", "1h"]))
    sr1, sr2 = draw(st.booleans()), draw(st.booleans())
    text = ("global: {slack_api_url: 'http://127.0.0.1:1/'}\n"
            f"route:\n  receiver: s\n  group_by: {group_by}\n  group_wait: {gw}\n"
            f"  group_interval: {gi}\n  repeat_interval: {ri}\n")
    routes = []
    if draw(st.booleans()):
        gi2 = draw(st.sampled_from(["30s", "1m", "3m"]))
        routes.append(f"    - {{matchers: ['severity=\"critical\"'], receiver: p, "
                      f"group_by: [job], group_interval: {gi2}, repeat_interval: 3m, "
                      f"continue: {str(draw(st.booleans())).lower()}}}")
    if draw(st.booleans()):
        routes.append("    - {matchers: ['job=\"b\"'], receiver: s, group_wait: 0s}")
    if routes:
        text += "  routes:\n" + "\n".join(routes) + "\n"
    return text + (
        "receivers:\n"
        f"  - name: s\n    slack_configs:\n      - {{send_resolved: {str(sr1).lower()}}}\n"
        f"      - {{send_resolved: {str(sr2).lower()}, title: 'x {{{{ .Status }}}}'}}\n"
        "  - name: p\n    webhook_configs: [{url: 'http://127.0.0.1:1/p'}]\n")


@st.composite
def crowded_episode_sets(draw: st.DrawFn) -> pl.DataFrame:
    """Up to 12 identities in few groups, each firing again and again (groups emptied,
    deleted and re-created, resolved re-sends landing in busy and in empty groups)."""
    rows = []
    for k in range(draw(st.integers(1, 12))):
        name, job = draw(st.sampled_from(_NAMES)), draw(st.sampled_from(_JOBS))
        sev = draw(st.sampled_from(_SEV))
        t = draw(st.integers(0, 30))
        for _ in range(draw(st.integers(1, 6))):
            pending = draw(st.sampled_from([0, 0, 2]))
            length = draw(st.integers(1, 25))
            never = pending > 0 and draw(st.integers(0, 4)) == 0
            still = draw(st.integers(0, 12)) == 0
            rows.append({"alertname": name, "job": job, "severity": sev, "pod": f"p{k}",
                         "active_at": T0 + timedelta(minutes=t),
                         "fired_at": None if never else T0 + timedelta(minutes=t + pending),
                         "resolved_at": None if still else
                         T0 + timedelta(minutes=t + pending + length),
                         "annotation_description": draw(st.sampled_from(["d", "e", None]))})
            if still:
                break
            t += pending + length + draw(st.integers(1, 20))
    return pl.DataFrame(rows, schema={
        "alertname": pl.String, "job": pl.String, "severity": pl.String, "pod": pl.String,
        "active_at": pl.Datetime("ms", "UTC"), "fired_at": pl.Datetime("ms", "UTC"),
        "resolved_at": pl.Datetime("ms", "UTC"), "annotation_description": pl.String})


def _fast_path_taken(ep: pl.DataFrame, cfg: AlertmanagerConfig, **kwargs: object) -> bool:
    import numpy as np

    from workbench.analysis.alertmanager import fastpath
    from workbench.analysis.alertmanager.simulate import NOTIFICATION_SCHEMA, _to_ms_array

    if not fastpath.applies(cfg):          # simulate() runs the event engine then
        return False
    labels = [c for c, t in ep.schema.items() if t == pl.String
              and not c.startswith("annotation_")]
    fired = _to_ms_array(ep["fired_at"])
    out = fastpath.fast_simulate(
        ep, cfg, label_cols=labels, ann_cols=["annotation_description"], fired=fired,
        resolved=_to_ms_array(ep["resolved_at"]), active=_to_ms_array(ep["active_at"]),
        end=int(np.max(fired)) + 3_600_000, interval=60_000, resend=60_000,
        retention=900_000, phase=0, external_url="", detail=False, schema=NOTIFICATION_SCHEMA)
    return out is not None


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ep=crowded_episode_sets(), cfg_text=plain_configs(),
       phase=st.sampled_from([0, 0, 10_000, 20_000]) | st.integers(0, 29_999),
       detail=st.booleans(), delay=st.sampled_from(["1m", "0s", "2m"]),
       cut=st.sampled_from([None, 20, 45, 90]))
def test_per_group_engine_equals_reference(ep: pl.DataFrame, cfg_text: str, phase: int,
                                           detail: bool, delay: str, cut: int | None) -> None:
    cfg = AlertmanagerConfig.from_yaml(cfg_text)
    kwargs: dict[str, object] = {"maintenance_phase": phase, "detail": detail,
                                 "resend_delay": delay}
    if cut is not None:
        kwargs["end"] = T0 + timedelta(minutes=cut, seconds=10)
    if ep["fired_at"].null_count() < ep.height:
        assert _fast_path_taken(ep, cfg)
    want = reference_simulate(ep, cfg, **kwargs)         # type: ignore[arg-type]
    got = simulate(ep, cfg, **kwargs)                    # type: ignore[arg-type]
    assert_frame_equal(got, want)


def test_overlapping_episodes_and_twin_routes_fall_back_to_the_event_engine() -> None:
    # one identity's episodes overlap (the store merges its posts) -> event engine
    ep = pl.DataFrame({
        "alertname": ["Down", "Down", "Down"], "job": ["a", "a", "b"],
        "active_at": [T0, T0 + timedelta(minutes=5), T0],
        "fired_at": [T0, T0 + timedelta(minutes=6), T0 + timedelta(minutes=1)],
        "resolved_at": [None, T0 + timedelta(minutes=30), T0 + timedelta(minutes=20)]},
        schema_overrides={c: pl.Datetime("ms", "UTC")
                          for c in ("active_at", "fired_at", "resolved_at")})
    cfg = AlertmanagerConfig.from_yaml(
        "global: {slack_api_url: 'http://127.0.0.1:1/'}\n"
        "route: {receiver: s, group_by: [job], group_wait: 10s, group_interval: 1m, "
        "repeat_interval: 5m}\n"
        "receivers: [{name: s, slack_configs: [{send_resolved: true}]}]\n")
    assert not _fast_path_taken(ep, cfg)
    assert_frame_equal(simulate(ep, cfg), reference_simulate(ep, cfg))
    # two sibling routes with the same matchers share a group key -> event engine
    twins = AlertmanagerConfig.from_yaml(
        "global: {slack_api_url: 'http://127.0.0.1:1/'}\n"
        "route:\n  receiver: s\n  group_by: [job]\n  routes:\n"
        "    - {matchers: ['job=\"b\"'], receiver: s, continue: true}\n"
        "    - {matchers: ['job=\"b\"'], receiver: s}\n"
        "receivers: [{name: s, slack_configs: [{send_resolved: true}]}]\n")
    ok = ep.filter(pl.col("job") == "b")
    assert not _fast_path_taken(ok, twins)
    assert_frame_equal(simulate(ok, twins), reference_simulate(ok, twins))


def test_an_empty_episodes_frame_sends_nothing() -> None:
    cfg = AlertmanagerConfig.from_yaml(
        "global: {slack_api_url: 'http://127.0.0.1:1/'}\nroute: {receiver: s}\n"
        "receivers: [{name: s, slack_configs: [{send_resolved: true}]}]\n")
    empty = pl.DataFrame(schema={"alertname": pl.String, "active_at": pl.Datetime("ms", "UTC"),
                                 "fired_at": pl.Datetime("ms", "UTC"),
                                 "resolved_at": pl.Datetime("ms", "UTC")})
    from workbench.analysis.alertmanager import NOTIFICATION_SCHEMA

    out = simulate(empty, cfg)
    assert out.height == 0 and dict(out.schema) == NOTIFICATION_SCHEMA


def test_episodes_without_label_columns_give_the_same_messages_in_both_engines() -> None:
    from unittest import mock

    from workbench.analysis.alertmanager import fastpath

    cfg = AlertmanagerConfig.from_yaml(
        "global: {slack_api_url: 'http://127.0.0.1:1/'}\n"
        "route: {receiver: s, group_wait: 10s, group_interval: 1m, repeat_interval: 5m}\n"
        "receivers: [{name: s, slack_configs: [{send_resolved: true}]}]\n")
    ep = pl.DataFrame({"active_at": [T0, T0 + timedelta(minutes=30)],
                       "fired_at": [T0 + timedelta(minutes=1), T0 + timedelta(minutes=31)],
                       "resolved_at": [T0 + timedelta(minutes=10), None]},
                      schema={c: pl.Datetime("ms", "UTC")
                              for c in ("active_at", "fired_at", "resolved_at")})
    fast = simulate(ep, cfg)
    with mock.patch.object(fastpath, "applies", return_value=False):
        events = simulate(ep, cfg)
    assert_frame_equal(fast, events)
    assert fast["reason"].to_list()[:3] == ["new", "repeat", "resolved"]
