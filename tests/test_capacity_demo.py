"""The capacity analysis on the demo stack: every planted capacity scenario of the simulator's
ground truth is found with the right figures, and ``krr-simple`` agrees with an independent PromQL
computation of KRR's definition (its per-pod queries) on the same Prometheus."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import polars as pl
import pytest

from workbench import CapacityDataError, Prometheus, capacity
from workbench.demo.params import DemoParams
from workbench.demo.sim import Cluster

pytestmark = pytest.mark.server

STEP = "5m"
MIB = 1024**2


@pytest.fixture(scope="module")
def demo(small_demo: dict[str, Any]) -> Iterator[dict[str, Any]]:
    gt = small_demo["gt"]
    h = gt["history"]
    start, end = h["start_s"], h["end_s"]
    with Prometheus(small_demo["eps"]["prometheus"], timeout=120) as prom:
        usage = capacity.fetch_usage(prom, start, end, STEP)
        yield {"gt": gt, "cap": gt["capacity"], "prom": prom, "usage": usage,
               "start": start, "end": end,
               "cluster": Cluster(DemoParams.from_dict(gt["params"]), end)}


def _row(frame: pl.DataFrame, **keys: str) -> dict[str, Any]:
    rows = frame.filter(*[pl.col(k) == v for k, v in keys.items()]).to_dicts()
    assert len(rows) == 1, (keys, rows)
    return rows[0]


def test_workloads_are_resolved_through_owner_chains(demo: dict[str, Any]) -> None:
    wl = demo["usage"].workloads.unique(["namespace", "workload_kind", "workload"])
    kinds = dict(wl.group_by("workload_kind").len().iter_rows())
    assert kinds == demo["cap"]["workload_kinds"]
    # every pod of every Deployment rollout in the window counts, dead ones included
    cluster: Cluster = demo["cluster"]
    for w in cluster.workloads:
        if w.kind != "Deployment":
            continue
        inst = list(cluster._instances(w, demo["start"], demo["end"]))
        # a pod alive for less than two scrapes inside the window may have no sample in it
        sure = {p.name for p in inst
                if min(p.end, demo["end"]) - max(p.start, demo["start"]) >= 120}
        got = demo["usage"].containers.filter(pl.col("namespace") == w.namespace,
                                              pl.col("workload") == w.name)
        assert sure <= set(got["pod"]) <= {p.name for p in inst}, w.name
        assert set(got["workload_kind"].unique()) == {"Deployment"}


def test_cronjob_pods_are_one_workload_through_kube_job_owner(demo: dict[str, Any]) -> None:
    cj = demo["cap"]["cronjob"]
    row = _row(demo["usage"].workloads, namespace=cj["namespace"], workload=cj["cronjob"])
    assert row["workload_kind"] == "CronJob"
    assert abs(row["pods"] - cj["jobs_in_window"]) <= 1


@pytest.mark.parametrize("scenario", ["overprovisioned", "throttled", "oom_killed", "no_requests"])
def test_planted_containers_carry_their_flags(demo: dict[str, Any], scenario: str) -> None:
    s = demo["cap"][scenario]
    got = capacity.flags(demo["usage"]).filter(
        pl.col("namespace") == s["namespace"], pl.col("workload") == s["workload"],
        pl.col("container") == s["container"])
    assert set(s["flags"]) <= set(got["flag"])


def test_flags_are_not_raised_where_nothing_is_planted(demo: dict[str, Any]) -> None:
    fl = capacity.flags(demo["usage"])
    throttled = fl.filter(pl.col("flag") == "throttled")
    assert set(throttled["workload"]) == {demo["cap"]["throttled"]["workload"]}
    oom = fl.filter(pl.col("flag") == "oom_killed")
    assert set(oom["workload"]) == {demo["cap"]["oom_killed"]["workload"]}
    idle = fl.filter(pl.col("flag") == "idle")
    assert demo["cap"]["overprovisioned"]["workload"] in set(idle["workload"])


def test_throttling_and_oom_figures(demo: dict[str, Any]) -> None:
    t = demo["cap"]["throttled"]
    row = _row(demo["usage"].workloads, namespace=t["namespace"], workload=t["workload"],
               container=t["container"])
    assert row["throttled_ratio"] == pytest.approx(0.45, abs=0.03)
    assert row["cpu_limit"] == t["cpu_limit_cores"]
    assert row["cpu_p95"] > t["cpu_request_cores"]
    o = demo["gt"]["scenarios"]["oom_kills"]
    row = _row(demo["usage"].workloads, namespace=o["namespace"], workload=o["deployment"],
               container=o["container"])
    assert abs(row["oom_events"] - len(o["times_s"])) <= 1
    assert row["oom_memory_limit"] == o["memory_limit_bytes"]


def test_requests_limits_and_bestEffort_pods(demo: dict[str, Any]) -> None:
    for key in ("overprovisioned", "no_requests", "hpa"):
        s = demo["cap"][key]
        row = _row(demo["usage"].workloads, namespace=s["namespace"], workload=s["workload"],
                   container=s["container"])
        assert row["cpu_request"] == s["cpu_request_cores"]
        assert row["memory_request"] == s["memory_request_bytes"]
        assert row["memory_limit"] == s["memory_limit_bytes"]
        assert row["pods_now"] == s["replicas"]
    h = demo["cap"]["hpa"]
    row = _row(demo["usage"].workloads, namespace=h["namespace"], workload=h["workload"])
    assert row["pods"] == h["replicas"] and row["hpa"] == ["cpu"]


def test_hpa_workload_gets_no_cpu_recommendation(demo: dict[str, Any]) -> None:
    h = demo["cap"]["hpa"]
    recs = capacity.recommend(demo["usage"])
    row = _row(recs, namespace=h["namespace"], workload=h["workload"], container=h["container"])
    assert row["note"] == "HPA on cpu"
    assert row["cpu_request_rec"] is None
    assert row["memory_request_rec"] is not None
    row = _row(capacity.recommend(demo["usage"], allow_hpa=True), namespace=h["namespace"],
               workload=h["workload"], container=h["container"])
    assert row["cpu_request_rec"] is not None and row["note"] == ""


def test_namespace_near_its_quota(demo: dict[str, Any]) -> None:
    q = demo["cap"]["quota"]
    qu = capacity.quota_use(demo["usage"])
    row = _row(qu, namespace=q["namespace"], resource="requests.cpu")
    assert row["hard"] == pytest.approx(q["requests_cpu_hard"])
    assert row["used"] == pytest.approx(q["requests_cpu_used"])
    assert row["state"] == "almost full"
    row = _row(qu, namespace=q["namespace"], resource="requests.memory")
    assert row["ratio"] == pytest.approx(q["requests_memory_ratio"])
    qo = _row(capacity.quota_overcommit(demo["usage"]), resource="cpu")
    assert qo["quota_hard"] == pytest.approx(q["requests_cpu_hard"])
    assert qo["ratio"] == pytest.approx(
        q["requests_cpu_hard"] / demo["cap"]["n_minus_1"]["cpu_allocatable_cores"])
    assert qo["overcommitted"] is False
    ns = _row(demo["usage"].namespaces, namespace=q["namespace"])
    assert ns["cpu_requests"] == pytest.approx(q["requests_cpu_used"])
    assert ns["quota_max_ratio"] == pytest.approx(q["requests_cpu_ratio"])


def test_overcommit_by_the_n_minus_1_rule(demo: dict[str, Any]) -> None:
    n1 = demo["cap"]["n_minus_1"]
    oc = capacity.overcommit(demo["usage"])
    cpu = _row(oc, resource="cpu")
    assert cpu["rule"] == "N-1"
    assert cpu["allocatable"] == pytest.approx(n1["cpu_allocatable_cores"])
    assert cpu["largest_node"] == pytest.approx(n1["cpu_largest_node_cores"])
    assert cpu["requests"] == pytest.approx(n1["cpu_requests_cores"])
    assert cpu["requests_ratio"] == pytest.approx(n1["cpu_ratio"])
    assert cpu["overcommitted"] == (n1["cpu_overcommit_cores"] > 0)
    mem = _row(oc, resource="memory")
    assert mem["requests"] == pytest.approx(n1["memory_requests_bytes"])
    assert mem["requests_ratio"] == pytest.approx(n1["memory_ratio"])
    nodes = demo["usage"].nodes
    assert nodes.height == n1["nodes"]
    assert nodes["cpu_requests"].sum() == pytest.approx(n1["cpu_requests_cores"])


def test_prometheus_own_storage(demo: dict[str, Any]) -> None:
    p = demo["cap"]["prometheus"]
    st = capacity.storage_capacity(demo["usage"], p["retention_size_bytes"], p["retention_days"])
    assert st["samples_per_s"] == pytest.approx(p["samples_per_s_mean"], rel=0.01)
    assert st["bytes_per_sample"] == pytest.approx(p["bytes_per_sample"], rel=0.01)
    assert st["head_series"] == p["head_series_end"]
    assert st["growth_bytes_per_day"] == pytest.approx(p["growth_bytes_per_day"], rel=0.02)
    assert st["days_fit"] == pytest.approx(p["days_fit"], rel=0.02)
    assert st["retention_bytes"] == pytest.approx(p["retention_bytes"], rel=0.02)
    top = demo["usage"].top_metrics
    assert top.height > 5 and top["series"].is_sorted(descending=True)


def _krr_round(v: float, unit: float, minimum: float) -> float:
    return max(math.ceil(v / unit) * unit, minimum)


def test_krr_simple_agrees_with_krr_queries_run_per_pod(demo: dict[str, Any]) -> None:
    """KRR's own query shapes, one workload container at a time, pods from the simulator."""
    prom: Prometheus = demo["prom"]
    cluster: Cluster = demo["cluster"]
    w_s = f"{int(demo['end'] - demo['start'])}s"
    recs = capacity.recommend(demo["usage"], allow_hpa=True)
    checked = 0
    for w in cluster.workloads:
        if w.kind not in ("Deployment", "StatefulSet"):
            continue
        pods = sorted({p.name for p in cluster._instances(w, demo["start"], demo["end"])})
        for c in w.containers:
            sel = (f'namespace="{w.namespace}",pod=~"{"|".join(pods)}",container="{c.name}",'
                   'job="kubelet"')
            cpu = prom.query(
                f"quantile_over_time(0.95, max by (container, pod, job) (rate("
                f"container_cpu_usage_seconds_total{{{sel}}}[{STEP}]))[{w_s}:{STEP}])",
                demo["end"])
            mem = prom.query(
                f"max_over_time(max by (container, pod, job) (container_memory_working_set_bytes"
                f"{{{sel}}})[{w_s}:{STEP}])", demo["end"])
            pts = prom.query(
                f"count_over_time(max by (container, pod, job) (rate("
                f"container_cpu_usage_seconds_total{{{sel}}}[{STEP}]))[{w_s}:{STEP}])",
                demo["end"])
            row = _row(recs, namespace=w.namespace, workload=w.name, container=c.name)
            assert row["points"] == int(pts["value"].sum())
            if row["points"] < 100:
                assert row["cpu_request_rec"] is None
                continue
            assert row["cpu_request_rec"] == pytest.approx(
                _krr_round(cpu["value"].max(), 0.001, 0.01), abs=1e-9)
            expected = _krr_round(mem["value"].max() * 1.15, MIB, 100 * MIB)
            assert row["memory_request_rec"] == expected
            assert row["memory_limit_rec"] == expected
            assert row["cpu_limit_rec"] is None
            checked += 1
    assert checked >= 10


