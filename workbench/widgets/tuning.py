"""The threshold-tuning notebook's views: a static page (scheduled runs) or an ipywidgets tuner.

Both draw from one :class:`~workbench.analysis.alerting.tuning.Tuning` (the rule's left-hand side
fetched once); every slider move recomputes locally: the backtest, the incident score, the Slack
messages Alertmanager would send (through :func:`workbench.alertmanager.simulate` under the
configured routing, when a configuration is found), the chart. The heat map is recomputed only
when the rule or ``keep_firing_for`` changes.
"""

from __future__ import annotations

import html
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from .._errors import WorkbenchError
from .._time import format_duration, parse_duration_ms
from ..analysis.alerting.incidents import incidents_from_ground_truth, load_incidents
from ..analysis.alerting.rule import Rule
from ..analysis.alerting.ruleset import load_rules
from ..analysis.alerting.tuning import Tuned, Tuning, episode_bands, fetch_tuning

if TYPE_CHECKING:
    import ipywidgets

    from ..sources.prometheus.client import Prometheus

__all__ = ["FOR_CHOICES", "KEEP_CHOICES", "alertmanager_config", "choose_rule", "counters_html",
           "resolve_incidents", "rules_audit_views", "threshold_tuner",
           "threshold_tuning_report", "tuning_views"]

FOR_CHOICES = ["0s", "30s", "1m", "2m", "3m", "5m", "10m", "15m", "20m", "30m", "45m", "1h",
               "2h", "4h"]
KEEP_CHOICES = ["0s", "1m", "2m", "5m", "10m", "15m", "30m", "1h"]
HEATMAP_FOR = ("0s", "1m", "2m", "5m", "10m", "15m", "30m", "1h")


# -- inputs ------------------------------------------------------------------------------------

def alertmanager_config(source: str, prom: Prometheus | None = None) -> tuple[Any, str]:
    """The Alertmanager configuration for the Slack counter, and a note saying where it came
    from (or why there is none).

    ``source``: ``""`` (none), ``"auto"`` (the first Alertmanager ``prom`` sends alerts to),
    an ``alertmanager.yml`` path, or an Alertmanager URL. Never raises: the counter is hidden
    when no configuration can be read.
    """
    if not source:
        return None, "no Alertmanager configuration given"
    try:
        from ..analysis.alertmanager import AlertmanagerConfig
    except ImportError:                                            # pragma: no cover
        return None, "the Alertmanager simulation is not available"
    try:
        if source == "auto":
            urls = prom.alertmanagers() if prom is not None else []
            if not urls:
                return None, "Prometheus sends alerts to no Alertmanager"
            source = urls[0]
        if source.startswith(("http://", "https://")):
            from ..sources.alertmanager import Alertmanager

            with Alertmanager(source) as am:
                return (AlertmanagerConfig.from_yaml(am.config_text(), source=am.url),
                        f"routing of {am.url}")
        return AlertmanagerConfig.from_file(source), f"routing of {source}"
    except (WorkbenchError, OSError, ValueError) as exc:
        return None, f"Alertmanager configuration not read: {exc}"


def resolve_incidents(source: str) -> tuple[pl.DataFrame | None, str]:
    """Incident windows from ``source``: ``""`` (none), ``"demo"`` (the running demo's
    ``ground_truth.json`` in ``$WORKBENCH_DEMO_DIR`` or ``~/.cache/workbench/demo``), or a CSV."""
    if not source:
        return None, "no incidents given"
    if source == "demo":
        d = Path(os.environ.get("WORKBENCH_DEMO_DIR") or "~/.cache/workbench/demo").expanduser()
        gt = d / "ground_truth.json"
        if not gt.is_file():
            return None, f"no demo ground truth at {gt}"
        return incidents_from_ground_truth(gt), "the demo's planted incidents"
    return load_incidents(source), f"incidents from {source}"


