"""Summaries of an episodes frame (a real history or a backtest): noisiest alerts, heat map.

Works on any frame with the columns of :attr:`workbench.alerting.BacktestResult.episodes`.

Examples
--------
>>> import polars as pl
>>> from datetime import datetime, timezone
>>> t = lambda m: datetime(2026, 1, 5, 9, m, tzinfo=timezone.utc)   # a Monday
>>> ep = pl.DataFrame({"alertname": ["A", "A", "B"], "severity": ["warning"] * 3,
...                    "active_at": [t(0), t(20), t(0)], "fired_at": [t(2), t(22), None],
...                    "resolved_at": [t(10), t(30), t(5)], "pending_s": [120.0, 120, 300],
...                    "firing_s": [480.0, 480, 0]})
>>> s = alert_summary(ep)
>>> s.select("alertname", "fired", "firing_s", "mttr_s", "flapping").rows()
[('A', 2, 960.0, 480.0, 1), ('B', 0, 0.0, None, 0)]
>>> heatmap(ep).filter(pl.col("fired") > 0).select("weekday", "hour", "fired").rows()
[('Mon', 9, 2)]
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import polars as pl

from . import _checks
from .episodes import episode_labels

__all__ = ["KEY_LABELS", "WEEKDAYS", "alert_summary", "flaps", "heatmap", "top_identities"]

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
#: Labels that name what an alert is about, in the order a short label picks them.
KEY_LABELS = ("namespace", "pod", "persistentvolumeclaim", "deployment", "node", "instance",
              "mountpoint", "container", "job", "service")

SUMMARY_SCHEMA = {"episodes": pl.Int64, "fired": pl.Int64, "identities": pl.Int64,
                  "firing_s": pl.Float64, "mttr_s": pl.Float64, "p50_s": pl.Float64,
                  "p90_s": pl.Float64, "flapping": pl.Int64, "still_firing": pl.Int64}


def flaps(episodes: pl.DataFrame, flap_gap_s: float = 900.0) -> pl.DataFrame:
    """The episodes with a ``refire`` column: it fired less than ``flap_gap_s`` after the same
    identity's previous episode resolved (Prometheus re-sends a resolved alert for 15 minutes,
    so Alertmanager sees such a re-fire as a flap)."""
    episodes = _checks.episodes_frame(episodes, "flaps")
    flap_gap_s = _checks.seconds(flap_gap_s, "flap_gap_s", "flaps")
    labels = episode_labels(episodes)
    ep = episodes.with_row_index("_row").sort([*labels, "active_at"], nulls_last=True)
    same = pl.all_horizontal(
        [pl.col(c).eq_missing(pl.col(c).shift(1)) for c in labels]) if labels else pl.lit(False)
    gap = (pl.col("active_at") - pl.col("resolved_at").shift(1)).dt.total_milliseconds() / 1000
    return ep.with_columns(refire=(same & pl.col("fired_at").is_not_null()
                                   & (gap < flap_gap_s)).fill_null(False)).sort("_row").drop("_row")


def alert_summary(episodes: pl.DataFrame, by: Sequence[str] = ("alertname",), *,
                  flap_gap_s: float = 900.0) -> pl.DataFrame:
    """Per group (alert name by default; or ``severity``, ``namespace``, ...), noisiest first.

    Columns: the ``by`` columns, ``episodes`` (pending included), ``fired`` (episodes that
    fired), ``identities`` (distinct label sets that fired), ``firing_s`` (total),
    ``mttr_s`` (mean firing duration of the resolved ones), ``p50_s`` / ``p90_s`` (of firing
    durations), ``flapping`` (re-fires less than ``flap_gap_s`` after a resolve),
    ``still_firing``. Sorted by ``fired`` then ``firing_s``, descending.
    """
    episodes = _checks.episodes_frame(episodes, "alert_summary")
    by = _checks.names(by, "by", "alert_summary", example="('severity',)")
    missing = [b for b in by if b not in episodes.columns]
    ep = flaps(episodes, flap_gap_s).with_columns(
        [pl.lit(None, dtype=pl.String).alias(b) for b in missing])
    labels = episode_labels(episodes)
    fired = pl.col("fired_at").is_not_null()
    dur = pl.col("firing_s").filter(fired)
    return (ep.group_by(by).agg(
        episodes=pl.len().cast(pl.Int64),
        fired=fired.sum().cast(pl.Int64),
        identities=pl.struct(labels).filter(fired).n_unique().cast(pl.Int64),
        firing_s=pl.col("firing_s").sum().cast(pl.Float64),
        mttr_s=pl.col("firing_s").filter(fired & pl.col("resolved_at").is_not_null()).mean(),
        p50_s=dur.median(),
        p90_s=dur.quantile(0.9, "nearest"),
        flapping=pl.col("refire").sum().cast(pl.Int64),
        still_firing=(fired & pl.col("resolved_at").is_null()).sum().cast(pl.Int64),
    ).with_columns(pl.col(c).cast(t) for c, t in SUMMARY_SCHEMA.items())
        .sort(["fired", "firing_s", *by], descending=[True, True, *[False] * len(by)],
              nulls_last=True))


def heatmap(episodes: pl.DataFrame, *, tz: str = "UTC") -> pl.DataFrame:
    """Alerts fired per weekday and hour of day (``tz``): all 168 cells, zeros included.

    Columns ``weekday`` (Mon..Sun), ``weekday_num`` (1..7), ``hour`` (0..23), ``fired``,
    ``firing_s`` (firing time of the alerts that fired in that hour).
    """
    episodes = _checks.episodes_frame(episodes, "heatmap")
    tz = _checks.time_zone(tz, "heatmap")
    grid = pl.DataFrame({"weekday_num": [d for d in range(1, 8) for _ in range(24)],
                         "hour": [h for _ in range(7) for h in range(24)]},
                        schema={"weekday_num": pl.Int8, "hour": pl.Int8})
    f = episodes.filter(pl.col("fired_at").is_not_null()).with_columns(
        pl.col("fired_at").dt.convert_time_zone(tz).alias("_t"))
    counts = f.group_by(weekday_num=pl.col("_t").dt.weekday().cast(pl.Int8),
                        hour=pl.col("_t").dt.hour().cast(pl.Int8)).agg(
        fired=pl.len().cast(pl.Int64), firing_s=pl.col("firing_s").sum())
    out = grid.join(counts, on=["weekday_num", "hour"], how="left").with_columns(
        pl.col("fired").fill_null(0), pl.col("firing_s").fill_null(0.0),
        weekday=pl.col("weekday_num").map_elements(lambda d: WEEKDAYS[d - 1],
                                                   return_dtype=pl.String))
    return out.select("weekday", "weekday_num", "hour", "fired", "firing_s")


def top_identities(episodes: pl.DataFrame, n: int = 30, *,
                   end: datetime | None = None) -> pl.DataFrame:
    """The episodes of the ``n`` identities with most firing time, for a timeline.

    Adds ``identity`` (``alertname{label="value",...}``, without ``alertname`` in the braces),
    ``label`` (the alert name and at most two :data:`KEY_LABELS` values, ``#2`` ... appended
    where two identities would read the same), ``start`` (``fired_at``, else ``active_at``),
    ``stop`` (``resolved_at``, else ``end`` or the latest time in the frame) and ``state``
    (``firing`` or ``pending only``).
    """
    episodes = _checks.episodes_frame(episodes, "top_identities", require=("alertname",))
    n = _checks.count(n, "n", "top_identities")
    end = _checks.time_or_none(end, "end", "top_identities")
    labels = episode_labels(episodes)
    others = [c for c in labels if c != "alertname"]
    parts: list[pl.Expr] = [pl.col("alertname").fill_null(""), pl.lit("{")]
    for i, c in enumerate(others):
        parts.append(pl.when(pl.col(c).is_not_null()).then(
            pl.concat_str(pl.lit(("," if i else "") + f'{c}="'), pl.col(c), pl.lit('"')))
            .otherwise(pl.lit("")))
    parts.append(pl.lit("}"))
    latest = end or episodes.select(pl.max_horizontal(
        pl.col("active_at").max(), pl.col("fired_at").max(), pl.col("resolved_at").max())).item()
    ep = episodes.with_columns(identity=pl.concat_str(parts).str.replace(r"\{,", "{")
                               .str.replace(r"\{\}$", ""))
    top = (ep.group_by("identity").agg(pl.col("firing_s").sum(), pl.len().alias("n"))
           .sort(["firing_s", "n", "identity"], descending=[True, True, False]).head(n))
    keys = [c for c in KEY_LABELS if c in others]
    short = top.join(ep.unique("identity").select("identity", "alertname", *keys), on="identity")
    short = short.with_columns(label=pl.concat_str(
        pl.col("alertname").fill_null(""),
        pl.concat_list([pl.col(c) for c in keys]).list.drop_nulls().list.head(2)
        .list.join(" ").fill_null("") if keys else pl.lit(""), separator=" ").str.strip_chars())
    short = short.sort(["firing_s", "n", "identity"], descending=[True, True, False]).with_columns(
        k=pl.int_range(pl.len()).over("label"))
    short = short.with_columns(label=pl.when(pl.col("k") > 0).then(
        pl.concat_str(pl.col("label"), pl.lit(" #"), (pl.col("k") + 1).cast(pl.String)))
        .otherwise(pl.col("label")))
    ep = ep.join(short.select("identity", "label"), on="identity")
    return (ep.join(top.select("identity"), on="identity", how="semi").with_columns(
        start=pl.coalesce("fired_at", "active_at"),
        stop=pl.coalesce("resolved_at", pl.lit(latest).cast(episodes.schema["active_at"])),
        state=pl.when(pl.col("fired_at").is_null()).then(pl.lit("pending only"))
        .otherwise(pl.lit("firing"))).sort("identity", "start"))
