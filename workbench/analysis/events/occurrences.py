"""Series samples -> kwatch-style events (pure, vectorised polars).

A condition seen at consecutive query steps is one *occurrence*; occurrences of one object and
reason fold into one event row with ``first_seen``, ``last_seen`` and ``count`` (the way
Kubernetes folds repeated Events). Frames follow :data:`EVENT_SCHEMA`.

Examples
--------
>>> import polars as pl
>>> from workbench.frames import TIMESTAMP
>>> m = 60_000
>>> f = pl.DataFrame({"timestamp": [0, m, 2 * m, 9 * m], "value": [1.0] * 4,
...                   "namespace": ["web"] * 4, "pod": ["api-1"] * 4, "container": ["api"] * 4,
...                   "reason": ["CrashLoopBackOff"] * 4},
...                  schema_overrides={"timestamp": TIMESTAMP})
>>> occ = occurrences(f, ["namespace", "pod", "container", "reason"], step_ms=m)
>>> occ.select("count", pl.col("start", "end").dt.epoch("s")).rows()
[(1, 0, 120), (1, 540, 540)]
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import polars as pl

from ..._errors import ConfigError
from ..._time import check_ms
from ...frames import TIMESTAMP, check_frame
from ...sources.kubernetes.events import EVENT_SCHEMA, empty_events

__all__ = ["fold", "occurrences", "restart_bursts"]



def _keys(keys: object, fn: str) -> list[str]:
    """``keys`` as a list of column names, else a :class:`~workbench.ConfigError`."""
    if isinstance(keys, str | bytes) or not isinstance(keys, Sequence) \
            or not all(isinstance(k, str) and k for k in keys):
        msg = (f"{fn}: keys must be a list of column names, got {keys!r:.80}. Fix: pass e.g. "
               "['namespace', 'pod'].")
        raise ConfigError(msg)
    if len(set(keys)) != len(keys) or {"t", "_run", "_h", "n"} & set(keys):
        msg = (f"{fn}: keys {keys!r:.80} repeat a name or use a reserved one (t, _run, _h, n). "
               "Fix: pass distinct label column names.")
        raise ConfigError(msg)
    return list(keys)


def _typed(frame: pl.DataFrame, fn: str, what: str, *, times: Sequence[str] = (),
           numbers: Sequence[str] = (), texts: Sequence[str] = ()) -> pl.DataFrame:
    """``frame`` with ``times`` as :data:`TIMESTAMP`, ``numbers`` as Float64 and ``texts`` as
    String, or a ConfigError naming the column of the wrong type."""
    schema = frame.schema
    casts = []
    for cols, ok, target, kind in (
            (times, lambda d: (d.is_temporal() and d != pl.Time) or d.is_integer()
             or d == pl.Null, TIMESTAMP, "a timestamp (Datetime or epoch ms)"),
            (numbers, lambda d: d.is_numeric() or d in (pl.Boolean, pl.Null), pl.Float64,
             "numeric"),
            (texts, lambda d: d in (pl.String, pl.Categorical, pl.Null)
             or isinstance(d, pl.Enum), pl.String, "text")):
        for c in cols:
            if c not in schema:
                continue
            if not ok(schema[c]):
                msg = (f"{fn}: {what} column {c!r} must be {kind}, it is {schema[c]}. Fix: cast "
                       f"it, e.g. pl.col({c!r}).cast(...), or pass the frame workbench returned.")
                raise ConfigError(msg)
            casts.append(pl.col(c).cast(target))
    return frame.with_columns(casts) if casts else frame


def occurrences(frame: pl.DataFrame, keys: Sequence[str], *, step_ms: int,
                gap_ms: int | None = None) -> pl.DataFrame:
    """Runs of presence per ``keys``: ``keys``, ``start``, ``end`` (the last step seen),
    ``count`` (1, or the summed ``value`` when ``value`` counts things, see :func:`fold`), and
    ``value_max``. A gap up to ``gap_ms`` (default 1.5 steps) does not split a run."""
    keys = _keys(keys, "occurrences")
    frame = check_frame(frame, "occurrences: frame", columns=("timestamp", "value"))
    step_ms = check_ms(step_ms, "step_ms", "occurrences")
    if gap_ms is not None:
        gap_ms = check_ms(gap_ms, "gap_ms", "occurrences")
    frame = _typed(frame, "occurrences", "frame", times=["timestamp"], numbers=["value"],
                   texts=keys)
    schema: dict[str, pl.DataType | type[pl.DataType]] = {
        **dict.fromkeys(keys, pl.String), "start": TIMESTAMP, "end": TIMESTAMP,
        "count": pl.Int64, "value_max": pl.Float64, "value_sum": pl.Float64}
    if frame.height == 0:
        return pl.DataFrame(schema=schema)
    gap = int(gap_ms if gap_ms is not None else step_ms * 3 // 2)
    f = frame.with_columns([pl.lit(None, dtype=pl.String).alias(k) for k in keys
                            if k not in frame.columns])
    f = f.select(*keys, pl.col("timestamp").cast(TIMESTAMP).dt.epoch("ms").alias("t"),
                 pl.col("value").cast(pl.Float64)).sort([*keys, "t"], nulls_last=True)
    same = pl.all_horizontal([pl.col(k).eq_missing(pl.col(k).shift(1)) for k in keys])
    new = ~(same & ((pl.col("t") - pl.col("t").shift(1)) <= gap)).fill_null(False)
    runs = f.with_columns(new.cum_sum().alias("_run")).group_by("_run").agg(
        *[pl.col(k).first() for k in keys], start=pl.col("t").min(),
        end=pl.col("t").max(), value_max=pl.col("value").max(),
        value_sum=pl.col("value").sum())
    return runs.select(*keys, pl.col("start").cast(TIMESTAMP), pl.col("end").cast(TIMESTAMP),
                       pl.lit(1, dtype=pl.Int64).alias("count"), "value_max", "value_sum"
                       ).sort([*keys, "start"], nulls_last=True)


def fold(occ: pl.DataFrame, *, source: str, reason: str | pl.Expr, kind: str,
         name: str, namespace: str = "namespace", container: str | None = None,
         count: str = "count", message: pl.Expr | None = None,
         event_type: str = "Warning", value: str | None = "value_max",
         first: str = "start", last: str = "end") -> pl.DataFrame:
    """Fold occurrences into one event row per object and reason (:data:`EVENT_SCHEMA`).

    ``count`` names the column summed into the event's count (``count`` = occurrences, or
    ``value_sum`` for restarts); ``value`` the column whose maximum is the event's value (None:
    no value); ``first``/``last`` the columns giving first and last seen.
    """
    texts = {"source": source, "kind": kind, "name": name, "namespace": namespace,
             "count": count, "event_type": event_type, "first": first, "last": last,
             "container": "" if container is None else container,
             "value": "" if value is None else value,
             "reason": reason if isinstance(reason, str) else ""}
    for arg, v in texts.items():
        if not isinstance(v, str):
            msg = (f"fold: {arg} must be a string, got {type(v).__name__} {v!r:.60}. Fix: pass "
                   "a column name or label text.")
            raise ConfigError(msg)
    exprs: tuple[tuple[str, object], ...] = (("reason", reason), ("message", message))
    for arg, e in exprs:
        if not ((e is None and arg == "message") or isinstance(e, str | pl.Expr)):
            msg = (f"fold: {arg} must be a string or a polars expression, got "
                   f"{type(e).__name__}. Fix: pass e.g. pl.col('reason').")
            raise ConfigError(msg)
    need = tuple(dict.fromkeys([name, count, first, last, *([value] if value else [])]))
    occ = check_frame(occ, "fold: occurrences", columns=need)
    occ = _typed(occ, "fold", "occurrences", times=list(dict.fromkeys([first, last])),
                 numbers=[c for c in (count, value) if c],
                 texts=[c for c in (name, namespace, container) if c])
    if occ.height == 0:
        return empty_events()
    reason_e = pl.lit(reason) if isinstance(reason, str) else reason
    f = occ.with_columns(
        _reason=reason_e, _ns=pl.col(namespace) if namespace in occ.columns else pl.lit(None),
        _name=pl.col(name),
        _container=pl.col(container) if container and container in occ.columns
        else pl.lit(None, dtype=pl.String))
    g = f.group_by("_reason", "_ns", "_name", "_container").agg(
        first_seen=pl.col(first).min(), last_seen=pl.col(last).max(),
        count=pl.col(count).sum().cast(pl.Int64),
        value=(pl.col(value).max() if value else pl.lit(None)).cast(pl.Float64))
    text = message if message is not None else pl.concat_str(
        pl.col("_reason"), pl.lit(" "), pl.col("_ns").fill_null(""), pl.lit("/"),
        pl.col("_name"), pl.lit(" x"), pl.col("count").cast(pl.String))
    return g.with_columns(message=text).select(
        source=pl.lit(source), type=pl.lit(event_type), reason=pl.col("_reason"),
        namespace=pl.col("_ns").cast(pl.String), kind=pl.lit(kind), name=pl.col("_name"),
        container=pl.col("_container"), first_seen=pl.col("first_seen").cast(TIMESTAMP),
        last_seen=pl.col("last_seen").cast(TIMESTAMP), count="count", value="value",
        message=pl.col("message").cast(pl.String),
    ).cast(EVENT_SCHEMA)  # type: ignore[arg-type]


def restart_bursts(restarts: pl.DataFrame, keys: Sequence[str], *, window_ms: int,
                   min_restarts: int) -> pl.DataFrame:
    """Restart bursts: at least ``min_restarts`` restarts of one container within ``window_ms``.

    ``restarts`` has ``timestamp``, ``value`` (restarts in that step) and ``keys``. Returns
    occurrences (``start`` = first restart of the burst, ``end`` = last one, ``value_sum`` =
    restarts in it).

    Examples
    --------
    >>> import polars as pl
    >>> from workbench.frames import TIMESTAMP
    >>> m = 60_000
    >>> f = pl.DataFrame({"timestamp": [0, 5 * m, 10 * m, 300 * m], "value": [1.0] * 4,
    ...                   "pod": ["a"] * 4}, schema_overrides={"timestamp": TIMESTAMP})
    >>> restart_bursts(f, ["pod"], window_ms=15 * m, min_restarts=3)["value_sum"].to_list()
    [3.0]
    """
    keys = _keys(keys, "restart_bursts")
    restarts = check_frame(restarts, "restart_bursts: restarts",
                           columns=("timestamp", "value", *keys))
    window_ms = check_ms(window_ms, "window_ms", "restart_bursts", minimum=1)
    if isinstance(min_restarts, bool) or not isinstance(min_restarts, int | float) \
            or math.isnan(min_restarts):
        msg = (f"restart_bursts: min_restarts must be a number, got {min_restarts!r:.60}. "
               "Fix: pass e.g. min_restarts=3.")
        raise ConfigError(msg)
    restarts = _typed(restarts, "restart_bursts", "restarts", times=["timestamp"],
                      numbers=["value"], texts=keys).filter(pl.col("timestamp").is_not_null())
    if restarts.height == 0:
        return occurrences(restarts, keys, step_ms=1)
    f = restarts.sort([*keys, "timestamp"])
    period = f"{window_ms}ms"
    rolled = f.rolling("timestamp", period=period, group_by=keys).agg(
        n=pl.col("value").sum())
    f = f.with_columns(n=rolled["n"])
    hot = f.filter(pl.col("n") >= min_restarts)
    if hot.height == 0:
        return occurrences(hot, keys, step_ms=1)
    # a burst runs from the first restart inside the window that crossed the threshold
    occ = occurrences(f.join(hot.select(*keys, pl.col("timestamp").alias("_h")), on=keys)
                      .filter((pl.col("timestamp") <= pl.col("_h"))
                              & (pl.col("timestamp") > pl.col("_h")
                                 - pl.duration(milliseconds=window_ms)))
                      .select(*keys, "timestamp", "value").unique(),
                      keys, step_ms=1, gap_ms=window_ms)
    return occ
