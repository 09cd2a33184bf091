"""Score a rule against known incidents: how late it fired, what it missed, what it fired outside.

An *incident* is a window ``[start, end]`` with optional labels (``instance``, ``namespace``,
``pod`` ...). A fired alert *covers* an incident when every label the incident names has the same
value in the alert's labels and the alert's firing interval ``[fired_at, resolved_at)`` (still
firing: up to the end of the backtest) overlaps ``[start, end + grace]``. Then:

* only incidents that overlap the backtest's evaluations count;
* ``delay_s`` of an incident: first covering ``fired_at`` minus ``start`` (or minus the first
  evaluation, for an incident already under way then; 0 when an alert was already firing when
  the incident began); null when no alert covers it (a *missed* incident);
* an alert *outside any incident* covers none (a false alarm, as far as the incident list knows).

Incident frames have ``start`` and ``end`` (:data:`~workbench.frames.TIMESTAMP`) and any label
columns; the optional columns ``incident`` (a name), ``alertname`` (which rule should catch it;
:func:`incident_score` keeps the incidents of the rule's alert when the column is present and
``alertname=`` is not given) and ``description`` are not matched as labels.

Examples
--------
>>> import numpy as np, polars as pl
>>> inc = load_incidents(pl.DataFrame({"start": [600, 6000], "end": [1200, 6600],
...                                    "instance": ["a", "a"]}))
>>> ident = pl.DataFrame({"alertname": ["X", "X"], "instance": ["a", "b"]})
>>> t = np.arange(0, 7200_000, 60_000)          # 2 hours, one evaluation a minute
>>> figures = incident_figures(ident, np.array([0, 1]), np.array([12, 30]), np.array([25, 40]),
...                            t, inc)
>>> figures["incidents_caught"], figures["incidents_missed"], figures["alerts_outside"]
(1, 1, 1)
>>> figures["median_delay_s"]
120.0
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import polars as pl

from ..._errors import ConfigError
from ..._time import DurationLike, parse_duration_ms, parse_time_ms
from ...frames import TIMESTAMP, check_frame

if TYPE_CHECKING:
    from .backtest import BacktestResult

__all__ = [
    "FIGURE_SCHEMA",
    "INCIDENT_COLUMNS",
    "IncidentScore",
    "incident_figures",
    "incident_score",
    "incidents_for_alert",
    "incidents_from_ground_truth",
    "label_match",
    "load_incidents",
]

#: Incident columns that are not alert labels.
INCIDENT_COLUMNS = ("start", "end", "incident", "alertname", "description")


def _times(col: pl.Series, name: str) -> pl.Series:
    if isinstance(col.dtype, pl.Datetime):
        return col.dt.convert_time_zone("UTC").cast(TIMESTAMP) if col.dtype.time_zone else \
            col.dt.replace_time_zone("UTC").cast(TIMESTAMP)
    try:
        ms = [parse_time_ms(v) if v is not None else None for v in col.to_list()]
    except ConfigError as exc:
        msg = f"incidents: column {name!r} holds a value that is not a time: {exc}"
        raise ConfigError(msg) from None
    return pl.Series(name, ms, dtype=pl.Int64).cast(TIMESTAMP)


def load_incidents(source: pl.DataFrame | str | Path) -> pl.DataFrame:
    """Incident windows from a frame or a CSV file, with ``start``/``end`` as UTC datetimes.

    ``start``/``end`` may be datetimes, Unix seconds or RFC 3339 text; the other columns are
    kept as text (labels to match, plus ``incident``/``alertname``/``description``).

    Raises
    ------
    ConfigError
        No ``start``/``end`` column, a value that is not a time, or ``end`` before ``start``.
    """
    if isinstance(source, str | Path):
        path = Path(source).expanduser()
        try:
            if not path.is_file():
                msg = (f"Incident file {str(path)!r} does not exist. Fix: give a CSV with "
                       "start,end,...")
                raise ConfigError(msg)
            frame = pl.read_csv(path, infer_schema=False)
        except (OSError, ValueError, pl.exceptions.PolarsError) as exc:
            msg = f"Cannot read incident file {str(path)!r}: {exc}. Fix: give a CSV with start,end,..."
            raise ConfigError(msg) from None
    else:
        frame = check_frame(source, "load_incidents: source")
    missing = [c for c in ("start", "end") if c not in frame.columns]
    if missing:
        msg = (f"incidents need 'start' and 'end' columns (missing {missing}); other columns are "
               "labels to match, e.g. instance, namespace, pod.")
        raise ConfigError(msg)
    out = frame.with_columns(_times(frame["start"], "start"), _times(frame["end"], "end"))
    nested = [c for c in out.columns if c not in ("start", "end") and out[c].dtype.is_nested()]
    if nested:
        msg = (f"incidents: column(s) {nested} hold lists or structs; label columns must be text. "
               "Fix: drop them or join their items into one string.")
        raise ConfigError(msg)
    out = out.with_columns(pl.col(c).cast(pl.String) for c in out.columns
                           if c not in ("start", "end"))
    bad = out.filter(pl.col("end") < pl.col("start"))
    if bad.height:
        msg = f"incidents: {bad.height} row(s) end before they start, e.g. {bad.row(0)}."
        raise ConfigError(msg)
    return out


def _read_ground_truth(path: Any) -> Mapping[str, Any]:
    if not isinstance(path, str | Path):
        msg = (f"incidents_from_ground_truth needs a mapping or a path, got "
               f"{type(path).__name__}. Fix: pass the demo's ground_truth.json.")
        raise ConfigError(msg)
    try:
        doc = json.loads(Path(path).expanduser().read_text())
    except (OSError, ValueError) as exc:
        msg = (f"Cannot read ground truth {str(path)!r}: {exc}. Fix: pass the ground_truth.json "
               "that `workbench demo up` wrote (in its state directory).")
        raise ConfigError(msg) from None
    if not isinstance(doc, Mapping):
        msg = f"ground truth {str(path)!r} is not a JSON object. Fix: pass the demo's file."
        raise ConfigError(msg)
    return doc


def incidents_from_ground_truth(ground_truth: Mapping[str, Any] | str | Path, *,
                                oom_window: DurationLike = "10m") -> pl.DataFrame:
    """The incidents planted by ``workbench demo`` (its ``ground_truth.json``) as an incident
    frame: node down, each OOM kill (a window of ``oom_window``), the PVC over 70% until the end,
    the filling filesystem and the throttled pods over the whole history, each flapping window.
    ``alertname`` names the demo rule meant to catch each."""
    gt = ground_truth if isinstance(ground_truth, Mapping) else _read_ground_truth(ground_truth)
    if not (isinstance(gt.get("history"), Mapping) and isinstance(gt.get("scenarios"), Mapping)):
        msg = ("ground truth lacks its 'history' and 'scenarios' tables. Fix: pass the "
               "ground_truth.json that `workbench demo up` wrote (in its state directory).")
        raise ConfigError(msg)
    oom_s = parse_duration_ms(oom_window) / 1000
    try:
        h, sc = gt["history"], gt["scenarios"]
        t0, t1 = float(h["start_s"]), float(h["end_s"])
        rows: list[dict[str, Any]] = []

        def add(name: str, alert: str, start: float, end: float, **labels: str) -> None:
            rows.append({"incident": name, "alertname": alert, "start": start, "end": end,
                         **labels})

        nd = sc["node_down"]
        add("node down", nd["alertname"], nd["start_s"], nd["end_s"], instance=nd["instance"])
        oom = sc["oom_kills"]
        for t in oom["times_s"]:
            add("OOM kill", oom["alertname"], t, min(t + oom_s, t1), namespace=oom["namespace"],
                pod=oom["pod"])
        pvc = sc["pvc_over_70"]
        if pvc["crosses_70_at_s"] <= t1:
            add("PVC over 70%", pvc["alertname"], max(pvc["crosses_70_at_s"], t0), t1,
                namespace=pvc["namespace"], persistentvolumeclaim=pvc["persistentvolumeclaim"])
        fs = sc["filesystem_filling"]
        add("filesystem filling", fs["alertname"], t0, t1, instance=fs["instance"],
            mountpoint=fs["mountpoint"])
        thr = sc["cpu_throttling"]
        for pod in thr["pods"]:
            add("CPU throttling", thr["alertname"], t0, t1, namespace=thr["namespace"], pod=pod)
        fl = sc["flapping_alert"]
        for w0, w1 in fl["windows_s"]:
            add("load flapping", fl["alertname"], w0, w1, instance=fl["instance"])
        frame = pl.DataFrame(rows, infer_schema_length=None).with_columns(
            (pl.col("start", "end") * 1000).round().cast(pl.Int64).cast(TIMESTAMP))
    except (KeyError, TypeError, ValueError, AttributeError, pl.exceptions.PolarsError) as exc:
        msg = (f"ground truth does not have the layout `workbench demo` writes ({type(exc).__name__}"
               f": {exc!s:.80}). Fix: pass the ground_truth.json of a demo run by this version.")
        raise ConfigError(msg) from None
    return load_incidents(frame)


def _label_columns(incidents: pl.DataFrame) -> list[str]:
    return [c for c in incidents.columns if c not in INCIDENT_COLUMNS]


def label_match(identities: pl.DataFrame, incidents: pl.DataFrame) -> npt.NDArray[np.bool_]:
    """``[n_incidents, n_identities]``: every label the incident names equals the alert's."""
    out = np.ones((incidents.height, identities.height), dtype=bool)
    for col in _label_columns(incidents):
        want = incidents[col].to_numpy()
        named = incidents[col].is_not_null().to_numpy()
        if col in identities.columns:
            have = identities[col].to_numpy()
            eq = want[:, None] == have[None, :]
        else:
            eq = np.zeros((incidents.height, identities.height), dtype=bool)
        out &= eq | ~named[:, None]
    return out


