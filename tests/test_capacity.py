"""Pure capacity analysis on hand-computed cases: owner chains, KRR rounding and gates, flags,
the mixin's overcommit branches, trend crossings, first-fit-decreasing packing, storage sizing,
and the chart specs (valid Vega-Lite, bounded marks at 2,000 containers)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from workbench import CapacityDataError, capacity

MIB = 2**20
GIB = 2**30


def _workloads(**cols: list[object]) -> pl.DataFrame:
    n = len(next(iter(cols.values())))
    base: dict[str, object] = {
        "namespace": ["ns"] * n, "workload_kind": ["Deployment"] * n,
        "workload": [f"w{i}" for i in range(n)], "container": ["c"] * n, "pods_now": [1] * n,
        "cpu_request": [None] * n, "cpu_limit": [None] * n, "memory_request": [None] * n,
        "memory_limit": [None] * n, "cpu_p95": [0.1] * n, "cpu_p50": [0.05] * n,
        "memory_p95": [1e8] * n, "memory_max": [1e8] * n, "cpu_points": [4032] * n,
        "oom_memory_limit": [None] * n, "hpa": [[]] * n, "throttled_ratio": [None] * n,
        "oom_events": [0] * n, "oom_killed": [False] * n}
    base.update(cols)
    return pl.DataFrame(base, schema_overrides={
        "cpu_request": pl.Float64, "cpu_limit": pl.Float64, "memory_request": pl.Float64,
        "memory_limit": pl.Float64, "oom_memory_limit": pl.Float64, "hpa": pl.List(pl.String),
        "throttled_ratio": pl.Float64, "cpu_p95": pl.Float64, "memory_max": pl.Float64,
        "memory_p95": pl.Float64})


def test_owner_chains_including_orphans_and_bare_pods() -> None:
    owners = pl.DataFrame({
        "rel": ["pod", "pod", "pod", "replicaset", "pod", "pod"],
        "namespace": ["a"] * 6,
        "pod": ["web-x", "orphan-rs-y", "job-z", None, "ds-q", "static-n1"],
        "replicaset": [None, None, None, "web", None, None],
        "job_name": [None] * 6,
        "owner_kind": ["ReplicaSet", "ReplicaSet", "Job", "Deployment", "DaemonSet", "Node"],
        "owner_name": ["web", "orphan-rs", "job", "frontend", "ds", "n1"]})
    got = {r[1]: (r[2], r[3]) for r in capacity.resolve_workloads(owners).rows()}
    assert got == {"web-x": ("Deployment", "frontend"), "orphan-rs-y": ("ReplicaSet", "orphan-rs"),
                   "job-z": ("Job", "job"), "ds-q": ("DaemonSet", "ds"),
                   "static-n1": ("Node", "n1")}


def test_krr_rounding_minimums_gates_and_oom_rule() -> None:
    wl = _workloads(cpu_p95=[0.0001, 0.2501, 0.3], memory_max=[10.0 * MIB, 200.0 * MIB, GIB],
                    cpu_points=[100, 100, 99], hpa=[["memory"], [], []],
                    oom_memory_limit=[None, 512.0 * MIB, None], oom_killed=[False, True, False])
    r = capacity.recommend(wl).sort("workload")
    assert r["cpu_request_rec"].to_list() == [0.01, 0.251, None]  # 10m floor, ceil to 1m, gate
    assert r["memory_request_rec"].to_list() == [None, 230.0 * MIB, None]  # ceil(200*1.15)=230
    assert r["note"].to_list() == ["HPA on memory", "", "not enough data (99 CPU samples < 100)"]
    r = capacity.recommend(wl, use_oomkill_data=True, allow_hpa=True).sort("workload")
    assert r["memory_request_rec"].to_list() == [100.0 * MIB, 640.0 * MIB, None]  # 512*1.25
    r = capacity.recommend(wl, cpu_percentile=50, memory_buffer=0.0, round_values=False)
    assert r.sort("workload")["cpu_request_rec"].to_list() == [0.05, 0.05, None]


def test_recommend_refuses_bad_parameters() -> None:
    wl = _workloads(cpu_p95=[0.1])
    with pytest.raises(CapacityDataError, match="was not fetched"):
        capacity.recommend(wl, cpu_percentile=90)
    with pytest.raises(CapacityDataError, match="Buffers must be"):
        capacity.recommend(wl, memory_buffer=-0.1)


def test_savings_with_and_without_prices() -> None:
    wl = _workloads(cpu_request=[1.0, 0.1], memory_request=[2.0 * GIB, 100.0 * MIB],
                    cpu_p95=[0.2, 0.3], memory_max=[GIB / 1.15, 100.0 * MIB], pods_now=[3, 2])
    r = capacity.recommend(wl)
    sv = capacity.savings(r).row(0, named=True)
    assert sv["reclaimable_cpu_cores"] == pytest.approx(0.8 * 3)
    assert sv["missing_cpu_cores"] == pytest.approx(0.2 * 2)
    assert sv["cpu_cores"] == pytest.approx(2.4 - 0.4)
    assert sv["reclaimable_memory_gib"] == pytest.approx(3.0)
    assert sv["total_per_month"] is None
    sv = capacity.savings(r, cpu_core_hour=0.05, memory_gib_hour=0.01).row(0, named=True)
    assert sv["total_per_month"] == pytest.approx((2.0 * 0.05 + sv["memory_gib"] * 0.01) * 730)


def test_flags_thresholds_and_unschedulable_requests() -> None:
    wl = _workloads(cpu_request=[8.0, 0.5, 0.5], memory_request=[GIB, GIB, GIB],
                    memory_limit=[GIB, GIB, GIB], cpu_p95=[4.0, 0.6, 0.3],
                    throttled_ratio=[None, 0.26, 0.25], oom_events=[0, 2, 0])
    nodes = pl.DataFrame({"cpu_allocatable": [3.9, 7.8], "memory_allocatable": [16e9, 32e9]})
    f = capacity.flags(wl, nodes)
    got = {(r["workload"], r["flag"]) for r in f.iter_rows(named=True)}
    assert got == {("w0", "request_above_node"), ("w1", "throttled"), ("w1", "oom_killed"),
                   ("w1", "p95_above_request")}


def _cluster(nodes: int, cp: int, req: float, alloc: float, big: float) -> pl.DataFrame:
    return pl.DataFrame({"nodes": [nodes], "control_plane_nodes": [cp], "cpu_requests": [req],
                         "cpu_limits": [2 * req], "cpu_allocatable": [alloc],
                         "cpu_largest_node": [big], "memory_requests": [1.0],
                         "memory_limits": [1.0], "memory_allocatable": [10.0],
                         "memory_largest_node": [5.0]})


def test_overcommit_follows_the_mixin_branches() -> None:
    cpu = capacity.overcommit(_cluster(4, 0, 13.0, 16.0, 4.0)).row(0, named=True)
    assert (cpu["rule"], cpu["line"], cpu["excess"], cpu["overcommitted"]) == ("N-1", 12.0, 1.0,
                                                                              True)
    assert cpu["limits_overcommitted"] is True
    cpu = capacity.overcommit(_cluster(4, 1, 13.0, 16.0, 4.0)).row(0, named=True)
    assert (cpu["rule"], cpu["overcommitted"]) == ("non-HA: allocatable", False)
    cpu = capacity.overcommit(_cluster(1, 0, 5.0, 4.0, 4.0)).row(0, named=True)
    assert cpu["excess"] is None and cpu["overcommitted"] is False  # single node: not judged


def test_forecast_crossings() -> None:
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    ts = [t0 + dt.timedelta(hours=h) for h in range(0, 241, 24)]
    n = len(ts)
    tr = pl.DataFrame({
        "timestamp": ts * 4, "resource": ["cpu"] * (4 * n),
        "series": ["requests"] * n + ["usage"] * n + ["allocatable"] * n + ["largest_node"] * n,
        "value": [10.0 + 0.5 * d for d in range(n)] + [30.0 - d for d in range(n)]
        + [40.0] * n + [10.0] * n})
    f = capacity.forecast(tr)
    row = f.filter(pl.col("series") == "requests", pl.col("line") == "n_minus_1").row(
        0, named=True)
    assert row["slope_per_day"] == pytest.approx(0.5)
    assert row["days"] == pytest.approx(30.0)  # 15 now, 30 - 15 = 15 at 0.5/day
    assert row["crossing"] == t0 + dt.timedelta(days=40)
    use = f.filter(pl.col("series") == "usage", pl.col("line") == "allocatable").row(0, named=True)
    assert use["days"] is None  # falling
    assert capacity.forecast(tr, horizon_days=10).filter(
        pl.col("series") == "requests")["days"].null_count() == 2


def test_first_fit_decreasing() -> None:
    nodes = [("big", 8.0, 32.0), ("a", 4.0, 16.0), ("b", 4.0, 16.0)]
    # 5 + 3 fill "big"; 4 alone on "a"; 1 fits "b"
    p = capacity.pack([(1.0, 1.0), (5.0, 4.0), (4.0, 4.0), (3.0, 2.0)], nodes)
    assert p["nodes_needed"] == 3 and p["assignment"] == {"big": 2, "a": 1, "b": 1}
    p = capacity.pack([(1.0, 1.0), (1.0, 30.0)], nodes)  # memory decides the order
    assert p["assignment"] == {"big": 2} and p["nodes_needed"] == 1
    p = capacity.pack([(9.0, 1.0), (9.0, 1.0)], nodes)
    assert p["unplaced"] == 2 and p["nodes_needed"] == 2  # two more nodes of the largest kind


def test_storage_sizing_prefers_compaction_histograms() -> None:
    st = pl.DataFrame({"samples_per_s": [10_000.0], "head_series": [1e6], "blocks_bytes": [1e9],
                       "wal_bytes": [1e8], "blocks_growth": [0.0], "appended": [1e9],
                       "chunk_bytes": [1.8e9], "chunk_samples": [1.2e9]})
    r = capacity.storage_capacity(st, retention_size=10 * GIB, retention_days=5)
    assert r["bytes_per_sample"] == pytest.approx(1.5)
    assert r["growth_bytes_per_day"] == pytest.approx(10_000 * 1.5 * 86400)
    assert r["days_fit"] == pytest.approx(10 * GIB / (10_000 * 1.5 * 86400))
    assert r["retention_fits"] is True
    empty = capacity.storage_capacity(st.clear())
    assert empty["days_fit"] is None and empty["bytes_per_sample"] is None


def test_charts_stay_small_at_two_thousand_containers() -> None:
    from workbench.charts.capacity import (
        namespace_chart,
        node_allocation_chart,
        request_usage_chart,
        top_with_others,
    )

    n = 2000
    wl = _workloads(cpu_request=[0.01 + i / 1000 for i in range(n)],
                    memory_request=[float(GIB)] * n, cpu_p95=[0.5] * n,
                    memory_p95=[GIB / 2] * n)
    spec = request_usage_chart(wl, max_points=300).to_dict()
    for panel in spec["hconcat"]:
        name = panel["layer"][1]["data"]["name"]
        assert len(spec["datasets"][name]) <= 300
    nodes = pl.DataFrame({"node": [f"n{i}" for i in range(50)], "pods": [40] * 50,
                          "cpu_requests": [float(i) for i in range(50)],
                          "cpu_allocatable": [64.0] * 50, "cpu_usage_p95": [1.0] * 50,
                          "memory_requests": [1e9] * 50, "memory_allocatable": [2e11] * 50,
                          "memory_usage_p95": [1e9] * 50})
    spec = node_allocation_chart(nodes, top=30).to_dict()
    rows = spec["datasets"][spec["hconcat"][0]["layer"][0]["data"]["name"]]
    assert len({r["node"] for r in rows}) == 31 and rows[-1]["node"] == "others (20)"
    # one node at 12x its allocatable: the axis stops at 150 % and the bar says its value
    spec = node_allocation_chart(nodes.with_columns(
        pl.when(pl.col("node") == "n0").then(768.0).otherwise(pl.col("cpu_requests") / 2)
        .alias("cpu_requests"))).to_dict()
    cpu = spec["hconcat"][0]["layer"]
    assert cpu[0]["encoding"]["x"]["scale"] == {"clamp": True, "domain": [0, 1.5]}
    labels = [r for rows in spec["datasets"].values() for r in rows if "label" in r]
    assert [(r["node"], r["label"]) for r in labels] == [("n0", "1200 %")]
    assert spec["hconcat"][1]["layer"][0]["encoding"]["x"]["scale"] == {}  # memory: unclipped
    ns = pl.DataFrame({"namespace": [f"ns{i}" for i in range(40)],
                       **{c: [1.0] * 40 for c in ("cpu_requests", "cpu_limits", "cpu_usage_mean",
                                                  "memory_requests", "memory_limits",
                                                  "memory_usage_mean")}})
    assert namespace_chart(ns, top=15).to_dict()["hconcat"]
    assert top_with_others(ns, "namespace", "cpu_requests", 15).height == 16
