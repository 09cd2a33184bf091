"""Everything the alert-history report shows, gathered once: :func:`fetch_alert_report`.

The report reads the ``ALERTS`` history, replays it through the Alertmanager routing it finds
(the configured timers and a what-if), reads workload events and PVC usage, and what is firing
now (Prometheus, and Alertmanager's alerts and silences when its URL is given). A part that
cannot be read (no Alertmanager config, Alertmanager down, no kube-state-metrics) leaves its
section empty with a note saying why; a Prometheus that cannot be reached is an error.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from ..._errors import ConfigError, WorkbenchError
from ..._time import DurationLike, TimeLike
from ..alertmanager import AlertmanagerConfig, messages_per_day, simulate, what_if
from ..events import fetch_workload_events, pvc_usage
from . import _checks
from .annotations import annotate_episodes
from .fetch import AlertHistory, fetch_alert_history, fetch_current_alerts
from .summary import alert_summary

if TYPE_CHECKING:
    from ...sources.prometheus.client import Prometheus

__all__ = ["AlertReport", "fetch_alert_report", "filter_episodes", "key_figures",
           "load_alertmanager_config", "messages_frame", "simulate_messages"]


def _demo_dir(environ: Mapping[str, str]) -> Path:
    env = environ.get("WORKBENCH_DEMO_DIR")
    if env:
        return Path(env).expanduser()
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "workbench" / "demo"


def load_alertmanager_config(spec: str, environ: Mapping[str, str] | None = None
                             ) -> tuple[AlertmanagerConfig | None, str]:
    """The Alertmanager config ``spec`` names and where it came from.

    ``spec`` is a file path, ``"demo"`` (the running demo's ``alertmanager.yml`` in
    ``$WORKBENCH_DEMO_DIR``, else ``~/.cache/workbench/demo``) or ``""`` (none: no message
    counts). A missing demo file gives ``(None, reason)``; a broken file raises
    :class:`~workbench.AlertmanagerConfigError` with its position.
    """
    if not spec:
        return None, "no Alertmanager configuration given (parameter alertmanager_config)"
    path = (_demo_dir(environ if environ is not None else os.environ) / "alertmanager.yml"
            if spec == "demo" else Path(spec).expanduser())
    if not path.is_file():
        return None, f"no Alertmanager configuration at {path}"
    return AlertmanagerConfig.from_file(path), str(path)


def _demo_alertmanager_url(environ: Mapping[str, str]) -> str | None:
    import json

    try:
        st = json.loads((_demo_dir(environ) / "state.json").read_text())
        return str(st["endpoints"]["alertmanager"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


@dataclass
class AlertReport:
    """The report's data (see :func:`fetch_alert_report`)."""

    history: AlertHistory
    config: AlertmanagerConfig | None
    config_source: str
    notifications: pl.DataFrame | None
    whatif: pl.DataFrame | None
    whatif_timers: dict[str, str]
    events: pl.DataFrame
    pvc: pl.DataFrame
    pvc_threshold: float
    current: pl.DataFrame
    am_alerts: pl.DataFrame | None = None
    am_silences: pl.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    eval_interval: str = "1m"


def _annotate(prom: Prometheus, history: AlertHistory) -> list[str]:
    """Give ``history.episodes`` the annotations its rules render (``ALERTS`` has none)."""
    from ..alerting.ruleset import load_rules

    if history.episodes.height == 0:
        return []
    try:
        rules = load_rules(prom)
    except WorkbenchError as exc:
        rules, why = [], f"its rules could not be read ({exc})"
    else:
        why = "it has no alerting rules loaded"
    if not rules:
        return [f"The Slack text can't be reconstructed: ALERTS keeps no annotations and {why}, "
                "so the messages below show no description (the real ones had them)."]
    history.episodes, notes = annotate_episodes(history.episodes, rules)
    return notes


def simulate_messages(episodes: pl.DataFrame, cfg: AlertmanagerConfig, end: datetime, *,
                      eval_interval: DurationLike = "1m", group_interval: str | None = None,
                      repeat_interval: str | None = None, detail: bool = True) -> pl.DataFrame:
    """Notifications for ``episodes`` under ``cfg``, or under other timers on every route.

    ``detail=False`` counts the messages without rendering their Slack text (the what-if only
    needs counts; same times and counts, several times faster on large groups)."""
    if episodes.height == 0:
        return simulate(episodes, cfg, end=end, eval_interval=eval_interval, detail=detail)
    if group_interval is None and repeat_interval is None:
        return simulate(episodes, cfg, end=end, eval_interval=eval_interval, detail=detail)
    return what_if(episodes, cfg, group_interval=group_interval, repeat_interval=repeat_interval,
                   end=end, eval_interval=eval_interval, detail=detail)


