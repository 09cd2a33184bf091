"""Which notifications Alertmanager 0.25 sends for a history of alert episodes, exactly.

:func:`simulate` replays an episodes frame (``backtest(...).episodes`` or
``workbench.alert_history`` episodes) through a model of Prometheus's notifier and Alertmanager's
dispatcher, one event at a time:

*Prometheus* (2.x ``rules/alerting.go``): pending alerts are never sent. A firing alert is sent at
``fired_at`` and then at every evaluation where the last send is more than ``resend_delay`` ago
(with a 1m interval and 1m delay: every 2nd evaluation) with ``EndsAt = ts + 4 x max(interval,
resend_delay)``; at ``resolved_at`` it is sent resolved (``EndsAt = resolved_at``) and re-sent on
the same cadence while it is at most 15 min old (or until the same labels become active again).

*Alertmanager* (``dispatch/dispatch.go``, ``notify/notify.go``): each alert goes to every route
``cfg.route(labels)`` returns; per (route, group labels) an aggregation group is created by its
first alert with a flush timer at ``+group_wait`` (at once if the alert's ``StartsAt +
group_wait`` is already past and the group never flushed); each flush re-arms ``+group_interval``.
A flush takes the group's alerts (resolved when ``EndsAt <= now``), drops inhibited ones
(source alert firing, ``equal`` labels equal, two-sided matches excluded) and everything when
the route is outside its active / inside a mute time interval, then per integration applies the
dedup stage against the last logged notification E: notify if no E and something fires; if a
firing alert is not in E; if nothing fires but E had firing alerts (the "resolved" message, not
sent when ``send_resolved`` is false but still logged); if ``send_resolved`` and a resolved alert
is not in E; or if E is older than ``repeat_interval``. Without ``send_resolved`` the message
lists firing alerts only. After the flush, resolved alerts not updated meanwhile leave the group;
every 30 s (``maintenance_phase``) empty groups are deleted, so the next alert starts a new
group with ``group_wait`` again. The notification log outlives groups.

Two engines give the same frames: without inhibit rules and time intervals every aggregation
group is independent, and a per-group replay over bit sets (``fastpath.py``) runs; otherwise the
event engine (``dispatcher.py``) steps through every post and flush of all groups together.

Not modelled: silences (the frame has none), HA clustering (a single Alertmanager), failed sends
and retries, the alert and group limits, and a config reload during the window.

Examples
--------
>>> import polars as pl
>>> from datetime import datetime, timezone
>>> from workbench.analysis.alertmanager import AlertmanagerConfig, simulate
>>> cfg = AlertmanagerConfig.from_yaml('''
... global: {slack_api_url: "http://127.0.0.1:1/"}
... route: {receiver: s, group_by: [job], group_wait: 10s, group_interval: 1m,
...         repeat_interval: 5m}
... receivers: [{name: s, slack_configs: [{send_resolved: true}]}]
... ''')
>>> t = lambda m: datetime(2026, 1, 1, 0, m, tzinfo=timezone.utc)
>>> ep = pl.DataFrame({"alertname": ["Down"], "job": ["api"], "active_at": [t(0)],
...                    "fired_at": [t(2)], "resolved_at": [t(12)]})
>>> n = simulate(ep, cfg)
>>> [(r["time"].strftime("%M:%S"), r["status"], r["reason"]) for r in n.iter_rows(named=True)]
[('02:10', 'firing', 'new'), ('08:10', 'firing', 'repeat'), ('12:10', 'resolved', 'resolved')]
>>> n["title"][0]
'[FIRING:1] api (Down)'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from ..._runtime import gc_paused
from ..._time import DurationLike, TimeLike, parse_duration_ms, parse_time_ms
from ...frames import TIMESTAMP
from . import fastpath
from .config import AlertmanagerConfig
from .dispatcher import COLUMNS, MAINTENANCE_MS, Alert, Dispatcher, alert_order

__all__ = ["KUBE_PROMETHEUS_TIMERS", "NOTIFICATION_SCHEMA", "compare_timers", "fingerprint",
           "messages_per_day", "simulate", "what_if", "with_overrides"]

#: Columns of the frame :func:`simulate` returns (one row per message an integration sends).
NOTIFICATION_SCHEMA: dict[str, Any] = {
    "time": TIMESTAMP, "receiver": pl.String, "integration": pl.String, "route": pl.String,
    "group_key": pl.String, "group_labels": pl.String, "status": pl.String,
    "reason": pl.String, "firing": pl.Int64, "resolved": pl.Int64,
    "alerts": pl.List(pl.String), "alertnames": pl.List(pl.String), "title": pl.String,
    "text": pl.String,
}
_NOT_LABELS = {"active_at", "fired_at", "resolved_at", "pending_s", "firing_s"}
_RESOLVED_RETENTION_MS = 15 * 60_000
_FOREVER = 2**62


def fingerprint(labels: Mapping[str, str]) -> str:
    """Prometheus ``LabelSet.Fingerprint()`` (FNV-1a 64) as Alertmanager prints it (16 hex).

    >>> fingerprint({"alertname": "Down", "job": "api"})
    'c89fba827b26e2d5'
    """
    h = 0xCBF29CE484222325
    for name in sorted(labels):
        for part in (name, labels[name]):
            for b in part.encode():
                h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
            h = ((h ^ 0xFF) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def _episode_sends(fired: int, resolved: int | None, next_active: int | None, end: int,
                   interval: int, resend: int, retention: int = _RESOLVED_RETENTION_MS
                   ) -> tuple[list[int], list[int]]:
    """(firing send times kept, resolved send times) for one episode (see module doc)."""
    step = (resend // interval + 1) * interval
    firing = [fired] if fired <= end else []
    resolved_sends: list[int] = []
    if resolved is not None and resolved <= end:
        t = resolved
        while (t - resolved <= retention and t <= end
               and (next_active is None or t < next_active)):
            resolved_sends.append(t)
            t += step
    return firing, resolved_sends


def _to_ms(col: pl.Series) -> list[int | None]:
    if col.dtype == pl.Datetime or isinstance(col.dtype, pl.Datetime):
        return col.dt.epoch("ms").to_list()
    return col.cast(pl.Int64).to_list()


def _to_ms_array(col: pl.Series) -> np.ndarray:
    """Unix ms as int64, ``-1`` for null."""
    if col.dtype == pl.Datetime or isinstance(col.dtype, pl.Datetime):
        col = col.dt.epoch("ms")
    return col.cast(pl.Int64).fill_null(-1).to_numpy()


def simulate(
    episodes: pl.DataFrame,
    cfg: AlertmanagerConfig,
    *,
    eval_interval: DurationLike = "1m",
    resend_delay: DurationLike = "1m",
    resolve_timeout: DurationLike | None = None,
    end: TimeLike | None = None,
    maintenance_phase: DurationLike = 0,
    external_url: str = "",
    resolved_retention: DurationLike = "15m",
    detail: bool = True,
) -> pl.DataFrame:
    """The notifications Alertmanager would send for ``episodes`` under ``cfg``.

    Parameters
    ----------
    episodes
        One row per alert episode: ``String`` label columns (``alertname``, ...; ``null`` =
        label absent), ``active_at``, ``fired_at`` (null: never fired, never sent),
        ``resolved_at`` (null: still firing at ``end``); optional ``annotation_<name>``
        columns hold annotations (for ``.CommonAnnotations`` in Slack text).
    cfg
        The :class:`AlertmanagerConfig`.
    eval_interval
        The rules' evaluation interval (``fired_at``/``resolved_at`` lie on its grid).
    resend_delay
        Prometheus ``--rules.alert.resend-delay`` (1m).
    resolve_timeout
        Accepted for completeness; Prometheus always sets ``EndsAt``, so Alertmanager's
        ``resolve_timeout`` never applies to its alerts.
    end
        Stop the simulation here (default: 15 min + the longest group_wait + group_interval
        after the last fire/resolve, enough for every resolved message).
    maintenance_phase
        Offset of Alertmanager's 30 s empty-group cleanup ticker (its process start, mod 30 s).
    external_url
        ``.ExternalURL`` for templates.
    detail
        ``False``: count messages only (``alerts``, ``alertnames`` empty, no ``title``/``text``),
        several times faster on large groups; the timing and counts are the same.
    resolved_retention
        How long Prometheus keeps re-sending a resolved alert (15m, fixed in Prometheus; other
        values only serve tests with compressed time).

    Returns
    -------
    polars.DataFrame
        :data:`NOTIFICATION_SCHEMA`: ``time`` (flush), ``receiver``, ``integration``
        (``slack[0]``), ``route`` (route key), ``group_key``, ``group_labels``, ``status``
        (``firing``/``resolved``), ``reason`` (``new``: a newly firing alert; ``resolved``;
        ``repeat``), ``firing``/``resolved`` alert counts in the message, ``alerts``
        (fingerprints), ``alertnames``, ``title``/``text`` (Slack, rendered).
    """
    del resolve_timeout
    interval = parse_duration_ms(eval_interval)
    resend = parse_duration_ms(resend_delay)
    if interval <= 0:
        msg = "eval_interval must be positive (the rules' evaluation interval, e.g. '1m')."
        raise ValueError(msg)
    missing = {"fired_at", "resolved_at"} - set(episodes.columns)
    if missing:
        msg = (f"episodes lacks {sorted(missing)}: pass backtest(...).episodes or "
               "alert_history episodes.")
        raise ValueError(msg)
    if episodes.height == 0:                       # nothing fired, nothing sent
        return pl.DataFrame(schema=NOTIFICATION_SCHEMA)
    label_cols = [c for c, t in episodes.schema.items()
                  if t == pl.String and c not in _NOT_LABELS and not c.startswith("annotation_")]
    ann_cols = [c for c in episodes.columns if c.startswith("annotation_")]
    fired_np = _to_ms_array(episodes["fired_at"])
    resolved_np = _to_ms_array(episodes["resolved_at"])
    active_np = (_to_ms_array(episodes["active_at"]) if "active_at" in episodes.columns
                 else fired_np)
    longest = max((r.group_wait_ms + r.group_interval_ms for r in cfg.routes()), default=0)
    retention = parse_duration_ms(resolved_retention)
    if end is not None:
        end_ms = parse_time_ms(end)
    else:
        seen = np.concatenate([fired_np[fired_np >= 0], resolved_np[resolved_np >= 0]])
        end_ms = (int(seen.max()) if len(seen) else 0) + retention + longest
    phase = parse_duration_ms(maintenance_phase)
    if fastpath.applies(cfg):
        with gc_paused():               # millions of small tuples the cyclic GC would walk
            out = fastpath.fast_simulate(
                episodes, cfg, label_cols=label_cols, ann_cols=ann_cols, fired=fired_np,
                resolved=resolved_np, active=active_np, end=end_ms, interval=interval,
                resend=resend, retention=retention, phase=phase % MAINTENANCE_MS,
                external_url=external_url, detail=detail, schema=NOTIFICATION_SCHEMA)
        if out is not None:
            return out
    fired = _to_ms(episodes["fired_at"])
    resolved = _to_ms(episodes["resolved_at"])
    active = _to_ms(episodes["active_at"]) if "active_at" in episodes.columns else fired
    labels_rows = episodes.select(label_cols).rows() if label_cols else [()] * episodes.height
    ann_rows = episodes.select(ann_cols).rows() if ann_cols else [()] * episodes.height
    sim = Dispatcher(cfg, end_ms, phase, external_url,
                     detail=detail)
    # next active_at of the same identity (a resolved alert stops being re-sent then)
    idents = [tuple(v or "" for v in row) for row in labels_rows]    # absent = empty label
    order = sorted(range(episodes.height), key=lambda i: (idents[i], active[i] or 0))
    next_active: dict[int, int | None] = {}
    for a, b in zip(order, [*order[1:], -1], strict=True):
        same = b >= 0 and idents[b] == idents[a]
        next_active[a] = active[b] if same else None
    ident_cache: dict[tuple[tuple[str, str], ...], tuple[str, tuple[Any, ...]]] = {}
    puts, seq = sim.puts, sim.seq
    for i in range(episodes.height):
        fired_i, resolved_i = fired[i], resolved[i]
        if fired_i is None:
            continue
        labels = {c: v for c, v in zip(label_cols, labels_rows[i], strict=True) if v}
        ann = {c.removeprefix("annotation_"): v
               for c, v in zip(ann_cols, ann_rows[i], strict=True) if v is not None}
        lkey = tuple(sorted(labels.items()))
        known = ident_cache.get(lkey)
        if known is None:
            known = ident_cache[lkey] = (fingerprint(labels), alert_order(labels))
        fp, sort_key = known
        fsends, rsends = _episode_sends(fired_i, resolved_i, next_active[i], end_ms,
                                        interval, resend, retention)
        # Posts go straight to the dispatcher's list (same order as ``push``); the re-sends
        # of one resolved episode share one immutable Alert (``updated_at`` is never read).
        for t in fsends:
            seq += 1
            puts.append((t, seq, Alert(fp, labels, ann, fired_i, _FOREVER, t, sort_key, lkey)))
        if rsends:
            alert = Alert(fp, labels, ann, fired_i, resolved_i or rsends[0], rsends[0],
                          sort_key, lkey)
            for t in rsends:
                seq += 1
                puts.append((t, seq, alert))
    sim.seq = seq
    with gc_paused():
        sim.run()
        return _messages(sim)


def _messages(sim: Dispatcher) -> pl.DataFrame:
    """Expand the dispatcher's send runs into one row per message, in time order."""
    content_schema = {c: NOTIFICATION_SCHEMA[c] for c in COLUMNS}
    content_schema.update(alerts=pl.String, alertnames=pl.String)
    def split(col: str, sep: str) -> pl.Expr:
        return (pl.when(pl.col(col) == "").then(pl.lit([], dtype=pl.List(pl.String)))
                .otherwise(pl.col(col).str.split(sep)).alias(col))

    def columns(rows: list[tuple[Any, ...]], schema: dict[str, Any]) -> pl.DataFrame:
        # column lists build several times faster than ``orient="row"``
        cols = list(zip(*rows, strict=True)) if rows else [()] * len(schema)
        return pl.DataFrame([pl.Series(name, list(col), dtype=dtype)
                             for (name, dtype), col in zip(schema.items(), cols, strict=True)])

    contents = columns(sim.contents, content_schema).with_row_index(
        "cid").with_columns(pl.col("cid").cast(pl.Int64), split("alerts", ","),
                            split("alertnames", "\x00"))
    sends = columns(sim.sends, {"first": pl.Int64, "period": pl.Int64, "count": pl.Int64,
                                "cid": pl.Int64, "reason": pl.String})
    out = (sends.with_columns(k=pl.int_ranges(0, pl.col("count"))).explode("k")
           .with_columns(time=(pl.col("first") + pl.col("k") * pl.col("period"))
                         .cast(pl.Datetime("ms", "UTC")))
           .join(contents, on="cid", how="left")
           .sort("time", "receiver", "group_key", "integration", maintain_order=True))
    return out.select(list(NOTIFICATION_SCHEMA)).cast(NOTIFICATION_SCHEMA)  # type: ignore[arg-type]


