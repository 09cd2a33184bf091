"""Alertmanager's HTTP API (``/api/v2``): :class:`Alertmanager` (alerts, silences, status, posting).

Routing and notification simulation are pure analysis: :mod:`workbench.alertmanager`.
"""

from __future__ import annotations

from .client import ALERT_COLUMNS, SILENCE_SCHEMA, Alertmanager, alerts_frame

__all__ = ["ALERT_COLUMNS", "SILENCE_SCHEMA", "Alertmanager", "alerts_frame"]
