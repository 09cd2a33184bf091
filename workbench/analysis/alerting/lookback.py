"""What an instant vector selector returns at each evaluation, from raw samples (pure).

A rule's expression is an instant query at each evaluation time ``ts``. For a plain selector
the engine returns, per series, the newest sample in the lookback window (default 5m) unless that
sample is a staleness marker:

* Prometheus 2.x: the window is closed, ``[ts - 5m, ts]``;
* Prometheus 3.x: it is left-open, ``(ts - 5m, ts]`` (3.0.0 CHANGELOG, #13904).

``query_range`` at ``step = interval`` applies exactly this on the server, so the backtester
normally never needs it; it is here for raw samples (``metric[1d]`` fetches, simulated data, and
the promtool differential tests, whose input series may carry ``stale`` markers).

Examples
--------
>>> import numpy as np
>>> v, ok = instant_vector(
...     series_idx=np.array([0, 0, 0]), t_ms=np.array([0, 60_000, 120_000]),
...     values=np.array([1.0, 2.0, 3.0]), stale=np.array([False, False, True]),
...     n_series=1, eval_times_ms=np.array([60_000, 120_000, 360_000]))
>>> ok.tolist(), float(v[0, 0])
([[True, False, False]], 2.0)
"""

from __future__ import annotations

import re

import numpy as np
import numpy.typing as npt

__all__ = ["DEFAULT_LOOKBACK_MS", "instant_vector", "lookback_closed"]

#: ``--query.lookback-delta`` default.
DEFAULT_LOOKBACK_MS = 5 * 60_000


def lookback_closed(version: str | None) -> bool:
    """Whether the server's lookback (and range) windows include their left end (2.x: yes).

    Unknown versions (``None``, non-Prometheus servers) are treated as 2.x.

    Examples
    --------
    >>> lookback_closed("2.42.0"), lookback_closed("3.1.0"), lookback_closed(None)
    (True, False, True)
    """
    m = re.match(r"v?(\d+)\.", version or "")
    return not (m and int(m.group(1)) >= 3)


def instant_vector(
    series_idx: npt.ArrayLike,
    t_ms: npt.ArrayLike,
    values: npt.ArrayLike,
    stale: npt.ArrayLike | None,
    n_series: int,
    eval_times_ms: npt.ArrayLike,
    *,
    lookback_ms: int = DEFAULT_LOOKBACK_MS,
    closed: bool = True,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Evaluate a plain instant selector at every evaluation time, vectorised.

    Parameters
    ----------
    series_idx, t_ms, values, stale
        Raw samples in long form, sorted by ``series_idx`` then ``t_ms`` (strictly increasing
        within a series). ``stale`` marks staleness markers (``None``: none).
    n_series
        Number of series (``series_idx`` values are ``0 .. n_series-1``).
    eval_times_ms
        Evaluation timestamps (ms), increasing.
    lookback_ms
        The lookback delta.
    closed
        2.x closed window (``True``) or 3.x left-open window (``False``); see
        :func:`lookback_closed`.

    Returns
    -------
    (values, present)
        Both ``[n_series, n_steps]``: the selected value (NaN where absent) and whether a sample
        was selected (a stored NaN value is *present*).
    """
    sid = np.asarray(series_idx, dtype=np.int64)
    t = np.asarray(t_ms, dtype=np.int64)
    v = np.asarray(values, dtype=np.float64)
    st = np.zeros(t.shape, bool) if stale is None else np.asarray(stale, dtype=bool)
    ev = np.asarray(eval_times_ms, dtype=np.int64)
    steps = ev.shape[0]
    out_v = np.full((n_series, steps), np.nan)
    out_ok = np.zeros((n_series, steps), dtype=bool)
    if t.size == 0 or steps == 0:
        return out_v, out_ok
    base = min(int(t.min()), int(ev.min()))
    span = max(int(t.max()), int(ev.max())) - base + 1
    key = sid * span + (t - base)
    if key.size > 1 and not bool(np.all(np.diff(key) > 0)):
        msg = "samples must be sorted by series then strictly increasing time."
        raise ValueError(msg)
    q = (np.arange(n_series, dtype=np.int64)[:, None] * span + (ev - base)[None, :])
    idx = np.searchsorted(key, q.ravel(), side="right").reshape(n_series, steps) - 1
    safe = np.maximum(idx, 0)
    same = (idx >= 0) & (sid[safe] == np.arange(n_series)[:, None])
    age = ev[None, :] - t[safe]
    in_window = age <= lookback_ms if closed else age < lookback_ms
    ok = same & in_window & ~st[safe]
    out_ok[:] = ok
    out_v[ok] = v[safe][ok]
    return out_v, out_ok
