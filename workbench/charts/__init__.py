"""Altair chart builders (``*_chart``, returning charts, never displaying them), report tables,
the registered ``workbench`` theme and the offline ``workbench`` renderer
(:func:`enable_offline`: one call makes any altair chart render without network).

Importing this package imports altair; ``import workbench`` does not.
"""

from __future__ import annotations

from ._render import (
    bundle_html,
    chart_html,
    enable_offline,
    enable_renderer,
    javascript_bundle,
    safe_json,
    script_safe,
)
from ._theme import PALETTE, enable_theme
from .alerts import (
    alert_heatmap_chart,
    alert_timeline_chart,
    events_chart,
    messages_chart,
    noisiest_chart,
    pvc_chart,
)
from .table import HtmlTable, fs_table, html_table, summary_table
from .tuning import heatmap_chart, rules_audit_table, tuning_chart
from .use import availability_chart, fs_forecast_chart, overview_chart, resource_chart

__all__ = [
    "PALETTE",
    "HtmlTable",
    "alert_heatmap_chart",
    "alert_timeline_chart",
    "availability_chart",
    "bundle_html",
    "chart_html",
    "enable_offline",
    "enable_renderer",
    "enable_theme",
    "events_chart",
    "fs_forecast_chart",
    "fs_table",
    "heatmap_chart",
    "html_table",
    "javascript_bundle",
    "messages_chart",
    "noisiest_chart",
    "overview_chart",
    "pvc_chart",
    "resource_chart",
    "rules_audit_table",
    "safe_json",
    "script_safe",
    "summary_table",
    "tuning_chart",
]
