"""Alert-rule backtesting with Prometheus 2.x semantics (see docs/backtesting.md).

Modules, one concern each: :mod:`.state` (the vectorised rule state machine).
"""

from __future__ import annotations

from .state import AlertStates, alert_episodes, alert_samples, alert_states

__all__ = ["AlertStates", "alert_episodes", "alert_samples", "alert_states"]
