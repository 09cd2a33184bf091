"""Alertmanager 0.25 routing and notifications, simulated exactly (public as ``workbench.alertmanager``).

Pure: no I/O except reading a config file. One concern per module:

* :mod:`.matchers` — label matchers and their parsing (``=``, ``!=``, ``=~``, ``!~``, quoting);
* :mod:`.config` — :class:`AlertmanagerConfig` (``from_file``/``from_yaml``), rejecting what
  Alertmanager rejects with the file, line and column;
* :mod:`.route` — :class:`Route`, the routing tree (``cfg.route(labels)`` equals
  ``amtool config routes test``);
* :mod:`.timeintervals` — mute/active time intervals;
* :mod:`.templates` — the Slack title/text template subset;
* :mod:`.simulate` — :func:`simulate`: one row per notification Alertmanager would send for an
  episodes frame; :func:`what_if` / :func:`messages_per_day` for other timers and grouping.

The HTTP client for a running Alertmanager is :class:`workbench.sources.alertmanager.Alertmanager`.
"""

from __future__ import annotations

from .config import AlertmanagerConfig, InhibitRule, Integration, Receiver, fetch_config
from .matchers import Matcher, parse_matchers
from .route import Route
from .simulate import (
    KUBE_PROMETHEUS_TIMERS,
    NOTIFICATION_SCHEMA,
    compare_timers,
    messages_per_day,
    simulate,
    what_if,
    with_overrides,
)

__all__ = [
    "KUBE_PROMETHEUS_TIMERS",
    "NOTIFICATION_SCHEMA",
    "AlertmanagerConfig",
    "InhibitRule",
    "Integration",
    "Matcher",
    "Receiver",
    "Route",
    "compare_timers",
    "fetch_config",
    "messages_per_day",
    "parse_matchers",
    "simulate",
    "what_if",
    "with_overrides",
]
