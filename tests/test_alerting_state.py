"""The vectorised state machine against a line-by-line port of 2.42 ``AlertingRule.Eval``.

The port below is deliberately the naive per-step loop (it mirrors the Go code's branches); the
promtool differential tests (tests/test_alerting_oracle.py) check both against the real engine.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.analysis.alerting.state import alert_episodes, alert_samples, alert_states

RESOLVED_RETENTION_MS = 15 * 60_000


def reference_eval(present: np.ndarray, t: np.ndarray, for_ms: int, keep_ms: int):
    """Port of rules/alerting.go Eval (v2.42.0): returns (state, active_at, episodes)."""
    n, steps = present.shape
    state = np.zeros((n, steps), np.int8)
    active_at = np.zeros((n, steps), np.int64)
    created: list[dict] = []
    active: dict[int, dict] = {}
    for k in range(steps):
        ts = int(t[k])
        for i in map(int, np.flatnonzero(present[:, k])):
            a = active.get(i)
            if a is not None and a["state"] != "inactive":
                continue
            a = {"series": i, "state": "pending", "active_at": ts, "fired_at": None,
                 "resolved_at": None, "kfs": None}
            active[i] = a
            created.append(a)
        for i, a in list(active.items()):
            if not present[i, k]:
                keep = False
                if a["state"] == "firing" and keep_ms > 0:
                    if a["kfs"] is None:
                        a["kfs"] = ts
                    if ts - a["kfs"] < keep_ms:
                        keep = True
                if a["state"] == "pending" or (
                    a["resolved_at"] is not None and ts - a["resolved_at"] > RESOLVED_RETENTION_MS
                ):
                    del active[i]
                if a["state"] != "inactive" and not keep:
                    a["state"] = "inactive"
                    a["resolved_at"] = ts
                if not keep:
                    continue
            else:
                a["kfs"] = None
            if a["state"] == "pending" and ts - a["active_at"] >= for_ms:
                a["state"] = "firing"
                a["fired_at"] = ts
            state[i, k] = 1 if a["state"] == "pending" else 2
            active_at[i, k] = a["active_at"]
    rows = sorted((a["series"], a["active_at"], a["fired_at"], a["resolved_at"]) for a in created)
    return state, active_at, rows


def _check(present: np.ndarray, t: np.ndarray, for_ms: int, keep_ms: int) -> None:
    ref_state, ref_active, ref_rows = reference_eval(present, t, for_ms, keep_ms)
    ep = alert_episodes(present, t, for_ms, keep_ms)
    got_rows = sorted(ep.select("series_idx", "active_at", "fired_at", "resolved_at").rows())
    assert got_rows == ref_rows
    # invariants: ordered instants, and one series' episodes never overlap
    for a, b in zip(ep.rows(named=True), ep.rows(named=True)[1:], strict=False):
        if a["series_idx"] == b["series_idx"]:
            assert a["end_step"] <= b["start_step"]
    for r in ep.rows(named=True):
        assert r["start_step"] <= (r["fire_step"] if r["fire_step"] is not None else r["end_step"])
        assert r["start_step"] < r["end_step"]
    st_ = alert_states(ep, present.shape[0], t)
    np.testing.assert_array_equal(st_.state, ref_state)
    np.testing.assert_array_equal(np.where(st_.state > 0, st_.active_at_ms, 0), ref_active)
    samples = alert_samples(ep, t)
    assert samples.height == int((ref_state > 0).sum())
    dense = np.zeros_like(ref_state)
    code = np.where(samples["alertstate"].to_numpy() == "firing", 2, 1).astype(np.int8)
    dense[samples["series_idx"].to_numpy(), samples["step"].to_numpy()] = code
    np.testing.assert_array_equal(dense, ref_state)


def test_worked_example_from_alerting_md() -> None:
    # I=1m, F=3m, K=2m, bad at 2..7m: pending 2-4m, firing 5-7m, kept 8-9m, resolved at 10m.
    t = np.arange(15) * 60_000
    present = np.zeros((1, 15), bool)
    present[0, 2:8] = True
    ep = alert_episodes(present, t, 180_000, 120_000)
    assert ep.select("active_at", "fired_at", "resolved_at").row(0) == (120_000, 300_000, 600_000)
    state = alert_states(ep, 1, t).state[0]
    assert state.tolist() == [0, 0, 1, 1, 1, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0]
    assert int((state == 2).sum()) == 5  # count_over_time(ALERTS{alertstate="firing"}[15m])


def test_for_not_multiple_of_interval_and_zero() -> None:
    t = np.arange(8) * 60_000
    present = np.array([[1, 1, 1, 1, 0, 1, 0, 0]], bool)
    ep = alert_episodes(present, t, for_ms=90_000)       # ceil(1.5) = 2 intervals
    assert ep.select("active_at", "fired_at", "resolved_at").rows() == [
        (0, 120_000, 240_000), (300_000, None, 360_000)]
    ep0 = alert_episodes(present, t, for_ms=0)
    assert ep0["fired_at"].to_list() == [0, 300_000]


def test_keep_firing_bridges_gap_only_for_firing() -> None:
    t = np.arange(12) * 60_000
    present = np.array([[1, 1, 1, 0, 0, 1, 0, 1, 1, 0, 0, 0]], bool)
    ep = alert_episodes(present, t, for_ms=60_000, keep_firing_for_ms=150_000)
    # fires at 1m; gap 3-4m (< 150s since 3m) bridged, gap at 6m bridged, ends after 9m+150s.
    # last absence starts at 9m; 10m and 11m are < 150 s later, so still firing at the end.
    assert ep.select("active_at", "fired_at", "resolved_at").rows() == [(0, 60_000, None)]
    ep_short = alert_episodes(present[:, :12], t, for_ms=60_000, keep_firing_for_ms=90_000)
    assert ep_short.select("active_at", "fired_at", "resolved_at").rows() == [(0, 60_000, 660_000)]
    pending_only = alert_episodes(np.array([[1, 0, 1, 1]], bool), t[:4], 120_000, 600_000)
    assert pending_only.select("active_at", "fired_at", "resolved_at").rows() == [
        (0, None, 60_000), (120_000, None, None)]


def test_empty_and_bad_inputs() -> None:
    t = np.arange(3) * 1000
    assert alert_episodes(np.zeros((2, 3), bool), t).height == 0
    assert alert_samples(alert_episodes(np.zeros((2, 3), bool), t), t).height == 0
    with pytest.raises(ValueError, match="strictly increasing"):
        alert_episodes(np.ones((1, 3), bool), [0, 0, 1])
    with pytest.raises(ValueError, match="one entry per step"):
        alert_episodes(np.ones((1, 3), bool), [0, 1])


@settings(max_examples=300, deadline=None)
@given(
    data=st.data(),
    n=st.integers(1, 4),
    steps=st.integers(1, 40),
    for_ms=st.sampled_from([0, 30_000, 60_000, 90_000, 180_000, 250_000]),
    keep_ms=st.sampled_from([0, 1, 60_000, 90_000, 120_000, 300_000]),
    p_true=st.floats(0.2, 0.95),
)
def test_matches_reference_loop(data, n, steps, for_ms, keep_ms, p_true) -> None:
    seed = data.draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    present = rng.random((n, steps)) < p_true
    uneven = data.draw(st.booleans())
    gaps = rng.integers(1, 3, steps) * 30_000 if uneven else np.full(steps, 60_000)
    t = np.cumsum(gaps) + 1_700_000_000_000
    _check(present, t, for_ms, keep_ms)


def test_large_random_matches_reference() -> None:
    rng = np.random.default_rng(7)
    present = rng.random((50, 600)) < 0.85
    t = np.arange(600) * 60_000
    for for_ms, keep_ms in [(0, 0), (300_000, 0), (150_000, 120_000), (60_000, 600_000)]:
        _check(present, t, for_ms, keep_ms)
    assert isinstance(alert_episodes(present, t), pl.DataFrame)
