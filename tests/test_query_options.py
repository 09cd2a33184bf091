"""Gateway options: Thanos ``dedup``/``partial_response`` and other URL parameters
(``query_params``), Mimir/Cortex ``X-Scope-OrgID`` (``headers``), from arguments, profiles and
the environment. Thanos and Mimir do not run here: the stub records what a gateway would receive.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import orjson
import pytest

from workbench import ConfigError, Prometheus
from workbench.sources.prometheus import PromConfig

from .httpstub import http_stub

MATRIX = orjson.dumps({"status": "success", "data": {"resultType": "matrix", "result": [
    {"metric": {"a": "b"}, "values": [[1000, "1"], [1060, "1"]]}]}})
LABELS = orjson.dumps({"status": "success", "data": ["x", "y"]})


def _reply(req, n):  # type: ignore[no-untyped-def]
    return 200, {}, LABELS if "/label/" in req.path else MATRIX


def _params(path: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(path).query))


def test_query_params_go_on_every_request() -> None:
    thanos = {"dedup": "true", "partial_response": "false"}
    with http_stub(_reply) as stub:
        prom = Prometheus(stub.url, query_params=thanos, headers={"X-Scope-OrgID": "team-a"})
        prom.query_range("up", 1000, 1060, 60)
        assert prom.label_values("job")["job"].to_list() == ["x", "y"]
    post, get = stub.requests
    assert (post.method, get.method) == ("POST", "GET")
    assert urlsplit(post.path).path == "/api/v1/query_range" and _params(post.path) == thanos
    assert b"query=up" in post.body and b"dedup" not in post.body
    assert urlsplit(get.path).path == "/api/v1/label/job/values" and _params(get.path) == thanos
    assert post.headers["X-Scope-OrgID"] == get.headers["X-Scope-OrgID"] == "team-a"
    assert "dedup" in repr(prom.config)


def test_query_params_separate_cache_entries(tmp_path: Path) -> None:
    with http_stub(_reply) as stub:
        for dedup in ("true", "false", "true"):
            Prometheus(stub.url, cache_dir=tmp_path, query_params={"dedup": dedup}).query_range(
                "up", 1000, 1060, 60)
    assert [_params(r.path) for r in stub.requests] == [{"dedup": "true"}, {"dedup": "false"}]
    assert len(list(tmp_path.rglob("*.parquet"))) == 2


def test_query_params_from_a_profile_and_the_environment(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[profiles.thanos]\nurl = "http://127.0.0.1:1"\n'
                   'query_params = { dedup = true, partial_response = false, max_source_resolution'
                   ' = "5m" }\nheaders = { "X-Scope-OrgID" = "team-b" }\n')
    c = PromConfig.from_profile("thanos", cfg)
    assert c.query_params == {"dedup": "true", "partial_response": "false",
                              "max_source_resolution": "5m"}
    assert c.headers == {"X-Scope-OrgID": "team-b"}
    e = PromConfig.from_env({"WORKBENCH_PROMETHEUS_URL": "http://h:9090",
                             "WORKBENCH_PROMETHEUS_QUERY_PARAMS": "dedup=false, nocache=1"})
    assert e.query_params == {"dedup": "false", "nocache": "1"}
    with pytest.raises(ConfigError, match="QUERY_PARAMS must look like"):
        PromConfig.from_env({"WORKBENCH_PROMETHEUS_URL": "http://h:9090",
                             "WORKBENCH_PROMETHEUS_QUERY_PARAMS": "dedup"})
