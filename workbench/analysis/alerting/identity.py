"""From expression results on the evaluation grid to alert identities (pure).

Prometheus builds each alert's labels from the sample: the sample's labels without ``__name__``,
then the rule's labels (templates expanded against ``$labels``/``$value``; an empty result removes
the label), then ``alertname``. The set is the alert's identity. Two samples of one evaluation with
the same set make the evaluation fail ("vector contains metrics with the same labelset after
applying alert labels"): :class:`~workbench.DuplicateAlertError` here.

Examples
--------
>>> import numpy as np, polars as pl
>>> from workbench.analysis.alerting.rule import Rule
>>> frame = pl.DataFrame({"timestamp": [0, 60_000, 0], "value": [1.0, 2.0, 0.5],
...                       "__name__": ["x"] * 3, "i": ["a", "a", "b"]}
...                      ).with_columns(pl.col("timestamp").cast(pl.Datetime("ms", "UTC")))
>>> m = series_matrix(frame, np.array([0, 60_000]))
>>> m.present.tolist()
[[True, True], [True, False]]
>>> ai = alert_input(m, Rule(alert="A", expr="x", op=">", threshold=0.9))
>>> ai.identities.to_dicts(), ai.present.tolist()
([{'alertname': 'A', 'i': 'a'}, {'alertname': 'A', 'i': 'b'}], [[True, True], [False, False]])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt
import polars as pl

from ..._errors import AlertRuleError, DuplicateAlertError
from .compare import passes
from .rule import Rule
from .templates import render, uses_value

__all__ = ["AlertInput", "SeriesMatrix", "alert_input", "series_matrix"]

_DATA = ("timestamp", "value")


@dataclass(frozen=True)
class SeriesMatrix:
    """An expression's results on the evaluation grid.

    Attributes
    ----------
    eval_times_ms
        ``[n_steps]`` evaluation timestamps (ms).
    labels
        One row per series, one String column per label (``__name__`` included when the
        expression keeps it; null = label absent).
    values
        ``[n_series, n_steps]`` float64, NaN where absent (a stored NaN is also NaN).
    present
        ``[n_series, n_steps]`` bool: the series returned a sample at that evaluation.
    """

    eval_times_ms: npt.NDArray[np.int64]
    labels: pl.DataFrame
    values: npt.NDArray[np.float64]
    present: npt.NDArray[np.bool_]


class AlertInput:
    """The rule's alert identities and, per evaluation, which are in the result.

    Attributes
    ----------
    identities
        One row per identity: ``alertname`` then the other alert labels (sorted), String.
    present
        ``[n_identities, n_steps]`` bool.
    values
        ``[n_identities, n_steps]`` the sample value behind the alert (NaN where absent);
        computed on first use.
    source
        ``[n_identities, n_steps]`` int32 index into the series matrix of the sample behind the
        alert, -1 where absent (for ``$labels`` in annotations); computed on first use.
    """

    def __init__(self, identities: pl.DataFrame, present: npt.NDArray[np.bool_],
                 detail: Callable[[], tuple[npt.NDArray[np.float64], npt.NDArray[np.int32]]]
                 ) -> None:
        self.identities = identities
        self.present = present
        self._detail = detail

    @cached_property
    def _details(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int32]]:
        return self._detail()

    @property
    def values(self) -> npt.NDArray[np.float64]:
        return self._details[0]

    @property
    def source(self) -> npt.NDArray[np.int32]:
        return self._details[1]


def _grid_steps(ts: npt.NDArray[np.int64], t: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Step index of every timestamp on the grid ``t``; raises if one is off the grid."""
    n_steps = t.shape[0]
    if ts.size == 0:
        return ts.astype(np.int64)
    diffs = np.diff(t)
    if n_steps > 1 and bool(np.all(diffs == diffs[0])):
        width = int(diffs[0])
        rel = ts - t[0]
        step = np.rint(rel * (1.0 / width)).astype(np.int64)   # exact check follows
        ok = int(step.min()) >= 0 and int(step.max()) < n_steps and bool(
            np.array_equal(step * width, rel))
    else:
        step = np.searchsorted(t, ts)
        inside = step < n_steps
        ok = bool(inside.all()) and bool(np.all(t[step] == ts))
    if not ok:
        on_grid = np.isin(ts, t)
        bad = int(ts[~on_grid][0]) if (~on_grid).any() else int(ts[0])
        msg = (f"sample at {bad} ms is not on the evaluation grid (start + k*interval). Fix: "
               "query with query_range at step = interval from the same start.")
        raise AlertRuleError(msg)
    return np.asarray(step, dtype=np.int64)


