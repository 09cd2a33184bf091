"""Replay alert episodes through a real Alertmanager on Prometheus's schedule (test helper).

Times are seconds relative to T0. ``schedule`` reproduces what Prometheus's notifier posts for
each episode (sent at ``fired``, re-sent every ``step`` s with ``EndsAt = ts + valid``; at
``resolved`` sent resolved and re-sent for ``retention`` s or until the same labels are active
again); ``replay`` posts it in real time to a fresh Alertmanager whose Slack and webhook
integrations point at a :class:`WebhookSink`, and measures the phase of the dispatcher's 30 s
cleanup ticker from ``alertmanager_dispatcher_aggregation_groups``. ``real_messages`` and
``sim_messages`` put both sides in the same shape for ``assert_same``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import requests

from workbench.sources.alertmanager import Alertmanager
from workbench.testing.servers import start_alertmanager
from workbench.testing.webhook import WebhookSink


@dataclass(frozen=True)
class Episode:
    labels: dict[str, str]
    description: str
    fired: float
    resolved: float | None
    active: float | None = None


def schedule(episodes: list[Episode], end: float, *, step: float, valid: float,
             retention: float, resolve_early: float = 0.0
             ) -> list[tuple[float, list[dict[str, Any]]]]:
    """What Prometheus would post, and when: [(s from T0, alerts with s-from-T0 times)].

    ``resolve_early``: resolve this many seconds early (posted then, with ``EndsAt`` then, so
    Alertmanager sees it resolved on arrival). A group's flush ticks sit a whole number of
    seconds after the post that created it, so a resolve can land on a tick exactly; the
    simulation takes the alert in before the flush at the same instant, the real Alertmanager
    whichever its scheduler runs first. Resolving a few ms early makes the real one take it in
    first too (message times still compare within the tolerance)."""
    posts: dict[float, list[dict[str, Any]]] = {}
    for i, e in enumerate(episodes):
        nxt = min((o.active if o.active is not None else o.fired for o in episodes[i + 1:]
                   if o.labels == e.labels), default=None)
        base = {"labels": e.labels, "annotations": {"description": e.description},
                "starts_at": e.fired}
        t = e.fired
        while t <= end and (e.resolved is None or t < e.resolved):
            posts.setdefault(round(t, 6), []).append({**base, "ends_at": t + valid})
            t += step
        if e.resolved is None:
            continue
        t = e.resolved
        while t - e.resolved <= retention and t <= end and (nxt is None or t < nxt):
            posts.setdefault(round(t - resolve_early, 6), []).append(
                {**base, "ends_at": e.resolved - resolve_early})
            t += step
    return sorted(posts.items())


def episodes_frame(episodes: list[Episode], t0: float) -> pl.DataFrame:
    def ts(s: float | None) -> datetime | None:
        return None if s is None else datetime.fromtimestamp(t0 + s, UTC)

    names = sorted({k for e in episodes for k in e.labels})
    rows = [{**{n: e.labels.get(n) for n in names}, "annotation_description": e.description,
             "active_at": ts(e.active if e.active is not None else e.fired),
             "fired_at": ts(e.fired), "resolved_at": ts(e.resolved)} for e in episodes]
    schema: dict[str, Any] = dict.fromkeys(names, pl.String)
    schema.update(annotation_description=pl.String, active_at=pl.Datetime("ms", "UTC"),
                  fired_at=pl.Datetime("ms", "UTC"), resolved_at=pl.Datetime("ms", "UTC"))
    return pl.DataFrame(rows, schema=schema)


class _GroupCounter(threading.Thread):
    """Polls alertmanager_dispatcher_aggregation_groups; a drop marks a 30 s cleanup tick."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.drops: list[tuple[float, float]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        last, last_t = None, time.time()
        while not self.stop.is_set():
            t = time.time()
            try:
                text = requests.get(f"{self.url}/metrics", timeout=2).text
            except requests.RequestException:
                return
            value = next(float(line.split()[-1]) for line in text.splitlines()
                         if line.startswith("alertmanager_dispatcher_aggregation_groups "))
            if last is not None and value < last:
                self.drops.append((last_t, t))
            last, last_t = value, t
            time.sleep(0.05)


@dataclass
class Replay:
    posts: list[dict[str, Any]]
    t0: float
    cleanup: tuple[float, float]            # (before, after) the first observed cleanup tick

    @property
    def phase_ms(self) -> int:
        return round(self.cleanup[1] * 1000) % 30_000