def test_savings_and_key_figures(demo: dict[str, Any]) -> None:
    usage = demo["usage"]
    recs = capacity.recommend(usage)
    sv = capacity.savings(recs, cpu_core_hour=0.03, memory_gib_hour=0.004).row(0, named=True)
    expected = sum(((r["cpu_request"] or 0.0) - r["cpu_request_rec"]) * r["pods_now"]
                   for r in recs.iter_rows(named=True) if r["cpu_request_rec"] is not None)
    assert sv["cpu_cores"] == pytest.approx(expected)
    assert sv["cpu_per_month"] == pytest.approx(expected * 0.03 * 730)
    # the idle 1-core deployment alone gives back more than 0.95 cores
    over = demo["cap"]["overprovisioned"]
    row = _row(recs, namespace=over["namespace"], workload=over["workload"])
    assert row["cpu_saving"] > 0.95
    kf = capacity.key_figures(usage, recs)
    assert None not in kf.values()
    assert "money_per_month" not in kf  # no prices: the figure is left out, not None
    priced = capacity.key_figures(usage, recs, cpu_core_hour=0.03, memory_gib_hour=0.004)
    assert priced["money_per_month"] == pytest.approx(round(sv["total_per_month"], 2))
    assert kf["cores_reclaimable"] >= 0.95
    assert kf["workloads_flagged"] >= 4
    assert kf["cpu_requests_of_n_minus_1"] == pytest.approx(demo["cap"]["n_minus_1"]["cpu_ratio"],
                                                            abs=1e-3)
    assert kf["retention_days_fit"] == pytest.approx(demo["cap"]["prometheus"]["days_fit"],
                                                     rel=0.02)


