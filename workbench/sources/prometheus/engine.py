"""Which query engine answers behind a Prometheus-compatible URL, and whether it is PromQL-exact.

Prometheus, Thanos Query, Mimir and Cortex run Prometheus' own PromQL engine; VictoriaMetrics
runs MetricsQL, which answers the same API with different numbers in places (``rate``/``increase``
without extrapolation, a lookback tied to the step, start aligned to the step, decimal storage).
Features that replay Prometheus exactly (alert backtesting) check the engine first.

Examples
--------
>>> engine_from_build_info({"version": "2.42.0", "revision": "225c61", "goVersion": "go1.19"})
Engine(name='prometheus', version='2.42.0')
>>> engine_from_build_info({}, victoria_metrics=True)
Engine(name='victoriametrics', version=None)
>>> engine_from_build_info({"version": "2.24.0"}, victoria_metrics=True).promql_exact
False
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..._errors import WorkbenchError
from .decode import decode_api_response
from .http import PrometheusWarning

if TYPE_CHECKING:
    from .client import Prometheus

__all__ = ["Engine", "EngineWarning", "engine_from_build_info", "fetch_engine",
           "warn_unless_promql_exact"]

#: Engines that evaluate with Prometheus' own PromQL code.
PROMQL_ENGINES = frozenset({"prometheus", "thanos", "mimir", "cortex"})


class EngineWarning(PrometheusWarning):
    """The server's query engine is not Prometheus': results that need its exact semantics may
    differ (see docs/backends.md)."""


@dataclass(frozen=True)
class Engine:
    """A query engine: ``name`` (``prometheus``, ``thanos``, ``mimir``, ``cortex``,
    ``victoriametrics`` or ``unknown``) and its ``version`` when the server tells it."""

    name: str
    version: str | None = None

    @property
    def promql_exact(self) -> bool:
        """Whether queries evaluate with Prometheus' PromQL engine (unknown counts as yes:
        a server answering buildinfo like Prometheus is given the benefit of the doubt)."""
        return self.name in PROMQL_ENGINES or self.name == "unknown"


def engine_from_build_info(info: dict[str, Any], *, victoria_metrics: bool = False) -> Engine:
    """Name the engine from a ``/api/v1/status/buildinfo`` body and a VictoriaMetrics probe.

    VictoriaMetrics answers buildinfo with an empty object (1.7x-1.8x) or a made-up Prometheus
    version (later releases), so ``victoria_metrics`` (its ``/api/v1/status/top_queries``
    endpoint answered) wins over the body.
    """
    version = str(info["version"]) if info.get("version") else None
    if victoria_metrics:
        return Engine("victoriametrics", None)
    app = str(info.get("application") or "").lower()
    for name in ("mimir", "cortex", "thanos"):
        if name in app:
            return Engine(name, version)
    if version and info.get("revision"):
        return Engine("prometheus", version)
    return Engine("unknown", version)


def fetch_engine(prom: Prometheus) -> Engine:
    """Ask the server which engine it runs (two small requests; errors give ``unknown``).

    Examples
    --------
    >>> fetch_engine(Prometheus("http://127.0.0.1:8428"))  # doctest: +SKIP
    Engine(name='victoriametrics', version=None)
    """
    info: dict[str, Any] = {}
    with contextlib.suppress(WorkbenchError):
        body = prom.transport.request("/api/v1/status/buildinfo", None, method="GET")
        data = decode_api_response(body).data
        info = data if isinstance(data, dict) else {}
    vm = False
    if not info.get("goVersion"):  # Prometheus, Thanos and Mimir fill it; VictoriaMetrics not
        with contextlib.suppress(WorkbenchError):
            body = prom.transport.request("/api/v1/status/top_queries", None, method="GET")
            vm = b"topByCount" in body
    return engine_from_build_info(info, victoria_metrics=vm)


def warn_unless_promql_exact(prom: Prometheus, feature: str) -> Engine:
    """Warn (:class:`EngineWarning`) when ``prom`` does not run Prometheus' PromQL engine."""
    engine = fetch_engine(prom)
    if not engine.promql_exact:
        msg = (
            f"{feature} replays Prometheus' exact PromQL and rule semantics, but {prom.config.url} "
            f"runs {engine.name} (MetricsQL: rate/increase without extrapolation, lookback tied to "
            "the step, start aligned to the step). Results may differ from what Prometheus would "
            "have done. Fix: point it at a Prometheus (or Thanos/Mimir) holding the same data, "
            "or read the result as approximate; docs/backends.md lists the differences."
        )
        warnings.warn(msg, EngineWarning, stacklevel=3)
    return engine
