"""The event engine behind :func:`~workbench.analysis.alertmanager.simulate`: Alertmanager 0.25's
alert store, dispatcher, aggregation groups, inhibition, time intervals, dedup stage and
notification log, driven by the alerts Prometheus posts. ``simulate`` runs it when the faster
per-group engine (``fastpath.py``) does not apply: inhibit rules, time intervals, overlapping
episodes.

Lazy ticks: a group's flush timer fires every ``group_interval`` from its first flush (the Go
timer is reset before each flush), but a tick where nothing changed can only send a repeat.
So a tick is scheduled only when it can matter: the first one (``group_wait``, or at once when
the alert started long ago), the next grid tick after an alert enters the group or after an
inhibiting alert changes, and the grid tick where ``repeat_interval`` has passed. Routes with
time intervals tick on every grid point. Empty groups are deleted by the 30 s cleanup ticker.
This gives the same messages as ticking every interval, at a fraction of the cost.

Skipped posts: Prometheus re-sends a resolved alert every ``resend_delay`` step for 15 min; a
re-send that finds every group it routes to already flushed once and still holding that very
alert as resolved (no flush since: ``group_interval`` longer than the re-send step) changes
nothing and is dropped before any work (:meth:`Dispatcher._unchanged`).
``tests/test_alertmanager_fast.py`` checks the whole engine against a frozen copy of the
engine before these shortcuts on random episode sets and configs.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from .config import AlertmanagerConfig, Integration
from .matchers import matches_all
from .route import Route, label_set_string
from .templates import TemplateError, render, template_data

__all__ = ["COLUMNS", "PUT", "Alert", "Dispatcher", "alert_order"]

#: Columns of :attr:`Dispatcher.contents` (one row per distinct message content).
COLUMNS = ("receiver", "integration", "route", "group_key", "group_labels", "status",
           "firing", "resolved", "alerts", "alertnames", "title", "text")


def alert_order(labels: dict[str, str]) -> tuple[Any, ...]:
    """Alertmanager's ``AlertSlice`` order: ``job``, then ``instance`` (missing last), then
    the whole label set."""
    key: list[Any] = []
    for name in ("job", "instance"):
        value = labels.get(name)
        key.append((value is None, value or ""))
    key.append(tuple(sorted(labels.items())))
    return tuple(key)

MAINTENANCE_MS = 30_000
PUT, TICK, GC = 0, 1, 2          # order of events at the same millisecond


@dataclass(slots=True)
class Alert:
    """An alert as Alertmanager stores it (times in Unix ms; never mutated once stored)."""

    fp: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: int
    ends_at: int
    updated_at: int
    order: tuple[Any, ...] = ()
    key: tuple[tuple[str, str], ...] = ()          # sorted label items

    def resolved(self, now: int) -> bool:
        return self.ends_at <= now


@dataclass(slots=True)
class _Group:
    route: Route
    labels: dict[str, str]
    key: str
    label_str: str = ""                 # label_set_string(labels)
    # the receiver's integrations with their notification log keys
    integs: list[tuple[Integration, tuple[str, str, str]]] = field(default_factory=list)
    alerts: dict[str, Alert] = field(default_factory=dict)
    firing: set[str] = field(default_factory=set)       # resolved-ness is fixed when stored
    resolved: set[str] = field(default_factory=set)
    targets: set[str] = field(default_factory=set)      # alerts an inhibit rule may mute
    scheduled: int | None = None
    origin: int | None = None           # first flush: later ticks at origin + k * interval
    alive: bool = True
    # repeats due while nothing changes: integration -> (first due, period, alerts)
    streaks: dict[str, tuple[Integration, int, int, frozenset[str]]] = field(default_factory=dict)

    def next_grid(self, t: int, *, strict: bool) -> int:
        assert self.origin is not None
        gi = self.route.group_interval_ms
        k = -(-(t - self.origin) // gi)
        tick = self.origin + k * gi
        return tick + gi if strict and tick <= t else tick


@dataclass(slots=True)
class _Entry:
    firing: frozenset[str]
    resolved: frozenset[str]
    timestamp: int


class Dispatcher:
    """Feed :meth:`push` ``(time, PUT, Alert)`` events, then :meth:`run`.

    Messages: ``sends`` holds ``(first time, period, count, content id, reason)`` runs (a run of
    repeats is one entry) and ``contents[c]`` the :data:`COLUMNS` of content ``c``.
    """

    def __init__(self, cfg: AlertmanagerConfig, end: int, maintenance_phase: int,
                 external_url: str, *, detail: bool = True) -> None:
        self.cfg = cfg
        self.end = end
        self.queue: list[tuple[int, int, int, Any]] = []
        self.puts: list[tuple[int, int, Alert]] = []
        self.seq = 0
        self.store: dict[str, Alert] = {}            # the provider: latest alert per fingerprint
        self.sources: dict[str, Alert] = {}          # stored alerts matching an inhibit source
        self.groups: dict[tuple[int, str], _Group] = {}
        self.target_groups: set[tuple[int, str]] = set()
        self.empties: set[tuple[int, str]] = set()
        self.gc_at: int | None = None
        self.nflog: dict[tuple[str, str, str], _Entry] = {}
        self.sends: list[tuple[int, int, int, int, str]] = []
        self.contents: list[tuple[Any, ...]] = []
        self.content_ids: dict[tuple[Any, ...], int] = {}
        self.group_ids: dict[tuple[int, tuple[tuple[str, str], ...]],
                             tuple[tuple[int, str], dict[str, str]]] = {}
        self.external_url = external_url
        self.detail = detail
        self.routes_cache: dict[tuple[tuple[str, str], ...], list[Route]] = {}
        self.dest_cache: dict[tuple[tuple[str, str], ...],
                              list[tuple[Route, tuple[int, str], dict[str, str]]]] = {}
        self.sides: dict[tuple[tuple[str, str], ...], tuple[bool, bool]] = {}
        self.phase = maintenance_phase % MAINTENANCE_MS
        self.rules = cfg.inhibit_rules

    def push(self, t: int, kind: int, payload: Any) -> None:
        self.seq += 1
        if kind == PUT:                  # posts are known up front: a sorted list, not the heap
            self.puts.append((t, self.seq, payload))
        else:
            heapq.heappush(self.queue, (t, kind, self.seq, payload))

    def _schedule(self, group: _Group, gid: tuple[int, str], t: int) -> None:
        if group.scheduled is None or t < group.scheduled:
            group.scheduled = t
            self.push(t, TICK, (gid, group, t))

    def _touch(self, group: _Group, gid: tuple[int, str], now: int) -> None:
        """Something changed in a flushed group: the next tick must look."""
        self._schedule(group, gid, group.next_grid(now, strict=False))

    def materialize(self, group: _Group, limit: int, *, inclusive: bool) -> None:
        """Record the repeats of the group's streaks due before (or at) ``limit``."""
        for name, (integ, first, period, fps) in group.streaks.items():
            last = limit if inclusive else limit - 1
            if first > last:
                continue
            count = (last - first) // period + 1
            cid = self.content(group, integ, fps, frozenset())
            self.sends.append((first, period, count, cid, "repeat"))
            nkey = (group.key, group.route.receiver, name)
            self.nflog[nkey] = _Entry(fps, frozenset(), first + (count - 1) * period)
        group.streaks.clear()

    # -- alerts in ---------------------------------------------------------------------------
    def put(self, now: int, new: Alert) -> None:
        old = self.store.get(new.fp)
        if old is new and self._unchanged(now, new):
            return
        if old is not None and ((old.starts_at < new.ends_at < old.ends_at)
                                or (old.starts_at < new.starts_at < old.ends_at)):
            ends = new.ends_at
            if new.resolved(now):
                if old.resolved(now) and old.ends_at > new.ends_at:
                    ends = old.ends_at
            elif old.ends_at > new.ends_at:
                ends = old.ends_at
            new = Alert(new.fp, new.labels, new.annotations,
                        min(old.starts_at, new.starts_at), ends, new.updated_at, new.order,
                        new.key)
        self.store[new.fp] = new
        key = new.key
        is_resolved = new.resolved(now)
        is_source = is_target = False
        if self.rules:
            sides = self.sides.get(key)
            if sides is None:
                sides = self.sides[key] = (
                    any(matches_all(r.source, new.labels) for r in self.rules),
                    any(matches_all(r.target, new.labels) for r in self.rules))
            is_source, is_target = sides
        if is_source:
            self.sources[new.fp] = new
            for gid in list(self.target_groups):          # muting may change: re-check
                group = self.groups.get(gid)
                if group is None or not group.targets:
                    self.target_groups.discard(gid)
                elif group.origin is not None:
                    if group.streaks:
                        self.materialize(group, now, inclusive=False)
                    self._touch(group, gid, now)
        dests = self.dest_cache.get(key)
        if dests is None:
            dests = self.dest_cache[key] = self._destinations(new.labels, key)
        fp = new.fp
        for route, gid, glabels in dests:
            group = self.groups.get(gid)
            if group is None:
                gkey = f"{route.key}:{gid[1]}"
                group = _Group(route, glabels, gkey, gid[1], [
                    (integ, (gkey, route.receiver, integ.name))
                    for integ in self.cfg.receivers[route.receiver].integrations])
                self.groups[gid] = group
                self._schedule(group, gid, now + route.group_wait_ms)
            elif group.streaks:
                self.materialize(group, now, inclusive=False)   # before the group changes
            group.alerts[fp] = new
            if is_resolved:
                group.firing.discard(fp)
                group.resolved.add(fp)
            else:
                group.resolved.discard(fp)
                group.firing.add(fp)
            if gid in self.empties:
                self.empties.discard(gid)
            if is_target:
                group.targets.add(fp)
                self.target_groups.add(gid)
            origin = group.origin
            if origin is None:
                if new.starts_at + route.group_wait_ms < now:
                    group.scheduled = None               # Reset(0): flush now
                    self._schedule(group, gid, now)
            else:                                        # _touch, inlined (hot path)
                gi = route.group_interval_ms
                tick = origin - ((origin - now) // gi) * gi
                scheduled = group.scheduled
                if scheduled is None or tick < scheduled:
                    group.scheduled = tick
                    self.seq += 1
                    heapq.heappush(self.queue, (tick, TICK, self.seq, (gid, group, tick)))

    def _unchanged(self, now: int, alert: Alert) -> bool:
        """Whether re-posting ``alert`` (the very object the store holds) changes nothing.

        True when it is resolved, matches no inhibit source, and every group it routes to has
        already flushed once and still holds this object as resolved: then no flush happened
        since it was posted (a flush removes resolved alerts), so the group's next tick is
        already armed at or before the grid point this post would arm, it has no repeat
        streak (a post clears them, only a flush sets them), and every assignment in
        :meth:`put` would store what is already there.
        """
        if alert.ends_at > now:
            return False
        key = alert.key
        if self.rules:
            sides = self.sides.get(key)
            if sides is None or sides[0]:
                return False
        dests = self.dest_cache.get(key)
        if dests is None:
            return False
        fp, groups = alert.fp, self.groups
        for _, gid, _ in dests:
            group = groups.get(gid)
            if (group is None or group.origin is None or group.alerts.get(fp) is not alert
                    or fp not in group.resolved):
                return False
        return True

    def _destinations(self, labels: dict[str, str], key: tuple[tuple[str, str], ...]
                      ) -> list[tuple[Route, tuple[int, str], dict[str, str]]]:
        """(route, group id, group labels) for every route these labels go to."""
        routes = self.routes_cache.get(key)
        if routes is None:
            routes = self.routes_cache[key] = self.cfg.route(labels)
        out = []
        for route in routes:
            cached = self.group_ids.get((id(route), key))
            if cached is None:
                glabels = route.group_labels(labels)
                cached = self.group_ids[(id(route), key)] = (
                    (id(route), label_set_string(glabels)), glabels)
            out.append((route, *cached))
        return out

    # -- flushes -----------------------------------------------------------------------------
    def muted(self, alert: Alert, now: int) -> bool:
        for rule in self.rules:
            if not matches_all(rule.target, alert.labels):
                continue
            two_sided = matches_all(rule.source, alert.labels)
            for src in self.sources.values():
                if src.resolved(now) or not matches_all(rule.source, src.labels):
                    continue
                if any((src.labels.get(n) or "") != (alert.labels.get(n) or "")
                       for n in rule.equal):
                    continue
                if two_sided and matches_all(rule.target, src.labels):
                    continue
                return True
        return False

    def time_blocked(self, route: Route, now: int) -> bool:
        when = datetime.fromtimestamp(now / 1000, tz=UTC)

        def inside(names: tuple[str, ...]) -> bool:
            return any(ti.contains(when) for n in names for ti in self.cfg.time_intervals[n])

        if route.active_time_intervals and not inside(route.active_time_intervals):
            return True
        return bool(route.mute_time_intervals) and inside(route.mute_time_intervals)

    def tick(self, now: int, gid: tuple[int, str], group: _Group, due: int) -> None:
        if not group.alive or group.scheduled != due:
            return
        group.scheduled = None
        if group.origin is None:
            group.origin = now
        if group.streaks:
            self.materialize(group, now, inclusive=False)
        route = group.route
        timed = bool(route.mute_time_intervals or route.active_time_intervals)
        if timed:
            self._schedule(group, gid, group.next_grid(now, strict=True))
        if not group.alerts:
            return
        muted = ({fp for fp in group.targets if self.muted(group.alerts[fp], now)}
                 if group.targets else set())
        firing = frozenset(group.firing - muted if muted else group.firing)
        resolved = frozenset(group.resolved - muted if muted else group.resolved)
        if (firing or resolved) and not (timed and self.time_blocked(route, now)):
            self.notify(now, group, firing, resolved)
        for fp in group.resolved:            # flushed: resolved alerts leave the group
            del group.alerts[fp]
            group.targets.discard(fp)
        group.resolved.clear()
        if not group.alerts:
            self.empties.add(gid)
            if self.gc_at is None:
                self.gc_at = now - (now - self.phase) % MAINTENANCE_MS
                if self.gc_at < now:
                    self.gc_at += MAINTENANCE_MS
                self.push(self.gc_at, GC, None)
        elif firing and not timed:
            # Until an alert arrives or an inhibiting one changes, only repeats can be sent,
            # each integration on its own progression: a run ("streak") per integration.
            gi, ri = route.group_interval_ms, route.repeat_interval_ms
            period = (ri // gi + 1) * gi
            nflog = self.nflog
            for integ, nkey in group.integs:
                entry = nflog.get(nkey)
                if entry is not None:
                    first = max(group.next_grid(entry.timestamp + ri, strict=True),
                                group.next_grid(now, strict=True))
                    group.streaks[integ.name] = (integ, first, period, firing)

    def notify(self, now: int, group: _Group, firing: frozenset[str],
               resolved: frozenset[str]) -> None:
        repeat_ms = group.route.repeat_interval_ms
        nflog = self.nflog
        for integ, nkey in group.integs:
            entry = nflog.get(nkey)
            reason = None
            if entry is None:
                reason = "new" if firing else None
            elif not firing <= entry.firing:
                reason = "new"
            elif not firing:
                reason = "resolved" if entry.firing else None
            elif integ.send_resolved and not resolved <= entry.resolved:
                reason = "resolved"
            elif now - entry.timestamp > repeat_ms:
                reason = "repeat"
            if reason is None:
                continue
            nflog[nkey] = _Entry(firing, resolved, now)
            if not integ.send_resolved and not firing:
                continue                      # logged, nothing sent
            cid = self.content(group, integ, firing,
                               resolved if integ.send_resolved else frozenset())
            self.sends.append((now, 0, 1, cid, reason))

    def content(self, group: _Group, integ: Integration, firing: frozenset[str],
                resolved: frozenset[str]) -> int:
        """The id of the message content for these alerts (rendered once per state)."""
        ckey = (group.key, integ.name, firing, resolved)
        cid = self.content_ids.get(ckey)
        if cid is None and not self.detail:        # counts only: no alert list, no text
            cid = self.content_ids[ckey] = len(self.contents)
            self.contents.append((
                group.route.receiver, integ.name, group.route.key, group.key,
                group.label_str, "firing" if firing else "resolved",
                len(firing), len(resolved), "", "", None, None))
        if cid is None:
            sent = sorted((group.alerts[fp] for fp in firing | resolved), key=lambda a: a.order)
            title, text = slack_message(integ, group.route.receiver, [
                {"status": "resolved" if a.fp in resolved else "firing", "labels": a.labels,
                 "annotations": a.annotations, "fingerprint": a.fp} for a in sent],
                group.labels, self.external_url)
            cid = self.content_ids[ckey] = len(self.contents)
            self.contents.append((
                group.route.receiver, integ.name, group.route.key, group.key,
                group.label_str, "firing" if firing else "resolved",
                len(firing), len(resolved), ",".join(a.fp for a in sent),
                "\x00".join(sorted({a.labels.get("alertname", "") for a in sent})), title,
                text))
        return cid

    def gc(self) -> None:
        self.gc_at = None
        for gid in self.empties:
            group = self.groups.get(gid)
            if group is not None and not group.alerts:
                del self.groups[gid]
                group.alive = False
        self.empties.clear()

    def run(self) -> None:
        """Process every event up to ``end``."""
        self.puts.sort(key=itemgetter(0))     # stable: same-time posts stay in push order
        puts, queue, i, n = self.puts, self.queue, 0, len(self.puts)
        end, put, tick, heappop = self.end, self.put, self.tick, heapq.heappop
        while i < n or queue:
            if i < n and (not queue or puts[i][0] <= queue[0][0]):   # alerts before flushes
                now, _, alert = puts[i]
                i += 1
                if now > end:
                    i = n
                    continue
                put(now, alert)
                continue
            now, kind, _, payload = heappop(queue)
            if now > end:
                break
            if kind == TICK:
                tick(now, *payload)
            else:
                self.gc()
        for group in self.groups.values():
            self.materialize(group, self.end, inclusive=True)


def slack_message(integ: Any, receiver: str, alerts: list[dict[str, Any]],
                  group_labels: dict[str, str], external_url: str
                  ) -> tuple[str | None, str | None]:
    """(title, text) of a Slack integration's message for ``alerts`` (dicts of ``status``,
    ``labels``, ``annotations``, ``fingerprint``), its own templates or Alertmanager's defaults;
    ``(None, None)`` for any other integration. A template that fails renders as a note."""
    if integ.kind != "slack":
        return None, None
    data = template_data(receiver, alerts, group_labels, external_url)
    return (_render(integ.title or '{{ template "slack.default.title" . }}', data),
            _render(integ.text or '{{ template "slack.default.text" . }}', data))


def _render(template: str, data: Any) -> str:
    try:
        return render(template, data)
    except TemplateError as exc:
        return f"<template not rendered: {exc}>"
