"""The /api/v2 client against a real Alertmanager: alerts, silences, status, posting, errors."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from workbench import AlertmanagerError
from workbench.analysis.alertmanager import AlertmanagerConfig, fetch_config
from workbench.analysis.alertmanager.simulate import fingerprint
from workbench.sources.alertmanager import Alertmanager
from workbench.testing.servers import ManagedProcess, free_port, start_alertmanager

pytestmark = pytest.mark.server

CONFIG = """route:
  receiver: team
  group_by: [job]
  routes:
    - matchers: ['severity="critical"']
      receiver: pager
receivers: [{name: team}, {name: pager}]
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [job]
"""


@pytest.fixture(scope="module")
def am(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagedProcess]:
    with start_alertmanager(CONFIG, tmp_path_factory.mktemp("am")) as proc:
        yield proc


def test_post_then_read_alerts_silences_status(am: ManagedProcess) -> None:
    client = Alertmanager(am.url + "/api/v2/")
    now = datetime.now(UTC)
    crit = {"alertname": "Down", "job": "api", "severity": "critical"}
    warn = {"alertname": "Slow", "job": "api", "severity": "warning", "timestamp": "x"}
    client.post_alerts([
        {"labels": crit, "annotations": {"summary": "api down"}, "starts_at": now,
         "ends_at": now + timedelta(minutes=5), "generator_url": "http://prom/graph"},
        {"labels": warn, "starts_at": now, "ends_at": now + timedelta(minutes=5)},
    ])
    silence = {"matchers": [{"name": "alertname", "value": "Muted", "isRegex": False,
                             "isEqual": True}],
               "startsAt": now.isoformat(), "endsAt": (now + timedelta(hours=1)).isoformat(),
               "createdBy": "test", "comment": "maintenance"}
    sid = requests.post(f"{am.url}/api/v2/silences", json=silence, timeout=5).json()["silenceID"]
    deadline = time.time() + 10
    while True:
        frame = client.alerts()
        if frame.height == 2 and set(frame["state"]) == {"active", "suppressed"}:
            break
        assert time.time() < deadline, frame
        time.sleep(0.2)
    rows = {r["alertname"]: r for r in frame.iter_rows(named=True)}
    assert rows["Down"]["fingerprint"] == fingerprint(crit)
    assert rows["Down"]["receivers"] == ["pager"] and rows["Slow"]["receivers"] == ["team"]
    assert rows["Down"]["annotation_summary"] == "api down"
    assert rows["Down"]["generator_url"] == "http://prom/graph"
    assert rows["Slow"]["state"] == "suppressed"
    assert rows["Slow"]["inhibited_by"] == [fingerprint(crit)]
    assert rows["Slow"]["label_timestamp"] == "x"          # a label named like a fixed column
    assert abs((rows["Down"]["starts_at"] - now).total_seconds()) < 0.01
    assert client.alerts(inhibited=False)["alertname"].to_list() == ["Down"]
    assert client.alerts(filter=['severity="warning"'])["alertname"].to_list() == ["Slow"]

    sil = client.silences()
    assert sil.row(0, named=True) | {"starts_at": None, "ends_at": None, "updated_at": None} == {
        "id": sid, "state": "active", "matchers": '{alertname="Muted"}', "starts_at": None,
        "ends_at": None, "updated_at": None, "created_by": "test", "comment": "maintenance"}

    status = client.status()
    assert status["versionInfo"]["version"].startswith("0.")
    cfg = fetch_config(client)
    assert isinstance(cfg, AlertmanagerConfig)
    assert [r.receiver for r in cfg.route(crit)] == ["pager"]


def test_bad_post_is_a_clear_error(am: ManagedProcess) -> None:
    with pytest.raises(AlertmanagerError, match=r"HTTP 400.*at least one label pair"):
        Alertmanager(am.url).post_alerts([{"labels": {}}])


def test_alertmanager_down_is_a_clear_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(AlertmanagerError, match=r"Cannot reach Alertmanager at .*Fix:") as info:
        Alertmanager(url, timeout=2).alerts()
    assert info.value.url == url


def test_wrong_url_is_a_clear_error(am: ManagedProcess) -> None:
    with pytest.raises(AlertmanagerError, match=r"HTTP 404|not JSON"):
        Alertmanager(am.url + "/nothing-here").status()


def test_credentials_never_in_errors_or_repr(am: ManagedProcess) -> None:
    client = Alertmanager(f"http://127.0.0.1:{free_port()}", token="s3cret-token",
                          timeout=2)
    assert "s3cret" not in repr(client)
    with pytest.raises(AlertmanagerError) as info:
        client.silences()
    assert "s3cret" not in str(info.value)
