"""Node-exporter USE analysis: ``fetch_node_use`` (network) and pure analysis over its result.

Examples
--------
>>> from workbench import Prometheus
>>> from workbench import nodes
>>> use = nodes.fetch_node_use(Prometheus("demo"), "now-24h")  # doctest: +SKIP
>>> nodes.use_summary(use, nodes.UseThresholds(cpu_util=0.8))  # doctest: +SKIP
"""

from __future__ import annotations

from .node_exporter import *  # noqa: F403
from .node_exporter import __all__ as __all__
