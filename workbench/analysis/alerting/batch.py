"""`backtest_rules`: backtest a whole rule set, one row per rule, fetches shared and concurrent.

Rules are first put in threshold form (:func:`~workbench.alerting.ruleset.threshold_rule`:
``x > 3`` fetches ``x`` and compares locally with PromQL's semantics, which gives exactly the
series the server returns for ``x > 3``), so rules that differ only in their threshold share one
``query_range``. Distinct fetches run concurrently, at most ``max_workers`` at a time, and each
matrix is backtested as it arrives and then let go, so memory holds a few matrices, not the whole
rule set's. A rule that fails (bad PromQL, a label template
outside the supported subset, two samples with one alert identity) gets the error text in its
row; the other rules go on.

Examples
--------
>>> from workbench import Prometheus
>>> from workbench.analysis.alerting import backtest_rules, load_rules
>>> prom = Prometheus("http://127.0.0.1:9090")  # doctest: +SKIP
>>> backtest_rules(prom, load_rules(prom), "now-7d")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from itertools import islice
from typing import TYPE_CHECKING, Any

import polars as pl

from ..._errors import AlertRuleError, ConfigError, WorkbenchError
from ..._time import DurationLike, TimeLike, parse_duration_ms
from .advice import advice as rule_advice
from .backtest import (
    SUMMARY_SCHEMA,
    BacktestResult,
    _scrape_interval_ms,
    _server_version,
    backtest_matrix,
    evaluation_grid,
    fetch_matrix,
)
from .identity import SeriesMatrix
from .rule import Rule
from .ruleset import threshold_rule

if TYPE_CHECKING:
    from ...sources.prometheus.client import Prometheus

__all__ = ["RULES_SCHEMA", "backtest_rules", "fetch_rule_matrices"]

#: Columns of :func:`backtest_rules`.
RULES_SCHEMA: dict[str, Any] = {
    "group": pl.String, "alert": pl.String, "severity": pl.String, "file": pl.String,
    "interval_s": pl.Float64, "for_s": pl.Float64, "keep_firing_for_s": pl.Float64,
    **SUMMARY_SCHEMA, "has_summary": pl.Boolean, "advice": pl.List(pl.String),
    "error": pl.String,
}

_DEFAULT_INTERVAL_MS = 60_000


def _fetch_key(rule: Rule, interval_ms: int) -> tuple[str, int]:
    return (rule.expr if rule.is_threshold else rule.condition, interval_ms)


def _interval_ms(rule: Rule, interval: DurationLike | None) -> int:
    if interval is not None:
        return parse_duration_ms(interval)
    return rule.interval_ms or _DEFAULT_INTERVAL_MS


def _checked(prom: object, rules: object, fn: str) -> list[Rule]:
    """``rules`` as a list after checking ``prom`` is a client and each rule a :class:`Rule`."""
    from ...sources.prometheus.client import Prometheus

    if not isinstance(prom, Prometheus):
        msg = (f"{fn}: prom must be a workbench Prometheus client, got {type(prom).__name__}. "
               "Fix: pass Prometheus('http://host:9090') (or Prometheus('demo')) first.")
        raise ConfigError(msg)
    if isinstance(rules, str | bytes | Mapping) or not isinstance(rules, Sequence):
        msg = (f"{fn}: rules must be a list of Rule objects, got {type(rules).__name__}. Fix: "
               "pass load_rules('rules.yml') or [Rule(...), ...].")
        raise AlertRuleError(msg)
    bad = [(i, r) for i, r in enumerate(rules) if not isinstance(r, Rule)]
    if bad:
        i, r = bad[0]
        msg = (f"{fn}: rules[{i}] is a {type(r).__name__} ({r!r:.60}), not a Rule. Fix: pass "
               "the rules load_rules returned.")
        raise AlertRuleError(msg)
    return list(rules)


_Key = tuple[str, int]


def _keys(rules: Sequence[Rule], interval: DurationLike | None) -> list[_Key]:
    """Each rule's fetch: (its threshold form's left-hand side or condition, its interval)."""
    return [_fetch_key(threshold_rule(r), _interval_ms(r, interval)) for r in rules]


def _fetch_each(prom: Prometheus, keys: Sequence[_Key], start: TimeLike, end: TimeLike,
                offset: DurationLike, max_workers: int | None,
                ) -> Iterator[tuple[_Key, SeriesMatrix | WorkbenchError]]:
    """Each distinct fetch of ``keys`` as it completes, at most ``max_workers`` in flight: a
    caller that lets each matrix go holds at most ``max_workers + 1`` at once."""
    distinct = list(dict.fromkeys(keys))
    now = prom.now()
    grids = {ms: evaluation_grid(start, end, ms / 1000, offset=offset, now=now)
             for ms in {k[1] for k in distinct}}

    def fetch(key: _Key) -> SeriesMatrix | WorkbenchError:
        try:
            return fetch_matrix(prom, key[0], grids[key[1]], key[1])
        except WorkbenchError as exc:
            return exc

    workers = max(1, min(max_workers or getattr(prom, "max_workers", 4), len(distinct) or 1))
    waiting = iter(distinct)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="workbench-rules") as pool:
        running: dict[Future[SeriesMatrix | WorkbenchError], _Key] = {
            pool.submit(fetch, k): k for k in islice(waiting, workers)}
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            while done:              # no reference to a yielded result stays behind here
                fut = done.pop()
                key = running.pop(fut)
                nxt = next(waiting, None)
                if nxt is not None:
                    running[pool.submit(fetch, nxt)] = nxt
                got = fut.result()
                del fut
                yield key, got
                del got


def fetch_rule_matrices(prom: Prometheus, rules: Sequence[Rule], start: TimeLike,
                        end: TimeLike = "now", interval: DurationLike | None = None, *,
                        offset: DurationLike = 0, max_workers: int | None = None,
                        ) -> dict[_Key, SeriesMatrix | WorkbenchError]:
    """One ``query_range`` per distinct (left-hand side, interval) of ``rules`` (in threshold
    form), run concurrently; a failed fetch is stored as its error. Every matrix is held at
    once: :func:`backtest_rules` holds only a few."""
    keys = _keys(_checked(prom, rules, "fetch_rule_matrices"), interval)
    got = dict(_fetch_each(prom, keys, start, end, offset, max_workers))
    return {k: got[k] for k in dict.fromkeys(keys)}


def _meta(rule: Rule, interval_ms: int) -> dict[str, Any]:
    return {"group": rule.group, "alert": rule.alert, "severity": rule.labels.get("severity"),
            "file": rule.file, "interval_s": interval_ms / 1000, "for_s": rule.for_ms / 1000,
            "keep_firing_for_s": rule.keep_firing_for_ms / 1000,
            "has_summary": "summary" in rule.annotations}


def _rule_row(rule: Rule, got: SeriesMatrix | WorkbenchError, ims: int, version: str | None,
              scrape_ms: int | None, external_labels: Mapping[str, str] | None,
              flap_gap: DurationLike) -> tuple[dict[str, Any], BacktestResult | None]:
    """One rule's row of :func:`backtest_rules` (its error in ``error``), and its backtest."""
    row: dict[str, Any] = _meta(rule, ims)
    row["advice"] = rule_advice(rule, ims, scrape_interval_ms=scrape_ms, server_version=version)
    try:
        if isinstance(got, WorkbenchError):
            raise got
        bt = backtest_matrix(got, threshold_rule(rule), ims, server_version=version,
                             scrape_interval_ms=scrape_ms, external_labels=external_labels)
        row.update(bt.summary(flap_gap=flap_gap).row(0, named=True))
    except WorkbenchError as exc:
        row["error"] = f"{type(exc).__name__}: {exc}"
        return row, None
    return row, bt


