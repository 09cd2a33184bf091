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

from collections.abc import Sequence

import polars as pl

from ...frames import TIMESTAMP
from ...sources.kubernetes.events import EVENT_SCHEMA, empty_events

__all__ = ["fold", "occurrences", "restart_bursts"]


def occurrences(frame: pl.DataFrame, keys: Sequence[str], *, step_ms: int,
                gap_ms: int | None = None) -> pl.DataFrame:
    """Runs of presence per ``keys``: ``keys``, ``start``, ``end`` (the last step seen),
    ``count`` (1, or the summed ``value`` when ``value`` counts things, see :func:`fold`), and
    ``value_max``. A gap up to ``gap_ms`` (default 1.5 steps) does not split a run."""
    keys = list(keys)
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
    msg = message if message is not None else pl.concat_str(
        pl.col("_reason"), pl.lit(" "), pl.col("_ns").fill_null(""), pl.lit("/"),
        pl.col("_name"), pl.lit(" x"), pl.col("count").cast(pl.String))
    return g.with_columns(message=msg).select(
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
    keys = list(keys)
    if restarts.height == 0:
        return occurrences(restarts, keys, step_ms=1)
    f = restarts.with_columns(pl.col("timestamp").cast(TIMESTAMP)).sort([*keys, "timestamp"])
    period = f"{int(window_ms)}ms"
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
