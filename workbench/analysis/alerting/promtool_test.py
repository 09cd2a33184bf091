"""Pin a backtest as a ``promtool test rules`` file, so the rule's behaviour is checked in CI.

The file's input series are the rule's inputs on a sampled window (values at every evaluation,
a ``stale`` marker where a series stops, ``_`` after), shifted so the window starts at t=0 as
promtool requires; its checks are the backtest's own answer on that window: the firing alerts
(``alert_rule_test``, with rendered annotations) and every pending or firing alert with its
``activeAt`` (``promql_expr_test`` on ``ALERTS_FOR_STATE``) at every evaluation.

When the rule's left-hand side is a plain selector the test runs the *real* rule file. Otherwise
the expression's results are pinned as a series ``workbench_pinned_input`` and the test's rule
reads that series with the same comparison, ``for``, ``keep_firing_for``, labels and
annotations: it checks the alerting behaviour, not the PromQL of the expression.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import polars as pl

from ..._errors import AlertRuleError
from ..._time import TimeLike, parse_time_ms
from .export import promtool_test_document, rule_file_text, selector, series_values
from .identity import AlertInput, SeriesMatrix, alert_input
from .rule import Rule
from .state import alert_episodes, alert_states
from .templates import render

if TYPE_CHECKING:
    from .backtest import BacktestResult

__all__ = ["PINNED_METRIC", "expected_checks", "input_series", "write_promtool_test"]

#: Metric name of pinned expression results (non-selector left-hand sides).
PINNED_METRIC = "workbench_pinned_input"
_SELECTOR = re.compile(r"^[a-zA-Z_:][\w:]*(\{[^{}]*\})?$")


def input_series(matrix: SeriesMatrix, *, metric: str | None = None) -> list[tuple[str, str]]:
    """Series notation and promtool values for every series of ``matrix`` (one sample per step;
    a ``stale`` marker at the first step a series is missing, ``_`` after)."""
    out = []
    p = matrix.present
    prev = np.zeros_like(p)
    prev[:, 1:] = p[:, :-1]
    stale = ~p & prev
    for i, row in enumerate(matrix.labels.iter_rows(named=True)):
        labels = {k: v for k, v in row.items() if v is not None and k != "__name__"}
        name = metric or row.get("__name__")
        out.append((selector(name, labels), series_values(matrix.values[i], p[i], stale[i])))
    return out


def expected_checks(
    rule: Rule, alerts: AlertInput, matrix: SeriesMatrix, raw_episodes: pl.DataFrame,
    eval_times_ms: npt.NDArray[np.int64], *, template_labels: Sequence[Mapping[str, str]],
    annotations: bool = True, steps: Sequence[int] | None = None,
    external_labels: Mapping[str, str] | None = None,
) -> tuple[list[tuple[int, str, list[tuple[dict[str, str], dict[str, str]]]]],
           list[tuple[int, str, list[tuple[str, float]]]]]:
    """The checks pinning per-step state: firing alerts and ``ALERTS_FOR_STATE`` per step.

    ``template_labels[i]`` are the ``$labels`` of matrix series ``i`` as the test input
    presents them; ``eval_times_ms`` are the times the test evaluates at (from 0).
    """
    n_steps = eval_times_ms.shape[0]
    st = alert_states(raw_episodes, alerts.identities.height, eval_times_ms)
    ident = [{k: v for k, v in r.items() if v is not None}
             for r in alerts.identities.iter_rows(named=True)]
    # The value and $labels behind a kept-firing alert are those of its last present sample.
    last_src = np.where(alerts.present, alerts.source, -1)
    last_val = np.where(alerts.present, alerts.values, np.nan)
    idx = np.where(alerts.present, np.arange(n_steps)[None, :], 0)
    np.maximum.accumulate(idx, axis=1, out=idx)
    rows = np.arange(last_src.shape[0])[:, None]
    last_src = last_src[rows, idx]
    last_val = last_val[rows, idx]
    alert_checks = []
    promql_checks = []
    for k in (range(n_steps) if steps is None else steps):
        firing = np.flatnonzero(st.state[:, k] == 2)
        exp = []
        for a in firing:
            lbl = {x: y for x, y in ident[a].items() if x != "alertname"}
            ann: dict[str, str] = {}
            if annotations:
                src = int(last_src[a, k])
                ann = {name: render(tmpl, template_labels[src], float(last_val[a, k]),
                                    external_labels)
                       for name, tmpl in rule.annotations.items()}
            exp.append((lbl, ann))
        t = int(eval_times_ms[k])
        alert_checks.append((t, rule.alert, exp))
        active = np.flatnonzero(st.state[:, k] > 0)
        promql_checks.append((t, f'ALERTS_FOR_STATE{{alertname="{rule.alert}"}}', [
            (selector("ALERTS_FOR_STATE", ident[a]), float(st.active_at_ms[a, k] // 1000))
            for a in active]))
    return alert_checks, promql_checks


def _slice(matrix: SeriesMatrix, rows: npt.NDArray[np.int64], w0: int, w1: int) -> SeriesMatrix:
    return SeriesMatrix(matrix.eval_times_ms[w0:w1] - matrix.eval_times_ms[w0],
                        matrix.labels[rows], matrix.values[rows, w0:w1],
                        matrix.present[rows, w0:w1])


def _choose_window(result: BacktestResult, window: int, start: TimeLike | None) -> int:
    t = result.eval_times_ms
    n = t.shape[0]
    if start is not None:
        return int(min(max(np.searchsorted(t, parse_time_ms(start)), 0), max(n - window, 0)))
    fired = result.raw_episodes.filter(pl.col("fire_step").is_not_null())
    if fired.height == 0:
        return 0
    lead = -(-result.rule.for_ms // result.interval_ms) + 3
    first = int(fired["start_step"].min())  # type: ignore[arg-type]
    return int(min(max(first - lead, 0), max(n - window, 0)))


def write_promtool_test(result: BacktestResult, directory: str | Path, *, window: int = 120,
                        start: TimeLike | None = None, max_series: int = 50, check: bool = True,
                        stem: str | None = None) -> Path:
    """Write ``<stem>.rules.yml`` and ``<stem>.test.yml`` pinning ``result`` on a window.

    Parameters
    ----------
    result
        A backtest.
    directory
        Where to write both files.
    window
        Evaluations in the window (promtool cost grows with series x steps).
    start
        Window start; default a little before the first alert that fired.
    max_series
        Input series kept (those behind fired alerts first).
    check
        Run ``promtool test rules`` on the written file (raises
        :class:`~workbench.PromtoolError` if promtool disagrees).

    Returns
    -------
    pathlib.Path
        The test file.
    """
    rule = result.rule
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    stem = stem or re.sub(r"[^\w.-]", "_", rule.alert)
    w0 = _choose_window(result, window, start)
    w1 = min(w0 + window, result.eval_times_ms.shape[0])
    m = result.matrix
    src = result.alerts.source[:, w0:w1]
    fired_rows = np.unique(src[src >= 0])
    others = np.setdiff1d(np.flatnonzero(m.present[:, w0:w1].any(axis=1)), fired_rows)
    rows = np.concatenate([fired_rows, others])[:max_series].astype(np.int64)
    rows.sort()
    sub = _slice(m, rows, w0, w1)
    lhs = rule.expr if rule.is_threshold else rule.condition
    pinned = not (rule.is_threshold and _SELECTOR.match(lhs.strip()))
    test_rule = rule
    metric = None
    if pinned:
        metric = PINNED_METRIC
        test_rule = rule.with_(expr=PINNED_METRIC) if rule.is_threshold else Rule(
            alert=rule.alert, expr=PINNED_METRIC, for_=rule.for_, labels=rule.labels,
            keep_firing_for=rule.keep_firing_for, annotations=rule.annotations)
        sub = SeriesMatrix(sub.eval_times_ms, sub.labels.drop("__name__", strict=False),
                           sub.values, sub.present)
    template_labels = [
        {k: v for k, v in r.items() if v is not None} | ({"__name__": metric} if metric else {})
        for r in sub.labels.iter_rows(named=True)]
    alerts = alert_input(sub, test_rule)
    raw = alert_episodes(alerts.present, sub.eval_times_ms, rule.for_ms, rule.keep_firing_for_ms)
    try:
        checks = expected_checks(test_rule, alerts, sub, raw, sub.eval_times_ms,
                                 template_labels=template_labels)
    except AlertRuleError:
        # Annotation templates beyond the supported subset: pin behaviour without them.
        test_rule = test_rule.with_(annotations={})
        checks = expected_checks(test_rule, alerts, sub, raw, sub.eval_times_ms,
                                 template_labels=template_labels, annotations=False)
    rules_path = directory / f"{stem}.rules.yml"
    rules_path.write_text(rule_file_text([test_rule], group=f"{stem}-backtest", check=check))
    doc = promtool_test_document(
        rule_files=[rules_path.name], interval_ms=result.interval_ms,
        input_series=input_series(sub, metric=metric), alert_checks=checks[0],
        promql_checks=checks[1],
        name=f"{rule.alert}: backtest window of {w1 - w0} evaluations from "
             f"{int(result.eval_times_ms[w0])} ms")
    test_path = directory / f"{stem}.test.yml"
    test_path.write_text(doc)
    if check:
        from .promtool import test_rules

        test_rules(test_path)
    return test_path
