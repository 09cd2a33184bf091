"""The Kubernetes API as polars frames: what ``kubectl top`` and ``kubectl get`` show.

* :mod:`.client` — :class:`MetricsServer` (metrics.k8s.io and core/v1 reads through the real
  ``kubernetes`` client, with its error mapping and paging);
* :mod:`.config` — kubeconfig and in-cluster resolution into an ``ApiClient``;
* :mod:`.decode` — the wire decoders (raw bodies -> frames with exact integer quantities);
* :mod:`.shape` — frame shaping (kubectl's node and pod views, usage joined with requests);
* :mod:`.text` — ``kubectl top``'s text tables, byte for byte.
"""

from __future__ import annotations

from .client import MetricsServer
from .shape import usage_vs_requests
from .text import render_top_nodes, render_top_pods

__all__ = ["MetricsServer", "render_top_nodes", "render_top_pods", "usage_vs_requests"]
