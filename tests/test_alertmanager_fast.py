"""The optimised simulate() gives byte-identical frames to the frozen reference implementation
(tests/alertmanager_reference/, the event engine as it was before the speed work) on random
episode sets and configs: routing with ``continue``, group_by variants, inhibition, mute time
intervals, send_resolved on/off, several integrations, re-fires of one identity, alerts still
firing at the end, pending-only episodes, maintenance phases and ``detail`` on/off."""

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
