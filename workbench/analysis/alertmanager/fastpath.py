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
from .dispatcher import MAINTENANCE_MS, alert_order
from .route import Route, label_set_string
from .templates import TemplateError, render, template_data

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
    if episodes.height == 0:
        return None
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
        for route in routes:
            if route.mute_time_intervals or route.active_time_intervals:
                return None
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
    sends: list[tuple[Any, ...]] = []
    for g, (route, _, _) in enumerate(groups):
        lo, hi = int(bounds[g]), int(bounds[g + 1])
        if lo == hi:
            continue
        integs = cfg.receivers[route.receiver].integrations
        _replay(g, all_t[lo:hi], all_m[lo:hi], all_res[lo:hi], all_starts[lo:hi],
                all_ep[lo:hi], route, tuple(i.send_resolved for i in integs), phase, end,
                detail, sends)
    return _frame(sends, groups, members, cfg, episodes, ann_cols, ident_labels, detail,
                  external_url, schema)


def _replay(g: int, ts: list[int], ms: list[int], res: list[bool], starts: list[int],
            eps: list[int], route: Route, sr: tuple[bool, ...], phase: int, end: int,
            detail: bool, out: list[tuple[Any, ...]]) -> None:
    """Replay one group's posts; append ``(first, period, count, g, integration, reason,
    firing bits, resolved bits, episodes of the members or None)`` runs to ``out``."""
    gw, gi, ri = route.group_wait_ms, route.group_interval_ms, route.repeat_interval_ms
    period = (ri // gi + 1) * gi
    n_int = len(sr)
    rng = range(n_int)
    e_f = [0] * n_int
    e_r = [0] * n_int
    e_ts = [0] * n_int
    logged = [False] * n_int
    streak_first: list[int] | None = None
    streak_f = 0
    cur_ep: dict[int, int] = {}
    f = r = 0
    alive = False
    origin = -1                              # -1: not flushed yet
    sched = _INF
    gc_at = -1                               # emptied by a flush: deleted at gc_at
    append = out.append

    seen: set[tuple[int, int, int]] = set()

    def snap(i: int, bits: int, rbits: int) -> tuple[int, ...] | None:
        """The members' episodes when this content is new (only its first use is rendered)."""
        if not detail or (i, bits, rbits) in seen:
            return None
        seen.add((i, bits, rbits))
        bits |= rbits
        found = []
        j = 0
        while bits:
            if bits & 1:
                found.append(cur_ep[j])
            bits >>= 1
            j += 1
        return tuple(found)

    def materialize(last: int) -> None:
        for i in rng:
            first = streak_first[i]          # type: ignore[index]
            if first < 0 or first > last:
                continue
            count = (last - first) // period + 1
            append((first, period, count, g, i, _REPEAT, streak_f, 0, snap(i, streak_f, 0)))
            e_f[i], e_r[i], e_ts[i] = streak_f, 0, first + (count - 1) * period

    def flush(now: int) -> None:
        nonlocal origin, r, gc_at, streak_first, streak_f
        if origin < 0:
            origin = now
        if not (f or r):
            return
        for i in rng:
            if not logged[i]:
                reason = _NEW if f else -1
            elif f & ~e_f[i]:
                reason = _NEW
            elif not f:
                reason = _RESOLVED if e_f[i] else -1
            elif sr[i] and r & ~e_r[i]:
                reason = _RESOLVED
            elif now - e_ts[i] > ri:
                reason = _REPEAT
            else:
                continue
            if reason < 0:
                continue
            e_f[i], e_r[i], e_ts[i], logged[i] = f, r, now, True
            if not sr[i] and not f:
                continue
            rr = r if sr[i] else 0
            append((now, 0, 1, g, i, reason, f, rr, snap(i, f, rr)))
        r = 0
        if not f:
            gc_at = now - (now - phase) % MAINTENANCE_MS
            if gc_at < now:
                gc_at += MAINTENANCE_MS
            return
        streak_f = f
        firsts = [-1] * n_int
        base = origin + (-(-(now - origin) // gi)) * gi
        at_now = base + gi if base <= now else base
        for i in rng:
            if logged[i]:
                x = e_ts[i] + ri
                k = origin + (-(-(x - origin) // gi)) * gi
                if k <= x:
                    k += gi
                firsts[i] = max(k, at_now)
        streak_first = firsts

    for idx in range(len(ts)):
        now = ts[idx]
        if now > end:
            break
        if sched < now:
            flush(sched)
            sched = _INF
        if gc_at >= 0:
            if now > gc_at:
                alive = False
            gc_at = -1
        if not alive:
            alive, origin, sched = True, -1, now + gw
        elif streak_first is not None:
            materialize(now - 1)
            streak_first = None
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
                sched = now
        else:
            tick = origin - ((origin - now) // gi) * gi
            if tick < sched:
                sched = tick
    if sched <= end:
        flush(sched)
    if streak_first is not None:
        materialize(end)


def _frame(sends: list[tuple[Any, ...]], groups: list[tuple[Route, dict[str, str], str]],
           members: list[list[int]], cfg: AlertmanagerConfig, episodes: pl.DataFrame,
           ann_cols: list[str], ident_labels: list[dict[str, str]], detail: bool,
           external_url: str, schema: dict[str, Any]) -> pl.DataFrame:
    """One row per message from the replay's runs."""
    meta: list[tuple[Any, ...]] = []
    meta_id: dict[tuple[int, int], int] = {}
    cols: list[list[Any]] = [[] for _ in range(8)]   # first, period, count, meta, f, r, c, reason
    contents: dict[tuple[int, int, int, int], int] = {}
    rendered: list[tuple[str, str, str | None, str | None]] = []
    fps: dict[int, tuple[str, tuple[Any, ...]]] = {}
    ann_rows = episodes.select(ann_cols).rows() if (detail and ann_cols) else None
    from .simulate import fingerprint

    for first, period, count, g, i, reason, f, r, snap in sends:
        mid = meta_id.get((g, i))
        if mid is None:
            route, _, gkey = groups[g]
            integ = cfg.receivers[route.receiver].integrations[i]
            mid = meta_id[(g, i)] = len(meta)
            meta.append((route.receiver, integ.name, route.key, gkey,
                         label_set_string(groups[g][1])))
        cols[0].append(first)
        cols[1].append(period)
        cols[2].append(count)
        cols[3].append(mid)
        cols[4].append(f.bit_count())
        cols[5].append(r.bit_count())
        cols[7].append(_REASONS[reason])
        if not detail:
            continue
        ckey = (g, i, f, r)
        cid = contents.get(ckey)
        if cid is None:
            cid = contents[ckey] = len(rendered)
            rendered.append(_content(
                g, i, f, r, snap, groups, members, cfg, ident_labels, ann_rows, ann_cols,
                external_url, fps, fingerprint))
        cols[6].append(cid)
    runs = pl.DataFrame({
        "first": pl.Series(cols[0], dtype=pl.Int64), "period": pl.Series(cols[1], dtype=pl.Int64),
        "count": pl.Series(cols[2], dtype=pl.Int64), "mid": pl.Series(cols[3], dtype=pl.Int64),
        "firing": pl.Series(cols[4], dtype=pl.Int64),
        "resolved": pl.Series(cols[5], dtype=pl.Int64),
        "reason": pl.Series(cols[7], dtype=pl.String)})
    metas = pl.DataFrame(
        [pl.Series(name, list(col), dtype=pl.String) for name, col in zip(
            ("receiver", "integration", "route", "group_key", "group_labels"),
            zip(*meta, strict=True) if meta else [()] * 5, strict=True)]
    ).with_row_index("mid").with_columns(pl.col("mid").cast(pl.Int64))
    if detail:
        def split(col: str, sep: str) -> pl.Expr:
            return (pl.when(pl.col(col) == "").then(pl.lit([], dtype=pl.List(pl.String)))
                    .otherwise(pl.col(col).str.split(sep)).alias(col))

        parts = list(zip(*rendered, strict=True)) if rendered else [()] * 4
        table = pl.DataFrame([pl.Series(name, list(col), dtype=pl.String) for name, col in zip(
            ("alerts", "alertnames", "title", "text"), parts, strict=True)]).with_columns(
            split("alerts", ","), split("alertnames", "\x00"),
            cid=pl.int_range(pl.len(), dtype=pl.Int64))
        runs = runs.with_columns(cid=pl.Series(cols[6], dtype=pl.Int64)).join(
            table, on="cid", how="left")
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
           .sort("time", "receiver", "group_key", "integration", maintain_order=True))
    return out.select(list(schema)).cast(schema)  # type: ignore[arg-type]


def _content(g: int, i: int, f: int, r: int, snap: tuple[int, ...] | None,
             groups: list[tuple[Route, dict[str, str], str]], members: list[list[int]],
             cfg: AlertmanagerConfig, ident_labels: list[dict[str, str]],
             ann_rows: list[tuple[Any, ...]] | None, ann_cols: list[str], external_url: str,
             fps: dict[int, tuple[str, tuple[Any, ...]]], fingerprint: Any
             ) -> tuple[str, str, str | None, str | None]:
    """(alerts, alertnames, title, text) of one message content, as the event engine renders
    it: the members' labels and the annotations of the episode each one was last posted in."""
    route, glabels, _ = groups[g]
    integ = cfg.receivers[route.receiver].integrations[i]
    bits = f | r
    alerts = []
    j = 0
    pos = 0
    assert snap is not None
    while bits:
        if bits & 1:
            k = members[g][j]
            known = fps.get(k)
            if known is None:
                labels = ident_labels[k]
                known = fps[k] = (fingerprint(labels), alert_order(labels))
            ep = snap[pos]
            pos += 1
            ann = ({c.removeprefix("annotation_"): v
                    for c, v in zip(ann_cols, ann_rows[ep], strict=True) if v is not None}
                   if ann_rows is not None else {})
            alerts.append((known[1], known[0], bool(r >> j & 1), ident_labels[k], ann))
        bits >>= 1
        j += 1
    alerts.sort(key=lambda a: a[0])
    names = "\x00".join(sorted({a[3].get("alertname", "") for a in alerts}))
    title = text = None
    if integ.kind == "slack":
        data = template_data(route.receiver, [
            {"status": "resolved" if a[2] else "firing", "labels": a[3], "annotations": a[4],
             "fingerprint": a[1]} for a in alerts], glabels, external_url)
        title = _render(integ.title or '{{ template "slack.default.title" . }}', data)
        text = _render(integ.text or '{{ template "slack.default.text" . }}', data)
    return (",".join(a[1] for a in alerts), names, title, text)


def _render(template: str, data: Any) -> str:
    try:
        return render(template, data)
    except TemplateError as exc:
        return f"<template not rendered: {exc}>"