def test_forecast_and_packing(demo: dict[str, Any]) -> None:
    usage = demo["usage"]
    fc = capacity.forecast(usage)
    assert set(fc["line"]) == {"allocatable", "n_minus_1"}
    req = _row(fc, resource="cpu", series="requests", line="n_minus_1")
    n1 = demo["cap"]["n_minus_1"]
    assert req["limit"] == pytest.approx(n1["cpu_allocatable_cores"] - n1["cpu_largest_node_cores"])
    # the HPA-scaled deployment makes requests grow: the planted slope and crossing
    assert req["slope_per_day"] == pytest.approx(n1["cpu_requests_slope_per_day"], rel=0.1)
    if n1["days_to_cpu_n_minus_1"] == 0:
        assert req["days"] == 0.0
    else:
        assert req["days"] == pytest.approx(n1["days_to_cpu_n_minus_1"], rel=0.15)
    pk = capacity.pack_recommendations(usage, capacity.recommend(usage))
    assert pk["nodes_now"] == n1["nodes"]
    assert 1 <= pk["nodes_needed"] <= n1["nodes"]


def test_bad_input_gets_clear_errors(demo: dict[str, Any]) -> None:
    prom, start, end = demo["prom"], demo["start"], demo["end"]
    with pytest.raises(CapacityDataError, match="shorter than the step"):
        capacity.fetch_usage(prom, end - 60, end, "5m")
    with pytest.raises(CapacityDataError, match="No kube-state-metrics"):
        capacity.fetch_usage(prom, end - 3600, end, "5m", ksm='job="no-such-ksm"')
    with pytest.raises(CapacityDataError, match="No cAdvisor"):
        capacity.fetch_usage(prom, end - 3600, end, "5m", cadvisor='job="cadvisor"')
    with pytest.raises(CapacityDataError, match="No pod in a namespace matching"):
        capacity.fetch_usage(prom, end - 3600, end, "5m", namespace="no-such-namespace")
    with pytest.raises(CapacityDataError, match="not a valid regular expression"):
        capacity.fetch_usage(prom, start, end, "5m", namespace="(")
    with pytest.raises(CapacityDataError, match="was not fetched"):
        capacity.recommend(demo["usage"], cpu_percentile=97)
    with pytest.raises(CapacityDataError, match="Unknown strategy"):
        capacity.recommend(demo["usage"], strategy="vpa")