def with_overrides(cfg: AlertmanagerConfig, *, group_wait: DurationLike | None = None,
                   group_interval: DurationLike | None = None,
                   repeat_interval: DurationLike | None = None,
                   group_by: Sequence[str] | None = None) -> AlertmanagerConfig:
    """A copy of ``cfg`` with these timers / ``group_by`` on every route (``['...']``: all)."""
    import copy

    new = copy.deepcopy(cfg)
    for r in new.routes():
        if group_wait is not None:
            r.group_wait_ms = parse_duration_ms(group_wait)
        if group_interval is not None:
            r.group_interval_ms = parse_duration_ms(group_interval)
            if r.group_interval_ms <= 0:
                msg = "group_interval must be positive."
                raise ValueError(msg)
        if repeat_interval is not None:
            r.repeat_interval_ms = parse_duration_ms(repeat_interval)
            if r.repeat_interval_ms <= 0:
                msg = "repeat_interval must be positive."
                raise ValueError(msg)
        if group_by is not None:
            r.group_by_all = list(group_by) == ["..."]
            r.group_by = () if r.group_by_all else tuple(group_by)
    return new


def what_if(episodes: pl.DataFrame, cfg: AlertmanagerConfig, *,
            group_wait: DurationLike | None = None, group_interval: DurationLike | None = None,
            repeat_interval: DurationLike | None = None, group_by: Sequence[str] | None = None,
            **simulate_kwargs: Any) -> pl.DataFrame:
    """:func:`simulate` under other timers / ``group_by`` on every route.

    Examples
    --------
    >>> what_if(ep, cfg, group_interval="5m", repeat_interval="12h")  # doctest: +SKIP
    """
    changed = with_overrides(cfg, group_wait=group_wait, group_interval=group_interval,
                             repeat_interval=repeat_interval, group_by=group_by)
    return simulate(episodes, changed, **simulate_kwargs)


