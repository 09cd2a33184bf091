"""Alertmanager time intervals (``time_intervals`` / ``mute_time_intervals``) and their test.

A time interval matches an instant when every field it sets matches (an unset field matches
everything): ``times`` (``HH:MM`` start inclusive, end exclusive, up to ``24:00``), ``weekdays``
(``monday:friday``), ``days_of_month`` (``1:5``, negative from the month's end: ``-1`` is the
last day), ``months`` (``january:march`` or ``1:3``), ``years`` (``2024:2026``), evaluated in
``location`` (an IANA zone, default UTC).

Examples
--------
>>> from datetime import datetime, timezone
>>> ti = parse_time_interval({"weekdays": ["saturday:sunday"], "times": [
...     {"start_time": "00:00", "end_time": "08:00"}]})
>>> ti.contains(datetime(2026, 11, 28, 7, 59, tzinfo=timezone.utc))   # a Saturday
True
>>> ti.contains(datetime(2026, 11, 28, 8, 0, tzinfo=timezone.utc))
False
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["TimeInterval", "parse_time_interval"]

_DAYS = {d.lower(): i for i, d in enumerate(calendar.day_name)}            # monday = 0
_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}   # january = 1

Range = tuple[int, int]


@dataclass(frozen=True)
class TimeInterval:
    """One entry of a named time interval; ranges are inclusive (times: minutes, end exclusive)."""

    times: tuple[Range, ...] = ()
    weekdays: tuple[Range, ...] = ()
    days_of_month: tuple[Range, ...] = ()
    months: tuple[Range, ...] = ()
    years: tuple[Range, ...] = ()
    location: str = "UTC"

    def contains(self, when: datetime) -> bool:
        """Whether the instant ``when`` (timezone-aware) falls in this interval."""
        t = when.astimezone(ZoneInfo(self.location))
        minute = t.hour * 60 + t.minute
        if self.times and not any(a <= minute < b for a, b in self.times):
            return False
        if self.weekdays and not any(a <= t.weekday() <= b for a, b in self.weekdays):
            return False
        if self.days_of_month:
            last = calendar.monthrange(t.year, t.month)[1]

            def norm(d: int) -> int:
                return d if d > 0 else last + d + 1

            if not any(norm(a) <= t.day <= norm(b) for a, b in self.days_of_month):
                return False
        if self.months and not any(a <= t.month <= b for a, b in self.months):
            return False
        return not (self.years and not any(a <= t.year <= b for a, b in self.years))


def _minutes(text: str) -> int:
    hh, _, mm = str(text).partition(":")
    if not (hh.isdigit() and mm.isdigit() and len(mm) == 2):
        msg = f"invalid time {text!r} (use HH:MM)"
        raise ValueError(msg)
    value = int(hh) * 60 + int(mm)
    if int(mm) > 59 or value > 1440:
        msg = f"time {text!r} out of range (00:00 to 24:00)"
        raise ValueError(msg)
    return value


def _items(value: Any, what: str) -> list[Any]:
    """``value`` as a list: absent or null is empty; a scalar or mapping is an error."""
    if value is None:
        return []
    if not isinstance(value, list):
        msg = f"{what} must be a list, got {value!r:.60}"
        raise ValueError(msg)
    return value


def _ranges(items: Any, parse: Any, lo: int, hi: int, what: str) -> tuple[Range, ...]:
    out = []
    for item in _items(items, what):
        if isinstance(item, dict | list) or item is None:
            msg = f"{what}: {item!r:.60} is not a value or range"
            raise ValueError(msg)
        a_txt, sep, b_txt = str(item).partition(":")
        a = parse(a_txt.strip())
        b = parse(b_txt.strip()) if sep else a
        for v in (a, b):
            if not (lo <= v <= hi) or (v == 0 and what == "days_of_month"):
                msg = f"{what}: {item!r} out of range"
                raise ValueError(msg)
        if what != "days_of_month" and a > b:
            msg = f"{what}: start of {item!r} is after its end"
            raise ValueError(msg)
        out.append((a, b))
    return tuple(out)


def _name_or_int(names: Mapping[str, int], what: str) -> Any:
    def parse(text: str) -> int:
        if text.lower() in names:
            return names[text.lower()]
        if what != "weekdays" and text.lstrip("-").isdigit():
            return int(text)
        msg = f"{what}: {text!r} is not valid"
        raise ValueError(msg)
    return parse


def parse_time_interval(spec: Mapping[str, Any]) -> TimeInterval:
    """Parse one ``time_intervals`` entry (raises ``ValueError`` with the reason)."""
    unknown = set(spec) - {"times", "weekdays", "days_of_month", "months", "years", "location"}
    if unknown:
        msg = f"unknown field(s) {sorted(unknown)}"
        raise ValueError(msg)
    times = []
    for t in _items(spec.get("times"), "times"):
        if not isinstance(t, Mapping):
            msg = f"times: {t!r:.60} is not a start_time/end_time mapping"
            raise ValueError(msg)
        start, end = _minutes(t.get("start_time", "")), _minutes(t.get("end_time", ""))
        if start >= end:
            msg = f"start_time {t.get('start_time')} must be before end_time {t.get('end_time')}"
            raise ValueError(msg)
        times.append((start, end))
    location = str(spec.get("location") or "UTC")
    if location == "Local":
        location = "UTC"
    try:
        ZoneInfo(location)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        msg = f"unknown location {location!r} (use an IANA zone like Europe/Paris)"
        raise ValueError(msg) from None
    return TimeInterval(
        times=tuple(times),
        weekdays=_ranges(spec.get("weekdays"), _name_or_int(_DAYS, "weekdays"), 0, 6,
                         "weekdays"),
        days_of_month=_ranges(spec.get("days_of_month"), _name_or_int({}, "days_of_month"),
                              -31, 31, "days_of_month"),
        months=_ranges(spec.get("months"), _name_or_int(_MONTHS, "months"), 1, 12, "months"),
        years=_ranges(spec.get("years"), _name_or_int({}, "years"), 1, 9999, "years"),
        location=location,
    )
