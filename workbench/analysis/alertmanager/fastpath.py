"""A per-group engine for :func:`~workbench.analysis.alertmanager.simulate` without inhibition or
time intervals: the same messages as :class:`~.dispatcher.Dispatcher`, several times faster.

Why groups can be run one at a time: without inhibit rules and time intervals, nothing one
aggregation group does depends on another. Its notification log entries are its own; the
30 s cleanup ticker deletes a group emptied by a flush at ``T`` at the first maintenance
point ``G >= T`` unless one of its own alerts arrives in ``(T, G]``; and the alert store only
merges posts of one fingerprint, which (checked here, bulk, before anything else) leaves every
post as it was when an identity's episodes do not overlap.

So the posts (built with numpy: one firing post per fired episode, the resolved re-sends at
``resolved_at + k * step``) are routed once per distinct label set, expanded to their groups,
sorted by (group, time), and each group's posts are replayed in one tight loop whose state is
a handful of integers: the firing and resolved alerts as bit sets of the group's members, the
one pending flush time (a group has at most one; flush times stay on its ``group_interval``
grid), and per integration the last logged notification. Quiet stretches between posts are not
ticked: only repeats can happen there, and they are counted as an arithmetic run, as the event
engine does.

``simulate`` uses this engine when it applies and the event engine otherwise (inhibit rules,
routes with mute/active time intervals, overlapping episodes of one identity).
``tests/test_alertmanager_fast.py`` checks both against the frozen reference engine.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from .config import AlertmanagerConfig
from .dispatcher import MAINTENANCE_MS, alert_order, slack_message
from .route import Route, label_set_string

__all__ = ["applies", "fast_simulate"]

_INF = 2**62
_NEW, _RESOLVED, _REPEAT = 0, 1, 2
_REASONS = ("new", "resolved", "repeat")


def applies(cfg: AlertmanagerConfig) -> bool:
    """Whether the per-group engine may run ``cfg`` (no inhibit rules, no time intervals)."""
    if cfg.inhibit_rules:
        return False
    return not any(r.mute_time_intervals or r.active_time_intervals for r in cfg.routes())


def _identities(episodes: pl.DataFrame, label_cols: list[str]) -> np.ndarray:
    """Identity id per episode row (label values, absent = empty, as the event engine)."""
    if not label_cols:
        return np.zeros(episodes.height, dtype=np.int64)
    frame = episodes.select(pl.col(label_cols).fill_null("")).with_row_index("_row")
    groups = frame.group_by(label_cols, maintain_order=True).agg(pl.col("_row"))
    rows = groups["_row"].explode().to_numpy()
    sizes = groups["_row"].list.len().to_numpy()
    ident = np.empty(episodes.height, dtype=np.int64)
    ident[rows] = np.repeat(np.arange(groups.height), sizes)
    return ident


def _posts(ident: np.ndarray, fired: np.ndarray, resolved: np.ndarray, active: np.ndarray,
           end: int, interval: int, resend: int, retention: int
           ) -> tuple[np.ndarray, ...] | None:
    """(time, episode, resolved?, starts) of every post, in push order; ``None`` when the
    alert store would merge posts into other values (overlapping episodes)."""
    n = len(ident)
    rows = np.arange(n)
    # next active_at of the same identity (re-sends of a resolved alert stop there)
    order = np.lexsort((rows, np.where(active < 0, 0, active), ident))
    nxt = np.full(n, _INF, dtype=np.int64)
    same = ident[order[1:]] == ident[order[:-1]]
    nxt[order[:-1][same]] = active[order[1:]][same]
    nxt[nxt < 0] = _INF                         # the next episode has no active_at: no limit
    has_fired = fired >= 0
    step = (resend // interval + 1) * interval
    parts_t, parts_ep, parts_k = [], [], []
    sel = has_fired & (fired <= end)
    parts_t.append(fired[sel])
    parts_ep.append(rows[sel])
    parts_k.append(np.zeros(int(sel.sum()), dtype=np.int64))
    base = has_fired & (resolved >= 0) & (resolved <= end)
    for k in range(retention // step + 1):
        t = resolved + k * step
        sel = base & (t <= end) & (t < nxt)
        parts_t.append(t[sel])
        parts_ep.append(rows[sel])
        parts_k.append(np.full(int(sel.sum()), k + 1, dtype=np.int64))
    t = np.concatenate(parts_t)
    ep = np.concatenate(parts_ep)
    kk = np.concatenate(parts_k)
    push = np.lexsort((kk, ep))                 # the event engine's push order
    t, ep, kk = t[push], ep[push], kk[push]
    is_res = kk > 0
    starts = fired[ep]
    ends = np.where(is_res, resolved[ep], _INF)
    # the store, per fingerprint: does a post merge with the one before into other values?
    st = np.lexsort((np.arange(len(t)), t, ident[ep]))
    a, b = st[:-1], st[1:]
    pair = ident[ep[a]] == ident[ep[b]]
    o_s, o_e, n_s, n_e = starts[a], ends[a], starts[b], ends[b]
    merge = pair & (((o_s < n_e) & (n_e < o_e)) | ((o_s < n_s) & (n_s < o_e)))
    now = t[b]
    new_res = n_e <= now
    keep_old = np.where(new_res, (o_e <= now) & (o_e > n_e), o_e > n_e)
    changed = merge & ((np.minimum(o_s, n_s) != n_s) | (keep_old & (o_e != n_e)))
    if changed.any():
        return None
    return t, ep, is_res, starts


def fast_simulate(episodes: pl.DataFrame, cfg: AlertmanagerConfig, *, label_cols: list[str],
                  ann_cols: list[str], fired: np.ndarray, resolved: np.ndarray,
                  active: np.ndarray, end: int, interval: int, resend: int, retention: int,
                  phase: int, external_url: str, detail: bool,
                  schema: dict[str, Any]) -> pl.DataFrame | None:
    """The notifications frame, or ``None`` when this engine does not apply (see module doc).

    ``fired``/``resolved``/``active`` are Unix ms with ``-1`` for null.
    """
    ident = _identities(episodes, label_cols)
    posts = _posts(ident, fired, resolved, active, end, interval, resend, retention)
    if posts is None:
        return None
    t, ep, is_res, starts = posts
    # route each identity once: its groups, and its member index in each
    first_row = np.unique(ident, return_index=True)[1]
    label_rows = episodes.select(label_cols).rows() if label_cols else []
    gids: dict[tuple[int, str], int] = {}
    groups: list[tuple[Route, dict[str, str], str]] = []
    members: list[list[int]] = []
    dest_off = np.zeros(len(first_row) + 1, dtype=np.int64)
    dest_group: list[int] = []
    dest_member: list[int] = []
    ident_labels: list[dict[str, str]] = []
    routes_cache: dict[tuple[tuple[str, str], ...], list[Route]] = {}
    seen: set[tuple[str, str]] = set()
    for k, row in enumerate(first_row):
        labels = ({c: v for c, v in zip(label_cols, label_rows[row], strict=True) if v}
                  if label_cols else {})
        ident_labels.append(labels)
        lkey = tuple(sorted(labels.items()))
        routes = routes_cache.get(lkey)
        if routes is None:
            routes = routes_cache[lkey] = cfg.route(labels)
        for route in routes:             # no time intervals: applies() checked every route
            glabels = route.group_labels(labels)
            gstr = label_set_string(glabels)
            g = gids.get((id(route), gstr))
            if g is None:
                if (route.receiver, f"{route.key}:{gstr}") in seen:
                    return None              # twin routes: ties only the event order breaks
                seen.add((route.receiver, f"{route.key}:{gstr}"))
                g = gids[(id(route), gstr)] = len(groups)
                groups.append((route, glabels, f"{route.key}:{gstr}"))
                members.append([])
            dest_group.append(g)
            dest_member.append(len(members[g]))
            members[g].append(k)
        dest_off[k + 1] = len(dest_group)
    # posts x destinations, sorted by (group, time, push order)
    pid = ident[ep]
    ndest = (dest_off[1:] - dest_off[:-1])[pid]
    rep = np.repeat(np.arange(len(t)), ndest)
    slot = dest_off[pid][rep] + (np.arange(len(rep)) - np.repeat(np.cumsum(ndest) - ndest, ndest))
    dg = np.asarray(dest_group, dtype=np.int64)[slot] if len(slot) else np.zeros(0, np.int64)
    dm = np.asarray(dest_member, dtype=np.int64)[slot] if len(slot) else np.zeros(0, np.int64)
    srt = np.lexsort((rep, t[rep], dg))
    rep, dg, dm = rep[srt], dg[srt], dm[srt]
    bounds = np.searchsorted(dg, np.arange(len(groups) + 1))
    all_t, all_res, all_starts, all_ep = (t[rep].tolist(), is_res[rep].tolist(),
                                          starts[rep].tolist(), ep[rep].tolist())
    all_m = dm.tolist()
    sends: list[tuple[int, ...]] = []
    contents: list[tuple[int, int, int, int, tuple[int, ...]]] = []
    for g, (route, _, _) in enumerate(groups):
        lo, hi = int(bounds[g]), int(bounds[g + 1])
        if lo == hi:
            continue
        integs = cfg.receivers[route.receiver].integrations
        _replay(g, all_t[lo:hi], all_m[lo:hi], all_res[lo:hi], all_starts[lo:hi],
                all_ep[lo:hi], route, tuple(i.send_resolved for i in integs), phase, end,
                detail, sends, contents)
    return _frame(sends, contents, groups, members, cfg, episodes, ann_cols, ident_labels,
                  detail, external_url, schema)


def _replay(g: int, ts: list[int], ms: list[int], res: list[bool], starts: list[int],
            eps: list[int], route: Route, sr: tuple[bool, ...], phase: int, end: int,
            detail: bool, out: list[tuple[int, ...]],
            contents: list[tuple[int, int, int, int, tuple[int, ...]]]) -> None:
    """Replay one group's posts (time order); append ``(first, period, count, g,
    integration, reason, firing bits, resolved bits, content id)`` runs to ``out`` and, with
    ``detail``, each new content's ``(g, integration, firing, resolved, member episodes)`` to
    ``contents`` (only a content's first use is rendered, as the event engine does)."""
    gw, gi, ri = route.group_wait_ms, route.group_interval_ms, route.repeat_interval_ms
    period = (ri // gi + 1) * gi
    n_int = len(sr)
    rng = range(n_int)
    e_f = [0] * n_int                        # the notification log, per integration
    e_r = [0] * n_int
    e_ts = [0] * n_int
    logged = [False] * n_int
    streak_at = -1                           # last flush left firing alerts: repeats may follow
    streak_f = streak_due = 0
    cur_ep: dict[int, int] = {}              # member -> episode of its last post
    seen: dict[tuple[int, int, int], int] = {}
    f = r = 0                                # firing / resolved members (bit sets)
    alive = False
    origin = -1                              # -1: not flushed yet
    sched = _INF                             # the one pending flush
    gc_at = -1                               # emptied by a flush: deleted at gc_at
    append = out.append

    def cid_of(i: int, bits: int, rbits: int) -> int:
        key = (i, bits, rbits)
        cid = seen.get(key)
        if cid is None:
            cid = seen[key] = len(contents)
            both, found = bits | rbits, []
            while both:                      # the set bits, lowest first
                low = both & -both
                found.append(cur_ep[low.bit_length() - 1])
                both ^= low
            contents.append((g, i, bits, rbits, tuple(found)))
        return cid

    def repeats(last: int) -> None:
        """The repeats of the streak started at ``streak_at`` due up to ``last``."""
        at_now = streak_at + gi              # flushes are on the grid
        for i in rng:
            if not logged[i]:
                continue
            x = e_ts[i] + ri
            first = origin + (-(-(x - origin) // gi)) * gi
            if first <= x:
                first += gi
            if first < at_now:
                first = at_now
            if first > last:
                continue
            count = (last - first) // period + 1
            append((first, period, count, g, i, _REPEAT, streak_f, 0,
                    cid_of(i, streak_f, 0) if detail else -1))
            e_f[i], e_r[i], e_ts[i] = streak_f, 0, first + (count - 1) * period

    n = len(ts)
    idx = 0
    while True:
        now = ts[idx] if idx < n else _INF
        if now > end:
            now = _INF
        if sched < now:                      # the pending flush comes first
            tnow, sched = sched, _INF
            if tnow <= end:
                if origin < 0:
                    origin = tnow
                for i in rng:                # the dedup stage, per integration
                    if not logged[i]:
                        if not f:
                            continue
                        reason = _NEW
                    elif f & ~e_f[i]:
                        reason = _NEW
                    elif not f:
                        if not e_f[i]:
                            continue
                        reason = _RESOLVED
                    elif sr[i] and r & ~e_r[i]:
                        reason = _RESOLVED
                    elif tnow - e_ts[i] > ri:
                        reason = _REPEAT
                    else:
                        continue
                    e_f[i], e_r[i], e_ts[i], logged[i] = f, r, tnow, True
                    if not sr[i]:
                        if not f:
                            continue         # logged, nothing sent
                        append((tnow, 0, 1, g, i, reason, f, 0,
                                cid_of(i, f, 0) if detail else -1))
                    else:
                        append((tnow, 0, 1, g, i, reason, f, r,
                                cid_of(i, f, r) if detail else -1))
                r = 0                        # flushed: resolved alerts leave the group
                if f:
                    streak_at, streak_f = tnow, f
                    streak_due = min(e_ts) + ri   # no repeat before this (a lower bound)
                else:
                    gc_at = tnow - (tnow - phase) % MAINTENANCE_MS
                    if gc_at < tnow:
                        gc_at += MAINTENANCE_MS
        if now == _INF:
            break
        if gc_at >= 0:
            if now > gc_at:                  # deleted by the cleanup before this post
                alive = False
            gc_at = -1
        if not alive:
            alive, origin, sched = True, -1, now + gw
        elif streak_at >= 0:
            if now - 1 > streak_due and now - 1 >= streak_at + gi:
                repeats(now - 1)
            streak_at = -1
        m = ms[idx]
        bit = 1 << m
        if res[idx]:
            f &= ~bit
            r |= bit
        else:
            r &= ~bit
            f |= bit
        if detail:
            cur_ep[m] = eps[idx]
        if origin < 0:
            if starts[idx] + gw < now:
                sched = now                  # an old alert: flush at once
        else:
            tick = origin - ((origin - now) // gi) * gi
            if tick < sched:
                sched = tick
        idx += 1
    if streak_at >= 0 and end > streak_due and end >= streak_at + gi:
        repeats(end)


def _frame(sends: list[tuple[int, ...]],
           contents: list[tuple[int, int, int, int, tuple[int, ...]]],
           groups: list[tuple[Route, dict[str, str], str]], members: list[list[int]],
           cfg: AlertmanagerConfig, episodes: pl.DataFrame, ann_cols: list[str],
           ident_labels: list[dict[str, str]], detail: bool, external_url: str,
           schema: dict[str, Any]) -> pl.DataFrame:
    """One row per message from the replay's runs."""
    n_int = max((len(cfg.receivers[r.receiver].integrations) for r, _, _ in groups), default=1)
    meta = [(g * n_int + i, route.receiver, integ.name, route.key, gkey,
             label_set_string(glabels))
            for g, (route, glabels, gkey) in enumerate(groups)
            for i, integ in enumerate(cfg.receivers[route.receiver].integrations)]
    metas = pl.DataFrame(
        [pl.Series(name, list(col), dtype=dtype) for (name, dtype), col in zip(
            (("mid", pl.Int64), ("receiver", pl.String), ("integration", pl.String),
             ("route", pl.String), ("group_key", pl.String), ("group_labels", pl.String)),
            zip(*meta, strict=True) if meta else [()] * 6, strict=True)])
    # the output order (time, receiver, group_key, integration) as (time, rank): the three
    # strings are unique per (group, integration), so the order is the same, sorted on ints
    metas = metas.sort("receiver", "group_key", "integration").with_row_index("_rank")
    cols = list(zip(*sends, strict=True)) if sends else [()] * 9
    runs = pl.DataFrame([
        pl.Series("first", cols[0], dtype=pl.Int64), pl.Series("period", cols[1], dtype=pl.Int64),
        pl.Series("count", cols[2], dtype=pl.Int64), pl.Series("g", cols[3], dtype=pl.Int64),
        pl.Series("i", cols[4], dtype=pl.Int64), pl.Series("reason", cols[5], dtype=pl.Int64),
        pl.Series("firing", list(map(int.bit_count, cols[6])), dtype=pl.Int64),
        pl.Series("resolved", list(map(int.bit_count, cols[7])), dtype=pl.Int64),
        pl.Series("cid", cols[8], dtype=pl.Int64)])
    runs = runs.with_columns(
        mid=pl.col("g") * n_int + pl.col("i"),
        reason=pl.col("reason").replace_strict([0, 1, 2], list(_REASONS),
                                               return_dtype=pl.String))
    if detail:
        table = _contents(contents, groups, members, cfg, episodes, ann_cols, ident_labels,
                          external_url)
        runs = runs.join(table, on="cid", how="left")
    else:
        runs = runs.with_columns(
            pl.lit([], dtype=pl.List(pl.String)).alias("alerts"),
            pl.lit([], dtype=pl.List(pl.String)).alias("alertnames"),
            pl.lit(None, dtype=pl.String).alias("title"),
            pl.lit(None, dtype=pl.String).alias("text"))
    out = (runs.with_columns(k=pl.int_ranges(0, pl.col("count"))).explode("k")
           .with_columns(time=(pl.col("first") + pl.col("k") * pl.col("period"))
                         .cast(pl.Datetime("ms", "UTC")),
                         status=pl.when(pl.col("firing") > 0).then(pl.lit("firing"))
                         .otherwise(pl.lit("resolved")))
           .join(metas, on="mid", how="left")
           .sort("time", "_rank"))
    return out.select(list(schema)).cast(schema)  # type: ignore[arg-type]


def _contents(contents: list[tuple[int, int, int, int, tuple[int, ...]]],
              groups: list[tuple[Route, dict[str, str], str]], members: list[list[int]],
              cfg: AlertmanagerConfig, episodes: pl.DataFrame, ann_cols: list[str],
              ident_labels: list[dict[str, str]], external_url: str) -> pl.DataFrame:
    """``cid``, ``alerts``, ``alertnames``, ``title``, ``text`` of every distinct content."""
    from .simulate import fingerprint

    ann_rows = episodes.select(ann_cols).rows() if ann_cols else None
    fps: dict[int, tuple[str, tuple[Any, ...]]] = {}
    anns: dict[int, dict[str, str]] = {}
    rendered = [_content(g, i, f, r, snap, groups, members, cfg, ident_labels, ann_rows,
                         ann_cols, external_url, fps, fingerprint, anns)
                for g, i, f, r, snap in contents]

    def split(col: str, sep: str) -> pl.Expr:
        return (pl.when(pl.col(col) == "").then(pl.lit([], dtype=pl.List(pl.String)))
                .otherwise(pl.col(col).str.split(sep)).alias(col))

    parts = list(zip(*rendered, strict=True)) if rendered else [()] * 4
    return pl.DataFrame([pl.Series(name, list(col), dtype=pl.String) for name, col in zip(
        ("alerts", "alertnames", "title", "text"), parts, strict=True)]).with_columns(
        split("alerts", ","), split("alertnames", "\x00"),
        cid=pl.int_range(pl.len(), dtype=pl.Int64))


def _content(g: int, i: int, f: int, r: int, snap: tuple[int, ...],
             groups: list[tuple[Route, dict[str, str], str]], members: list[list[int]],
             cfg: AlertmanagerConfig, ident_labels: list[dict[str, str]],
             ann_rows: list[tuple[Any, ...]] | None, ann_cols: list[str], external_url: str,
             fps: dict[int, tuple[str, tuple[Any, ...]]], fingerprint: Any,
             anns: dict[int, dict[str, str]]) -> tuple[str, str, str | None, str | None]:
    """(alerts, alertnames, title, text) of one message content, as the event engine renders
    it: the members' labels and the annotations of the episode each one was last posted in."""
    route, glabels, _ = groups[g]
    integ = cfg.receivers[route.receiver].integrations[i]
    bits = f | r
    alerts = []
    pos = 0
    group_members = members[g]
    while bits:                               # the set bits, lowest first
        low = bits & -bits
        j = low.bit_length() - 1
        bits ^= low
        k = group_members[j]
        known = fps.get(k)
        if known is None:
            labels = ident_labels[k]
            known = fps[k] = (fingerprint(labels), alert_order(labels))
        ep = snap[pos]
        pos += 1
        ann = anns.get(ep)
        if ann is None:
            ann = anns[ep] = ({c.removeprefix("annotation_"): v
                               for c, v in zip(ann_cols, ann_rows[ep], strict=True)
                               if v is not None} if ann_rows is not None else {})
        alerts.append((known[1], known[0], bool(r & low), ident_labels[k], ann))
    alerts.sort(key=lambda a: a[0])
    names = "\x00".join(sorted({a[3].get("alertname", "") for a in alerts}))
    title, text = slack_message(integ, route.receiver, [
        {"status": "resolved" if a[2] else "firing", "labels": a[3], "annotations": a[4],
         "fingerprint": a[1]} for a in alerts], glabels, external_url)
    return (",".join(a[1] for a in alerts), names, title, text)
