"""``ALERTS`` / ``ALERTS_FOR_STATE`` samples -> alert episodes (pure, vectorised polars).

The output has the schema of :attr:`workbench.alerting.BacktestResult.episodes`: one ``String``
column per alert label (``alertname`` first, the others sorted, ``null`` where an alert lacks
the label), then ``active_at``, ``fired_at``, ``resolved_at`` (:data:`~workbench.frames.TIMESTAMP`;
``fired_at`` null if it never fired, ``resolved_at`` null if still active at the end of the
window), ``pending_s`` and ``firing_s``. So every summary and chart works on a backtest and on
the real history alike.

What real ``ALERTS`` series look like, and how each case is read
----------------------------------------------------------------
* **Raw samples, not** ``query_range``: a range query bridges gaps with the 5-minute lookback and
  would lengthen every episode of a history without staleness markers (a backfill). Prometheus
  writes a staleness marker when an alert leaves a state; a range selector never returns those
  markers, so a series that ends with one simply ends at its last real sample.
* **One episode** = the consecutive samples of one identity (its labels without ``alertstate``)
  where each next sample is

  - one evaluation later (*contiguous*); or
  - carries the same ``ALERTS_FOR_STATE`` value (``active_at``): Prometheus restores
    ``active_at`` after a restart shorter than ``--rules.alert.for-outage-tolerance`` (1h), so
    such a gap is the restart, not a resolve; or
  - at most ``gap_tolerance`` (5m by default) later, when either ``ALERTS_FOR_STATE`` is missing
    or *no* ``ALERTS`` sample at all was written in between (a restart or an outage of the
    server: the first evaluations after a start write nothing, and a restore that did not
    happen gives a new ``active_at``).

  A resolve followed by a new alert changes ``active_at`` and leaves at least one evaluation
  without a sample, so flaps stay apart — except a re-fire within ``gap_tolerance`` while no
  other alert writes a sample, which cannot be told from a restart. An always-firing alert
  (kube-prometheus's ``Watchdog``) makes the distinction exact.
* **Volatile labels**: a rule whose labels template ``$value`` (``value="93.5%"``) makes a new
  identity every time the value changes. Such a label is dropped (and the identities collapse)
  when, for one alert name, its values look numeric (``12``, ``1.5e+06``, ``93.5%``, ``1.2Mi``),
  it takes several values for the same other labels, and never two at the same evaluation (a
  real identity label such as ``cpu`` has all its values at once). Pass ``volatile_labels`` to
  choose explicitly. Collapsed identities join by contiguity: the new identity appears at the
  evaluation where the old one vanished.
* **Evaluation interval**: the most common spacing of one identity's samples, per alert name
  (``resolved_at`` = last sample + one interval, as in a backtest).
* **Window edges**: an alert already active at ``start`` keeps its true ``active_at`` from
  ``ALERTS_FOR_STATE``; ``fired_at`` is then the first firing sample seen. An alert whose last
  sample is within one interval of ``end`` is still active (``resolved_at`` null).

Examples
--------
>>> import polars as pl
>>> from workbench.frames import TIMESTAMP
>>> m = 60_000
>>> alerts = pl.DataFrame({
...     "timestamp": [0, m, 2 * m, 3 * m, 9 * m], "alertname": ["A"] * 5, "job": ["x"] * 5,
...     "alertstate": ["pending", "firing", "firing", "firing", "pending"]},
...     schema_overrides={"timestamp": TIMESTAMP})
>>> for_state = alerts.select("timestamp", "alertname", "job",
...                           value=pl.Series([0.0, 0, 0, 0, 540]))
>>> ep = episodes_from_samples(alerts, for_state, end_ms=9 * m)
>>> ep.select(pl.col("active_at", "fired_at", "resolved_at").dt.epoch("s"), "firing_s").rows()
[(0, 60, 240, 180.0), (540, None, None, 0.0)]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl

from ..._errors import ConfigError
from ..._time import MAX_ARG_MS, check_ms
from ...frames import TIMESTAMP, check_frame
from . import _checks

__all__ = ["EPISODE_TIME_COLUMNS", "empty_episodes", "episode_labels", "episodes_from_samples",
           "volatile_labels"]

#: The columns after the label columns, as in ``BacktestResult.episodes``.
EPISODE_TIME_COLUMNS = ("active_at", "fired_at", "resolved_at", "pending_s", "firing_s")
_NOT_LABELS = {"timestamp", "value", "__name__", "alertstate"}
_NUMERIC = r"^[-+]?(?:[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?|NaN|[-+]?Inf)\s*(?:[a-zA-Zµ%]{1,3})?$"


def empty_episodes(labels: Sequence[str] = ("alertname",)) -> pl.DataFrame:
    """An episodes frame with no rows (``labels`` as String columns, then the time columns)."""
    labels = _checks.names(labels, "labels", "empty_episodes")
    if set(labels) & set(EPISODE_TIME_COLUMNS):
        msg = (f"empty_episodes: labels {labels!r:.80} use a time column name "
               f"{EPISODE_TIME_COLUMNS}. Fix: pass label names only, e.g. ('alertname',).")
        raise ConfigError(msg)
    return pl.DataFrame(schema={
        **dict.fromkeys(labels, pl.String), "active_at": TIMESTAMP, "fired_at": TIMESTAMP,
        "resolved_at": TIMESTAMP, "pending_s": pl.Float64, "firing_s": pl.Float64})


def episode_labels(episodes: pl.DataFrame) -> list[str]:
    """The label columns of an episodes frame (everything but the time columns)."""
    episodes = check_frame(episodes, "episode_labels: episodes")
    return [c for c in episodes.columns
            if c not in EPISODE_TIME_COLUMNS and not c.startswith("annotation_")]


def _label_cols(frame: pl.DataFrame) -> list[str]:
    rest = sorted(c for c in frame.columns if c not in _NOT_LABELS and c != "alertname")
    return ["alertname", *rest]


def volatile_labels(alerts: pl.DataFrame) -> dict[str, list[str]]:
    """Labels that template ``$value``, per alert name (see the module docstring for the test).

    Examples
    --------
    >>> import polars as pl
    >>> f = pl.DataFrame({"timestamp": [0, 1, 2, 0, 0], "alertname": ["A", "A", "A", "B", "B"],
    ...                   "pct": ["91%", "93%", "92%", None, None],
    ...                   "cpu": [None, None, None, "0", "1"]})
    >>> volatile_labels(f)
    {'A': ['pct']}
    """
    alerts = _checks.samples_frame(alerts, "volatile_labels", "alerts")
    if alerts.height == 0 or "alertname" not in alerts.columns:
        return {}
    labels = [c for c in _label_cols(alerts) if c != "alertname"]
    out: dict[str, list[str]] = {}
    strings = [c for c in labels if alerts.schema[c] == pl.String]
    # the numeric test looks at distinct label sets only (one pass, not one per label)
    combos = alerts.select("alertname", *strings).unique() if strings else None
    for col in strings:
        assert combos is not None
        others = [c for c in ["alertname", *labels] if c != col]
        per_name = (combos.filter(pl.col(col).is_not_null()).select("alertname", col).unique()
                    .group_by("alertname").agg(numeric=pl.col(col).str.contains(_NUMERIC).all(),
                                               distinct=pl.len()))
        cand = per_name.filter(pl.col("numeric") & (pl.col("distinct") > 1))["alertname"]
        if cand.len() == 0:
            continue
        f = alerts.filter(pl.col(col).is_not_null() & pl.col("alertname").is_in(cand.implode()))
        at_once = (f.group_by([*others, "timestamp"]).agg(n=pl.col(col).n_unique())
                   .group_by("alertname").agg(pl.col("n").max()))
        over_time = (f.group_by(others).agg(n=pl.col(col).n_unique())
                     .group_by("alertname").agg(pl.col("n").max()))
        ok = at_once.join(over_time, on="alertname", suffix="_t").filter(
            (pl.col("n") == 1) & (pl.col("n_t") > 1))
        for name in ok["alertname"].to_list():
            out.setdefault(name, []).append(col)
    return {k: sorted(v) for k, v in sorted(out.items())}


def episodes_from_samples(
    alerts: pl.DataFrame,
    for_state: pl.DataFrame | None = None,
    *,
    end_ms: int | None = None,
    gap_tolerance_ms: int = 300_000,
    volatile: Mapping[str, Sequence[str]] | None = None,
    interval_ms: Mapping[str, int] | int | None = None,
) -> pl.DataFrame:
    """Episodes from raw ``ALERTS`` samples (and ``ALERTS_FOR_STATE``, when there are any).

    Parameters
    ----------
    alerts
        Raw ``ALERTS`` samples as a series frame (``timestamp``, ``value``, ``alertstate``,
        ``alertname`` and the other labels); ``__name__`` is ignored.
    for_state
        Raw ``ALERTS_FOR_STATE`` samples (``value`` = ``active_at`` in Unix seconds), or None.
    end_ms
        End of the window (Unix ms): an alert seen within one interval of it is still active.
        Default: the last sample.
    gap_tolerance_ms
        Without ``ALERTS_FOR_STATE``, a gap up to this long is not a resolve.
    volatile
        Labels to drop per alert name; default :func:`volatile_labels`.
    interval_ms
        Evaluation interval (one value, or per alert name); default estimated from the samples.

    Returns
    -------
    polars.DataFrame
        The episodes (see the module docstring), sorted by labels then ``active_at``.
    """
    fn = "episodes_from_samples"
    alerts = _checks.samples_frame(alerts, fn, "alerts", require=("alertstate",))
    if for_state is not None:
        for_state = _checks.samples_frame(for_state, fn, "for_state", require=("value",))
    if end_ms is not None:
        end_ms = check_ms(end_ms, "end_ms", fn, minimum=-MAX_ARG_MS)
    gap_tolerance_ms = check_ms(gap_tolerance_ms, "gap_tolerance_ms", fn)
    volatile = _checks.volatile_map(volatile, fn)
    interval_ms = _checks.interval_map(interval_ms, fn)
    if alerts.height == 0 or "alertname" not in alerts.columns:
        return empty_episodes()
    labels = _label_cols(alerts)

    def raw_id(frame: pl.DataFrame) -> pl.Expr:
        return pl.struct([pl.col(c).cast(pl.String) if c in frame.columns
                          else pl.lit(None, dtype=pl.String).alias(c) for c in labels]).hash()

    # integer keys throughout: joins and sorts on label strings are several times slower
    a = alerts.select(
        pl.col("timestamp").cast(TIMESTAMP).dt.epoch("ms").alias("t"),
        (pl.col("alertstate") == "firing").alias("firing"), *labels, raw_id(alerts).alias("_raw"))
    if for_state is not None and for_state.height and "alertname" in for_state.columns:
        fs = for_state.select(
            pl.col("timestamp").cast(TIMESTAMP).dt.epoch("ms").alias("t"),
            raw_id(for_state).alias("_raw"),
            (pl.col("value") * 1000).round().cast(pl.Int64, strict=False).alias("for_state_ms"),
        )
        # a duplicated ALERTS_FOR_STATE sample only repeats a row at the same instant, which
        # changes no episode (so no costly de-duplication here)
        a = a.join(fs, on=["t", "_raw"], how="left")
    else:
        a = a.with_columns(pl.lit(None, dtype=pl.Int64).alias("for_state_ms"))
    drop = volatile_labels(alerts) if volatile is None else {k: list(v) for k, v in volatile.items()}
    collapsed = False
    if drop:
        cols = {c for names in drop.values() for c in names if c in a.columns}
        a = a.with_columns(
            pl.when(pl.col("alertname").is_in([n for n, names in drop.items() if c in names]))
            .then(None).otherwise(pl.col(c)).alias(c) for c in cols)
        labels = [c for c in labels if c == "alertname" or a[c].null_count() < a.height]
        collapsed = bool(cols)
    a = a.with_columns(pl.struct(labels).hash().alias("_id") if collapsed
                       else pl.col("_raw").alias("_id"))
    ident = a.select("_id", *labels).unique("_id", keep="first")
    a = a.select("_id", "t", "firing", "for_state_ms", "alertname")
    if collapsed:  # collapsed identities may share an evaluation
        a = a.group_by("_id", "t").agg(pl.col("alertname").first(), pl.col("firing").any(),
                                       pl.col("for_state_ms").min())
    a = a.sort("_id", "t")
    interval = _intervals(a, interval_ms)
    a = a.join(interval, on="alertname", how="left")
    # samples written by anyone strictly between this sample and the identity's previous one
    every = a["t"].unique().sort().to_numpy()
    t_now = a["t"].to_numpy()
    t_prev = a["t"].shift(1).fill_null(0).to_numpy()
    between = np.searchsorted(every, t_now, "left") - np.searchsorted(every, t_prev, "right")
    a = a.with_columns(pl.Series("_silent", between <= 0))
    prev_id = pl.col("_id").shift(1)
    gap = pl.col("t") - pl.col("t").shift(1)
    same_for = (pl.col("for_state_ms") == pl.col("for_state_ms").shift(1)).fill_null(False)
    both_known = pl.col("for_state_ms").is_not_null() & pl.col("for_state_ms").shift(1).is_not_null()
    continues = ((prev_id == pl.col("_id")) & (
        (gap <= pl.col("_interval") * 3 // 2) | same_for
        | ((~both_known | pl.col("_silent")) & (gap <= gap_tolerance_ms)))).fill_null(False)
    a = a.with_columns((~continues).cum_sum().alias("_ep"))
    end = int(end_ms) if end_ms is not None else int(a["t"].max())  # type: ignore[arg-type]
    ep = a.group_by("_ep").agg(
        pl.col("_id").first(),
        first_t=pl.col("t").first(), last_t=pl.col("t").last(),
        for_state_ms=pl.col("for_state_ms").drop_nulls().first(),
        fired_at=pl.col("t").filter(pl.col("firing")).first(),
        interval=pl.col("_interval").first())
    after = pl.col("last_t") + pl.col("interval")
    active = pl.when(pl.col("for_state_ms").is_not_null()
                     & (pl.col("for_state_ms") <= pl.col("first_t") - 1000)).then(
        pl.col("for_state_ms")).otherwise(pl.col("first_t"))
    resolved = pl.when(after > end).then(None).otherwise(after)
    ep = ep.with_columns(active_at=active, resolved_at=resolved).join(ident, on="_id")
    out = ep.select(
        *labels,
        pl.col("active_at").cast(TIMESTAMP), pl.col("fired_at").cast(TIMESTAMP),
        pl.col("resolved_at").cast(TIMESTAMP),
        ((pl.coalesce("fired_at", after) - pl.col("active_at")) / 1000).cast(pl.Float64)
        .alias("pending_s"),
        pl.when(pl.col("fired_at").is_null()).then(0.0).otherwise(
            (after - pl.col("fired_at")) / 1000).cast(pl.Float64).alias("firing_s"),
    )
    return out.sort([*labels, "active_at"], nulls_last=True)


def _intervals(a: pl.DataFrame, interval_ms: Mapping[str, int] | int | None) -> pl.DataFrame:
    names = a.select(pl.col("alertname").unique())
    if isinstance(interval_ms, int):
        return names.with_columns(pl.lit(interval_ms, dtype=pl.Int64).alias("_interval"))
    est = (a.with_columns(d=pl.when(pl.col("_id") == pl.col("_id").shift(1))
                          .then(pl.col("t") - pl.col("t").shift(1)))
           .filter(pl.col("d") > 0)
           .group_by("alertname").agg(pl.col("d").mode().min().alias("_interval")))
    out = names.join(est, on="alertname", how="left").with_columns(
        pl.col("_interval").fill_null(60_000).cast(pl.Int64))
    if interval_ms:
        given = pl.DataFrame({"alertname": list(interval_ms),
                              "_g": [int(v) for v in interval_ms.values()]},
                             schema={"alertname": pl.String, "_g": pl.Int64})
        out = out.join(given, on="alertname", how="left").select(
            "alertname", pl.coalesce("_g", "_interval").alias("_interval"))
    return out
