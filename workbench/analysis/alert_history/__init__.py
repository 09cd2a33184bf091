"""What fired, how often, for how long: alert history from ``ALERTS`` (public as
``workbench.alert_history``).

* :mod:`.episodes` — raw ``ALERTS`` / ``ALERTS_FOR_STATE`` samples -> episodes, in the schema of
  :attr:`workbench.alerting.BacktestResult.episodes` (restarts, staleness, ``$value`` labels);
* :mod:`.summary` — noisiest alerts per alert name / severity / namespace, flapping, the
  weekday x hour heat map, the timeline's top identities (work on backtests too);
* :mod:`.fetch` — :func:`fetch_alert_history`, :func:`fetch_current_alerts`;
* :mod:`.report` — :func:`fetch_alert_report`: history, messages under the Alertmanager routing
  and a what-if, workload events, PVC usage, current alerts (the ``alert_history`` report).

Examples
--------
>>> from workbench import Prometheus, alert_history
>>> h = alert_history.fetch_alert_history(Prometheus("demo"), "now-7d")  # doctest: +SKIP
>>> h.summary(by=("severity",))  # doctest: +SKIP
"""

from __future__ import annotations

from .episodes import empty_episodes, episode_labels, episodes_from_samples, volatile_labels
from .fetch import AlertHistory, fetch_alert_history, fetch_current_alerts, fetch_raw_samples
from .report import (
    AlertReport,
    fetch_alert_report,
    filter_episodes,
    key_figures,
    load_alertmanager_config,
    messages_frame,
    simulate_messages,
)
from .summary import WEEKDAYS, alert_summary, flaps, heatmap, top_identities

__all__ = [
    "WEEKDAYS",
    "AlertHistory",
    "AlertReport",
    "alert_summary",
    "empty_episodes",
    "episode_labels",
    "episodes_from_samples",
    "fetch_alert_history",
    "fetch_alert_report",
    "fetch_current_alerts",
    "fetch_raw_samples",
    "filter_episodes",
    "flaps",
    "heatmap",
    "key_figures",
    "load_alertmanager_config",
    "messages_frame",
    "simulate_messages",
    "top_identities",
    "volatile_labels",
]