def test_namespace_filter(demo: dict[str, Any]) -> None:
    u = capacity.fetch_usage(demo["prom"], demo["start"], demo["end"], STEP,
                             namespace="payments|search")
    assert set(u.containers["namespace"]) == {"payments", "search"}
    assert u.nodes.height == demo["cap"]["n_minus_1"]["nodes"]  # nodes stay whole-cluster


def test_metrics_server_snapshot_beside_prometheus(demo: dict[str, Any],
                                                    small_demo: dict[str, Any]) -> None:
    from workbench import MetricsServer

    ms = MetricsServer.from_kubeconfig(small_demo["eps"]["kubeconfig"])
    u = capacity.fetch_usage(demo["prom"], demo["start"], demo["end"], STEP, metrics_server=ms)
    by_path = capacity.fetch_usage(demo["prom"], demo["start"], demo["end"], STEP,
                                   metrics_server=small_demo["eps"]["kubeconfig"])
    assert by_path.metrics_server is not None
    assert by_path.metrics_server.select("namespace", "pod", "container").sort(
        "namespace", "pod", "container").equals(u.metrics_server.select(  # type: ignore[union-attr]
            "namespace", "pod", "container").sort("namespace", "pod", "container"))
    f = u.metrics_server
    assert f is not None and f.height > 10
    assert set(f.columns) >= {"namespace", "pod", "container", "cpu_now", "memory_now",
                              "cpu_mean", "cpu_p95", "memory_mean", "memory_p95"}
    # the snapshot is the live "now", the window the backfilled history: the same pods, mostly
    assert f["cpu_p95"].is_not_null().mean() > 0.8
    assert (f["memory_now"] > 0).all()


