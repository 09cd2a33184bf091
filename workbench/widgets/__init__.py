"""ipywidgets front ends (``*_tuner``) over the pure analysis functions, and the report views
they share with the scheduled (static) path. Importing this imports altair and IPython."""

from __future__ import annotations

from .use import node_use_report, node_use_views, use_tuner

__all__ = ["node_use_report", "node_use_views", "use_tuner"]
