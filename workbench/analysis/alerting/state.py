"""Prometheus 2.42 alerting-rule state machine, vectorised over series and evaluation steps.

The input is *which alert identities the rule's expression returned at each evaluation*
(``present[i, k]``: identity ``i`` was in the result vector at evaluation ``k``); values only matter
through the expression and templated labels, which the caller has already applied. This module is
pure numpy/polars: no I/O, no Python loop per step or per series.

Semantics reproduced (``rules/alerting.go`` ``AlertingRule.Eval`` in v2.42.0), per identity, with
evaluation times ``t`` (strictly increasing), ``for`` = F and ``keep_firing_for`` = K:

* An identity present at ``t_k`` while no alert is pending/firing creates a **pending** alert with
  ``active_at = t_k`` (a resolved alert that reappears is a *new* alert).
* A pending alert still present at ``t`` with ``t - active_at >= F`` becomes **firing** with
  ``fired_at = t`` (F = 0 fires in the evaluation it appears). So it fires at the first evaluation
  at or after ``active_at + F``: with a uniform interval I, at ``active_at + ceil(F/I)*I``.
* A pending alert missing from one evaluation is dropped at once (``for`` restarts).
* A firing alert missing from the evaluation at ``t_m``: with K = 0 it resolves at ``t_m``. With
  K > 0 it stays firing at every missing evaluation ``t`` with ``t - t_m < K`` and resolves at the
  first missing one with ``t - t_m >= K``; if the identity reappears before that, the *same* alert
  carries on (same ``active_at``) and the keep-firing clock is reset.
* ``ALERTS``/``ALERTS_FOR_STATE`` are written at every evaluation where the alert is pending or
  firing (including kept-firing evaluations); ``ALERTS_FOR_STATE`` = ``active_at`` in whole Unix
  seconds (Go ``Time.Unix()``).

Not modelled here (the caller's concern): the group's evaluation phase, restarts/``for`` restore,
the group ``limit``, and 3.x's demotion of firing alerts on a ``for`` reload.

Examples
--------
>>> import numpy as np
>>> from workbench.analysis.alerting.state import alert_episodes, alert_samples
>>> t = np.arange(10) * 60_000                      # evaluations every minute
>>> present = np.array([[0, 0, 1, 1, 1, 1, 1, 1, 0, 0]], dtype=bool)
>>> ep = alert_episodes(present, t, for_ms=180_000, keep_firing_for_ms=120_000)
>>> ep.select("series_idx", "active_at", "fired_at", "resolved_at").row(0)
(0, 120000, 300000, None)
>>> alert_samples(ep, t)["alertstate"].to_list()
['pending', 'pending', 'pending', 'firing', 'firing', 'firing', 'firing', 'firing']
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import polars as pl

from ...frames import check_frame

__all__ = [
    "EPISODE_SCHEMA",
    "AlertStates",
    "Runs",
    "alert_episodes",
    "alert_samples",
    "alert_states",
    "episodes_from_runs",
    "presence_runs",
]

#: Columns of the frame returned by :func:`alert_episodes`.
EPISODE_SCHEMA: dict[str, pl.DataType] = {
    "series_idx": pl.Int64(),
    "active_at": pl.Int64(),
    "fired_at": pl.Int64(),
    "resolved_at": pl.Int64(),
    "start_step": pl.Int64(),
    "fire_step": pl.Int64(),
    "end_step": pl.Int64(),
}

#: Values of :attr:`AlertStates.state`.
INACTIVE, PENDING, FIRING = 0, 1, 2


class AlertStates(NamedTuple):
    """Dense per-step alert state, both arrays shaped ``[n_series, n_steps]``.

    Attributes
    ----------
    state
        ``int8``: 0 = inactive (no ``ALERTS`` sample), 1 = pending, 2 = firing.
    active_at_ms
        ``int64``: the alert's ``active_at`` in Unix ms where ``state > 0``, 0 elsewhere.
    """

    state: npt.NDArray[np.int8]
    active_at_ms: npt.NDArray[np.int64]


def _check_inputs(present: npt.ArrayLike, eval_times_ms: npt.ArrayLike, for_ms: int,
                  keep_firing_for_ms: int) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
    p = np.asarray(present)
    if p.ndim == 1:
        p = p[None, :]
    if p.ndim != 2:
        msg = (f"present must be a 2-D bool array [n_series, n_steps], got shape {p.shape}. "
               "Fix: pass one row per alert identity.")
        raise ValueError(msg)
    p = p.astype(bool, copy=False)
    t = np.asarray(eval_times_ms, dtype=np.int64)
    if t.ndim != 1 or t.shape[0] != p.shape[1]:
        msg = (f"eval_times_ms must be 1-D with one entry per step ({p.shape[1]}), got shape "
               f"{t.shape}. Fix: pass the evaluation timestamps in ms.")
        raise ValueError(msg)
    if t.shape[0] > 1 and not bool(np.all(np.diff(t) > 0)):
        msg = "eval_times_ms must be strictly increasing. Fix: sort and de-duplicate the grid."
        raise ValueError(msg)
    if for_ms < 0 or keep_firing_for_ms < 0:
        msg = (f"for_ms and keep_firing_for_ms must be >= 0, got {for_ms} and "
               f"{keep_firing_for_ms}.")
        raise ValueError(msg)
    return p, t


def _runs(p: npt.NDArray[np.bool_]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64],
                                              npt.NDArray[np.int64]]:
    """Maximal runs of True per row: (row, start step, end step exclusive), row-major order."""
    n, steps = p.shape
    padded = np.zeros((n, steps + 2), dtype=np.int8)
    padded[:, 1:-1] = p
    d = np.diff(padded, axis=1).ravel()          # width steps + 1; +1 at a start, -1 past an end
    width = steps + 1
    starts = np.flatnonzero(d == 1)
    ends = np.flatnonzero(d == -1)
    rows = starts // width
    return rows.astype(np.int64), (starts % width).astype(np.int64), (ends % width).astype(np.int64)


def alert_episodes(
    present: npt.ArrayLike,
    eval_times_ms: npt.ArrayLike,
    for_ms: int = 0,
    keep_firing_for_ms: int = 0,
) -> pl.DataFrame:
    """Alert episodes (one pending/firing lifetime of one alert) from per-step presence.

    Parameters
    ----------
    present
        Bool array ``[n_series, n_steps]`` (a 1-D array is one series): identity ``i`` was in the
        expression's result at evaluation ``k``. For a threshold rule that is
        ``value > threshold`` with NaN and absent samples False.
    eval_times_ms
        Int array ``[n_steps]``: the evaluation timestamps in Unix ms, strictly increasing
        (need not be uniform).
    for_ms, keep_firing_for_ms
        The rule's ``for`` and ``keep_firing_for`` in ms.

    Returns
    -------
    polars.DataFrame
        One row per episode, sorted by ``series_idx`` then ``active_at``; columns
        (:data:`EPISODE_SCHEMA`, all Int64):

        ``series_idx``
            row of ``present``.
        ``active_at``
            ms of the first evaluation of the episode (Prometheus's ``activeAt``).
        ``fired_at``
            ms of the pending -> firing evaluation; null if the alert never fired.
        ``resolved_at``
            ms of the first evaluation at which the alert was no longer pending or firing
            (for a fired alert, Prometheus's ``resolvedAt``; for a never-fired one, the
            evaluation that dropped it); null if still active at the last step.
        ``start_step``, ``fire_step``, ``end_step``
            the same three instants as step indices; ``end_step`` is ``n_steps`` when the
            alert is still active at the end. The alert is pending on steps
            ``[start_step, fire_step)`` and firing on ``[fire_step, end_step)``.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(6) * 60_000
    >>> alert_episodes(np.array([[1, 1, 0, 1, 1, 1]], bool), t, for_ms=90_000)["fired_at"]
    ... # doctest: +NORMALIZE_WHITESPACE
    shape: (2,)
    Series: 'fired_at' [i64]
    [
        null
        300000
    ]
    """
    p, t = _check_inputs(present, eval_times_ms, int(for_ms), int(keep_firing_for_ms))
    row, s, e = _runs(p)
    return episodes_frame_from_runs(row, s, e, t, int(for_ms), int(keep_firing_for_ms))


class Runs(NamedTuple):
    """Maximal runs of consecutive present evaluations, row-major (see :func:`presence_runs`)."""

    row: npt.NDArray[np.int64]
    start: npt.NDArray[np.int64]
    end: npt.NDArray[np.int64]


def presence_runs(present: npt.ArrayLike) -> Runs:
    """Runs of ``True`` per row: ``(row, start step, end step exclusive)``.

    They do not depend on ``for``/``keep_firing_for``, so sweeps compute them once per
    threshold and call :func:`episodes_from_runs` per ``for`` value.
    """
    p = np.asarray(present, dtype=bool)
    if p.ndim == 1:
        p = p[None, :]
    return Runs(*_runs(p))


def episodes_from_runs(
    runs: Runs, eval_times_ms: npt.ArrayLike, for_ms: int = 0, keep_firing_for_ms: int = 0
) -> dict[str, npt.NDArray[np.int64]]:
    """Episode arrays (``series_idx``, ``start_step``, ``fire_step`` (-1: never fired),
    ``end_step``) from :func:`presence_runs`; the core of :func:`alert_episodes`."""
    t = np.asarray(eval_times_ms, dtype=np.int64)
    steps = t.shape[0]
    row, s, e = runs
    if row.size == 0:
        z = np.zeros(0, np.int64)
        return {"series_idx": z, "start_step": z, "fire_step": z, "end_step": z}
    diffs = np.diff(t)
    width = int(diffs[0]) if diffs.size and bool(np.all(diffs == diffs[0])) else 0

    def first_at_or_after(idx: npt.NDArray[np.int64], delay: int) -> npt.NDArray[np.int64]:
        # smallest step k with t[k] >= t[idx] + delay (steps when none)
        if width:
            return np.minimum(idx + -(-delay // width), steps)
        return np.asarray(np.searchsorted(t, t[np.minimum(idx, steps - 1)] + delay, side="left"),
                          dtype=np.int64)

    # First step of each run at or after active_at + for: the pending -> firing evaluation.
    j = first_at_or_after(s, int(for_ms))
    own_fire = j < e
    if keep_firing_for_ms > 0:
        # Resolution step if the run's alert is firing when it ends: the first missing
        # evaluation at least K after the first missing one (steps past the end: still active).
        m = np.where(e < steps, first_at_or_after(e, int(keep_firing_for_ms)), steps)
        # A firing alert survives the gap to the next run of its row if the identity is back
        # before the resolution step; chains of such runs are one alert.
        gap_ok = np.zeros(row.size, dtype=bool)
        gap_ok[:-1] = (row[1:] == row[:-1]) & (m[:-1] >= s[1:])
        new_seg = np.ones(row.size, dtype=bool)
        new_seg[1:] = ~gap_ok[:-1]
        seg_start = np.flatnonzero(new_seg)
        seg_id = np.cumsum(new_seg) - 1
        # fires in earlier runs (global count)
        fired_before: npt.NDArray[np.int64] = np.cumsum(own_fire) - own_fire
        fired_before_in_seg: npt.NDArray[np.int64] = fired_before - fired_before[seg_start][seg_id]
        # Runs before the first one that fires in a chain are their own (pending-only) episodes;
        # the first firing run absorbs the rest of the chain.
        h = np.flatnonzero(fired_before_in_seg == 0)
        last = np.empty_like(h)
        last[:-1] = h[1:] - 1
        last[-1] = row.size - 1
    else:
        m = e
        h = last = np.arange(row.size)
    fired = own_fire[h]
    return {
        "series_idx": row[h],
        "start_step": s[h],
        "fire_step": np.where(fired, j[h], -1),
        "end_step": np.where(fired, m[last], e[h]),
    }


def episodes_frame_from_runs(row: npt.NDArray[np.int64], s: npt.NDArray[np.int64],
                             e: npt.NDArray[np.int64], t: npt.NDArray[np.int64], for_ms: int,
                             keep_firing_for_ms: int) -> pl.DataFrame:
    """:func:`alert_episodes` on precomputed runs."""
    ep = episodes_from_runs(Runs(row, s, e), t, for_ms, keep_firing_for_ms)
    steps = t.shape[0]
    fire_step = ep["fire_step"]
    end_step = ep["end_step"]
    fired = fire_step >= 0
    t_pad = np.append(t, -1)
    return pl.DataFrame(
        {
            "series_idx": ep["series_idx"],
            "active_at": t[ep["start_step"]],
            "fired_at": np.where(fired, t_pad[fire_step], 0),
            "resolved_at": t_pad[end_step],
            "start_step": ep["start_step"],
            "fire_step": fire_step,
            "end_step": end_step,
        },
        schema=EPISODE_SCHEMA,
    ).with_columns(
        pl.when(pl.col("fire_step") >= 0).then(pl.col("fired_at")).alias("fired_at"),
        pl.when(pl.col("end_step") < steps).then(pl.col("resolved_at")).alias("resolved_at"),
        pl.when(pl.col("fire_step") >= 0).then(pl.col("fire_step")).alias("fire_step"),
    )


def alert_states(
    episodes: pl.DataFrame, n_series: int, eval_times_ms: npt.ArrayLike
) -> AlertStates:
    """Expand episodes into dense per-step state (pending/firing) and ``active_at``.

    Parameters
    ----------
    episodes
        A frame from :func:`alert_episodes`.
    n_series
        Number of rows of the ``present`` array the episodes came from.
    eval_times_ms
        The same evaluation timestamps.

    Returns
    -------
    AlertStates
        ``state`` (0 inactive, 1 pending, 2 firing) and ``active_at_ms``, both
        ``[n_series, n_steps]``.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(5) * 60_000
    >>> ep = alert_episodes(np.array([[0, 1, 1, 1, 0]], bool), t, for_ms=60_000)
    >>> alert_states(ep, 1, t).state.tolist()
    [[0, 1, 2, 2, 0]]
    """
    check_frame(episodes, "alert_states: episodes")
    t = np.asarray(eval_times_ms, dtype=np.int64)
    steps = t.shape[0]
    width = steps + 1
    row = episodes["series_idx"].to_numpy().astype(np.int64)
    start = episodes["start_step"].to_numpy().astype(np.int64)
    end = episodes["end_step"].to_numpy().astype(np.int64)
    fire = episodes["fire_step"].fill_null(-1).to_numpy().astype(np.int64)
    fired = fire >= 0
    base = row * width
    d_state = np.zeros(n_series * width, dtype=np.int8)
    np.add.at(d_state, base + start, 1)
    np.add.at(d_state, base[fired] + fire[fired], 1)
    np.add.at(d_state, base + end, np.where(fired, -2, -1).astype(np.int8))
    state = np.cumsum(d_state.reshape(n_series, width), axis=1, dtype=np.int8)[:, :steps]
    active = t[start] if start.size else np.zeros(0, np.int64)
    d_act = np.zeros(n_series * width, dtype=np.int64)
    np.add.at(d_act, base + start, active)
    np.add.at(d_act, base + end, -active)
    active_at = np.cumsum(d_act.reshape(n_series, width), axis=1)[:, :steps]
    return AlertStates(state=np.ascontiguousarray(state), active_at_ms=active_at)


def alert_samples(episodes: pl.DataFrame, eval_times_ms: npt.ArrayLike) -> pl.DataFrame:
    """The ``ALERTS`` / ``ALERTS_FOR_STATE`` samples of the episodes, in long form.

    One row per (series, evaluation) where the alert is pending or firing. Emit
    ``ALERTS{alertstate=<alertstate>, ...} = 1`` and ``ALERTS_FOR_STATE{...} = for_state`` at
    ``timestamp``. (The real rule manager also writes a staleness marker on the pending series at
    ``fired_at`` and on the firing series at ``resolved_at``; OpenMetrics backfill cannot encode
    those, and absence reads the same to ``query_range`` after the 5m lookback.)

    Parameters
    ----------
    episodes
        A frame from :func:`alert_episodes`.
    eval_times_ms
        The same evaluation timestamps.

    Returns
    -------
    polars.DataFrame
        ``series_idx`` (Int64), ``step`` (Int64), ``timestamp`` (Int64 ms), ``alertstate``
        (``"pending"``/``"firing"``), ``active_at`` (Int64 ms) and ``for_state`` (Float64:
        ``active_at`` in whole seconds, the ``ALERTS_FOR_STATE`` value), sorted by series, step.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(4) * 60_000 + 1_500
    >>> ep = alert_episodes(np.array([[1, 1, 1, 0]], bool), t, for_ms=60_000)
    >>> alert_samples(ep, t).select("step", "alertstate", "for_state").rows()
    [(0, 'pending', 1.0), (1, 'firing', 1.0), (2, 'firing', 1.0)]
    """
    check_frame(episodes, "alert_samples: episodes")
    t = np.asarray(eval_times_ms, dtype=np.int64)
    row = episodes["series_idx"].to_numpy().astype(np.int64)
    start = episodes["start_step"].to_numpy().astype(np.int64)
    end = episodes["end_step"].to_numpy().astype(np.int64)
    fire = episodes["fire_step"].fill_null(-1).to_numpy().astype(np.int64)
    fire = np.where(fire >= 0, fire, end)                  # never fired: pending to the end
    lengths = end - start
    total = int(lengths.sum())
    ep_idx = np.repeat(np.arange(row.size), lengths)
    offsets = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    step = start[ep_idx] + offsets
    firing = step >= fire[ep_idx]
    active = t[start][ep_idx] if total else np.zeros(0, np.int64)
    return pl.DataFrame(
        {
            "series_idx": row[ep_idx],
            "step": step,
            "timestamp": t[step] if total else np.zeros(0, np.int64),
            "alertstate": firing,
            "active_at": active,
            "for_state": np.floor_divide(active, 1000).astype(np.float64),
        },
        schema={"series_idx": pl.Int64, "step": pl.Int64, "timestamp": pl.Int64,
                "alertstate": pl.Boolean, "active_at": pl.Int64, "for_state": pl.Float64},
    ).with_columns(
        pl.when(pl.col("alertstate")).then(pl.lit("firing")).otherwise(pl.lit("pending"))
        .alias("alertstate"))

