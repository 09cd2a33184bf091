"""Workload events from series frames, hand-computed: occurrences, folding, restart bursts, and
Kubernetes Event bodies decoded into the same frame."""

from __future__ import annotations

import polars as pl

from workbench import events
from workbench.frames import TIMESTAMP

M = 60_000


def _frame(minutes: list[int], **labels: str) -> pl.DataFrame:
    return pl.DataFrame({"timestamp": [m * M for m in minutes], "value": [1.0] * len(minutes),
                         **{k: [v] * len(minutes) for k, v in labels.items()}},
                        schema_overrides={"timestamp": TIMESTAMP})


def test_occurrences_split_on_gaps_and_keys() -> None:
    f = pl.concat([_frame([0, 1, 2, 5, 6], pod="a", reason="CrashLoopBackOff"),
                   _frame([1], pod="b", reason="CrashLoopBackOff")])
    occ = events.occurrences(f, ["pod", "reason"], step_ms=M)
    assert occ.select("pod", (pl.col("start").dt.epoch("ms") // M),
                      (pl.col("end").dt.epoch("ms") // M)).rows() == [
        ("a", 0, 2), ("a", 5, 6), ("b", 1, 1)]
    ev = events.fold(occ, source="kube-state-metrics", reason=pl.col("reason"), kind="Pod",
                     name="pod")
    assert ev.schema == pl.Schema(events.EVENT_SCHEMA)
    assert sorted(ev.select("name", "count").rows()) == [("a", 2), ("b", 1)]
    a = ev.filter(pl.col("name") == "a").row(0, named=True)
    assert (a["first_seen"].minute, a["last_seen"].minute) == (0, 6)


def test_restart_bursts_need_enough_restarts_in_the_window() -> None:
    f = _frame([0, 4, 8, 60, 100, 101, 102, 103], pod="a")
    b = events.restart_bursts(f, ["pod"], window_ms=15 * M, min_restarts=3)
    assert b.select((pl.col("start").dt.epoch("ms") // M), (pl.col("end").dt.epoch("ms") // M),
                    "value_sum").rows() == [(0, 8, 3.0), (100, 103, 4.0)]
    assert events.restart_bursts(f, ["pod"], window_ms=15 * M, min_restarts=5).height == 0


def test_kubernetes_event_bodies_decode_into_the_events_frame() -> None:
    body = (b'{"kind":"EventList","items":[{"metadata":{"namespace":"web","name":"x.1"},'
            b'"type":"Warning","reason":"Failed","involvedObject":{"kind":"Pod","name":"ui-1",'
            b'"namespace":"web","fieldPath":"spec.initContainers{init}"},"count":3,'
            b'"firstTimestamp":"2026-01-05T08:00:00Z","lastTimestamp":"2026-01-05T08:10:00Z",'
            b'"message":"Failed to pull image"},{"metadata":{"namespace":"default"},'
            b'"type":"Normal","reason":"NodeNotReady","involvedObject":{"kind":"Node",'
            b'"name":"n1"},"eventTime":"2026-01-05T09:00:00.000000Z","series":{"count":2,'
            b'"lastObservedTime":"2026-01-05T09:05:00.000000Z"},"message":"not ready"}]}')
    ev = events.decode_events([body])
    assert ev.schema == pl.Schema(events.EVENT_SCHEMA)
    assert ev.select("reason", "kind", "name", "container", "count").rows() == [
        ("NodeNotReady", "Node", "n1", None, 2), ("Failed", "Pod", "ui-1", "init", 3)]
    row = ev.row(1, named=True)
    assert (row["first_seen"].minute, row["last_seen"].minute) == (0, 10)
    node = ev.row(0, named=True)
    assert (node["first_seen"].minute, node["last_seen"].minute) == (0, 5)
    assert events.decode_events([b'{"items": []}']).height == 0
