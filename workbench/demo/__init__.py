"""The demo cluster: a seeded simulation of a kube-prometheus-stack cluster on real servers.

Public names (loaded on first use, so importing this package stays cheap):

* :func:`endpoints`, :func:`prometheus_url`, :func:`up`, :func:`status`, :func:`down`,
  :func:`demo_dir` (:mod:`workbench.demo.stack`)
* :class:`DemoParams` and the presets ``DEFAULT``, ``SMALL``, ``BIG`` (:mod:`workbench.demo.params`)
* :class:`Cluster`, the simulation (:mod:`workbench.demo.sim`)

Examples
--------
>>> import workbench.demo as demo
>>> demo.DEFAULT.nodes
5
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["BIG", "DEFAULT", "SMALL", "Cluster", "DemoParams", "demo_dir", "down", "endpoints",
           "prometheus_url", "status", "up"]

_WHERE = {"BIG": "params", "DEFAULT": "params", "SMALL": "params", "DemoParams": "params",
          "Cluster": "sim", "demo_dir": "stack", "down": "stack", "endpoints": "stack",
          "prometheus_url": "stack", "status": "stack", "up": "stack"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