def choose_rule(prom: Prometheus, rules: str, alert: str = "", *, rule_text: str = ""
                ) -> tuple[Rule, list[Rule]]:
    """The rule to tune and the rules to choose from.

    ``rule_text`` (a rule file / PrometheusRule YAML, or one rule's ``alert:``/``expr:``
    mapping) wins when given; otherwise ``rules`` is ``"prometheus"`` (the rules ``prom`` runs)
    or a file, directory or glob, and ``alert`` picks one (default: the first).
    """
    if rule_text.strip():
        text = rule_text if "groups:" in rule_text or "kind:" in rule_text else \
            "groups:\n- name: typed\n  rules:\n" + "".join(
                ("  - " if i == 0 else "    ") + line + "\n"
                for i, line in enumerate(rule_text.strip().splitlines()))
        typed = load_rules(text)
        if not typed:
            msg = "The typed rule text holds no alerting rule (needs alert: and expr:)."
            raise WorkbenchError(msg)
        return typed[0], typed
    available = load_rules(prom) if rules in ("", "prometheus") else load_rules(rules)
    if not available:
        msg = f"No alerting rule found in {rules or 'prometheus'!r}."
        raise WorkbenchError(msg)
    if not alert:
        return available[0], available
    for r in available:
        if r.alert == alert:
            return r, available
    names = ", ".join(sorted({r.alert for r in available}))
    msg = f"No alerting rule named {alert!r} in {rules or 'prometheus'!r}; there are: {names}."
    raise WorkbenchError(msg)


# -- figures -----------------------------------------------------------------------------------

def slack_per_day(tuned: Tuned, tuning: Tuning, am_config: Any) -> float | None:
    """Slack messages per day Alertmanager would send for this candidate (all notifications
    when no receiver uses Slack); ``None`` without a configuration."""
    if am_config is None:
        return None
    from ..analysis.alertmanager import simulate

    t = tuning.matrix.eval_times_ms
    if t.size == 0:
        return 0.0
    sent = simulate(tuned.result.episodes, am_config, eval_interval=f"{tuning.interval_ms}ms",
                    end=int(t[-1]) / 1000)
    slack = sent.filter(pl.col("integration").str.starts_with("slack"))
    return (slack.height if slack.height or sent.height == 0 else sent.height) / tuning.days


def counters_html(tuned: Tuned, slack: float | None = None) -> str:
    """The live counters as one line of HTML (class ``workbench-counters``)."""
    f = tuned.figures
    items = [("episodes", f"{f['episodes']}"), ("alerts fired", f"{f['alerts_fired']}"),
             ("fired per day", f"{f['fired_per_day']:.3g}"),
             ("firing share per alert",
              f"{f['firing_share'] / max(f['identities_fired'], 1):.1%}"),
             ("flapping", f"{f['flapping']}"),
             ("still firing", f"{f['still_firing']}")]
    if "incidents" in f:
        delay = f["median_delay_s"]
        items += [("incidents caught", f"{f['incidents_caught']} / {f['incidents']}"),
                  ("median delay", "–" if delay is None else format_duration(
                      round(delay * 1000))),
                  ("alerts outside incidents", f"{f['alerts_outside']}")]
    if slack is not None:
        items.append(("Slack messages per day", f"{slack:.3g}"))
    cells = "".join(
        f'<span class="workbench-counter" data-name="{html.escape(k)}" style="display:inline-block;'
        f'margin:0 18px 6px 0"><span style="color:#57606a;font-size:11px">{html.escape(k)}'
        f'</span><br><b style="font-size:18px">{html.escape(v)}</b></span>'
        for k, v in items)
    return f'<div class="workbench-counters">{cells}</div>'


def _title(tuned: Tuned) -> str:
    r = tuned.result.rule
    return (f"{r.alert}: {r.condition}   for {format_duration(r.for_ms)}, keep_firing_for "
            f"{format_duration(r.keep_firing_for_ms)}")[:160]


