"""Times, durations and range/step arithmetic, all in integer milliseconds.

Inputs accepted everywhere a time is expected (``start``, ``end``, ``time``):

* :class:`datetime.datetime` (naive means UTC), :class:`datetime.date` (midnight UTC);
* ``int``/``float`` unix seconds;
* RFC 3339 strings (``"2026-11-25T10:00:00Z"``, offsets allowed, a space for ``T`` too);
* ``"now"`` and relative forms ``"now-6h"``, ``"now-1d12h"``, ``"now+5m"``.

Durations (``step``, ``for``, ranges) accept seconds as numbers, :class:`datetime.timedelta`,
or Prometheus duration strings (``"30s"``, ``"1m30s"``, ``"1.5h"`` is *not* Prometheus syntax and
is refused). Working in integer milliseconds keeps chunk seams exact.
"""

from __future__ import annotations

import math
import re
import time as _time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from ._errors import ConfigError

__all__ = [
    "MAX_ARG_MS",
    "MAX_POINTS_TOTAL",
    "MAX_REQUESTS",
    "DurationLike",
    "TimeLike",
    "auto_step_ms",
    "check_ms",
    "check_plan",
    "format_duration",
    "parse_duration_ms",
    "parse_time_ms",
    "suggest_step_ms",
    "to_datetime",
]

TimeLike = datetime | date | int | float | str
DurationLike = int | float | timedelta | str

_UNITS_MS = {
    "ms": 1,
    "s": 1_000,
    "m": 60_000,
    "h": 3_600_000,
    "d": 86_400_000,
    "w": 604_800_000,
    "y": 31_536_000_000,
}
_DURATION_RE = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_NUMBER_RE = re.compile(r"^\d+(\.\d*)?$")
_RELATIVE_RE = re.compile(r"^now\s*(?:([+-])\s*(\S+))?$")

