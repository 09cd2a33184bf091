"""Garbage in, only :class:`~workbench.WorkbenchError` out, for the analysis packages that landed
after ``test_garbage_inputs.py``: ``workbench.alertmanager`` (config, routes, matchers),
``workbench.alert_history`` and ``workbench.events`` (pure frame functions), the
``workbench.alerting`` loaders, audit and tuning helpers, and the Alertmanager and Kubernetes
events clients (driven against a local server answering garbage)."""

from __future__ import annotations

import math
import tempfile
from contextlib import suppress
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from workbench import Prometheus, WorkbenchError
from workbench.analysis import alert_history, events
from workbench.analysis.alerting import (
    backtest_rules,
    incident_score,
    incidents_from_ground_truth,
    load_incidents,
    load_rules,
    rules_audit,
    threshold_rule,
)
from workbench.analysis.alerting.tuning import nice_thresholds, series_label
from workbench.analysis.alertmanager import AlertmanagerConfig, Matcher, parse_matchers
from workbench.frames import TIMESTAMP
from workbench.sources.alertmanager import Alertmanager, alerts_frame

from .httpstub import http_stub
from .test_garbage_inputs import SETTINGS as _BASE
from .test_garbage_inputs import _dumps, _only_ours, bodies, garbage

SETTINGS = settings(_BASE, max_examples=40)

# -- strategies ---------------------------------------------------------------------------------

_DTYPES: list[Any] = [pl.String, pl.Float64, pl.Int64, TIMESTAMP, pl.Boolean, pl.Null,
                      pl.Datetime("ms"), pl.List(pl.String)]
_CELLS: dict[str, Any] = {
    "String": st.none() | st.text(max_size=6) | st.sampled_from(["firing", "pending", "Mon", ""]),
    "Float64": st.none() | st.floats() | st.sampled_from([math.nan, math.inf, -math.inf]),
    "Int64": st.none() | st.integers(-(2**62), 2**62),
    "Boolean": st.none() | st.booleans(),
    "Null": st.none(),
    "List(String)": st.none() | st.lists(st.text(max_size=3), max_size=2),
}


@st.composite
def garbage_frames(draw: st.DrawFn, columns: tuple[str, ...]) -> pl.DataFrame:
    """A polars frame holding a random subset of ``columns`` (plus an odd one), each of a random
    dtype, 0-4 rows of nulls, NaN, infinities, huge times and empty text."""
    names = draw(st.lists(st.sampled_from([*columns, "x", "alertname", "value", "timestamp"]),
                          unique=True, max_size=len(columns) + 2))
    if draw(st.booleans()):
        names = list(dict.fromkeys([*columns, *names]))
    n = draw(st.integers(0, 4))
    data: dict[str, pl.Series] = {}
    for name in names:
        dtype = draw(st.sampled_from(_DTYPES))
        if dtype in (TIMESTAMP,) or isinstance(dtype, pl.Datetime):
            cells = st.none() | st.integers(-(2**40), 2**45)
            values = draw(st.lists(cells, min_size=n, max_size=n))
            data[name] = pl.Series(name, values, dtype=pl.Int64).cast(dtype)
        else:
            values = draw(st.lists(_CELLS[str(dtype)], min_size=n, max_size=n))
            data[name] = pl.Series(name, values, dtype=dtype)
    return pl.DataFrame(list(data.values())) if data else pl.DataFrame()


def frames_or_garbage(columns: tuple[str, ...]) -> st.SearchStrategy[Any]:
    return garbage_frames(columns) | garbage


EPISODE_COLUMNS = ("alertname", "severity", "namespace", "active_at", "fired_at", "resolved_at",
                   "pending_s", "firing_s")
SAMPLE_COLUMNS = ("timestamp", "value", "alertname", "alertstate", "__name__", "instance")
OCC_COLUMNS = ("timestamp", "value", "namespace", "pod", "container", "reason", "start", "end",
               "count", "value_max", "value_sum")
AUDIT_COLUMNS = ("alert", "group", "alerts_fired", "fired_per_day", "firing_share", "flapping",
                 "for_s", "interval_s", "severity", "has_summary", "error", "identities_fired")
INCIDENT_COLUMNS = ("start", "end", "incident", "alertname", "instance")


def _yaml_text(value: Any) -> str:
    """JSON is YAML: garbage nested values as a YAML document."""
    return _dumps(value).decode("utf-8", "replace")


ROUTE_KEYS = ["receiver", "group_by", "group_wait", "group_interval", "repeat_interval",
              "continue", "match", "match_re", "matchers", "routes", "mute_time_intervals",
              "active_time_intervals"]