def replay(tmp_path: Path, config_template: str, sched: list[tuple[float, list[dict[str, Any]]]],
           end: float, *, sink_delay: float = 0.15) -> Replay:
    """Start Alertmanager with ``config_template.format(sink=URL)``, post ``sched``, wait to
    ``end``. A resolved ``Dummy`` alert posted first (route it to a receiver without
    integrations) makes a group that empties at once, so a cleanup tick is always observed.
    The sinks answer after ``sink_delay`` s, a receiver's latency (see docs/alertmanager.md:
    with repeat_interval a multiple of group_interval, a receiver faster than Alertmanager's
    timer drift turns the repeat at tick k+1 into tick k)."""
    with WebhookSink(delay=sink_delay) as sink:
        proc = start_alertmanager(config_template.format(sink=sink.url), tmp_path / "am")
        counter = _GroupCounter(proc.url)
        try:
            am = Alertmanager(proc.url)
            counter.start()
            # the cleanup ticker starts with the process: its ticks come ~27.5 s after T0
            t0 = float(proc.extra["started"]) + 2.5
            am.post_alerts([{"labels": {"alertname": "Dummy"}, "starts_at": (t0 - 60) * 1000,
                             "ends_at": (t0 - 30) * 1000}])
            for when, alerts in sched:
                time.sleep(max(0.0, t0 + when - time.time()))
                am.post_alerts([{**a, "starts_at": (t0 + a["starts_at"]) * 1000,
                                 "ends_at": (t0 + a["ends_at"]) * 1000} for a in alerts])
            time.sleep(max(0.0, t0 + end - time.time()))
        finally:
            counter.stop.set()
            if counter.is_alive():
                counter.join(timeout=5)
            proc.stop()
        posts = sink.posts()
    assert counter.drops, "no aggregation-group cleanup was observed"
    lo, hi = counter.drops[0]
    assert hi - lo < 0.5
    return Replay(posts, t0, (lo, hi))


def real_messages(run: Replay, slack_paths: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """Webhook posts keyed ``receiver|groupKey``, Slack posts keyed by their sink path."""
    out: dict[str, list[dict[str, Any]]] = {}
    for p in run.posts:
        body = p["body"]
        t = p["time"] - run.t0
        if p["path"] in slack_paths:
            att = body["attachments"][0]
            out.setdefault(p["path"], []).append({"t": t, "title": att["title"],
                                                  "text": att["text"]})
        else:
            alerts = body["alerts"]
            out.setdefault(p["path"][1:] + "|" + body["groupKey"], []).append({
                "t": t, "status": body["status"],
                "n": (sum(a["status"] == "firing" for a in alerts),
                      sum(a["status"] == "resolved" for a in alerts)),
                "fps": sorted(a["fingerprint"] for a in alerts)})
    return out


def sim_messages(frame: pl.DataFrame, t0: float,
                 slack_paths: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """``simulate`` rows in the shape of :func:`real_messages` (``slack_paths``: path ->
    ``receiver/integration``)."""
    by_integ = {v: k for k, v in slack_paths.items()}
    out: dict[str, list[dict[str, Any]]] = {}
    for r in frame.sort("time").iter_rows(named=True):
        t = r["time"].timestamp() - t0
        path = by_integ.get(f"{r['receiver']}/{r['integration']}")
        if path is not None:
            out.setdefault(path, []).append({"t": t, "title": r["title"], "text": r["text"]})
        elif r["integration"].startswith("webhook"):
            out.setdefault(f"{r['receiver']}|{r['group_key']}", []).append({
                "t": t, "status": r["status"], "n": (r["firing"], r["resolved"]),
                "fps": sorted(r["alerts"])})
    return out


def assert_same(real: dict[str, list[dict[str, Any]]], ours: dict[str, list[dict[str, Any]]],
                tolerance: float, drift: float = 0.0) -> None:
    """Same keys, same number of messages per key, same content in order, times within
    ``tolerance + drift x t`` s (``drift``: Alertmanager re-arms its flush timer after each
    tick, so on a busy machine its ticks fall behind by the scheduling delay, accumulating).
    Messages of one Slack sink at the same time may arrive in either order."""
    assert sorted(real) == sorted(ours), (sorted(real), sorted(ours))
    for key, msgs in real.items():
        mine = ours[key]
        assert len(msgs) == len(mine), (key, msgs, mine)
        if "title" in msgs[0]:
            used = [False] * len(mine)
            for got in msgs:
                hit = next((i for i, w in enumerate(mine) if not used[i]
                            and abs(w["t"] - got["t"]) < tolerance + drift * got["t"]
                            and (w["title"], w["text"]) == (got["title"], got["text"])), None)
                assert hit is not None, (key, got, mine)
                used[hit] = True
            continue
        for got, want in zip(msgs, mine, strict=True):
            assert abs(got["t"] - want["t"]) < tolerance + drift * got["t"], (key, got, want)
            assert (got["status"], got["n"], got["fps"]) == \
                (want["status"], want["n"], want["fps"]), (key, got, want)