def fetch_alert_report(
    prom: Prometheus,
    start: TimeLike,
    end: TimeLike = "now",
    *,
    matchers: str = "",
    alertmanager_config: str = "demo",
    alertmanager: str = "",
    whatif_group_interval: str = "5m",
    whatif_repeat_interval: str = "12h",
    eval_interval: str = "1m",
    events_step: DurationLike = "1m",
    pvc_threshold: float = 0.70,
    environ: Mapping[str, str] | None = None,
) -> AlertReport:
    """Gather the report (see the module docstring).

    Parameters
    ----------
    prom
        The Prometheus holding ``ALERTS`` and the kube-state-metrics / kubelet series.
    start, end
        The window.
    matchers
        Label matchers on ``ALERTS`` (``severity="critical"``).
    alertmanager_config
        See :func:`load_alertmanager_config`.
    alertmanager
        A running Alertmanager's URL for its current alerts and silences, ``"demo"``, or ``""``.
    whatif_group_interval, whatif_repeat_interval
        The what-if timers (kube-prometheus-stack ships 5m / 12h).
    eval_interval
        The rules' evaluation interval (Prometheus re-sends firing alerts on it).
    """
    env = environ if environ is not None else os.environ
    notes: list[str] = []
    history = fetch_alert_history(prom, start, end, matchers=matchers)
    if history.message:
        notes.append(history.message)
    notes += _annotate(prom, history)
    cfg, source = load_alertmanager_config(alertmanager_config, env)
    notifications = whatif = None
    timers = {"group_interval": whatif_group_interval, "repeat_interval": whatif_repeat_interval}
    if cfg is None:
        notes.append(f"Messages are not counted: {source}.")
    else:
        notifications = simulate_messages(history.episodes, cfg, history.end,
                                          eval_interval=eval_interval)
        whatif = simulate_messages(history.episodes, cfg, history.end,
                                   eval_interval=eval_interval, detail=False, **timers)
    events = fetch_workload_events(prom, history.start, history.end, events_step,
                                   pvc_threshold=pvc_threshold)
    pvc = pvc_usage(prom, history.start, history.end)
    current = fetch_current_alerts(prom)
    report = AlertReport(history, cfg, source, notifications, whatif, timers, events, pvc,
                         pvc_threshold, current, notes=notes, eval_interval=eval_interval)
    url = _demo_alertmanager_url(env) if alertmanager == "demo" else alertmanager
    if alertmanager and not url:
        notes.append("No running demo Alertmanager found (run `workbench demo up`).")
    elif url:
        from ...sources.alertmanager import Alertmanager

        try:
            with Alertmanager(url) as am:
                report.am_alerts = am.alerts()
                report.am_silences = am.silences()
        except WorkbenchError as exc:
            notes.append(f"Alertmanager: {exc}")
    return report


def filter_episodes(episodes: pl.DataFrame, *, severity: str | None = None,
                    namespace: str | None = None, start: datetime | None = None,
                    end: datetime | None = None) -> pl.DataFrame:
    """Episodes of one severity / namespace (``None`` or ``""``: all) overlapping a window."""
    fn = "filter_episodes"
    out = _checks.episodes_frame(episodes, fn)
    severity = _checks.text_or_none(severity, "severity", fn)
    namespace = _checks.text_or_none(namespace, "namespace", fn)
    start = _checks.time_or_none(start, "start", fn)
    end = _checks.time_or_none(end, "end", fn)
    for col, value in (("severity", severity), ("namespace", namespace)):
        if value:
            out = (out.filter(pl.col(col) == value) if col in out.columns
                   else out.clear())
    if start is not None:
        out = out.filter(pl.col("resolved_at").is_null() | (pl.col("resolved_at") >= start))
    if end is not None:
        out = out.filter(pl.col("active_at") <= end)
    return out


def messages_frame(notifications: pl.DataFrame | None, whatif: pl.DataFrame | None,
                   whatif_label: str) -> pl.DataFrame:
    """Messages per day and receiver under the configured timers and the what-if, stacked with
    a ``scenario`` column (``configured`` / ``whatif_label``)."""
    fn = "messages_frame"
    if not isinstance(whatif_label, str):
        msg = (f"{fn}: whatif_label must be a string, got {whatif_label!r:.60}. Fix: pass e.g. "
               "'kube-prometheus'.")
        raise ConfigError(msg)
    parts = []
    for label, frame in (("configured", notifications), (whatif_label, whatif)):
        if frame is not None:
            frame = _checks.notifications_frame(frame, fn)
            parts.append(messages_per_day(frame).with_columns(scenario=pl.lit(label)).cast(
                {"messages": pl.Int64, "firing_messages": pl.Int64,
                 "resolved_messages": pl.Int64}))
    if not parts:
        return pl.DataFrame(schema={"day": pl.Date, "receiver": pl.String, "messages": pl.Int64,
                                    "firing_messages": pl.Int64, "resolved_messages": pl.Int64,
                                    "scenario": pl.String})
    return pl.concat(parts)


def key_figures(report: AlertReport) -> dict[str, Any]:
    """Headline figures: ``alerts_fired``, ``messages_sent`` (null without a config),
    ``noisiest_alert``, ``mttr_min`` (mean firing time of resolved alerts), ``events``."""
    ep = report.history.episodes
    summary = alert_summary(ep)
    fired = ep.filter(pl.col("fired_at").is_not_null())
    resolved = fired.filter(pl.col("resolved_at").is_not_null())
    mttr = resolved["firing_s"].mean() if resolved.height else None
    return {
        "alerts_fired": fired.height,
        "messages_sent": None if report.notifications is None else report.notifications.height,
        "noisiest_alert": summary["alertname"][0] if summary.height and fired.height else None,
        "mttr_min": None if mttr is None else round(float(mttr) / 60, 1),  # type: ignore[arg-type]
        "events": int(report.events["count"].sum()) if report.events.height else 0,
    }
