"""Through a real ``vmauth`` to VictoriaMetrics on cluster-style tenant paths.

Two VictoriaMetrics single nodes answer under ``/select/42/prometheus`` and ``/select/7/prometheus``
(``-http.pathPrefix``, what a cluster's ``vmselect`` serves per tenant), each with its own
values. ``vmauth`` routes user ``alice`` (basic auth) to the first and the bearer token of ``bob``
to the second; the client only knows the proxy's URL with the tenant path and its credentials.
"""

from __future__ import annotations

import base64
import traceback
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from workbench import Prometheus, ServerHTTPError
from workbench.sources.prometheus import fetch_engine
from workbench.testing.openmetrics import OpenMetricsWriter
from workbench.testing.servers import ManagedProcess
from workbench.testing.victoria import (
    flush_victoria_metrics,
    import_openmetrics,
    start_victoria_metrics,
    start_vmauth,
)

from .conftest import require_binary

pytestmark = pytest.mark.server

BASE = 1_767_225_600
TENANTS = {"42": 42.0, "7": 7.0}
ALICE_PW = "alice-pass-0123456789"
BOB_TOKEN = "bob-token-abcdef0123456789"


def _write(path: Path, value: float) -> None:
    ts = BASE + np.arange(41) * 15.0
    with path.open("w") as fh:
        w = OpenMetricsWriter(fh)
        w.family("wb_tenant_value", "gauge", "The tenant's number, then one more per scrape.")
        w.series("wb_tenant_value", {"job": "t"}, ts, value + np.arange(41.0))
        w.close()


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    require_binary("victoria-metrics")
    require_binary("vmauth")
    root = tmp_path_factory.mktemp("vmauth")
    servers: list[ManagedProcess] = []
    try:
        bases = {}
        for tenant, value in TENANTS.items():
            vm = start_victoria_metrics(root / f"vm-{tenant}",
                                        path_prefix=f"/select/{tenant}/prometheus")
            servers.append(vm)
            _write(root / f"{tenant}.om", value)
            import_openmetrics(root / f"{tenant}.om", vm.url)
            flush_victoria_metrics(vm.url)
            bases[tenant] = f"http://127.0.0.1:{vm.extra['port']}"
        config = (
            "users:\n"
            f"  - username: alice\n    password: {ALICE_PW}\n    url_prefix: {bases['42']}\n"
            f"  - bearer_token: {BOB_TOKEN}\n    url_prefix: {bases['7']}\n"
        )
        auth = start_vmauth(config, root / "vmauth.yml")
        servers.append(auth)
        yield {"url": auth.url, **{f"direct-{t}": f"{bases[t]}/select/{t}/prometheus"
                                   for t in TENANTS}}
    finally:
        for s in reversed(servers):
            s.stop()


def test_each_user_reaches_its_tenant(proxy: dict[str, str]) -> None:
    alice = Prometheus(f"{proxy['url']}/select/42/prometheus", username="alice", password=ALICE_PW)
    bob = Prometheus(f"{proxy['url']}/select/7/prometheus", token=BOB_TOKEN)
    for prom, tenant, value in ((alice, "42", 42.0), (bob, "7", 7.0)):
        f = prom.query("wb_tenant_value", time=BASE + 150)
        assert f["value"].to_list() == [value + 10]
        r = prom.query_range("wb_tenant_value", BASE, BASE + 600, step=60)
        assert r["value"].to_list() == [value + 4 * k for k in range(11)]
        direct = Prometheus(proxy[f"direct-{tenant}"]).query_range(
            "wb_tenant_value", BASE, BASE + 600, step=60)
        assert r.equals(direct)
        assert prom.labels(match="wb_tenant_value") == ["__name__", "job"]
        assert prom.series("wb_tenant_value", BASE, BASE + 600).height == 1
        assert prom.label_values("job")["job"].to_list() == ["t"]
        assert fetch_engine(prom).name == "victoriametrics"


def test_wrong_or_missing_credentials_are_refused_without_echo(proxy: dict[str, str]) -> None:
    url = f"{proxy['url']}/select/42/prometheus"
    for prom in (Prometheus(url, username="alice", password=ALICE_PW[::-1], max_retries=0),
                 Prometheus(url, token=BOB_TOKEN[::-1], max_retries=0),
                 Prometheus(url, max_retries=0)):
        with pytest.raises(ServerHTTPError) as ei:
            prom.query("wb_tenant_value", time=BASE)
        # vmauth 1.79 answers 400 (later releases 401) and quotes the Authorization header it
        # could not match: "Basic <base64 of alice:password>" must not reach the error text.
        assert ei.value.status_code in (400, 401)
        text = "".join(traceback.format_exception(ei.value)) + repr(prom)
        basic = base64.b64encode(f"alice:{ALICE_PW[::-1]}".encode()).decode()
        for secret in (ALICE_PW, ALICE_PW[::-1], BOB_TOKEN, BOB_TOKEN[::-1], basic):
            assert secret not in text


def test_a_user_cannot_read_another_tenant_path(proxy: dict[str, str]) -> None:
    # alice's route ends at tenant 42's server: tenant 7's path does not exist there.
    prom = Prometheus(f"{proxy['url']}/select/7/prometheus", username="alice", password=ALICE_PW,
                      max_retries=0)
    with pytest.raises(ServerHTTPError) as ei:
        prom.query("wb_tenant_value", time=BASE)
    assert ei.value.status_code in (400, 404)
