"""The node-exporter (USE method) report's data layer: PromQL, fetching and pure analysis.

Public as ``workbench.nodes`` (``from workbench import nodes``).
"""

from __future__ import annotations

from .analysis import (
    FLAG_RESOURCES,
    RESOURCES,
    SERIES_SCHEMA,
    NodeUse,
    UseThresholds,
    availability,
    chart_rows,
    derive_series,
    fs_forecast,
    key_figures,
    node_names,
    reboots,
    resource_frame,
    sustained,
    top_devices,
    use_summary,
)
from .fetch import NodeDataError, fetch_node_use

__all__ = [
    "FLAG_RESOURCES",
    "RESOURCES",
    "SERIES_SCHEMA",
    "NodeDataError",
    "NodeUse",
    "UseThresholds",
    "availability",
    "chart_rows",
    "derive_series",
    "fetch_node_use",
    "fs_forecast",
    "key_figures",
    "node_names",
    "reboots",
    "resource_frame",
    "sustained",
    "top_devices",
    "use_summary",
]