def messages_per_day(notifications: pl.DataFrame) -> pl.DataFrame:
    """Messages per UTC day and receiver from :func:`simulate` output (``day``, ``receiver``,
    ``messages``, ``firing_messages``, ``resolved_messages``), days in order.
    """
    if notifications.height == 0:
        return pl.DataFrame(schema={"day": pl.Date, "receiver": pl.String,
                                    "messages": pl.UInt32, "firing_messages": pl.UInt32,
                                    "resolved_messages": pl.UInt32})
    return (notifications.group_by(pl.col("time").dt.date().alias("day"), "receiver")
            .agg(messages=pl.len(),
                 firing_messages=(pl.col("status") == "firing").sum().cast(pl.UInt32),
                 resolved_messages=(pl.col("status") == "resolved").sum().cast(pl.UInt32))
            .sort("day", "receiver"))


#: Timer sets to compare with :func:`compare_timers` (kube-prometheus-stack's chart defaults).
KUBE_PROMETHEUS_TIMERS: dict[str, Any] = {"group_wait": "30s", "group_interval": "5m",
                                          "repeat_interval": "12h"}


def compare_timers(episodes: pl.DataFrame, cfg: AlertmanagerConfig,
                   scenarios: Mapping[str, Mapping[str, Any]] | None = None,
                   **simulate_kwargs: Any) -> pl.DataFrame:
    """Messages per day per receiver under the configured routing and each what-if scenario.

    ``scenarios`` maps a name to :func:`what_if` overrides (default: ``{"kube-prometheus":
    KUBE_PROMETHEUS_TIMERS}``); the configured routing is the scenario ``"configured"``.
    Returns ``scenario``, ``day``, ``receiver``, ``messages``, ``firing_messages``,
    ``resolved_messages``.

    Examples
    --------
    >>> compare_timers(ep, cfg)  # doctest: +SKIP
    """
    todo: dict[str, Mapping[str, Any]] = {"configured": {}}
    todo.update(scenarios if scenarios is not None else {"kube-prometheus": KUBE_PROMETHEUS_TIMERS})
    simulate_kwargs.setdefault("detail", False)
    frames = [messages_per_day(what_if(episodes, cfg, **over, **simulate_kwargs))
              .select(pl.lit(name).alias("scenario"), pl.all())
              for name, over in todo.items()]
    return pl.concat(frames, how="vertical")