def tuning_views(tuning: Tuning, tuned: Tuned, *, slack: float | None = None,
                 heatmap: pl.DataFrame | None = None, series: pl.DataFrame | None = None,
                 ) -> list[Any]:
    """Counters, chart and heat map for one candidate, as objects for ``display(*views)``."""
    from IPython.display import HTML

    from ..charts.tuning import heatmap_chart, tuning_chart

    r = tuned.result.rule
    views: list[Any] = [HTML(counters_html(tuned, slack)),
                        tuning_chart(tuning.series() if series is None else series,
                                     episode_bands(tuned.result), threshold=r.threshold,
                                     title=_title(tuned))]
    if heatmap is not None and heatmap.height:
        views.append(heatmap_chart(heatmap, current=(r.threshold, r.for_ms / 1000),
                                   title="Alerts per day by threshold and for"
                                   if r.is_threshold else "Alerts per day by for"))
    return views


def _exports(tuned: Tuned, directory: Path, kind: str) -> tuple[Path, str]:
    rule = tuned.result.rule
    directory.mkdir(parents=True, exist_ok=True)
    stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in rule.alert)
    if kind == "rule file":
        text = rule.to_rule_file(group=rule.group or "workbench", interval=rule.interval)
        path = directory / f"{stem}.rules.yml"
        path.write_text(text)
        return path, text
    if kind == "PrometheusRule":
        name = "".join(c if c.isalnum() else "-" for c in rule.alert.lower()).strip("-")
        text = rule.to_prometheus_rule(name or "workbench-rule", "monitoring",
                                       group=rule.group, interval=rule.interval)
        path = directory / f"{stem}.prometheusrule.yaml"
        path.write_text(text)
        return path, text
    path = tuned.result.to_promtool_test(directory, stem=stem)
    return path, path.read_text()


# -- the tuner ---------------------------------------------------------------------------------

def _choice(value_ms: int, choices: Sequence[str]) -> list[str]:
    out = list(choices)
    own = format_duration(value_ms)
    if own not in out:
        out.append(own)
        out.sort(key=parse_duration_ms)
    return out