TOP_KEYS = ["global", "route", "receivers", "inhibit_rules", "time_intervals",
            "mute_time_intervals", "templates"]


@st.composite
def alertmanager_documents(draw: st.DrawFn) -> str:
    """A mostly valid Alertmanager config with garbage planted in some fields."""
    child = draw(st.dictionaries(st.sampled_from(ROUTE_KEYS), garbage, max_size=4))
    root: dict[str, Any] = {"receiver": "r", "group_by": ["alertname"],
                            "routes": [{"receiver": "r", **child}]}
    root.update(draw(st.dictionaries(st.sampled_from(ROUTE_KEYS), garbage, max_size=2)))
    interval = draw(st.dictionaries(st.sampled_from(
        ["times", "weekdays", "days_of_month", "months", "years", "location"]),
        garbage | st.lists(st.dictionaries(st.sampled_from(["start_time", "end_time"]),
                                           garbage, max_size=2), max_size=2), max_size=3))
    doc: dict[str, Any] = {
        "route": root,
        "receivers": [{"name": "r", **draw(st.dictionaries(st.sampled_from(
            ["slack_configs", "webhook_configs", "email_configs", "name"]), garbage,
            max_size=2))}],
        "time_intervals": [{"name": "t", "time_intervals": [interval]}],
        "inhibit_rules": draw(garbage),
    }
    doc.update(draw(st.dictionaries(st.sampled_from(TOP_KEYS), garbage, max_size=2)))
    return _yaml_text(doc)


yaml_texts = (st.text(max_size=80) | garbage.map(_yaml_text) | alertmanager_documents()
              | st.sampled_from(["route: [", "!!python/object:os.system x", "&a [*a]",
                                 "route:\n  receiver: r\nreceivers:\n- name: r\n",
                                 "a: &x 1\nb: *y\n", "\t", "%YAML 9.9\n---\n", "? [a]\n: 1"]))


# -- workbench.alertmanager -------------------------------------------------------------------


_VALID = "route:\n  receiver: r\n  routes:\n  - receiver: r\n    matchers: [a=~\"x.*\"]\n" \
         "receivers:\n- name: r\n"


_TI = ('route:\n  receiver: r\nreceivers:\n- name: r\ntime_intervals:\n- name: t\n'
       '  time_intervals:\n  - ')


@SETTINGS
@given(yaml_texts, garbage, garbage)
@example("&0 [*0]", None, None)                         # recursive alias: RecursionError
@example("? [a]\n: 1\n", b"\xff", None)                 # unhashable key; bytes not UTF-8
@example('receivers: [{name: [null]}]\nroute: {receiver: r}', None, {"a": 1})
@example(_TI + "times: [null]", 5, None)                 # AttributeError in time intervals
@example(_TI + "times: true", None, None)                # TypeError in time intervals
@example(_TI + "location: [1, 2]", None, None)           # OSError from ZoneInfo
def test_alertmanager_config_text_bytes_and_objects(text: str, obj: Any, labels: Any) -> None:
    _only_ours(AlertmanagerConfig.from_yaml, text)
    _only_ours(AlertmanagerConfig.from_yaml, text.encode("utf-8", "surrogatepass"))
    _only_ours(AlertmanagerConfig.from_yaml, obj)
    _only_ours(AlertmanagerConfig.from_file, obj)
    cfg = AlertmanagerConfig.from_yaml(_VALID)
    _only_ours(cfg.route, labels)
    _only_ours(cfg.route, {"a": labels})


