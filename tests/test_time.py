"""Time, duration and chunk arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workbench import ConfigError
from workbench._time import (
    auto_step_ms,
    format_duration,
    parse_duration_ms,
    parse_time_ms,
    plan_chunks,
)

NOW = 1_767_225_600_000  # 2026-01-01T00:00:00Z


@pytest.mark.parametrize(
    ("text", "ms"),
    [("30s", 30_000), ("1m30s", 90_000), ("500ms", 500), ("2h", 7_200_000), ("1d", 86_400_000),
     ("1w", 604_800_000), ("1y", 31_536_000_000), (15, 15_000), (0.25, 250), ("15", 15_000),
     ("2.5", 2_500), (timedelta(minutes=2), 120_000), ("1h0m5s", 3_605_000)],
)
def test_parse_duration(text: object, ms: int) -> None:
    assert parse_duration_ms(text) == ms  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["", "1.5h", "5x", "m", "1m 30s", "-5s", -1, float("nan"), True])
def test_parse_duration_rejects(bad: object) -> None:
    with pytest.raises(ConfigError, match="duration"):
        parse_duration_ms(bad)  # type: ignore[arg-type]


@given(st.integers(min_value=0, max_value=10**13))
def test_duration_round_trip(ms: int) -> None:
    assert parse_duration_ms(format_duration(ms)) == ms


@pytest.mark.parametrize(
    ("value", "ms"),
    [
        ("now", NOW),
        ("now-6h", NOW - 6 * 3_600_000),
        ("now - 1d12h", NOW - 36 * 3_600_000),
        ("now+5m", NOW + 300_000),
        ("2026-01-01T00:00:00Z", NOW),
        ("2026-01-01T01:00:00+01:00", NOW),
        ("2026-01-01 00:00:00.250Z", NOW + 250),
        (1_767_225_600, NOW),
        (1_767_225_600.5, NOW + 500),
        ("1767225600", NOW),
        (datetime(2026, 1, 1), NOW),  # naive means UTC
        (datetime(2026, 1, 1, 9, tzinfo=timezone(timedelta(hours=9))), NOW),
        (date(2026, 1, 1), NOW),
    ],
)
def test_parse_time(value: object, ms: int) -> None:
    assert parse_time_ms(value, now=lambda: NOW) == ms  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["yesterday", "now-", "now-5x", "2026-13-01", float("inf"), "inf", "-1e400"])
def test_parse_time_rejects_with_forms(bad: object) -> None:
    with pytest.raises(ConfigError):
        parse_time_ms(bad, now=lambda: NOW)  # type: ignore[arg-type]


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1),
                    timezones=st.just(UTC)))
def test_rfc3339_round_trip(dt: datetime) -> None:
    dt = dt.replace(microsecond=dt.microsecond // 1000 * 1000)
    assert parse_time_ms(dt.isoformat()) == parse_time_ms(dt) == round(dt.timestamp() * 1000)


def test_auto_step_rule() -> None:
    assert auto_step_ms(0, 3_600_000) == 5_000
    assert auto_step_ms(0, 6 * 3_600_000) == 30_000
    assert auto_step_ms(0, 30 * 86_400_000) == 3_600_000
    assert auto_step_ms(0, 0) == 1_000
    # beyond the table: whole days, still <= 1,000 points
    step = auto_step_ms(0, 5_000 * 86_400_000)
    assert step % 86_400_000 == 0 and 5_000 * 86_400_000 // step + 1 <= 1_000


@given(
    start=st.integers(min_value=0, max_value=10**12),
    n_steps=st.integers(min_value=0, max_value=50_000),
    extra=st.integers(min_value=0, max_value=999),
    step=st.integers(min_value=1, max_value=120_000),
    max_points=st.integers(min_value=1, max_value=12_000),
)
def test_chunks_cover_every_evaluation_once(start: int, n_steps: int, extra: int, step: int,
                                            max_points: int) -> None:
    end = start + n_steps * step + min(extra, step - 1)
    windows = plan_chunks(start, end, step, max_points=max_points)
    points = []
    for s, e in windows:
        assert (s - start) % step == 0 and (e - start) % step == 0
        assert (e - s) // step + 1 <= max_points
        points.extend(range(s, e + 1, step))
    assert points == list(range(start, end + 1, step))


def test_chunks_reject_reversed_range() -> None:
    with pytest.raises(ConfigError, match="swap"):
        plan_chunks(10, 0, 1)


@pytest.mark.parametrize("max_points", [0, -3])
def test_chunks_reject_non_positive_max_points(max_points: int) -> None:
    # Before: k never advanced and the window list grew until memory ran out.
    with pytest.raises(ConfigError, match="max_points must be at least 1"):
        plan_chunks(0, 10_000, 1_000, max_points=max_points)