def _series_starts(labels: pl.DataFrame, ts: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """First row of every run of equal labels, for a frame whose series are contiguous.

    Within a series timestamps strictly increase, so every place they do not is a series
    boundary; a segment between two such places whose first and last rows carry the same labels
    is one series (each series is contiguous and appears once), so only the few segments whose
    ends differ need their labels compared row by row. That avoids comparing label strings on
    every sample.
    """
    n = ts.shape[0]
    seg = np.flatnonzero(np.diff(ts) <= 0) + 1
    seg_start = np.concatenate([[0], seg]).astype(np.int64)
    seg_end = np.append(seg, n).astype(np.int64) - 1
    first = labels[seg_start]
    last = labels[seg_end]
    same = np.ones(seg_start.size, bool)
    for c in labels.columns:
        same &= first[c].eq_missing(last[c]).to_numpy()
    if bool(same.all()):
        return seg_start
    a, b = seg_start[~same], seg_end[~same] + 1            # the mixed segments' rows
    lengths = b - a
    rows = np.repeat(a - np.cumsum(lengths) + lengths, lengths) + np.arange(int(lengths.sum()))
    r = labels[rows].select(pl.struct(labels.columns).rle_id()).to_series().to_numpy()
    new_run = np.r_[True, r[1:] != r[:-1]]
    new_run[np.cumsum(lengths)[:-1]] = True                # a segment start is always one
    return np.sort(np.concatenate([seg_start[same], rows[new_run]]))


def series_matrix(frame: pl.DataFrame, eval_times_ms: npt.ArrayLike) -> SeriesMatrix:
    """Pivot a query_range frame (workbench schema) onto the evaluation grid.

    Every sample's timestamp must be one of ``eval_times_ms`` (query_range at step = interval
    with the same start guarantees it).
    """
    t = np.asarray(eval_times_ms, dtype=np.int64)
    label_cols = sorted(c for c in frame.columns if c not in _DATA)
    n_steps = t.shape[0]
    if frame.height == 0:
        return SeriesMatrix(t, pl.DataFrame(schema=dict.fromkeys(label_cols, pl.String)),
                            np.zeros((0, n_steps)), np.zeros((0, n_steps), bool))
    ts_col = frame["timestamp"]
    ts = (ts_col.dt.epoch("ms") if ts_col.dtype != pl.Int64 else ts_col).to_numpy()
    if label_cols:
        starts = _series_starts(frame.select(label_cols), ts)
        sid_np = np.repeat(np.arange(starts.size, dtype=np.int64),
                           np.diff(np.append(starts, frame.height)))
        labels = frame[starts].select(label_cols)
        if labels.is_duplicated().any():   # not contiguous after all: group in general
            labels = frame.select(label_cols).unique(maintain_order=True)
            sid_np = (frame.select(label_cols).with_row_index("_row")
                      .join(labels.with_row_index("_sid"), on=label_cols, how="left",
                            nulls_equal=True)
                      .sort("_row")["_sid"].to_numpy().astype(np.int64))
    else:
        labels = pl.DataFrame(height=1)
        sid_np = np.zeros(frame.height, np.int64)
    step = _grid_steps(ts, t)
    n = labels.height
    flat = sid_np.astype(np.int64) * n_steps + step
    values = np.full(n * n_steps, np.nan)
    present = np.zeros(n * n_steps, bool)
    values[flat] = frame["value"].to_numpy()
    present[flat] = True
    values = values.reshape(n, n_steps)
    present = present.reshape(n, n_steps)
    return SeriesMatrix(t, labels, values, present)


def _normalise(frame: pl.DataFrame) -> pl.DataFrame:
    """Empty label values mean "absent" (labels.Builder.Set deletes on "")."""
    cols = [c for c, dt in frame.schema.items() if dt == pl.String]
    return frame.with_columns(pl.col(c).replace("", None) for c in cols) if cols else frame


def _base_labels(labels: pl.DataFrame, rule: Rule, external: Mapping[str, str]) -> pl.DataFrame:
    base = labels.drop("__name__", strict=False)
    static = {k: v for k, v in rule.labels.items() if k not in rule.templated_labels}
    cols: list[pl.Expr | pl.Series] = [pl.lit(v, dtype=pl.String).alias(k)
                                       for k, v in static.items()]
    templated = {k: v for k, v in rule.templated_labels.items() if not uses_value(v)}
    if templated:
        rows = labels.to_dicts()
        for k, tmpl in templated.items():        # one render per series, not per step
            rendered = [render(tmpl, {a: b for a, b in r.items() if b is not None}, float("nan"),
                               external) for r in rows]
            cols.append(pl.Series(k, rendered, dtype=pl.String))
    out = base.with_columns(cols) if cols else base
    return out.with_columns(pl.lit(rule.alert, dtype=pl.String).alias("alertname"))


def _order(frame: pl.DataFrame) -> list[str]:
    return ["alertname", *sorted(c for c in frame.columns if c != "alertname")]


def _raise_duplicate(ident: pl.DataFrame, idx: int, step: int, t: npt.NDArray[np.int64],
                     rule: Rule) -> None:
    lbls = {k: v for k, v in ident.row(idx, named=True).items() if v is not None}
    msg = (f"Rule {rule.alert}: at {int(t[step])} ms two samples map to the same alert labels "
           f"{lbls}; Prometheus fails that evaluation (\"vector contains metrics with the same "
           "labelset after applying alert labels\"). Fix: keep a distinguishing label in the "
           "expression (e.g. aggregate with by(...)) or in the rule's labels.")
    raise DuplicateAlertError(msg, labels=lbls, timestamp_ms=int(t[step]))


def alert_input(m: SeriesMatrix, rule: Rule, *, threshold: float | None = None,
                external_labels: Mapping[str, str] | None = None) -> AlertInput:
    """Apply the rule's comparison (if any) and labels: identities and their presence.

    Parameters
    ----------
    m
        The left-hand side (threshold rule) or the whole expression's results.
    rule
        The rule.
    threshold
        Override ``rule.threshold`` (sweeps).
    external_labels
        ``$externalLabels`` for templates.
    """
    ext = external_labels or {}
    if rule.is_threshold:
        thr = rule.threshold if threshold is None else threshold
        mask = m.present & passes(m.values, rule.op, thr)  # type: ignore[arg-type]
    else:
        mask = m.present
    n_steps = m.eval_times_ms.shape[0]
    base = _normalise(_base_labels(m.labels, rule, ext))
    if not rule.value_dependent:
        cols = _order(base)
        base = base.select(cols)
        ident = base.unique(maintain_order=True)
        if ident.height == base.height:
            ids_all = np.arange(base.height, dtype=np.int32)[:, None]

            def one_to_one() -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int32]]:
                return (np.where(mask, m.values, np.nan),
                        np.where(mask, ids_all, np.int32(-1)).astype(np.int32))

            return AlertInput(ident, mask, one_to_one)
        sid2id = (base.with_row_index("_row")
                  .join(ident.with_row_index("_id"), on=cols, how="left", nulls_equal=True)
                  .sort("_row")["_id"].to_numpy().astype(np.int64))
        rows, steps = np.nonzero(mask)
        ids = sid2id[rows]
    else:
        rows, steps = np.nonzero(mask)
        vals = m.values[rows, steps]
        long = pl.DataFrame({"_row": rows, "_step": steps, "_value": vals})
        pairs = long.select("_row", "_value").unique(maintain_order=True)
        label_rows = m.labels.to_dicts()
        extra: dict[str, list[str]] = {}
        for k, tmpl in rule.templated_labels.items():
            if not uses_value(tmpl):
                continue
            extra[k] = [render(tmpl, {a: b for a, b in label_rows[r].items() if b is not None},
                               float(v), ext)
                        for r, v in zip(pairs["_row"].to_list(), pairs["_value"].to_list(),
                                        strict=True)]
        pairs = pairs.with_columns(pl.Series(k, v, dtype=pl.String) for k, v in extra.items())
        per_row = base.drop([k for k in extra if k in base.columns]).with_row_index("_row")
        per_row = per_row.with_columns(pl.col("_row").cast(pl.Int64))
        full = (long.join(pairs, on=["_row", "_value"], how="left", nulls_equal=True)
                .join(per_row, on="_row", how="left"))
        full = _normalise(full)
        cols = _order(full.drop("_row", "_step", "_value"))
        ident = full.select(cols).unique(maintain_order=True)
        ids = (full.select(cols).with_row_index("_i")
               .join(ident.with_row_index("_id"), on=cols, how="left", nulls_equal=True)
               .sort("_i")["_id"].to_numpy().astype(np.int64))
    n_id = ident.height
    key = ids * n_steps + steps
    uniq, counts = np.unique(key, return_counts=True)
    if counts.size and counts.max() > 1:
        dup = int(uniq[np.argmax(counts > 1)])
        _raise_duplicate(ident, dup // n_steps, dup % n_steps, m.eval_times_ms, rule)
    present = np.zeros((n_id, n_steps), bool)
    present[ids, steps] = True

    def scattered() -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int32]]:
        values = np.full((n_id, n_steps), np.nan)
        source = np.full((n_id, n_steps), -1, np.int32)
        values[ids, steps] = m.values[rows, steps]
        source[ids, steps] = rows
        return values, source

    return AlertInput(ident, present, scattered)