def backtest_rules(prom: Prometheus, rules: Sequence[Rule], start: TimeLike,
                   end: TimeLike = "now", interval: DurationLike | None = None, *,
                   offset: DurationLike = 0, flap_gap: DurationLike = "15m",
                   scrape_interval: DurationLike | None = None,
                   external_labels: Mapping[str, str] | None = None,
                   max_workers: int | None = None,
                   results: dict[int, BacktestResult] | None = None) -> pl.DataFrame:
    """Backtest every rule of ``rules`` over ``[start, end]``; one row per rule.

    Parameters
    ----------
    prom
        The server holding the history.
    rules
        Rules, e.g. from :func:`~workbench.alerting.load_rules`.
    start, end
        The range.
    interval
        Evaluation interval for every rule; default each rule's group interval (1m when
        unknown).
    offset, scrape_interval, external_labels
        As in :func:`~workbench.backtest`.
    flap_gap
        As in :meth:`BacktestResult.summary`.
    max_workers
        Concurrent fetches (default the client's ``max_workers``).
    results
        When given, filled with ``{position in rules: BacktestResult}`` for rules that ran.

    Returns
    -------
    polars.DataFrame
        ``group``, ``alert``, ``severity``, ``file``, ``interval_s``, ``for_s``,
        ``keep_firing_for_s``, the summary columns (``episodes``, ``alerts_fired``,
        ``fired_per_day``, ``firing_share``, ``flapping``, ``still_firing`` ...),
        ``has_summary``, ``advice`` (review notes) and ``error`` (null when the rule ran).
    """
    rules = _checked(prom, rules, "backtest_rules")
    parse_duration_ms(flap_gap)                    # a bad flap_gap fails before any fetch
    version = _server_version(prom)
    scrape_ms = (parse_duration_ms(scrape_interval) if scrape_interval is not None
                 else _scrape_interval_ms(prom))
    keys = _keys(rules, interval)
    by_key: dict[_Key, list[int]] = {}
    for pos, key in enumerate(keys):
        by_key.setdefault(key, []).append(pos)
    rows: list[dict[str, Any]] = [{} for _ in rules]
    for key, got in _fetch_each(prom, keys, start, end, offset, max_workers):
        for pos in by_key[key]:
            rows[pos], bt = _rule_row(rules[pos], got, key[1], version, scrape_ms,
                                      external_labels, flap_gap)
            if results is not None and bt is not None:
                results[pos] = bt
        del got, bt                                # the matrix goes once its rules are done
    return pl.DataFrame(rows, schema=RULES_SCHEMA) if rows else pl.DataFrame(schema=RULES_SCHEMA)