def threshold_tuner(prom: Prometheus, rule: Rule, start: Any, end: Any = "now",
                    interval: Any = None, *, rules: Sequence[Rule] = (),
                    incidents: pl.DataFrame | None = None, am_config: Any = None,
                    output_dir: str | Path = "tuned-rules") -> ipywidgets.VBox:
    """Sliders for threshold, ``for`` and ``keep_firing_for`` over a rule's backtest, with live
    counters, the chart, the heat map and buttons writing the rule file, PrometheusRule and
    promtool test.

    The returned box has ``.sliders`` (``threshold``, ``for``, ``keep_firing_for``),
    ``.rule_picker``, ``.buttons``, ``.state`` (``"tuning"``, ``"tuned"``, ``"slack"``) and
    ``.outputs`` (``counters``, ``chart``, ``heatmap``, ``yaml``).
    """
    import ipywidgets as w
    from IPython.display import HTML, display

    from ..charts import chart_html
    from ..charts.tuning import heatmap_chart, tuning_chart

    state: dict[str, Any] = {}
    cache: dict[str, Tuning] = {}
    counters = w.HTML()
    chart_out, heat_out, yaml_out = w.Output(), w.Output(), w.HTML()
    status = w.HTML()
    thr = w.FloatSlider(description="threshold", continuous_update=False, readout_format=".4g",
                        style={"description_width": "110px"}, layout=w.Layout(width="520px"))
    for_s = w.SelectionSlider(options=FOR_CHOICES, value="0s", description="for",
                              continuous_update=False, style={"description_width": "110px"},
                              layout=w.Layout(width="520px"))
    keep = w.SelectionSlider(options=KEEP_CHOICES, value="0s", description="keep_firing_for",
                             continuous_update=False, style={"description_width": "110px"},
                             layout=w.Layout(width="520px"))
    names = [r.alert for r in rules] or [rule.alert]
    picker = w.Dropdown(options=names, value=rule.alert, description="rule",
                        style={"description_width": "110px"}, layout=w.Layout(width="520px"))
    by_name = {r.alert: r for r in rules} | {rule.alert: rule}
    muted = {"on": False}

    def recompute(_: Any = None, *, heat: bool = False) -> None:
        if muted["on"]:
            return
        tuning: Tuning = state["tuning"]
        tuned = tuning.evaluate(thr.value if tuning.rule.is_threshold else None, for_s.value,
                                keep.value)
        state["tuned"] = tuned
        state["slack"] = slack_per_day(tuned, tuning, am_config)
        counters.value = counters_html(tuned, state["slack"])
        r = tuned.result.rule
        if heat or "heatmap" not in state:
            state["heatmap"] = tuning.heatmap(for_=HEATMAP_FOR, keep_firing_for=keep.value)
        # The charts are built by our code from checked columns: skip altair's schema
        # validation (about 0.3 s a chart), which dominates an interaction otherwise.
        with chart_out:
            chart_out.clear_output(wait=True)
            display(HTML(chart_html(tuning_chart(
                state["series"], episode_bands(tuned.result), threshold=r.threshold,
                title=_title(tuned)).to_dict(validate=False))))
        with heat_out:
            heat_out.clear_output(wait=True)
            display(HTML(chart_html(heatmap_chart(
                state["heatmap"], current=(r.threshold, r.for_ms / 1000)).to_dict(
                validate=False))))

    def load(name: str) -> None:
        if name not in cache:
            status.value = f"<i>fetching {html.escape(name)} ...</i>"
            cache[name] = fetch_tuning(prom, by_name[name], start, end, interval,
                                       incidents=incidents)
        tuning = cache[name]
        state["tuning"] = tuning
        state["series"] = tuning.series()
        state.pop("heatmap", None)
        muted["on"] = True
        try:
            if tuning.rule.is_threshold:
                lo, hi, step = tuning.threshold_range()
                thr.min, thr.max = -1e300, 1e300
                thr.step = step
                thr.min, thr.max = lo, hi
                thr.value = float(tuning.rule.threshold)            # type: ignore[arg-type]
                thr.disabled = False
            else:
                thr.disabled = True
            for_s.options = _choice(tuning.rule.for_ms, FOR_CHOICES)
            for_s.value = format_duration(tuning.rule.for_ms)
            keep.options = _choice(tuning.rule.keep_firing_for_ms, KEEP_CHOICES)
            keep.value = format_duration(tuning.rule.keep_firing_for_ms)
        finally:
            muted["on"] = False
        note = "" if tuning.rule.is_threshold else \
            " (not <code>expr op number</code>: no threshold to tune)"
        status.value = (f"{tuning.matrix.values.shape[0]} series x "
                        f"{tuning.matrix.eval_times_ms.shape[0]} evaluations every "
                        f"{format_duration(tuning.interval_ms)}{note}")
        recompute(heat=True)

    def write(kind: str) -> None:
        try:
            path, text = _exports(state["tuned"], Path(output_dir), kind)
            body = (f"<b>{html.escape(kind)}</b> written to <code>{html.escape(str(path))}</code>"
                    f"<pre style='max-height:360px;overflow:auto'>{html.escape(text)}</pre>")
        except WorkbenchError as exc:
            body = f"<b>{html.escape(kind)}</b> failed: {html.escape(str(exc))}"
        yaml_out.value = body

    thr.observe(lambda _: recompute(), names="value")
    for_s.observe(lambda _: recompute(), names="value")
    keep.observe(lambda _: recompute(heat=True), names="value")
    picker.observe(lambda ch: load(ch["new"]), names="value")
    buttons = {k: w.Button(description=f"Write {k}", layout=w.Layout(width="200px"))
               for k in ("rule file", "PrometheusRule", "promtool test")}
    for k, b in buttons.items():
        b.on_click(lambda _, k=k: write(k))
    load(rule.alert)
    box = w.VBox([picker, thr, for_s, keep, status, counters, chart_out, heat_out,
                  w.HBox(list(buttons.values())), yaml_out])
    box.add_class("workbench-threshold-tuner")
    box.sliders = {"threshold": thr, "for": for_s, "keep_firing_for": keep}
    box.rule_picker = picker
    box.buttons = buttons
    box.state = state
    box.outputs = {"counters": counters, "chart": chart_out, "heatmap": heat_out,
                   "yaml": yaml_out}
    return box


