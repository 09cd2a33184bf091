"""Every public entry point that runs without a server, fed generated garbage, raises only
:class:`~workbench.WorkbenchError` (or succeeds): never a raw TypeError, ValueError,
OverflowError, UnicodeError or polars error. Query entry points are also driven against a real
local HTTP server answering garbage bodies."""

from __future__ import annotations

import json
import math
import os
import tempfile
from contextlib import suppress
from pathlib import Path
from typing import Any

import orjson
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench import MetricsServer, PromConfig, Prometheus, Rule, Secret, WorkbenchError, frames
from workbench._quantity import parse_quantity, scaled_value
from workbench._time import check_plan, parse_duration_ms, parse_time_ms, plan_chunks
from workbench.analysis.alerting.backtest import evaluation_grid
from workbench.analysis.alerting.export import prometheus_rule_text, rule_file_text
from workbench.sources.kubernetes.decode import (
    decode_node_metrics,
    decode_nodes,
    decode_pod_metrics,
    decode_pod_specs,
)
from workbench.sources.prometheus.decode import (
    decode_api_response,
    decode_result,
    decode_result_generic,
)

from .httpstub import http_stub

SETTINGS = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

scalars = (st.none() | st.booleans() | st.integers() | st.integers(min_value=10**18)
           | st.floats() | st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 1e308, 5e-324])
           | st.text(max_size=40) | st.binary(max_size=20)
           | st.sampled_from(["", " ", "now", "now-", "now-1y", "1h", "-5m", "30s", "1e400",
                              "http://", "http://h:99999", "https://[::1", "\x00", "\ud7ff",
                              "\x85", "ünï☃", "9" * 400, "NaN", "inf", "1.5h", "a/b",
                              "http://127.0.0.1:0", "file:///etc/passwd"]))
garbage = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                       | st.dictionaries(st.text(max_size=8) | st.integers(), inner, max_size=4),
                       max_leaves=12)