@SETTINGS
@given(st.binary(max_size=80) | yaml_texts.map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_alertmanager_config_files_with_bad_bytes(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "alertmanager.yml"
        path.write_bytes(raw)
        _only_ours(AlertmanagerConfig.from_file, path)
        _only_ours(AlertmanagerConfig.from_file, Path(tmp))
        _only_ours(alert_history.load_alertmanager_config, str(path))


@SETTINGS
@given(garbage, garbage, garbage)
@example("0", None, None)                                # MatcherError was a bare ValueError
@example(None, None, None)
@example(b"", [], None)
@example("a{99999999999}", None, None)
def test_matchers(a: Any, b: Any, c: Any) -> None:
    _only_ours(parse_matchers, a)
    _only_ours(Matcher.new, a, b, c)
    _only_ours(Matcher.new, "a", "=~", a)
    if isinstance(a, str):
        _only_ours(parse_matchers, "{" + a + "}")
        _only_ours(parse_matchers, f'x=~"{a}"')


# -- workbench.alerting: loaders, incidents, audit, tuning, batch --------------------------------


@SETTINGS
@given(yaml_texts | garbage)
def test_load_rules_on_garbage_text_paths_and_objects(source: Any) -> None:
    if isinstance(source, str) and not source.strip():
        source += "\n"
    _only_ours(load_rules, source)
    _only_ours(load_rules, [source])
    if isinstance(source, str) and "\n" not in source:
        _only_ours(load_rules, source + "\n")


@SETTINGS
@given(garbage.map(lambda g: {"groups": [{"name": "g", "rules": [g]}]})
       | garbage.map(lambda g: {"groups": g})
       | garbage.map(lambda g: {"groups": [{"name": g, "interval": g, "rules": [
           {"alert": "A", "expr": "up > 1"}]}]}),
       st.binary(max_size=60))
def test_load_rules_on_garbage_files(doc: Any, raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rules.yml"
        path.write_text(_yaml_text(doc))
        rules = _only_ours(load_rules, path)
        for rule in rules or []:
            _only_ours(threshold_rule, rule)
        path.write_bytes(raw)
        _only_ours(load_rules, path)
        _only_ours(load_rules, tmp)
        _only_ours(load_rules, str(Path(tmp) / "*.yml"))


@SETTINGS
@given(frames_or_garbage(INCIDENT_COLUMNS), garbage)
def test_incidents(frame: Any, gt: Any) -> None:
    _only_ours(load_incidents, frame)
    _only_ours(incidents_from_ground_truth, gt)
    _only_ours(incidents_from_ground_truth, {"history": gt, "scenarios": gt})
    _only_ours(incidents_from_ground_truth, {"history": {"start_s": gt, "end_s": 1},
                                             "scenarios": {}}, oom_window=gt)


def test_incident_loaders_name_the_value_and_fix(tmp_path: Path) -> None:
    cases: list[tuple[Any, str]] = [
        (lambda: incidents_from_ground_truth(str(tmp_path / "missing.json")), "missing.json"),
        (lambda: incidents_from_ground_truth(5), "int"),  # type: ignore[arg-type]
        (lambda: load_incidents(5), "int"),  # type: ignore[arg-type]
        (lambda: incident_score(5, pl.DataFrame()), "int"),  # type: ignore[arg-type]
    ]
    for call, needle in cases:
        with pytest.raises(WorkbenchError) as info:
            call()
        assert needle in str(info.value), (needle, str(info.value))
        assert "Fix" in str(info.value), str(info.value)


@SETTINGS
@given(frames_or_garbage(AUDIT_COLUMNS), garbage, garbage)
def test_rules_audit(frame: Any, noisy: Any, share: Any) -> None:
    _only_ours(rules_audit, frame)
    _only_ours(rules_audit, frame, noisy_per_day=noisy, firing_share=share)


@SETTINGS
@given(garbage, garbage, garbage, garbage)
def test_tuning_helpers(low: Any, high: Any, n: Any, include: Any) -> None:
    _only_ours(nice_thresholds, low, high, n, include)
    _only_ours(series_label, low)
    _only_ours(series_label, {"instance": low}, n)


@SETTINGS
@given(garbage, garbage, garbage)
def test_backtest_rules_refuses_garbage_before_the_network(rules: Any, start: Any,
                                                           end: Any) -> None:
    prom = Prometheus("http://127.0.0.1:9", max_retries=0, timeout=1)
    _only_ours(backtest_rules, prom, rules, start, end)
    _only_ours(backtest_rules, rules, [], start)


# -- workbench.alert_history ---------------------------------------------------------------------


@SETTINGS
@given(frames_or_garbage(EPISODE_COLUMNS), garbage, garbage)
def test_alert_history_pure_functions(ep: Any, a: Any, b: Any) -> None:
    ah = alert_history
    for call in (lambda: ah.episode_labels(ep), lambda: ah.flaps(ep), lambda: ah.flaps(ep, a),
                 lambda: ah.alert_summary(ep), lambda: ah.alert_summary(ep, a),
                 lambda: ah.heatmap(ep), lambda: ah.heatmap(ep, tz=a),
                 lambda: ah.top_identities(ep), lambda: ah.top_identities(ep, a, end=b),
                 lambda: ah.filter_episodes(ep, severity=a, namespace=b),
                 lambda: ah.filter_episodes(ep, start=a, end=b),
                 lambda: ah.empty_episodes(a),
                 lambda: ah.messages_frame(ep, None, "x"), lambda: ah.messages_frame(a, b, a)):
        _only_ours(call)


@SETTINGS
@given(frames_or_garbage(SAMPLE_COLUMNS), frames_or_garbage(SAMPLE_COLUMNS), garbage, garbage)
def test_alert_history_episodes_from_samples(alerts: Any, for_state: Any, a: Any,
                                             b: Any) -> None:
    ah = alert_history
    _only_ours(ah.volatile_labels, alerts)
    _only_ours(ah.episodes_from_samples, alerts)
    _only_ours(ah.episodes_from_samples, alerts, for_state)
    _only_ours(ah.episodes_from_samples, alerts, None, end_ms=a, gap_tolerance_ms=b)
    _only_ours(ah.episodes_from_samples, alerts, None, volatile=a, interval_ms=b)


# -- workbench.events --------------------------------------------------------------------------


@SETTINGS
@given(frames_or_garbage(OCC_COLUMNS), garbage, garbage, garbage)
def test_events_pure_functions(frame: Any, keys: Any, a: Any, b: Any) -> None:
    for call in (lambda: events.occurrences(frame, ["namespace", "pod"], step_ms=60_000),
                 lambda: events.occurrences(frame, keys, step_ms=a, gap_ms=b),
                 lambda: events.fold(frame, source="s", reason="R", kind="Pod", name="pod"),
                 lambda: events.fold(frame, source=a, reason=b, kind=a, name=keys),
                 lambda: events.restart_bursts(frame, ["pod"], window_ms=600_000,
                                               min_restarts=3),
                 lambda: events.restart_bursts(frame, keys, window_ms=a, min_restarts=b)):
        _only_ours(call)


@SETTINGS
@given(st.lists(bodies | garbage.map(lambda g: _dumps({"kind": "EventList", "items": [g]}))
                | garbage.map(lambda g: _dumps({"items": [{"involvedObject": g, "count": g,
                                                           "firstTimestamp": g,
                                                           "series": g}]})),
                max_size=3))
@example([b""])                                          # bare orjson.JSONDecodeError
@example([b'{"items": [{"count": "x"}]}'])              # int("x") ValueError
@example([b'{"items": [5]}'])                            # AttributeError
def test_decode_events(bodies_: list[bytes]) -> None:
    _only_ours(events.decode_events, bodies_)


# -- clients against a local server answering garbage ------------------------------------------


alertmanager_bodies = (bodies
                       | garbage.map(lambda g: _dumps([g]))
                       | garbage.map(lambda g: _dumps({"config": g}))
                       | garbage.map(lambda g: _dumps({"config": {"original": g}}))
                       | yaml_texts.map(lambda t: _dumps({"config": {"original": t}}))
                       | garbage.map(lambda g: _dumps([{"labels": g, "status": g,
                                                        "startsAt": g, "receivers": g}]))
                       | garbage.map(lambda g: _dumps([{"id": "x", "matchers": g,
                                                        "status": g, "endsAt": g}])))


@SETTINGS
@given(st.lists(alertmanager_bodies, min_size=1, max_size=3),
       st.sampled_from([200, 400, 401, 404, 500]), garbage)
def test_alertmanager_client_against_a_server_answering_garbage(replies: list[bytes],
                                                                 status: int,
                                                                 posted: Any) -> None:
    from workbench.analysis.alertmanager import fetch_config

    with http_stub(lambda req, n: (status, {}, replies[n % len(replies)])) as stub:
        am = Alertmanager(stub.url, timeout=5)
        for call in (am.status, am.config_text, am.alerts, am.silences,
                     lambda: am.post_alerts(posted), lambda: am.post_alerts([posted]),
                     lambda: am.alerts(filter=posted), lambda: fetch_config(am)):
            with suppress(WorkbenchError):
                call()
        am.close()


@SETTINGS
@given(garbage, st.dictionaries(st.sampled_from(["token", "username", "password", "ca_bundle",
                                                  "verify", "headers", "timeout"]), garbage,
                                 max_size=3), garbage)
def test_alertmanager_constructor_and_alerts_frame(url: Any, kwargs: dict[str, Any],
                                                   items: Any) -> None:
    _only_ours(Alertmanager, url, **kwargs)
    _only_ours(alerts_frame, items)
    _only_ours(alerts_frame, [items])


@pytest.mark.parametrize("body", [b"<html>", b"[]", b'{"items": 5}', b'{"items": [5]}',
                                  b'{"items": [{"involvedObject": 1}]}', b"\xff\xfe",
                                  b'{"kind":"EventList","items":[{"count":"x"}]}'])
def test_kube_events_against_a_server_answering_garbage(body: bytes) -> None:
    from kubernetes.client import ApiClient, Configuration

    from workbench import MetricsServer

    with http_stub(lambda req, n: (200, {"Content-Type": "application/json"}, body)) as stub:
        cfg = Configuration()
        cfg.host = stub.url
        ms = MetricsServer(ApiClient(cfg), timeout=5)
        for ns in (None, "default"):
            with suppress(WorkbenchError):
                out = events.fetch_kube_events(ms, ns)
                assert isinstance(out, pl.DataFrame)