def incident_figures(identities: pl.DataFrame, series_idx: npt.NDArray[np.int64],
                     fire_step: npt.NDArray[np.int64], end_step: npt.NDArray[np.int64],
                     eval_times_ms: npt.NDArray[np.int64], incidents: pl.DataFrame, *,
                     grace_ms: int = 0, match: npt.NDArray[np.bool_] | None = None,
                     ) -> dict[str, Any]:
    """Incident figures from episode arrays (``fire_step`` -1 = never fired); numpy only.

    Returns ``incidents``, ``incidents_caught``, ``incidents_missed``, ``median_delay_s``,
    ``max_delay_s``, ``alerts_outside`` (fired alerts covering no incident), and the arrays
    ``delay_s`` (per incident, NaN = missed), ``outside`` (per fired episode) and ``inside``
    (per incident: it overlaps the evaluated window; only those are counted).
    ``match`` (from an earlier call with the same identities) skips the label comparison.
    """
    t = np.asarray(eval_times_ms, dtype=np.int64)
    n_steps = t.shape[0]
    if match is None:
        match = label_match(identities, incidents)
    fired = fire_step >= 0
    sid, f, e = series_idx[fired], fire_step[fired], end_step[fired]
    fire_t = t[f] if n_steps else np.zeros(0, np.int64)
    end_t = np.where(e < n_steps, t[np.minimum(e, max(n_steps - 1, 0))],
                     (t[-1] + 1) if n_steps else 0)
    s_ms = incidents["start"].dt.epoch("ms").to_numpy()
    e_ms = incidents["end"].dt.epoch("ms").to_numpy() + grace_ms
    cover = (match[:, sid] & (fire_t[None, :] <= e_ms[:, None])
             & (end_t[None, :] > s_ms[:, None]))
    first = np.where(cover, fire_t[None, :], np.iinfo(np.int64).max).min(axis=1, initial=np.iinfo(
        np.int64).max)
    caught = cover.any(axis=1)
    outside = ~cover.any(axis=0)
    # Incidents entirely before the first or after the last evaluation are not counted.
    inside = ((e_ms >= t[0]) & (s_ms <= t[-1])) if n_steps else np.zeros(len(s_ms), bool)
    caught &= inside
    # An incident already under way when the window opens is timed from the window's start.
    since = np.maximum(s_ms, t[0]) if n_steps else s_ms
    delay = np.where(caught, np.maximum(first - since, 0) / 1000, np.nan)
    return {
        "incidents": int(inside.sum()),
        "incidents_caught": int(caught.sum()),
        "incidents_missed": int((~caught & inside).sum()),
        "median_delay_s": float(np.median(delay[caught])) if caught.any() else None,
        "max_delay_s": float(delay[caught].max()) if caught.any() else None,
        "alerts_outside": int(outside.sum()),
        "delay_s": delay,
        "outside": outside,
        "inside": inside,
    }


