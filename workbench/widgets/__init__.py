"""ipywidgets front ends (``*_tuner``) over the pure analysis functions, and the report views
they share with the scheduled (static) path. Importing this imports altair and IPython."""

from __future__ import annotations

from .alerts import alert_history_report, alert_history_tuner, alert_history_views
from .capacity import CapacityParams, capacity_report, capacity_tuner, capacity_views
from .use import node_use_report, node_use_views, use_tuner

__all__ = ["CapacityParams", "alert_history_report", "alert_history_tuner",
           "alert_history_views", "capacity_report", "capacity_tuner", "capacity_views",
           "node_use_report", "node_use_views", "use_tuner"]
