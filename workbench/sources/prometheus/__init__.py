"""The Prometheus HTTP API as polars frames.

* :mod:`.client` — :class:`Prometheus` (``query``, ``query_range`` with window planning, the
  metadata endpoints);
* :mod:`.http` — the transport: POST, auth headers, TLS, bounded retries, whole-response timeout;
* :mod:`.config` — :class:`PromConfig`, :class:`Secret`, profiles in TOML, ``from_env``;
* :mod:`.cache` — the optional parquet cache of settled windows;
* :mod:`.engine` — which engine answers (Prometheus, Thanos, Mimir, VictoriaMetrics);
* :mod:`.decode` — the fast body decoder (byte search + one C-level translate + polars CSV).
"""

from __future__ import annotations

from .cache import CacheWarning
from .client import Prometheus
from .config import PromConfig, Secret
from .engine import Engine, EngineWarning, fetch_engine
from .http import PrometheusWarning

__all__ = ["CacheWarning", "Engine", "EngineWarning", "PromConfig", "Prometheus",
           "PrometheusWarning", "Secret", "fetch_engine"]