#: Steps chosen by :func:`auto_step_ms`, in milliseconds.
NICE_STEPS_MS = tuple(
    s * 1000
    for s in (1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
)


#: The largest millisecond count an analysis argument may hold (~31,000 years): more is a unit
#: mix-up, and overflows polars' durations.
MAX_ARG_MS = 10**15


def check_ms(value: object, name: str, fn: str, *, minimum: int = 0) -> int:
    """``value`` as a whole number of milliseconds in ``[minimum, MAX_ARG_MS]``, else a
    :class:`~workbench.ConfigError` naming ``fn``, ``name`` and the fix.

    Examples
    --------
    >>> check_ms(60_000.0, "step_ms", "occurrences")
    60000
    >>> check_ms(-1, "step_ms", "occurrences")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    workbench._errors.ConfigError: occurrences: step_ms must be a finite number of milliseconds ...
    """
    ok = isinstance(value, int | float) and not isinstance(value, bool) \
        and math.isfinite(value) and minimum <= value <= MAX_ARG_MS
    if not ok:
        msg = (f"{fn}: {name} must be a finite number of milliseconds between {minimum} and "
               f"{MAX_ARG_MS}, got {value!r:.60}. Fix: pass e.g. {name}=60_000.")
        raise ConfigError(msg)
    return int(value)  # type: ignore[call-overload,no-any-return]


def parse_duration_ms(value: DurationLike) -> int:
    """Parse a duration into integer milliseconds.

    Parameters
    ----------
    value
        Seconds (``int``/``float``), a :class:`~datetime.timedelta`, or a Prometheus duration
        string such as ``"30s"``, ``"1m30s"``, ``"2h"``, ``"500ms"``.

    Examples
    --------
    >>> parse_duration_ms("1m30s")
    90000
    >>> parse_duration_ms(15)
    15000
    """
    ms = _parse_duration_ms(value)
    if not 0 <= ms <= _MAX_DURATION_MS:
        msg = (f"Invalid duration {str(value)[:60]!r}: it must be between 0 and 10,000 years. "
               "Fix: use e.g. '30s', '5m' or '1h30m'.")
        raise ConfigError(msg)
    return ms


_MAX_DURATION_MS = 10_000 * 31_536_000_000


def _parse_duration_ms(value: DurationLike) -> int:
    if isinstance(value, bool):
        msg = f"Invalid duration {value!r}: use seconds or a string like '30s'."
        raise ConfigError(msg)
    if isinstance(value, timedelta):
        return round(value.total_seconds() * 1000)
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < 0 or value > _MAX_DURATION_MS:
            msg = (f"Invalid duration {str(value)[:60]}: it must be a finite, non-negative number "
                   "of seconds (at most 10,000 years).")
            raise ConfigError(msg)
        return round(value * 1000)
    text = str(value).strip()
    try:
        if _NUMBER_RE.match(text):
            return _parse_duration_ms(float(text))
        return _parse(text)
    except ValueError:
        pass
    msg = (
        f"Invalid duration {value!r}: use Prometheus syntax such as '30s', '5m', '1h30m', "
        "'2d' (units ms, s, m, h, d, w, y), or a number of seconds."
    )
    raise ConfigError(msg)


def _parse(text: str) -> int:
    pos, total = 0, 0
    for m in _DURATION_RE.finditer(text):
        if m.start() != pos:
            raise ValueError(text)
        total += int(m.group(1)) * _UNITS_MS[m.group(2)]
        pos = m.end()
    if pos != len(text) or pos == 0:
        raise ValueError(text)
    return total


def format_duration(ms: int) -> str:
    """Format milliseconds as the shortest Prometheus duration string.

    Examples
    --------
    >>> format_duration(90_000)
    '1m30s'
    >>> format_duration(0)
    '0s'
    """
    if ms == 0:
        return "0s"
    out = []
    for unit in ("d", "h", "m", "s", "ms"):
        size = _UNITS_MS[unit]
        if ms >= size:
            out.append(f"{ms // size}{unit}")
            ms %= size
    return "".join(out)


def _now_ms() -> int:
    return _time.time_ns() // 1_000_000


def parse_time_ms(value: TimeLike, *, now: Callable[[], int] | None = None) -> int:
    """Parse a time into integer unix milliseconds (UTC).

    Parameters
    ----------
    value
        ``datetime`` (naive = UTC), ``date``, unix seconds, RFC 3339 text, ``"now"``,
        or ``"now-6h"``-style relative text.
    now
        Clock returning unix milliseconds; defaults to the system clock.

    Examples
    --------
    >>> parse_time_ms("2024-01-01T00:00:00Z")
    1704067200000
    >>> parse_time_ms("now-1h", now=lambda: 7_200_000)
    3600000
    """
    ms = _parse_time_ms(value, now)
    if not _MIN_MS <= ms <= _MAX_MS:
        msg = (f"Invalid time {str(value)[:60]!r}: it falls outside the years 1 to 9999. Fix: "
               "check the number (unix seconds, not milliseconds) or the relative offset.")
        raise ConfigError(msg)
    return ms


_MIN_MS = -62_135_596_800_000  # 0001-01-01T00:00:00Z
_MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z


def _parse_time_ms(value: TimeLike, now: Callable[[], int] | None) -> int:
    if isinstance(value, bool):
        msg = f"Invalid time {value!r}."
        raise ConfigError(msg)
    if isinstance(value, datetime):
        dt = value if value.tzinfo else value.replace(tzinfo=UTC)
        return round(dt.timestamp() * 1000)
    if isinstance(value, date):
        return round(datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp() * 1000)
    if isinstance(value, int | float):
        if not math.isfinite(value) or abs(value) > 1e15:
            msg = f"Invalid time {str(value)[:60]}: unix seconds must be finite (years 1 to 9999)."
            raise ConfigError(msg)
        return round(value * 1000)
    text = str(value).strip()
    rel = _RELATIVE_RE.match(text)
    if rel:
        base = (now or _now_ms)()
        if isinstance(base, bool) or not isinstance(base, int):
            msg = f"The clock (now=) must return whole unix milliseconds, got {str(base)[:40]!r}."
            raise ConfigError(msg)
        if rel.group(1) is None:
            return base
        delta = parse_duration_ms(rel.group(2))
        return base - delta if rel.group(1) == "-" else base + delta
    try:
        return round(float(text) * 1000)
    except (ValueError, OverflowError):  # not a number, or "inf" / "1e400"
        pass
    if "\x00" in text or len(text) > 64:  # fromisoformat refuses NULs with a raw ValueError text
        msg = f"Invalid time {text[:60]!r}: use RFC 3339 text ('2026-11-25T10:00:00Z'), 'now', or 'now-6h'."
        raise ConfigError(msg)
    try:
        dt = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        msg = (
            f"Invalid time {value!r}: use a datetime, unix seconds, RFC 3339 text "
            "('2026-11-25T10:00:00Z'), 'now', or 'now-6h'."
        )
        raise ConfigError(msg) from None
    return parse_time_ms(dt)


def to_datetime(ms: int) -> datetime:
    """Convert unix milliseconds to an aware UTC datetime."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def auto_step_ms(start_ms: int, end_ms: int, *, max_points: int = 1_000) -> int:
    """Choose a readable step for a range: the smallest "nice" step giving ≤ ``max_points``.

    The nice steps are 1s, 5s, 10s, 15s, 30s, 1m, 2m, 5m, 10m, 15m, 30m, 1h, 2h, 3h, 6h, 12h
    and 1d; beyond that, whole days.

    Examples
    --------
    >>> auto_step_ms(0, 3_600_000)  # one hour -> 5s steps (721 points)
    5000
    >>> auto_step_ms(0, 7 * 86_400_000)  # one week -> 15m steps (673 points)
    900000
    """
    span = max(0, end_ms - start_ms)
    for step in NICE_STEPS_MS:
        if span // step + 1 <= max_points:
            return step
    day = NICE_STEPS_MS[-1]
    return day * math.ceil(span / day / max(1, max_points - 1))


#: Prometheus refuses a range query when (end - start) / step exceeds 11,000.
MAX_POINTS_PER_SERIES = 11_000
#: Default ceiling on the samples (rows) one range query may return, all series together.
MAX_POINTS_TOTAL = 50_000_000
#: Default ceiling on the requests (windows) one range query may be split into.
MAX_REQUESTS = 10_000


def _count(n: int) -> str:
    return f"{n:,}" if n < 10**15 else f"{n:.2e}"


def suggest_step_ms(span_ms: int, max_steps: int) -> int:
    """The smallest nice step (see :func:`auto_step_ms`) giving at most ``max_steps`` steps.

    Examples
    --------
    >>> format_duration(suggest_step_ms(3_600_000, 1_000))
    '5s'
    """
    return auto_step_ms(0, span_ms, max_points=max(2, max_steps))


def check_plan(start_ms: int, end_ms: int, step_ms: int, *, max_points: int = MAX_POINTS_PER_SERIES,
               max_points_total: int = MAX_POINTS_TOTAL, max_requests: int = MAX_REQUESTS) -> int:
    """Refuse a range plan that could never end well, before any request; return its steps.

    A plan is refused when one series alone would exceed ``max_points_total`` samples, or when
    it needs more than ``max_requests`` requests of ``max_points`` steps. The message says how
    big the plan is and which step would fit.

    Examples
    --------
    >>> check_plan(0, 3_600_000, 1_000)
    3601
    >>> check_plan(0, 3_600_000, 1, max_points_total=1_000_000)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    workbench._errors.ConfigError: The range query would return 3,600,001 samples per series...
    """
    for name, limit in (("max_points", max_points), ("max_points_total", max_points_total),
                        ("max_requests", max_requests)):
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            msg = f"{name} must be a positive whole number, got {limit!r}."
            raise ConfigError(msg)
    if step_ms <= 0:
        msg = "step must be positive."
        raise ConfigError(msg)
    span = max(0, end_ms - start_ms)
    steps = span // step_ms + 1
    requests = -(-steps // max_points)
    where = (f"{to_datetime(start_ms).isoformat() if abs(start_ms) < 2.5e14 else start_ms} to "
             f"{to_datetime(end_ms).isoformat() if abs(end_ms) < 2.5e14 else end_ms} "
             f"at step {format_duration(step_ms)}")
    if requests > max_requests:
        fit = suggest_step_ms(span, min(max_points_total, max_requests * max_points))
        msg = (
            f"The range query would need {_count(requests)} requests ({_count(steps)} steps per "
            f"series, {where}, at most {max_points:,} per request), more than "
            f"max_requests={max_requests:,}. Fix: use a bigger step (e.g. "
            f"step={format_duration(fit)!r}) or a shorter range, or raise max_requests=."
        )
        raise ConfigError(msg)
    if steps > max_points_total:
        fit = suggest_step_ms(span, min(max_points_total, max_requests * max_points))
        msg = (
            f"The range query would return {_count(steps)} samples per series ({where}), more "
            f"than max_points_total={max_points_total:,}. Fix: use a bigger step (e.g. "
            f"step={format_duration(fit)!r}) or a shorter range, or raise max_points_total=."
        )
        raise ConfigError(msg)
    return steps


def plan_chunks(
    start_ms: int, end_ms: int, step_ms: int, *, max_points: int = MAX_POINTS_PER_SERIES
) -> list[tuple[int, int]]:
    """Split a range into windows Prometheus accepts, with no sample lost or repeated at a seam.

    Prometheus evaluates a range query at ``start + k*step`` for every ``k`` with that time
    ``<= end``. Each window holds at most ``max_points`` of those evaluation times, and the next
    window starts exactly one step after the previous one ends, so every evaluation time falls in
    exactly one window.

    Examples
    --------
    >>> plan_chunks(0, 10_000, 1_000, max_points=4)
    [(0, 3000), (4000, 7000), (8000, 10000)]
    """
    if step_ms <= 0:
        msg = "step must be positive."
        raise ConfigError(msg)
    if max_points < 1:  # would never advance: an endless loop filling memory
        msg = f"max_points must be at least 1, got {max_points!r}."
        raise ConfigError(msg)
    if end_ms < start_ms:
        msg = (
            f"The range ends ({to_datetime(end_ms).isoformat()}) before it starts "
            f"({to_datetime(start_ms).isoformat()}). Fix: swap start and end."
        )
        raise ConfigError(msg)
    last_k = (end_ms - start_ms) // step_ms
    out = []
    k = 0
    while k <= last_k:
        k_end = min(k + max_points - 1, last_k)
        out.append((start_ms + k * step_ms, start_ms + k_end * step_ms))
        k = k_end + 1
    return out