def test_local_statistics_equal_prometheus_own_over_time_functions(demo: dict[str, Any]) -> None:
    """The samples aggregated here (``aggregation="local"``) give what the default's
    ``quantile/avg/max/count_over_time`` subqueries give on the server."""
    local = capacity.fetch_usage(demo["prom"], demo["start"], demo["end"], STEP,
                                 percentiles=capacity.DEFAULT_PERCENTILES, aggregation="local")
    cols = ["cpu_mean", "cpu_p90", "cpu_p95", "cpu_p99", "memory_mean", "memory_p95",
            "memory_max"]
    keys = ["namespace", "pod", "container"]
    server = demo["usage"].containers.select(*keys, *cols, "cpu_points")
    both = local.containers.select(*keys, *cols, "cpu_points").join(
        server, on=keys, suffix="_server")
    assert both.height == local.containers.height == server.height
    assert (both["cpu_points"] == both["cpu_points_server"]).all()
    for c in cols:
        a, b = both[c].to_numpy(), both[f"{c}_server"].to_numpy()
        assert a == pytest.approx(b, rel=1e-9, abs=1e-12, nan_ok=True), c


def test_tuner_recomputes_recommendations(demo: dict[str, Any]) -> None:
    from workbench.widgets import CapacityParams, capacity_tuner

    box = capacity_tuner(demo["usage"], CapacityParams(), charts=False)
    before = box.state["recs"]
    box.controls["memory_buffer"].value = 0.5
    box.controls["cpu_percentile"].value = 99.0
    after = box.state["recs"]
    assert box.state["params"].memory_buffer == 0.5
    expected = capacity.recommend(demo["usage"], cpu_percentile=99, memory_buffer=0.5)
    assert after.equals(expected)
    assert not after.equals(before)
    box.controls["namespace"].value = "payments"
    assert set(box.state["recs"]["namespace"]) == {"payments"}


def test_tuner_never_changes_a_value_silently(demo: dict[str, Any]) -> None:
    """An out-of-range buffer widens the slider (no clamp to 1.0); a percentile that was not
    fetched is named, with the one shown instead and the fix."""
    from workbench.widgets import CapacityParams, capacity_tuner

    with pytest.warns(UserWarning) as caught:
        box = capacity_tuner(demo["usage"], CapacityParams(memory_buffer=1.5, cpu_percentile=97),
                             charts=False)
    assert box.controls["memory_buffer"].value == 1.5
    assert box.state["params"].memory_buffer == 1.5
    fetched = [float(x) for x in demo["usage"].percentiles]
    assert 97.0 not in fetched
    assert box.controls["cpu_percentile"].value == fetched[-1]
    messages = [str(w.message) for w in caught]
    assert any("cpu_percentile = 97 was not fetched" in m and "percentiles=" in m for m in messages)
    assert any("memory buffer = 1.5 is above the slider range" in m for m in messages)
    notes = " ".join(getattr(c, "value", "") for c in box.children)
    assert "97 was not fetched" in notes and "1.5 is above" in notes
