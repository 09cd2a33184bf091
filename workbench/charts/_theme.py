"""The ``workbench`` altair theme: one look for every report chart."""

from __future__ import annotations

from typing import Any

__all__ = ["PALETTE", "THEME", "enable_theme"]

THEME = "workbench"
#: Status colours shared by charts and tables.
PALETTE = {"ok": "#4c9f70", "warn": "#e8a33d", "bad": "#d1495b", "line": "#30638e",
           "muted": "#9aa5b1"}


def _config() -> dict[str, Any]:
    return {
        "config": {
            "font": "DejaVu Sans, Helvetica, Arial, sans-serif",
            "view": {"continuousWidth": 260, "continuousHeight": 120, "stroke": "#d0d7de"},
            "axis": {"labelFontSize": 10, "titleFontSize": 11, "gridColor": "#eef1f4"},
            "header": {"labelFontSize": 11, "titleFontSize": 12},
            "title": {"fontSize": 13, "anchor": "start"},
            "legend": {"labelFontSize": 10, "titleFontSize": 11},
            "range": {"category": [PALETTE["line"], "#edae49", "#00798c", "#d1495b",
                                   "#66a182", "#8d96a3", "#2e4057"]},
            "line": {"strokeWidth": 1.5},
        }
    }


def enable_theme() -> None:
    """Register (once) and enable the ``workbench`` theme.

    Examples
    --------
    >>> enable_theme()
    >>> import altair as alt
    >>> alt.theme.active
    'workbench'
    """
    import altair as alt

    if THEME not in alt.theme.names():
        alt.theme.register(THEME, enable=False)(_config)  # type: ignore[arg-type]
    alt.theme.enable(THEME)