def threshold_tuning_report(prom: Prometheus, rule: Rule, start: Any, end: Any = "now",
                            interval: Any = None, *, rules: Sequence[Rule] = (),
                            incidents: pl.DataFrame | None = None, am_config: Any = None,
                            interactive: bool, threshold: float | str | None = None,
                            for_: str | None = None, keep_firing_for: str | None = None,
                            output_dir: str | Path = "tuned-rules",
                            ) -> tuple[list[Any], dict[str, Any]]:
    """What the notebook displays, and its key figures: ``[threshold_tuner(...)]`` when
    interactive, else the static views of the rule's (or the given) candidate plus its rule
    file."""
    if interactive:
        box = threshold_tuner(prom, rule, start, end, interval, rules=rules, incidents=incidents,
                              am_config=am_config, output_dir=output_dir)
        tuned = box.state["tuned"]
        return [box], _figures(tuned, box.state["slack"])
    from IPython.display import HTML

    tuning = fetch_tuning(prom, rule, start, end, interval, incidents=incidents)
    thr = None if threshold in (None, "") or not tuning.rule.is_threshold else float(threshold)
    tuned = tuning.evaluate(thr, for_ or None, keep_firing_for or None)
    slack = slack_per_day(tuned, tuning, am_config)
    heat = tuning.heatmap(for_=HEATMAP_FOR)
    views = tuning_views(tuning, tuned, slack=slack, heatmap=heat)
    text = tuned.result.rule.to_rule_file(group=rule.group or "workbench",
                                          interval=rule.interval, check=False)
    views.append(HTML(f"<h3>Rule file</h3><pre style='font-family:monospace;font-size:12px'>"
                      f"{html.escape(text)}</pre>"))
    return views, _figures(tuned, slack)


def _figures(tuned: Tuned, slack: float | None) -> dict[str, Any]:
    f = tuned.figures
    out = {"alert": tuned.result.rule.alert, "threshold": tuned.result.rule.threshold,
           "alerts_fired": f["alerts_fired"], "fired_per_day": round(f["fired_per_day"], 3)}
    if "incidents" in f:
        out["incidents_missed"] = f["incidents_missed"]
    if slack is not None:
        out["slack_per_day"] = round(slack, 3)
    return out


def rules_audit_views(audit: pl.DataFrame, *, source: str, window: str) -> list[Any]:
    """The rules audit page: a headline, the counts per finding, the table (most attention
    first)."""
    from IPython.display import HTML

    from ..charts.tuning import rules_audit_table

    kinds: dict[str, int] = {}
    for notes in audit["findings"].to_list():
        for n in notes:
            key = n.split(":")[0]
            kinds[key] = kinds.get(key, 0) + 1
    flagged = int((audit["findings"].list.len() > 0).sum())
    head = (f"<h2>{audit.height} alerting rules from {html.escape(source)}, {flagged} with "
            f"findings ({html.escape(window)})</h2>")
    summary = ", ".join(f"{v} {html.escape(k)}" for k, v in sorted(
        kinds.items(), key=lambda kv: -kv[1])) or "no findings"
    return [HTML(head + f"<p>{summary}</p>"), rules_audit_table(audit)]
