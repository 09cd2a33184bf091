"""Boundary checks of the public alert-history functions: a wrong frame, column type or
argument is a :class:`~workbench.ConfigError` naming the value and the fix."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

import polars as pl

from ..._errors import ConfigError
from ..._time import MAX_ARG_MS, check_ms
from ...frames import TIMESTAMP, check_frame

_TIMES = ("active_at", "fired_at", "resolved_at")
_SECONDS = ("pending_s", "firing_s")


def _is_text(d: pl.DataType) -> bool:
    return d in (pl.String, pl.Categorical, pl.Null) or isinstance(d, pl.Enum)


def _is_time(d: pl.DataType) -> bool:
    return isinstance(d, pl.Datetime) or d == pl.Null


def _bad_column(fn: str, what: str, col: str, dtype: pl.DataType, kind: str) -> ConfigError:
    return ConfigError(f"{fn}: {what} column {col!r} must be {kind}, it is {dtype}. Fix: cast it, "
                       f"e.g. pl.col({col!r}).cast(...), or pass the frame workbench returned.")


def episodes_frame(frame: object, fn: str, *, require: Sequence[str] = ()) -> pl.DataFrame:
    """``frame`` as an episodes frame (times as TIMESTAMP, durations Float64, labels String)."""
    ep = check_frame(frame, f"{fn}: episodes", columns=(*_TIMES, *_SECONDS, *require))
    casts = []
    for col, dtype in ep.schema.items():
        if col in _TIMES:
            if not _is_time(dtype):
                raise _bad_column(fn, "episodes", col, dtype, "a Datetime")
            casts.append(pl.col(col).cast(TIMESTAMP))
        elif col in _SECONDS:
            if not (dtype.is_numeric() or dtype == pl.Null):
                raise _bad_column(fn, "episodes", col, dtype, "numeric (seconds)")
            casts.append(pl.col(col).cast(pl.Float64))
        elif not col.startswith("annotation_"):
            if not _is_text(dtype):
                raise _bad_column(fn, "episodes", col, dtype, "text (an alert label)")
            casts.append(pl.col(col).cast(pl.String))
    return ep.with_columns(casts) if casts else ep


_NOT_LABELS = {"timestamp", "value", "__name__"}


def samples_frame(frame: object, fn: str, what: str,
                  require: Sequence[str] = ()) -> pl.DataFrame:
    """``frame`` as raw ``ALERTS`` samples (timestamp as TIMESTAMP, value Float64, labels
    String); needs ``timestamp`` once it has rows and an ``alertname``."""
    f = check_frame(frame, f"{fn}: {what}")
    if f.height == 0 or "alertname" not in f.columns:
        return f
    f = check_frame(f, f"{fn}: {what}", columns=("timestamp", *require))
    if f["timestamp"].null_count():
        msg = (f"{fn}: {what} has {f['timestamp'].null_count()} sample(s) without a timestamp. "
               "Fix: drop them, e.g. frame.drop_nulls('timestamp').")
        raise ConfigError(msg)
    casts = []
    for col, dtype in f.schema.items():
        if col == "timestamp":
            if not (isinstance(dtype, pl.Datetime) or dtype.is_integer() or dtype == pl.Null):
                raise _bad_column(fn, what, col, dtype, "a timestamp (Datetime or epoch ms)")
            casts.append(pl.col(col).cast(TIMESTAMP))
        elif col == "value":
            if not (dtype.is_numeric() or dtype == pl.Null):
                raise _bad_column(fn, what, col, dtype, "numeric")
            casts.append(pl.col(col).cast(pl.Float64))
        elif col != "__name__":
            if not _is_text(dtype):
                raise _bad_column(fn, what, col, dtype, "text (an alert label)")
            casts.append(pl.col(col).cast(pl.String))
    return f.with_columns(casts)


def seconds(value: object, name: str, fn: str) -> float:
    """A finite number of seconds >= 0, else a ConfigError."""
    if isinstance(value, int | float) and not isinstance(value, bool) \
            and math.isfinite(value) and 0 <= value <= MAX_ARG_MS / 1000:
        return float(value)
    msg = f"{fn}: {name} must be a finite number of seconds >= 0, got {value!r:.60}. Fix: e.g. 900."
    raise ConfigError(msg)


def names(value: object, name: str, fn: str, *, example: str = "('alertname',)") -> list[str]:
    """A list of distinct non-empty strings, else a ConfigError."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence) \
            or not all(isinstance(v, str) and v for v in value) or len(set(value)) != len(value):
        msg = (f"{fn}: {name} must be a list of distinct column names, got {value!r:.80}. Fix: "
               f"pass e.g. {example}.")
        raise ConfigError(msg)
    return list(value)


def text_or_none(value: object, name: str, fn: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise ConfigError(f"{fn}: {name} must be a string or None, got {value!r:.60}. Fix: pass "
                      f"e.g. {name}='critical'.")


def time_or_none(value: object, name: str, fn: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=ZoneInfo("UTC"))
    raise ConfigError(f"{fn}: {name} must be a datetime or None, got {value!r:.60}. Fix: pass "
                      "e.g. datetime.now(timezone.utc).")


def time_zone(value: object, fn: str) -> str:
    if isinstance(value, str) and value.isprintable():
        try:
            ZoneInfo(value)
            pl.select(pl.lit(None, dtype=TIMESTAMP).dt.convert_time_zone(value))
        except Exception:  # any failure means an unusable zone name
            pass
        else:
            return value
    raise ConfigError(f"{fn}: tz must be an IANA time zone name, got {value!r:.60}. Fix: pass "
                      "e.g. tz='Europe/Paris' or tz='UTC'.")


def count(value: object, name: str, fn: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 10**9:
        return value
    raise ConfigError(f"{fn}: {name} must be a whole number >= 0, got {value!r:.60}. Fix: "
                      f"pass e.g. {name}=30.")


def volatile_map(value: object, fn: str) -> dict[str, list[str]] | None:
    if value is None:
        return None
    if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        try:
            return {k: names(v, "volatile", fn) for k, v in value.items()}
        except ConfigError:
            pass
    raise ConfigError(f"{fn}: volatile must map alert names to label names, got {value!r:.80}. "
                      "Fix: pass e.g. {'HighCPU': ['value']} or None.")


def interval_map(value: object, fn: str) -> dict[str, int] | int | None:
    if value is None:
        return None
    if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        return {k: check_ms(v, "interval_ms", fn, minimum=1) for k, v in value.items()}
    if isinstance(value, int) and not isinstance(value, bool):
        return check_ms(value, "interval_ms", fn, minimum=1)
    raise ConfigError(f"{fn}: interval_ms must be milliseconds or a mapping of alert name to "
                      f"milliseconds, got {value!r:.80}. Fix: pass e.g. 60_000.")


def notifications_frame(frame: object, fn: str) -> pl.DataFrame:
    """``frame`` as :func:`~workbench.alertmanager.simulate` output (``time``, ``receiver``,
    ``status``)."""
    f = check_frame(frame, f"{fn}: notifications", columns=("time", "receiver", "status"))
    schema = f.schema
    if not _is_time(schema["time"]):
        raise _bad_column(fn, "notifications", "time", schema["time"], "a Datetime")
    for col in ("receiver", "status"):
        if not _is_text(schema[col]):
            raise _bad_column(fn, "notifications", col, schema[col], "text")
    return f.with_columns(pl.col("time").cast(TIMESTAMP), pl.col("receiver", "status")
                          .cast(pl.String))
