"""ipywidgets front ends (``*_tuner``) over the pure analysis functions, and the report views
they share with the scheduled (static) path. Importing this imports altair and IPython."""

from __future__ import annotations

from .alerts import alert_history_report, alert_history_tuner, alert_history_views
from .capacity import CapacityParams, capacity_report, capacity_tuner, capacity_views
from .tuning import (
    alertmanager_config,
    choose_rule,
    resolve_incidents,
    rules_audit_views,
    threshold_tuner,
    threshold_tuning_report,
)
from .use import node_use_report, node_use_views, use_tuner

__all__ = ["CapacityParams", "alert_history_report", "alert_history_tuner", "alert_history_views",
           "alertmanager_config", "capacity_report", "capacity_tuner", "capacity_views",
           "choose_rule", "node_use_report", "node_use_views", "resolve_incidents",
           "rules_audit_views", "threshold_tuner", "threshold_tuning_report", "use_tuner"]