def _only_ours(fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except WorkbenchError:
        return None


# -- times, durations, quantities, plans ------------------------------------------------------


@SETTINGS
@given(garbage, garbage)
def test_times_durations_quantities(a: Any, b: Any) -> None:
    _only_ours(parse_time_ms, a, now=lambda: 1_700_000_000_000)
    _only_ours(parse_duration_ms, a)
    if isinstance(a, str):
        _only_ours(parse_quantity, a)
        _only_ours(scaled_value, a, -3)
    if all(isinstance(x, int) and not isinstance(x, bool) for x in (a, b)):
        _only_ours(check_plan, a, b, 15_000)
        if abs(b - a) < 10**9:
            _only_ours(plan_chunks, a, b, 15_000)
    _only_ours(evaluation_grid, a, b, "1m")


# -- configuration --------------------------------------------------------------------------


@SETTINGS
@given(st.dictionaries(st.sampled_from(["url", "token", "username", "password", "ca_bundle",
                                        "verify", "headers", "timeout", "name",
                                        "query_params"]), garbage, max_size=6))
def test_promconfig_fields(fields: dict[str, Any]) -> None:
    fields.setdefault("url", "http://127.0.0.1:9090")
    cfg = _only_ours(PromConfig, **fields)
    if cfg is not None:
        assert isinstance(cfg.timeout, float) and 0 < cfg.timeout < math.inf
        repr(cfg)


@SETTINGS
@given(garbage, st.dictionaries(st.sampled_from([
    "token", "token_file", "username", "password", "ca_bundle", "verify", "headers", "timeout",
    "cache_dir", "max_workers", "max_retries", "progress", "config_path", "now",
    "max_points_total", "max_requests", "query_params"]), garbage, max_size=4))
def test_prometheus_constructor(target: Any, kwargs: dict[str, Any]) -> None:
    _only_ours(Prometheus, target, **kwargs)
    _only_ours(Prometheus, "http://127.0.0.1:9", **kwargs)
    _only_ours(Secret, target)
    _only_ours(Secret, path=target)


@SETTINGS
@given(st.dictionaries(st.sampled_from([
    "WORKBENCH_PROMETHEUS_URL", "WORKBENCH_PROMETHEUS_TOKEN", "WORKBENCH_PROMETHEUS_TIMEOUT",
    "WORKBENCH_PROMETHEUS_HEADERS", "WORKBENCH_PROMETHEUS_USERNAME",
    "WORKBENCH_PROMETHEUS_PASSWORD", "WORKBENCH_PROMETHEUS_INSECURE",
    "WORKBENCH_PROMETHEUS_QUERY_PARAMS", "WORKBENCH_PROMETHEUS_CA_BUNDLE"]),
    st.text(max_size=30) | st.sampled_from(["http://h:1", "nan", "-1", "inf", "1e999", "a=b,c"]),
    max_size=6))
def test_environment(environ: dict[str, str]) -> None:
    _only_ours(PromConfig.from_env, environ)


def _toml(value: Any) -> str:
    """A TOML value for ``value`` (None has no TOML form: an empty table stands in)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value == math.inf else "-inf"
                                                if value == -math.inf else repr(value))
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bytes):
        return json.dumps(value.decode("latin-1"))
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {_toml(v)}" for k, v in value.items()) + "}"
    return "{}"


@SETTINGS
@given(st.dictionaries(st.sampled_from([
    "url", "token_env", "token_file", "username", "password_env", "password_file", "ca_bundle",
    "verify", "headers", "timeout", "query_params", "extra"]), garbage, max_size=5),
    st.binary(max_size=60))
def test_profiles_with_bad_types_and_bad_bytes(table: dict[str, Any], raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.toml"
        body = "\n".join(f"{k} = {_toml(v)}" for k, v in table.items())
        path.write_text("[profiles.p]\n" + body + "\n")
        _only_ours(PromConfig.from_profile, "p", path, {"V": "x"})
        _only_ours(Prometheus, "p", config_path=path)
        path.write_bytes(raw)
        _only_ours(PromConfig.from_profile, "p", path, {})


def test_known_bad_configuration_values_name_the_value_and_fix(tmp_path: Path) -> None:
    cases: list[tuple[Any, str]] = [
        (lambda: PromConfig(url="http://h:9090", timeout=math.nan), "nan"),
        (lambda: PromConfig(url="http://h:9090", timeout=math.inf), "inf"),
        (lambda: PromConfig(url="http://h:9090", timeout=-1), "-1"),
        (lambda: Prometheus("http://h:99999"), "99999"),
        (lambda: Prometheus("http://h:0"), "port 0"),
        (lambda: Prometheus("http://h:9090", timeout="soon"), "soon"),
        (lambda: Prometheus("http://h:9090").query("up", timeout=math.nan), "nan"),
        (lambda: Prometheus("https://127.0.0.1:1", ca_bundle=str(tmp_path / "none.pem")).query("up"),
         "none.pem"),
        (lambda: Prometheus("https://127.0.0.1:1", ca_bundle=str(bad_ca)).query("up"), "bad.pem"),
        (lambda: Prometheus(5), "int"),
        (lambda: Prometheus("p", config_path=latin1), "UTF-8"),
        (lambda: Prometheus("p", config_path=typed), "timeout"),
        (lambda: evaluation_grid(2_000, 1_000, "1m"), "before"),
    ]
    bad_ca = tmp_path / "bad.pem"
    bad_ca.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes('[profiles.p]\nurl = "http://h:9090"\nusername = "j\xfcrgen"\n'
                       .encode("latin-1"))
    typed = tmp_path / "typed.toml"
    typed.write_text('[profiles.p]\nurl = "http://h:9090"\ntimeout = "60s"\n')
    for call, needle in cases:
        try:
            call()
        except WorkbenchError as exc:
            assert needle in str(exc), (needle, str(exc))
            assert "Fix" in str(exc) or "must" in str(exc), str(exc)
        else:
            raise AssertionError(f"no error for {needle}")


# -- rules and exports --------------------------------------------------------------------------


@SETTINGS
@given(st.dictionaries(st.sampled_from(["alert", "expr", "op", "threshold", "for_",
                                        "keep_firing_for", "labels", "annotations", "interval"]),
                       garbage, max_size=6), garbage)
def test_rules_and_exports(kwargs: dict[str, Any], node: Any) -> None:
    kwargs.setdefault("alert", "X")
    kwargs.setdefault("expr", "up")
    rule = _only_ours(Rule, **kwargs)
    _only_ours(Rule.from_dict, node)
    if isinstance(node, dict):
        _only_ours(Rule.from_dict, {"alert": "A", "expr": "up", **node})
    if rule is not None:
        _only_ours(rule_file_text, [rule], check=False)
        _only_ours(prometheus_rule_text, [rule], name=kwargs["alert"], namespace="ns",
                   labels=node if isinstance(node, dict) else None, check=False)


# -- frames and decoders ----------------------------------------------------------------------


@SETTINGS
@given(garbage)
def test_frames_helpers(value: Any) -> None:
    _only_ours(frames.label_column, value)
    _only_ours(frames.series_keys, value)
    _only_ours(frames.to_pandas, value, wide=True)


def _dumps(value: Any) -> bytes:
    """JSON-ish text of anything (NaN/Infinity tokens and huge integers included)."""
    return json.dumps(value, default=str).encode("utf-8", "surrogatepass")


json_garbage = garbage.map(_dumps)
envelopes = st.builds(
    lambda kind, result, warns: _dumps(
        {"status": "success", "data": {"resultType": kind, "result": result},
         **({"warnings": warns} if warns is not None else {})}),
    st.sampled_from(["matrix", "vector", "scalar", "string", "x"]) | garbage, garbage,
    st.none() | garbage)
bodies = st.binary(max_size=200) | json_garbage | envelopes


@SETTINGS
@given(bodies)
def test_decoders_on_garbage(body: bytes) -> None:
    for fn in (decode_result, decode_result_generic, decode_api_response):
        _only_ours(fn, body)
    for fn in (decode_node_metrics, decode_pod_metrics, decode_nodes, decode_pod_specs):
        _only_ours(fn, [body])
        _only_ours(fn, [orjson.dumps({"kind": "List", "items": [orjson.loads(body)]})]
                   if _is_json(body) else [body])


def _is_json(body: bytes) -> bool:
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    return True


# -- against a real local server answering garbage ------------------------------------------


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(st.lists(bodies, min_size=1, max_size=3), st.sampled_from([200, 400, 401, 422, 500, 503]))
def test_query_entry_points_against_a_server_answering_garbage(replies: list[bytes],
                                                                status: int) -> None:
    with http_stub(lambda req, n: (status, {}, replies[n % len(replies)])) as stub:
        prom = Prometheus(stub.url, max_retries=0, timeout=5)
        calls = [lambda: prom.query("up"), lambda: prom.query_range("up", 0, 120, step=60),
                 lambda: prom.query_range("up", 0, 600, step=60, max_points=3),
                 prom.labels, lambda: prom.label_values("job"), lambda: prom.series("up"),
                 prom.targets, prom.alerts, prom.rules, prom.build_info, prom.tsdb_status]
        for call in calls:
            with suppress(WorkbenchError):
                result = call()
                assert isinstance(result, pl.DataFrame | list)


def test_metrics_server_against_a_server_answering_garbage() -> None:
    from kubernetes.client import ApiClient, Configuration

    replies = [b"<html>", b"[]", b'{"items": 5}', b'{"items": [{"metadata": 1}]}',
               b'{"kind":"NodeMetricsList","items":[{"metadata":{"name":"n"}}]}', b"\xff\xfe"]
    for body in replies:
        with http_stub(lambda req, n, b=body: (200, {"Content-Type": "application/json"}, b)) \
                as stub:
            cfg = Configuration()
            cfg.host = stub.url
            ms = MetricsServer(ApiClient(cfg), timeout=5)
            for call in (ms.nodes, ms.pods, ms.pod_specs, ms.top_nodes, ms.top_pods):
                with suppress(WorkbenchError):
                    call()
    assert os.environ.get("WORKBENCH_PROMETHEUS_URL") is None


# -- report parameters --------------------------------------------------------------------------


@SETTINGS
@given(st.dictionaries(st.sampled_from(["prometheus", "window", "step", "n", "ratio",
                                        "interactive", "token", "nope"]) | st.text(max_size=8),
                       garbage, max_size=4),
       st.lists(st.text(max_size=30) | st.sampled_from(["ratio=nan", "n=" + "9" * 5000,
                                                         "interactive=maybe", "=", "token=x"]),
                max_size=4))
def test_report_parameters(values: dict[str, Any], items: list[str]) -> None:
    from workbench.reports._params import parse_cli_params, validate_parameters
    from workbench.reports._registry import Parameter, ReportSpec

    spec = ReportSpec("r", None, "", (
        Parameter("prometheus", "str", "demo"), Parameter("window", "str", "now-1h"),
        Parameter("n", "int", 3), Parameter("ratio", "float", 0.5),
        Parameter("interactive", "bool", True)))
    _only_ours(validate_parameters, spec, values)
    parsed = _only_ours(parse_cli_params, spec, items)
    if parsed is not None:
        _only_ours(validate_parameters, spec, parsed)


# -- pure analysis entry points -------------------------------------------------------------


@SETTINGS
@given(st.lists(garbage, min_size=4, max_size=4))
def test_analysis_entry_points_refuse_what_is_not_a_frame(args: list[Any]) -> None:
    from workbench.analysis import nodes
    from workbench.analysis.alerting import (
        alert_samples,
        alert_states,
        backtest_matrix,
        sweep_matrix,
    )

    a, b, c, d = args
    for call in (lambda: nodes.node_names(a), lambda: nodes.derive_series(a),
                 lambda: nodes.sustained(a, b, c), lambda: nodes.availability(a, b, c, d),
                 lambda: nodes.reboots(a), lambda: nodes.fs_forecast(a),
                 lambda: nodes.chart_rows(a, b), lambda: nodes.top_devices(a, b),
                 lambda: nodes.key_figures(a), lambda: nodes.resource_frame(a, b),
                 lambda: nodes.use_summary(a), lambda: nodes.chart_rows(frames.empty_frame(), a),
                 lambda: nodes.sustained(frames.empty_frame(), a, b),
                 lambda: nodes.top_devices(frames.empty_frame(), a),
                 lambda: alert_states(a, b, c), lambda: alert_samples(a, b),
                 lambda: backtest_matrix(a, b, c), lambda: sweep_matrix(a, b, c, interval_ms=d)):
        _only_ours(call)