#: Scalar columns :func:`incident_figures` adds to a sweep.
FIGURE_SCHEMA = {"incidents": pl.Int64, "incidents_caught": pl.Int64,
                 "incidents_missed": pl.Int64, "median_delay_s": pl.Float64,
                 "max_delay_s": pl.Float64, "alerts_outside": pl.Int64}


@dataclass
class IncidentScore:
    """A backtest scored against incidents.

    Attributes
    ----------
    incidents
        The incidents with ``caught`` (bool) and ``delay_s`` (null when missed).
    outside
        The fired alerts (episodes) that cover no incident.
    figures
        ``incidents``, ``incidents_caught``, ``incidents_missed``, ``median_delay_s``,
        ``max_delay_s``, ``alerts_outside``, ``alerts_fired``.
    """

    incidents: pl.DataFrame
    outside: pl.DataFrame
    figures: dict[str, Any]


def incidents_for_alert(incidents: pl.DataFrame, alert: str,
                        alertname: str | None = None, *, warn: bool = True) -> pl.DataFrame:
    """The incidents meant for ``alertname`` (default ``alert``), or all of them when the
    frame has no ``alertname`` column.

    Warns (``UserWarning``) when ``warn`` and the frame has incidents but none for that name: a
    rule named differently from the incidents' ``alertname`` would otherwise score
    ``incidents: 0`` without a word.

    >>> import warnings
    >>> inc = load_incidents(pl.DataFrame({"start": [0], "end": [60], "alertname": ["A"]}))
    >>> incidents_for_alert(inc, "A").height
    1
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     incidents_for_alert(inc, "B").height
    0
    >>> "'B'" in str(w[0].message) and "'A'" in str(w[0].message)
    True
    """
    if "alertname" not in incidents.columns:
        return incidents
    name = alertname if alertname is not None else alert
    kept = incidents.filter(pl.col("alertname").is_null() | (pl.col("alertname") == name))
    if warn and kept.height == 0 and incidents.height > 0:
        names = sorted(incidents["alertname"].drop_nulls().unique().to_list())
        warnings.warn(f"no incident is meant for alert {name!r}: the incidents' alertnames are "
                      f"{', '.join(map(repr, names))}, so nothing is scored (incidents: 0). Fix: "
                      "name the rule after the incidents' alertname, or pass alertname=<one of "
                      "them> to score against those incidents.", UserWarning, stacklevel=3)
    return kept


