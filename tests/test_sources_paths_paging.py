"""URLs the client builds cannot be bent by a value, a paging loop ends, and a metrics item
missing a field is an error rather than a zero."""

from __future__ import annotations

import orjson
import pytest

from workbench import KubeAPIError, MetricsServer, MetricsServerError, Prometheus
from workbench.sources.kubernetes.decode import decode_node_metrics, decode_pod_metrics

from .httpstub import Seen, http_stub

OK_VALUES = b'{"status":"success","data":["x"]}'


@pytest.mark.parametrize(("label", "segment"), [
    ("job", "job"),
    ("a/b", "a%2Fb"),
    ("x?match[]=up#", "x%3Fmatch%5B%5D%3Dup%23"),
    ("../../admin", "..%2F..%2Fadmin"),
    ("ünï cödé", "%C3%BCn%C3%AF%20c%C3%B6d%C3%A9"),
])
def test_label_values_encodes_the_name_as_one_path_segment(label: str, segment: str) -> None:
    with http_stub(lambda req, n: (200, {}, OK_VALUES)) as stub:
        frame = Prometheus(stub.url).label_values(label, match="up")
    path = stub.requests[0].path
    assert path.split("?")[0] == f"/api/v1/label/{segment}/values"
    assert "match%5B%5D=up" in path  # the real parameters are still there, once
    assert frame.columns == [label] and frame[label].to_list() == ["x"]


def _kube_client(url: str):  # type: ignore[no-untyped-def]
    from kubernetes.client import ApiClient, Configuration

    cfg = Configuration()
    cfg.host = url
    return ApiClient(cfg)


def _pod_list(token: str | None, names: list[str]) -> bytes:
    meta = {"resourceVersion": "1", **({"continue": token} if token else {})}
    return orjson.dumps({"kind": "PodList", "apiVersion": "v1", "metadata": meta, "items": [
        {"metadata": {"name": n, "namespace": "default"}, "spec": {"containers": [
            {"name": "c", "resources": {}}]}, "status": {"phase": "Running"}} for n in names]})


@pytest.mark.parametrize("tokens", [["same", "same", "same"], ["a", "b", "a", "b"]])
def test_a_continue_token_that_repeats_stops_with_an_error(tokens: list[str]) -> None:
    def serve(req: Seen, n: int) -> tuple[int, dict[str, str], bytes]:
        return 200, {"Content-Type": "application/json"}, _pod_list(
            tokens[min(n, len(tokens) - 1)], [f"p{n}"])

    with http_stub(serve) as stub:
        ms = MetricsServer(_kube_client(stub.url), chunk_size=1)
        with pytest.raises(KubeAPIError, match="same continue token twice"):
            ms.pod_specs()
    assert len(stub.requests) <= len(tokens) + 1


def test_a_continue_token_sequence_that_ends_is_followed() -> None:
    tokens = ["a", "b", None]

    def serve(req: Seen, n: int) -> tuple[int, dict[str, str], bytes]:
        return 200, {"Content-Type": "application/json"}, _pod_list(tokens[n], [f"p{n}"])

    with http_stub(serve) as stub:
        specs = MetricsServer(_kube_client(stub.url), chunk_size=1).pod_specs()
    assert specs["pod"].to_list() == ["p0", "p1", "p2"]
    assert len(stub.requests) == 3


_ITEM = {"metadata": {"name": "n1"}, "timestamp": "2026-01-01T00:00:00Z", "window": "20s",
         "usage": {"cpu": "5n", "memory": "1Ki"}}


def _without(path: tuple[str, ...]) -> dict:
    item = orjson.loads(orjson.dumps(_ITEM))
    parent = item
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    return item


@pytest.mark.parametrize("path", [("usage",), ("usage", "cpu"), ("usage", "memory"),
                                  ("metadata",), ("metadata", "name"), ("timestamp",)])
def test_node_metrics_item_missing_a_field_is_an_error(path: tuple[str, ...]) -> None:
    body = orjson.dumps({"kind": "NodeMetricsList", "items": [_without(path)]})
    with pytest.raises(MetricsServerError, match=f"lacks the field '{path[-1]}'"):
        decode_node_metrics([body])


@pytest.mark.parametrize("item", [
    {**_ITEM, "usage": {"cpu": 5, "memory": "1Ki"}},
    {**_ITEM, "usage": {"cpu": "5n", "memory": "lots"}},
    {**_ITEM, "timestamp": "yesterday"},
    {**_ITEM, "metadata": "n1"},
    {**_ITEM, "usage": ["5n"]},
])
def test_node_metrics_item_of_the_wrong_shape_is_an_error(item: dict) -> None:
    with pytest.raises(MetricsServerError):
        decode_node_metrics([orjson.dumps({"kind": "NodeMetricsList", "items": [item]})])


def test_pod_metrics_container_without_usage_is_an_error() -> None:
    body = orjson.dumps({"kind": "PodMetricsList", "items": [
        {"metadata": {"name": "p", "namespace": "d"}, "timestamp": "2026-01-01T00:00:00Z",
         "window": "20s", "containers": [{"name": "c"}]}]})
    with pytest.raises(MetricsServerError, match="lacks the field 'usage'"):
        decode_pod_metrics([body])
    ok = orjson.dumps({"kind": "PodMetricsList", "items": [
        {"metadata": {"name": "p", "namespace": "d"}, "timestamp": "2026-01-01T00:00:00Z",
         "window": "20s", "containers": [{"name": "c", "usage": {"cpu": "7n", "memory": "2"}}]}]})
    frame = decode_pod_metrics([ok])
    assert frame["_cpu_n"].to_list() == [7] and frame["_mem_m"].to_list() == [2000]


@pytest.mark.parametrize("kwargs", [{"timeout": float("nan")}, {"timeout": -1},
                                    {"timeout": float("inf")}, {"timeout": "abc"},
                                    {"chunk_size": 0}, {"chunk_size": 1.5}])
def test_metrics_server_refuses_bad_settings(kwargs: dict) -> None:
    from workbench import ConfigError

    with pytest.raises(ConfigError, match=r"timeout|chunk_size"):
        MetricsServer(_kube_client("http://127.0.0.1:9"), **kwargs)


@pytest.mark.parametrize("kwargs", [{"count": "3"}, {"count": 0}, {"count": 2.5},
                                    {"what": "deployments"}, {"every": "soon"}])
def test_metrics_server_sample_refuses_bad_arguments(kwargs: dict) -> None:
    from workbench import ConfigError

    with pytest.raises(ConfigError):
        MetricsServer(_kube_client("http://127.0.0.1:9")).sample(**kwargs)
