"""Shared fixtures: a clean environment, and a real Prometheus over known data."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from workbench._runtime import BINARY_PACKAGES
from workbench.testing.servers import (
    ManagedProcess,
    backfill_openmetrics,
    free_port,
    start_prometheus,
)

from . import promdata

ON_CI = os.environ.get("CI", "").lower() == "true"
_SCRUB = ("WORKBENCH_", "KUBECONFIG", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy",
          "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy")


RULES = """\
groups:
  - name: wb-test
    rules:
      - record: wb:gauge:sum
        expr: sum(wb_gauge)
      - alert: WbAlwaysFiring
        expr: vector(1)
        labels:
          severity: info
        annotations:
          summary: always firing
"""


#: Fixtures that start a real server binary: a test using one (directly or through another
#: fixture) is marked ``server`` automatically, so ``make test-fast`` (-m "not server") skips it.
SERVER_FIXTURES = frozenset({"prom_server", "prom_url", "node_prom", "small_demo", "vm_server",
                             "engine_url"})


#: Tests that start another heavy process (a Jupyter kernel, Chromium, kubectl against the
#: emulated API, pip, lint-imports) also count as ``server``: ``make test-fast`` leaves them out.
HEAVY_MODULES = frozenset({"test_kubectl_demo.py", "test_architecture.py",
                           "test_notebooks_browser.py"})
HEAVY_TESTS = frozenset({
    ("test_reports_cli.py", "test_good_then_failing_run_keeps_the_last_good_report"),
    ("test_reports_cli.py", "test_error_text_cannot_break_out_of_the_failure_banner"),
    ("test_reports_cli.py", "test_concurrent_runs_keep_every_record_and_the_newest_latest"),
    ("test_reports_cli.py", "test_cell_timeout_is_a_failure"),
    ("test_reports_cli.py", "test_sigterm_mid_run_is_recorded_and_keeps_the_last_good_report"),
    ("test_redaction.py", "test_report_outputs_never_hold_an_echoed_token"),
    ("test_quiet_runs.py", "test_report_run_prints_nothing_to_stderr"),
    ("test_charts_readable.py", "test_summary_table_fits_a_1400_px_page"),
    ("test_metrics_server.py", "test_text_tables_equal_kubectl_top"),
    ("test_wheel.py", "test_wheel_carries_every_notebook_once"),
})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = item.path.name
        name = getattr(item, "originalname", item.name)
        if (SERVER_FIXTURES & set(getattr(item, "fixturenames", ())) or module in HEAVY_MODULES
                or (module, name) in HEAVY_TESTS):
            item.add_marker(pytest.mark.server)


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's WORKBENCH_*/KUBECONFIG/proxy settings."""
    for key in list(os.environ):
        if key.startswith(_SCRUB):
            monkeypatch.delenv(key, raising=False)


def require_binary(name: str) -> str:
    """Return the binary's path; on CI a missing binary fails, elsewhere it skips with the fix."""
    path = shutil.which(name)
    if path is None:
        pkg = BINARY_PACKAGES.get(name, name)
        msg = f"{name} is not installed; install it with: sudo apt-get install -y {pkg}"
        if ON_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    return path


@pytest.fixture(scope="session")
def prom_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagedProcess]:
    """A real Prometheus 2.x serving the series of tests/promdata.py."""
    require_binary("prometheus")
    require_binary("promtool")
    root = tmp_path_factory.mktemp("prom")
    om = root / "data.om"
    promdata.write(om)
    backfill_openmetrics(om, root / "tsdb")
    rules = root / "rules.yml"
    rules.write_text(RULES)
    config = (
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"rule_files: [{str(rules)!r}]\n"
        "scrape_configs:\n  - job_name: prometheus\n    static_configs:\n"
        "      - targets: ['127.0.0.1:{port}']\n"
        "  - job_name: closed-port\n    static_configs:\n      - targets: ['127.0.0.1:1']\n"
    )
    port = free_port()
    server = start_prometheus(root / "tsdb", config_text=config.replace("{port}", str(port)),
                              port=port)
    yield server
    server.stop()


@pytest.fixture()
def prom_url(prom_server: ManagedProcess) -> str:
    return prom_server.url


@pytest.fixture(scope="session")
def vm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagedProcess]:
    """A real VictoriaMetrics single-node holding the same series as ``prom_server``."""
    from workbench.testing.victoria import (
        flush_victoria_metrics,
        import_openmetrics,
        start_victoria_metrics,
    )

    require_binary("victoria-metrics")
    root = tmp_path_factory.mktemp("vm")
    promdata.write(root / "data.om")
    server = start_victoria_metrics(root / "data")
    try:
        import_openmetrics(root / "data.om", server.url)
        flush_victoria_metrics(server.url)
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["prometheus", "victoriametrics"])
def engine_url(request: pytest.FixtureRequest) -> str:
    """The URL of each engine holding tests/promdata.py: tests using it run once per engine."""
    name = "prom_server" if request.param == "prometheus" else "vm_server"
    return str(request.getfixturevalue(name).url)


@pytest.fixture(scope="session")
def node_prom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagedProcess]:
    """A real Prometheus over the three-node kube-prometheus-stack history of tests/nodes_data.py."""
    from . import nodes_data

    require_binary("prometheus")
    require_binary("promtool")
    root = tmp_path_factory.mktemp("nodeprom")
    nodes_data.write(root / "nodes.om")
    backfill_openmetrics(root / "nodes.om", root / "tsdb")
    server = start_prometheus(root / "tsdb")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One running demo stack of the SMALL size (3 nodes, 2 days at 60 s), shared by the test
    modules that only read from it: ``eps`` (endpoints), ``gt`` (ground truth), ``dir``."""
    import json

    from workbench.demo import stack
    from workbench.demo.params import SMALL

    for b in ("prometheus", "promtool", "prometheus-alertmanager", "prometheus-node-exporter"):
        require_binary(b)
    d = tmp_path_factory.mktemp("small-demo")
    eps = stack.up(d, SMALL, echo=lambda m: None)
    try:
        gt = json.loads(Path(eps["ground_truth"]).read_text())
        yield {"eps": eps, "gt": gt, "dir": d}
    finally:
        stack.down(d)


def offline_chromium(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium on ``url`` with every host unresolvable and a dead proxy (no network);
    ``args`` add e.g. ``--dump-dom`` or ``--screenshot=PATH``."""
    binary = require_binary("chromium")
    argv = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-background-networking", "--no-first-run",
            "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
            "--virtual-time-budget=30000", *args, url]
    return subprocess.run(argv, capture_output=True, text=True, timeout=180, check=False)


@contextlib.contextmanager
def playwright_chromium() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (never a browser download), headless, with every
    host but 127.0.0.1 unresolvable; closed on exit."""
    path = require_binary("chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=[
            "--no-sandbox", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"])
        try:
            yield browser
        finally:
            browser.close()


def ipc_kernel_manager() -> type:
    """The kernel manager the report runner uses (IPC sockets, no TCP ports).

    Tests that call papermill directly use it too: a TCP kernel's ports are chosen, released and
    bound again a moment later, and on a busy machine (many servers on free ports) another
    process can take one in between; the run then waits forever for a reply the kernel never
    got (seen in CI as a hung interactive-notebook test).
    """
    from workbench.reports._run import _ipc_kernel_manager

    return _ipc_kernel_manager()