def incident_score(result: BacktestResult, incidents: pl.DataFrame | str | Path, *,
                   grace: DurationLike = "0s", alertname: str | None = None) -> IncidentScore:
    """Score a backtest against incident windows (see the module docstring).

    Parameters
    ----------
    result
        A :func:`~workbench.backtest` result.
    incidents
        An incident frame or CSV path (:func:`load_incidents`).
    grace
        An alert firing up to this long after an incident's end still covers it.
    alertname
        Keep the incidents whose ``alertname`` column is this (default the rule's alert; all
        incidents when the column is absent).
    """
    from .backtest import BacktestResult

    if not isinstance(result, BacktestResult):
        msg = (f"incident_score needs a backtest result, got {type(result).__name__}. Fix: pass "
               "what workbench.alerting.backtest(...) returned.")
        raise ConfigError(msg)
    inc = incidents_for_alert(load_incidents(incidents), result.rule.alert, alertname)
    raw = result.raw_episodes
    fire = raw["fire_step"].fill_null(-1).to_numpy()
    fig = incident_figures(result.alerts.identities, raw["series_idx"].to_numpy(), fire,
                           raw["end_step"].to_numpy(), result.eval_times_ms, inc,
                           grace_ms=parse_duration_ms(grace))
    delay = fig.pop("delay_s")
    outside = fig.pop("outside")
    inside = fig.pop("inside")
    fig["alerts_fired"] = int((fire >= 0).sum())
    scored = inc.with_columns(caught=pl.Series(~np.isnan(delay), dtype=pl.Boolean),
                              delay_s=pl.Series(delay, dtype=pl.Float64).fill_nan(None)
                              ).filter(pl.Series(inside, dtype=pl.Boolean))
    fired = result.episodes.filter(pl.Series(fire >= 0))
    return IncidentScore(scored, fired.filter(pl.Series(outside, dtype=pl.Boolean)), fig)

