"""The demo stack on real servers: ground truth round-trips through workbench.Prometheus, ALERTS
against ``promtool test rules``, the Kubernetes API through the real ``kubernetes`` client,
Alertmanager's routing into the webhook sink, and the up/status/down life cycle."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import requests
import yaml

from workbench import MissingBinaryError, Prometheus
from workbench.demo import stack
from workbench.demo.params import SMALL
from workbench.demo.rules import ALERT_RULES, EVAL_INTERVAL_S
from workbench.demo.sim import Cluster

from .conftest import require_binary

pytestmark = pytest.mark.server

#: The suite's cluster: 3 nodes, 2 days at 30 s (scraped live every 30 s).
PARAMS = SMALL.with_options(interval_s=30)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    for b in ("prometheus", "promtool", "prometheus-alertmanager", "prometheus-node-exporter"):
        require_binary(b)
    d = tmp_path_factory.mktemp("demo")
    eps = stack.up(d, PARAMS, echo=lambda m: None)
    try:
        # an alert straight into Alertmanager now, so its group_wait overlaps the other tests
        sent = time.time()
        alert = [{"labels": {"alertname": "DemoSinkCheck", "job": "sink-check", "severity": "info"},
                  "annotations": {"description": "sink round trip"},
                  "startsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(sent))}]
        requests.post(f"{eps['alertmanager']}/api/v2/alerts", json=alert,
                      timeout=10).raise_for_status()
        gt = json.loads(Path(eps["ground_truth"]).read_text())
        with Prometheus(eps["prometheus"]) as prom:
            yield {"eps": eps, "gt": gt, "prom": prom, "dir": d, "sent": sent,
                   "cluster": Cluster(PARAMS, gt["history"]["end_s"])}
    finally:
        stack.down(d)


def _grid(start: float, end: float, step: float) -> np.ndarray:
    return np.arange(np.ceil(start / step) * step, end + 1, step)


def test_fill_rate_recovered_by_deriv(demo: dict[str, Any]) -> None:
    fs = demo["gt"]["scenarios"]["filesystem_filling"]
    h = demo["gt"]["history"]
    t = h["start_s"] + 0.5 * (h["end_s"] - h["start_s"])
    df = demo["prom"].query(
        'deriv(node_filesystem_avail_bytes{job="node-exporter",mountpoint="/"}[6h])', t)
    rates = dict(zip(df["instance"], df["value"], strict=True))
    assert rates[fs["instance"]] == pytest.approx(-fs["fill_rate_bytes_per_s"], rel=1e-3)
    others = [v for k, v in rates.items() if k != fs["instance"]]
    assert len(others) == PARAMS.nodes - 1
    assert all(abs(v) < 0.1 * fs["fill_rate_bytes_per_s"] for v in others)


def test_down_window_shows_in_up(demo: dict[str, Any]) -> None:
    nd = demo["gt"]["scenarios"]["node_down"]
    d0, d1 = nd["start_s"], nd["end_s"]
    df = demo["prom"].query_range(f'up{{job="node-exporter",instance="{nd["instance"]}"}}',
                                  d0 - 3600, d1 + 3600, PARAMS.interval_s)
    zero = df.filter(pl.col("value") == 0)["timestamp"].dt.epoch("s").to_list()
    assert zero == _grid(d0, d1 - 1, PARAMS.interval_s).astype(int).tolist()
    assert df.height == len(_grid(d0 - 3600, d1 + 3600, PARAMS.interval_s))
    # no node-exporter samples at all inside the window
    inside = demo["prom"].query(f'count_over_time(node_load1{{instance="{nd["instance"]}"}}[40m])',
                                d1 - 60)
    assert inside.height == 0
    kubelet = demo["prom"].query(f'up{{job="kubelet",node="{nd["node"]}"}}', d0 + 600)
    assert sorted(kubelet["value"].to_list()) == [0.0, 0.0]


def test_oom_kills_at_the_planted_times(demo: dict[str, Any]) -> None:
    oom = demo["gt"]["scenarios"]["oom_kills"]
    h = demo["gt"]["history"]
    df = demo["prom"].query_range(
        f'kube_pod_container_status_restarts_total{{namespace="payments",pod="{oom["pod"]}"}}',
        h["start_s"], h["end_s"], PARAMS.interval_s)
    t = df["timestamp"].dt.epoch("s").to_numpy()
    v = df["value"].to_numpy()
    assert t[1:][np.diff(v) > 0].tolist() == [int(x) for x in oom["times_s"]]
    reason = demo["prom"].query(
        f'kube_pod_container_status_last_terminated_reason{{pod="{oom["pod"]}"}}', h["end_s"])
    assert reason["reason"].to_list() == ["OOMKilled"]
    peak = demo["prom"].query(
        f'max_over_time(container_memory_working_set_bytes{{pod="{oom["pod"]}"}}[1d])',
        h["end_s"])["value"][0]
    assert 0.98 * oom["memory_limit_bytes"] < peak < oom["memory_limit_bytes"]
    fired = demo["prom"].query(
        'ALERTS{alertname="KubeContainerOOMKilled",alertstate="firing"}'
        f'[{int(h["end_s"] - h["start_s"])}s]', h["end_s"])
    times = sorted(fired["timestamp"].dt.epoch("s").to_list())
    expected = sorted(int(x) + k * EVAL_INTERVAL_S for x in oom["times_s"] for k in range(10)
                      if int(x) + k * EVAL_INTERVAL_S <= h["end_s"] and x >= h["start_s"] + 600)
    assert times == expected


def test_throttled_and_overprovisioned_match_the_simulation(demo: dict[str, Any]) -> None:
    h = demo["gt"]["history"]
    end = h["end_s"]
    prom = demo["prom"]
    thr = demo["gt"]["scenarios"]["cpu_throttling"]
    ratio = prom.query(
        'sum(increase(container_cpu_cfs_throttled_periods_total{namespace="search"}[1d])) / '
        'sum(increase(container_cpu_cfs_periods_total{namespace="search"}[1d]))', end)["value"][0]
    assert ratio == pytest.approx(thr["throttled_ratio_mean"], rel=0.15)
    # the exact CPU the simulation spent in `analytics` over the last day, from its wave integrals
    c: Cluster = demo["cluster"]
    exact = 0.0
    for p in c.pods_between(end - 86400, end):
        if p.namespace == "analytics":
            for ct in p.workload.containers:
                w = c._cpu_wave(p, ct)
                exact += float(w.integral(np.array([end]))[0] - w.integral(np.array([end - 86400]))[0])
    used = prom.query('sum(increase(container_cpu_usage_seconds_total{namespace="analytics"}[1d]))',
                      end)["value"][0]
    # increase() extrapolates over the 1d window from samples spaced by the scrape interval
    assert used == pytest.approx(exact, rel=0.01)
    req = prom.query('sum(kube_pod_container_resource_requests{namespace="analytics",'
                     'resource="cpu"})', end)["value"][0]
    truth = demo["gt"]["scenarios"]["overprovisioned_namespace"]
    assert req == pytest.approx(truth["cpu_requests_cores"])
    assert req / (used / 86400) == pytest.approx(truth["cpu_ratio"], rel=0.15)


def test_pvc_crosses_70_percent_when_planted(demo: dict[str, Any]) -> None:
    pvc = demo["gt"]["scenarios"]["pvc_over_70"]
    x = pvc["crosses_70_at_s"]
    df = demo["prom"].query_range(
        f'kubelet_volume_stats_used_bytes{{persistentvolumeclaim="{pvc["persistentvolumeclaim"]}"}}'
        ' / kubelet_volume_stats_capacity_bytes > 0.7', x - 3600, x + 3600, PARAMS.interval_s)
    first = df["timestamp"].dt.epoch("s").min()
    assert x < first <= x + PARAMS.interval_s


def _promtool_window(prom: Prometheus, rule: dict[str, Any], selector: str, w0: int, w1: int,
                     tmp: Path) -> tuple[int, int]:
    """Replay raw samples of ``selector`` over [w0, w1] through ``promtool test rules``, expecting
    the firing alerts the backfilled ALERTS series hold; returns (steps checked, firing steps)."""
    raw = prom.query(f"{selector}[{w1 - w0}s]", w1)
    assert raw.height > 0
    label_cols = [c for c in raw.columns if c not in ("timestamp", "value", "__name__")]
    iv = PARAMS.interval_s
    n = (w1 - w0) // iv + 1
    series = []
    for key, g in raw.group_by(label_cols, maintain_order=True):
        vals = ["_"] * n
        for ts, v in zip(g["timestamp"].dt.epoch("s"), g["value"], strict=True):
            if w0 <= ts <= w1:
                vals[(ts - w0) // iv] = repr(float(v))
        lab = ",".join(f'{k}="{v}"' for k, v in zip(label_cols, key, strict=True))
        series.append({"series": f"{raw['__name__'][0]}{{{lab}}}", "values": " ".join(vals)})
    alerts = prom.query(f'ALERTS{{alertname="{rule["alert"]}",alertstate="firing"}}'
                        f"[{w1 - w0}s]", w1)
    firing: dict[int, list[dict[str, str]]] = {}
    for row in alerts.iter_rows(named=True):
        ts = int(row["timestamp"].timestamp())
        labels = {k: v for k, v in row.items() if k not in ("timestamp", "value", "__name__",
                                                              "alertstate", "alertname") and v}
        firing.setdefault(ts - w0, []).append(labels)
    tests = []
    for k in range((w1 - w0) // EVAL_INTERVAL_S + 1):
        ev = k * EVAL_INTERVAL_S
        exp = [{"exp_labels": lab, "exp_annotations": {"description": _render(rule, lab)}}
               for lab in firing.get(ev, [])]
        tests.append({"eval_time": f"{ev}s", "alertname": rule["alert"], "exp_alerts": exp})
    (tmp / "rules.yml").write_text(yaml.safe_dump({"groups": [{"name": "g", "rules": [rule]}]}))
    (tmp / "test.yml").write_text(yaml.safe_dump({
        "rule_files": ["rules.yml"], "evaluation_interval": f"{EVAL_INTERVAL_S}s",
        "tests": [{"interval": f"{iv}s", "input_series": series, "alert_rule_test": tests}]}))
    res = subprocess.run([require_binary("promtool"), "test", "rules", "test.yml"], cwd=tmp,
                         capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return len(tests), sum(len(v) for v in firing.values())


def _render(rule: dict[str, Any], labels: dict[str, str]) -> str:
    text = rule["annotations"]["description"]
    for k, v in labels.items():
        text = text.replace("{{ $labels.%s }}" % k, v)  # noqa: UP031 (Go template syntax)
    return text


def test_flapping_alert_matches_promtool(demo: dict[str, Any], tmp_path: Path) -> None:
    flap = demo["gt"]["scenarios"]["flapping_alert"]
    h = demo["gt"]["history"]
    w0, w1 = next((int(a) - 1800, int(a) + 2 * 3600 + 1800) for a, b in flap["windows_s"]
                  if a - 1800 >= h["start_s"] and a + 9000 <= h["end_s"])
    rule = next(r for r in ALERT_RULES if r["alert"] == "NodeLoadFlapping")
    steps, firing = _promtool_window(demo["prom"], rule,
                                     f'node_load1{{job="node-exporter",instance="{flap["instance"]}"}}',
                                     w0, w1, tmp_path)
    high_phases = int((flap["daily_window_utc_hours"][1] - flap["daily_window_utc_hours"][0])
                      * 3600 // flap["period_s"])
    # each 8-minute high phase: pending 2 evaluations, then firing until the load drops
    assert firing == high_phases * (flap["high_s"] // EVAL_INTERVAL_S - 2)
    assert steps == (w1 - w0) // EVAL_INTERVAL_S + 1


def test_node_down_alert_matches_promtool(demo: dict[str, Any], tmp_path: Path) -> None:
    nd = demo["gt"]["scenarios"]["node_down"]
    w0 = int(nd["start_s"]) - 1800
    w1 = int(nd["end_s"]) + 1800
    rule = next(r for r in ALERT_RULES if r["alert"] == "NodeExporterDown")
    _, firing = _promtool_window(demo["prom"], rule, 'up{job="node-exporter"}', w0, w1, tmp_path)
    assert firing == (nd["end_s"] - nd["start_s"] - 300) // EVAL_INTERVAL_S


def test_kubernetes_api_through_the_real_client(demo: dict[str, Any]) -> None:
    from kubernetes import client, config
    from kubernetes.utils import parse_quantity

    api = config.new_client_from_config(demo["eps"]["kubeconfig"])
    v1 = client.CoreV1Api(api)
    nodes = v1.list_node().items
    assert sorted(n.metadata.name for n in nodes) == sorted(x["name"] for x in demo["gt"]["nodes"])
    ledger = v1.list_pod_for_all_namespaces(label_selector="app.kubernetes.io/name=ledger").items
    assert [p.metadata.name for p in ledger] == [demo["gt"]["scenarios"]["oom_kills"]["pod"]]
    assert ledger[0].spec.containers[0].resources.limits["memory"] == "512Mi"
    co = client.CustomObjectsApi(api)
    pm = co.list_namespaced_custom_object("metrics.k8s.io", "v1beta1", "payments", "pods")
    item = next(i for i in pm["items"] if i["metadata"]["name"] == ledger[0].metadata.name)
    mem = float(parse_quantity(item["containers"][0]["usage"]["memory"]))
    # the same working set the cAdvisor exposition serves right now
    text = requests.get(demo["eps"]["webhook_sink"].replace(
        "/slack", f"/sim/cadvisor/{ledger[0].spec.node_name}/metrics"), timeout=10).text
    line = next(ln for ln in text.splitlines() if ln.startswith(
        "container_memory_working_set_bytes{") and f'pod="{ledger[0].metadata.name}"' in ln)
    assert mem == pytest.approx(float(line.rsplit(" ", 1)[1]), rel=0.02)
    nm = co.list_cluster_custom_object("metrics.k8s.io", "v1beta1", "nodes")
    down = demo["gt"]["scenarios"]["node_down"]
    assert len(nm["items"]) == PARAMS.nodes if not (
        down["start_s"] <= time.time() < down["end_s"]) else PARAMS.nodes - 1


def test_alertmanager_routes_to_the_webhook_sink(demo: dict[str, Any]) -> None:
    eps = demo["eps"]
    amtool = require_binary("amtool")
    cfg = Path(eps["state_dir"]) / "alertmanager.yml"
    out = subprocess.run([amtool, "check-config", str(cfg)], capture_output=True, text=True,
                         check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    routed = subprocess.run([amtool, "config", "routes", "test", f"--config.file={cfg}",
                             "alertname=X", "job=kubelet"], capture_output=True, text=True,
                            check=False)
    assert routed.stdout.strip() == "slack-notifications"
    deadline = time.monotonic() + 30
    post = None
    while time.monotonic() < deadline and post is None:
        posts = requests.get(eps["webhook_posts"], timeout=10).json()
        post = next((p for p in posts if "DemoSinkCheck" in json.dumps(p)), None)
        time.sleep(0.5)
    assert post is not None
    att = post["payload"]["attachments"][0]
    assert post["payload"]["channel"] == "#demo-alerts"
    assert att["title"] == "[FIRING] DemoSinkCheck"
    assert "sink round trip" in att["text"]
    assert post["received_s"] - demo["sent"] >= 9.5  # group_wait: 10s


def test_status_json_and_demo_profile(demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from workbench.demo.cli import demo as demo_cli

    res = CliRunner().invoke(demo_cli, ["status", "--json", "--dir", str(demo["dir"])])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    for k in ("prometheus", "alertmanager", "webhook_sink", "kubernetes_api", "kubeconfig",
              "state_dir", "ground_truth"):
        assert doc[k] == demo["eps"][k]
    assert doc["running"] is True and set(doc["processes"]) == {
        "live", "node-exporter", "alertmanager", "prometheus"}
    monkeypatch.setenv("WORKBENCH_DEMO_DIR", str(demo["dir"]))
    with Prometheus("demo") as prom:
        assert prom.query("count(up)")["value"][0] >= 3 * PARAMS.nodes + 1


def test_lifecycle_reuse_stale_pids_and_foreign_pids(tmp_path: Path) -> None:
    for b in ("prometheus", "promtool", "prometheus-alertmanager", "prometheus-node-exporter"):
        require_binary(b)
    tiny = SMALL.with_options(nodes=2, pods=16, days=0.5)
    d = tmp_path / "life"
    try:
        eps = stack.up(d, tiny, echo=lambda m: None)
        created = json.loads((d / "history.json").read_text())["created_s"]
        st = stack.status(d)
        assert st["running"]
        # idempotent: a second up while running changes nothing
        assert stack.up(d, tiny, echo=lambda m: None) == eps
        # a stale pid file: one process died -> up restarts the stack and reuses the history
        os.kill(st["processes"]["live"]["pid"], 9)
        time.sleep(0.3)
        assert not stack.status(d)["running"]
        eps2 = stack.up(d, tiny, metrics_api="missing", echo=lambda m: None)
        assert stack.status(d)["running"]
        # metrics-server "not installed": the metrics API answers 404, the core API still works
        from kubernetes import client, config
        from kubernetes.client.exceptions import ApiException

        api = config.new_client_from_config(eps2["kubeconfig"])
        with pytest.raises(ApiException) as err:
            client.CustomObjectsApi(api).list_cluster_custom_object("metrics.k8s.io", "v1beta1",
                                                                     "nodes")
        assert err.value.status == 404
        assert len(client.CoreV1Api(api).list_node().items) == 2
        assert json.loads((d / "history.json").read_text())["created_s"] == created
        assert eps2["prometheus"] != eps["prometheus"] or eps2 != eps
        with Prometheus(eps2["prometheus"]) as prom:
            assert prom.query("count(kube_node_info)", created - 60)["value"][0] == 2
        # down kills only our pids: a foreign process put into the state file survives
        foreign = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        state = json.loads((d / "state.json").read_text())
        real_live = state["processes"]["live"]["pid"]
        state["processes"]["live"]["pid"] = foreign.pid
        (d / "state.json").write_text(json.dumps(state))
        stopped = stack.down(d)
        assert "live" not in stopped and {"prometheus", "alertmanager", "node-exporter"} <= set(
            stopped)
        assert foreign.poll() is None
        foreign.kill()
        foreign.wait()
        assert not stack.status(d)["running"]
        os.kill(real_live, 15)  # the real live process, whose pid we overwrote above
        # a hole longer than max_hole_s: a fresh history ending now replaces the stored one
        stack.up(d, tiny, max_hole_s=0, echo=lambda m: None)
        assert json.loads((d / "history.json").read_text())["created_s"] > created
    finally:
        stack.down(d)


def test_missing_binary_names_the_install_command(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingBinaryError, match="apt-get install -y prometheus"):
        stack.up(tmp_path / "x", SMALL, echo=lambda m: None)


def test_live_scrapes_continue_the_history(demo: dict[str, Any]) -> None:
    prom, gt = demo["prom"], demo["gt"]
    end = gt["history"]["end_s"]
    deadline = time.monotonic() + 3 * PARAMS.interval_s
    while True:  # wait until every target has been scraped live (after the history's end)
        now = time.time()
        live = prom.query('last_over_time(up{job=~"node-exporter|kubelet|kube-state-metrics|demo-host"}'
                          f"[{int(now - end) - 1}s])", now)
        if live.height == 3 * PARAMS.nodes + 2 or time.monotonic() > deadline:
            break
        time.sleep(1)
    sim = live.filter(pl.col("instance") != "localhost:9100")
    assert sim.height == 3 * PARAMS.nodes + 1 and sim["value"].min() == 1.0
    assert live.filter(pl.col("instance") == "localhost:9100")["value"].to_list() == [1.0]
    # same label sets before and after the end of the backfilled history
    inst = gt["nodes"][0]["instance"]
    q = f'{{job="node-exporter",instance="{inst}",__name__!~"up|scrape_.*|.*:.*"}}'
    before = prom.series(q, end - 300, end)
    after = prom.series(q, end + 1, time.time())
    assert before.height > 50 and before.sort(before.columns).equals(after.sort(after.columns))
    # counters run on across the seam: no reset, a rate as in the history
    resets = prom.query(f'resets(node_cpu_seconds_total{{instance="{inst}"}}'
                        f'[{int(time.time() - end) + 600}s])')
    assert resets.height > 0 and resets["value"].max() == 0


def test_no_hole_between_the_history_and_live_scrapes(demo: dict[str, Any]) -> None:
    """The minutes spent generating the history are backfilled: no node reads as down there."""
    prom, gt = demo["prom"], demo["gt"]
    end = gt["history"]["end_s"]
    started = json.loads((demo["dir"] / "state.json").read_text())["started_s"]
    # The seam runs from the history's last sample to a minute after the live start, however
    # long generation took (a fast run starts the live stack within seconds of the end).
    hi = started + 60
    while time.time() < hi + 15:   # bounded: the live scrapes of that minute must be in
        time.sleep(1)
    frame = prom.query_range('count(count_over_time(up{job="node-exporter"}[1m]))',
                             end, hi, step=30)
    assert frame.height == (int(hi) - end) // 30 + 1
    assert frame["value"].min() == PARAMS.nodes


def test_alert_firing_at_the_history_end_stays_firing_across_the_catch_up(
        small_demo: dict[str, Any]) -> None:
    """`demo up` backfills ALERTS / ALERTS_FOR_STATE for the minutes between the history's end
    and the live Prometheus's start (the catch-up): the PVC alert (over 70% until the end) is one
    episode still firing at the live start, with ALERTS_FOR_STATE = its original active_at at
    every evaluation of the seam."""
    from workbench import alert_history

    gt = small_demo["gt"]
    end_s = gt["history"]["end_s"]
    st = json.loads((Path(small_demo["dir"]) / "state.json").read_text())
    until = int(st["started_s"] // EVAL_INTERVAL_S * EVAL_INTERVAL_S)   # the catch-up's end
    pvc = gt["scenarios"]["pvc_over_70"]["persistentvolumeclaim"]
    sel = f'alertname="KubePersistentVolumeUsageHigh",persistentvolumeclaim="{pvc}"'
    with Prometheus(small_demo["eps"]["prometheus"]) as prom:
        h = alert_history.fetch_alert_history(prom, end_s - 3 * 3600, until, matchers=sel)
        fs = alert_history.fetch_raw_samples(prom, f"ALERTS_FOR_STATE{{{sel}}}",
                                             int(end_s - 600) * 1000, until * 1000)
    ep = h.episodes
    assert ep.height == 1, ep
    assert ep["resolved_at"][0] is None and ep["fired_at"][0] is not None
    seam = fs.filter(pl.col("timestamp").dt.epoch("s") > end_s)
    assert seam.height == (until - end_s) // EVAL_INTERVAL_S
    assert set(fs["value"].to_list()) == {ep["active_at"][0].timestamp()}
