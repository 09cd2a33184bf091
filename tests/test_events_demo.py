"""Workload events read from the demo's real Prometheus equal the planted incidents (crash loop,
image pull errors, failed Job, OOM kills, PVC over 70 %), and live Kubernetes Events come through
the real ``kubernetes`` client from the API emulation in the same frame."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from workbench import KubeUnreachableError, MetricsServer, Prometheus, events
from workbench.demo.kube_api import serve_kube_api, write_kubeconfig
from workbench.demo.params import SMALL
from workbench.demo.sim import Cluster
from workbench.testing.servers import free_port

pytestmark = pytest.mark.server
STEP = 60


@pytest.fixture(scope="module")
def demo(small_demo: dict[str, Any]) -> Iterator[dict[str, Any]]:
    gt = small_demo["gt"]
    h = gt["history"]
    with Prometheus(small_demo["eps"]["prometheus"]) as prom:
        ev = events.fetch_workload_events(prom, h["start_s"], h["end_s"], f"{STEP}s")
    yield {"gt": gt, "start": h["start_s"], "end": h["end_s"],
           "ev": ev.with_columns(pl.col("first_seen", "last_seen").dt.epoch("s"))}


def _one(demo: dict[str, Any], reason: str, name: str) -> dict[str, Any]:
    rows = demo["ev"].filter((pl.col("reason") == reason) & (pl.col("name") == name))
    assert rows.height == 1, demo["ev"]
    return rows.row(0, named=True)


def _step_after(t: float) -> int:
    """The first query step at or after ``t`` (the grid starts at the history start, on minutes)."""
    return int(-(-t // STEP) * STEP)


def test_crash_loop(demo: dict[str, Any]) -> None:
    cl = demo["gt"]["workload_events"]["crash_loop"]
    err = _one(demo, "Error", cl["pod"])
    assert err["count"] == len(cl["restart_times_s"])
    assert err["first_seen"] == _step_after(cl["restart_times_s"][0])
    assert err["last_seen"] == _step_after(cl["restart_times_s"][-1])
    assert (err["namespace"], err["container"], err["kind"]) == (cl["namespace"], cl["container"],
                                                                 "Pod")
    loop = _one(demo, "CrashLoopBackOff", cl["pod"])
    assert cl["start_s"] < loop["first_seen"] <= cl["start_s"] + 3 * STEP
    assert loop["last_seen"] == cl["end_s"] - STEP
    burst = _one(demo, "RestartBurst", cl["pod"])
    assert burst["first_seen"] == err["first_seen"]
    assert burst["value"] == len(cl["restart_times_s"])


def test_image_pull_errors_and_pending_pod(demo: dict[str, Any]) -> None:
    ip = demo["gt"]["workload_events"]["image_pull"]
    err = _one(demo, "ErrImagePull", ip["pod"])
    assert err["count"] == len(ip["pull_attempts_s"])
    assert err["first_seen"] == ip["pull_attempts_s"][0]
    assert err["last_seen"] == ip["pull_attempts_s"][-1]
    back = _one(demo, "ImagePullBackOff", ip["pod"])
    assert back["first_seen"] == ip["start_s"] + STEP
    pending = _one(demo, "PodPending", ip["pod"])
    assert pending["first_seen"] == ip["start_s"]
    assert pending["last_seen"] == ip["end_s"] - STEP


def test_failed_job_pod(demo: dict[str, Any]) -> None:
    fj = demo["gt"]["workload_events"]["failed_job"]
    row = _one(demo, "PodFailed", fj["pod"])
    assert row["first_seen"] == fj["start_s"]
    assert row["last_seen"] == fj["end_s"] - STEP


def test_every_oom_kill(demo: dict[str, Any]) -> None:
    sc = demo["gt"]["scenarios"]["oom_kills"]
    row = _one(demo, "OOMKilled", sc["pod"])
    times = [t for t in sc["times_s"] if demo["start"] < t <= demo["end"]]
    assert row["count"] == len(times)
    assert (row["first_seen"], row["last_seen"]) == (times[0], times[-1])


def test_pvc_over_70_percent(demo: dict[str, Any]) -> None:
    sc = demo["gt"]["scenarios"]["pvc_over_70"]
    row = _one(demo, "PVCUsageHigh", sc["persistentvolumeclaim"])
    assert sc["crosses_70_at_s"] <= row["first_seen"] <= sc["crosses_70_at_s"] + STEP
    assert row["last_seen"] == demo["end"]  # still over 70 % at the history's last sample
    assert 0.70 < row["value"] < 0.98
    assert row["kind"] == "PersistentVolumeClaim"


def test_nothing_else(demo: dict[str, Any]) -> None:
    assert sorted(demo["ev"]["reason"]) == sorted([
        "CrashLoopBackOff", "Error", "RestartBurst", "ErrImagePull", "ImagePullBackOff",
        "PodPending", "PodFailed", "OOMKilled", "PVCUsageHigh"])


def test_live_kubernetes_events_in_the_same_frame(small_demo: dict[str, Any],
                                                  tmp_path: Path) -> None:
    gt = small_demo["gt"]
    cl = gt["workload_events"]["crash_loop"]
    now = cl["end_s"] - 60
    cluster = Cluster(SMALL, end_s=gt["history"]["end_s"])
    with serve_kube_api(cluster, clock=lambda: now) as api:
        kc = write_kubeconfig(tmp_path / "kubeconfig", api.url)
        with MetricsServer.from_kubeconfig(kc) as ms:
            ev = events.fetch_kube_events(ms, warnings_only=True)
            ns_only = events.fetch_kube_events(ms, namespace="payments")
    assert ev.schema == pl.Schema(events.EVENT_SCHEMA)
    back = ev.filter((pl.col("reason") == "BackOff") & (pl.col("name") == cl["pod"]))
    row = back.row(0, named=True)
    expected = [c for c in cl["crash_times_s"][1:] if c <= now]
    assert row["count"] == len(expected)
    assert int(row["last_seen"].timestamp()) == int(expected[-1])
    assert set(ev["type"]) == {"Warning"}
    assert set(ns_only["namespace"]) == {"payments"}


def test_kubernetes_api_down_is_a_clear_error(tmp_path: Path) -> None:
    kc = write_kubeconfig(tmp_path / "kubeconfig", f"http://127.0.0.1:{free_port()}")
    with MetricsServer.from_kubeconfig(kc, timeout=3) as ms, \
            pytest.raises(KubeUnreachableError, match="Cannot reach the Kubernetes API"):
        events.fetch_kube_events(ms)


def test_occurrence_counts(demo: dict[str, Any]) -> None:
    """A crash loop is one occurrence (its short running moments are shorter than the gap); each
    pull attempt, five minutes apart, is one ErrImagePull."""
    we = demo["gt"]["workload_events"]
    assert _one(demo, "CrashLoopBackOff", we["crash_loop"]["pod"])["count"] == 1
    assert _one(demo, "ImagePullBackOff", we["image_pull"]["pod"])["count"] == 1
