"""Alert-rule backtesting with Prometheus 2.x rule semantics (public as ``workbench.alerting``).

One concern per module:

* :mod:`.state` — the vectorised rule state machine (pending/firing/resolved per identity);
* :mod:`.compare` — PromQL comparison filters with Go float semantics;
* :mod:`.templates` — the label/annotation template subset, rendered like 2.42;
* :mod:`.rule` — :class:`Rule`; :mod:`.ruleset` — :func:`load_rules` (rule files,
  PrometheusRule objects, a running Prometheus); :mod:`.batch` — :func:`backtest_rules`;
* :mod:`.identity` — query results on the evaluation grid -> alert identities;
* :mod:`.lookback` — instant-selector lookback (2.x closed / 3.x open) from raw samples;
* :mod:`.backtest` — :func:`backtest` and :class:`BacktestResult`;
* :mod:`.sweep` — :func:`sweep`;
* :mod:`.incidents` — rules scored against incident windows; :mod:`.tuning` — fetch once,
  recompute candidates locally (the threshold tuner); :mod:`.audit` — the rules audit;
* :mod:`.advice` — review notes; :mod:`.export` — rule files, PrometheusRule, test files;
* :mod:`.promtool` — ``promtool check/test rules``; :mod:`.promtool_test` — pinned tests.
"""

from __future__ import annotations

from .audit import rules_audit
from .backtest import BacktestResult, backtest, backtest_matrix, evaluation_grid
from .batch import backtest_rules
from .incidents import IncidentScore, incident_score, incidents_from_ground_truth, load_incidents
from .rule import Rule
from .ruleset import load_rules, threshold_rule
from .state import AlertStates, alert_episodes, alert_samples, alert_states
from .sweep import sweep, sweep_matrix

__all__ = [
    "AlertStates",
    "BacktestResult",
    "IncidentScore",
    "Rule",
    "alert_episodes",
    "alert_samples",
    "alert_states",
    "backtest",
    "backtest_matrix",
    "backtest_rules",
    "evaluation_grid",
    "incident_score",
    "incidents_from_ground_truth",
    "load_incidents",
    "load_rules",
    "rules_audit",
    "sweep",
    "sweep_matrix",
    "threshold_rule",
]
