"""node-exporter USE analysis against a real Prometheus over hand-computable series."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from workbench import ConfigError, Prometheus
from workbench import nodes as wn
from workbench.testing.openmetrics import OpenMetricsWriter
from workbench.testing.servers import ManagedProcess, backfill_openmetrics, start_prometheus

from . import nodes_data as nd
from .conftest import require_binary

GIB = nd.GIB


def _dt(s: float) -> datetime:
    return datetime.fromtimestamp(s, tz=UTC)


@pytest.fixture(scope="module")
def use(node_prom: ManagedProcess) -> wn.NodeUse:
    return wn.fetch_node_use(Prometheus(node_prom.url), nd.BASE_S, nd.END_S)


def _steady(use: wn.NodeUse, resource: str, node: str, *, device: str = "") -> pl.Series:
    """Samples after the first rate window (rate() under-reports where the data begins)."""
    f = wn.resource_frame(use, resource)
    return f.filter(pl.col("node") == node, pl.col("device") == device,
                    pl.col("timestamp") >= _dt(nd.BASE_S + 600))["value"]


# -- fetched data -------------------------------------------------------------------------------

def test_nodes_named_through_kube_state_metrics(use: wn.NodeUse) -> None:
    assert use.nodes.select("node", "instance", "matched_by", "n_cpu").rows() == [
        ("node-a", "10.0.0.1:9100", "kube_pod_info", 2),
        ("node-b", "10.0.0.2:9100", "kube_pod_info", 2),
        ("node-c", "10.0.0.3:9100", "kube_pod_info", 4),
    ]
    assert use.step_s == 60.0
    assert set(use.series["node"].unique()) == {"node-a", "node-b", "node-c"}


def test_cpu_utilisation_counts_iowait_as_idle(use: wn.NodeUse) -> None:
    a = _steady(use, "cpu_util", "node-a")
    assert a.min() == pytest.approx(0.25, abs=1e-9)
    assert a.max() == pytest.approx(0.25, abs=1e-9)
    c = _steady(use, "cpu_util", "node-c")
    assert c.median() == pytest.approx(0.10, abs=1e-9)


def test_cpu_utilisation_exact_where_rate_windows_are_partial(use: wn.NodeUse) -> None:
    # where the data begins, and when node-c comes back after being down, the 5m rate windows
    # hold only a few samples; rate() under-reports every mode alike and the ratio stays exact
    f = wn.resource_frame(use, "cpu_util")
    first = f.filter(pl.col("timestamp") < _dt(nd.BASE_S + 300))
    assert first.height > 0
    for node, busy in nd.CPU_BUSY.items():
        vals = first.filter(pl.col("node") == node)["value"]
        assert vals.min() == pytest.approx(busy, abs=1e-9), node
        assert vals.max() == pytest.approx(busy, abs=1e-9), node
    back = f.filter(pl.col("node") == "node-c", pl.col("timestamp") >= _dt(nd.DOWN[1]),
                    pl.col("timestamp") < _dt(nd.DOWN[1] + 600))["value"]
    assert back.len() >= 5
    assert back.max() == pytest.approx(0.10, abs=1e-9)


def test_hot_hour_cpu_and_load(use: wn.NodeUse) -> None:
    f = wn.resource_frame(use, "cpu_util").filter(pl.col("node") == "node-b")
    inside = f.filter(pl.col("timestamp") >= _dt(nd.HOT[0] + 300),
                      pl.col("timestamp") < _dt(nd.HOT[1]))["value"]
    assert inside.min() == pytest.approx(nd.HOT_BUSY, abs=1e-9)
    load = wn.resource_frame(use, "load_per_cpu").filter(pl.col("node") == "node-b")
    hot = load.filter(pl.col("value") > 2)
    assert hot["value"].unique().to_list() == [2.5]
    assert hot["timestamp"].min() == _dt(nd.HOT[0])
    assert hot["timestamp"].max() == _dt(nd.HOT[1] - 60)
    assert _steady(use, "load_per_cpu", "node-a").unique().to_list() == [0.25]


def test_memory_disk_network(use: wn.NodeUse) -> None:
    for node, util in (("node-a", 0.25), ("node-b", 0.5), ("node-c", 0.3)):
        assert _steady(use, "mem_util", node).max() == pytest.approx(util, abs=1e-12)
    assert _steady(use, "majfault_rate", "node-a").median() == pytest.approx(10.0)
    # loop0 (busy 0.9) is not a disk the mixin's device selector keeps
    assert set(wn.resource_frame(use, "disk_util")["device"].unique()) == {"sda"}
    assert _steady(use, "disk_util", "node-a", device="sda").median() == pytest.approx(0.1)
    assert _steady(use, "disk_queue", "node-a", device="sda").median() == pytest.approx(0.2)
    # lo (1 GB/s) is excluded from the network sums
    assert _steady(use, "net_rx_bytes", "node-a").median() == pytest.approx(1e6)
    assert _steady(use, "net_tx_bytes", "node-a").median() == pytest.approx(5e5)
    assert _steady(use, "net_err_ratio", "node-b").median() == pytest.approx(20 / 1500)
    assert _steady(use, "net_err_ratio", "node-a").max() == 0.0


def test_filesystem_forecast(use: wn.NodeUse) -> None:
    fs = wn.fs_forecast(use.filesystems)
    top = fs.row(0, named=True)
    assert (top["node"], top["mountpoint"]) == ("node-b", "/var/lib/data")
    assert top["deriv_bytes_per_s"] == pytest.approx(-nd.FILL_BYTES_PER_H / 3600, rel=1e-9)
    assert top["avail_bytes"] == pytest.approx(nd.FILL_AVAIL_END)
    assert top["hours_to_full"] == pytest.approx(12.0, rel=1e-9)
    assert top["avail_pct"] == pytest.approx(12.0)
    assert top["filling"] is True
    assert fs.filter(pl.col("filling"))["mountpoint"].to_list() == ["/var/lib/data"]
    assert f"/mnt/{nd.XSS}" in fs["mountpoint"].to_list()
    # a 10 h horizon is too short for a filesystem 12 h from full
    assert not wn.fs_forecast(use.filesystems, wn.UseThresholds(fs_horizon_h=10))["filling"].any()
    # with only 11 % allowed it is not low enough to flag either
    assert not wn.fs_forecast(use.filesystems, wn.UseThresholds(fs_avail_pct=11))["filling"].any()


def test_a_size_zero_filesystem_does_not_hide_the_fullest(use: wn.NodeUse) -> None:
    # fuse.lxcfs and similar report size 0: avail/size is NaN, which sorted above every real
    # ratio, so the summary named it the node's fullest filesystem with a blank percentage.
    lxcfs = pl.DataFrame({"node": ["node-b"], "device": ["lxcfs"],
                          "mountpoint": ["/var/lib/lxcfs"], "fstype": ["fuse.lxcfs"],
                          "size_bytes": [0.0], "avail_bytes": [0.0], "readonly": [False],
                          "deriv_bytes_per_s": [0.0], "fitted_avail_bytes": [0.0]},
                         schema=use.filesystems.schema)
    with_lxcfs = dataclasses.replace(use, filesystems=pl.concat([use.filesystems, lxcfs]))
    fs = wn.fs_forecast(with_lxcfs.filesystems)
    row = fs.filter(pl.col("fstype") == "fuse.lxcfs").row(0, named=True)
    assert (row["used_ratio"], row["avail_pct"], row["filling"], row["almost_full"]) == (
        None, None, False, False)
    b = wn.use_summary(with_lxcfs).filter(pl.col("node") == "node-b").row(0, named=True)
    assert b["fs_worst"] == "/var/lib/data"
    assert b["fs_used_max"] == pytest.approx(1 - nd.FILL_AVAIL_END / nd.FILL_SIZE)


def test_down_window_and_reboot(use: wn.NodeUse) -> None:
    av = wn.availability(wn.resource_frame(use, "up", per_node=True), use.start, use.end,
                         use.step_s)
    row = av.filter(pl.col("node") == "node-c").row(0, named=True)
    assert row["downtime_s"] == pytest.approx(3600.0, abs=use.step_s)
    (window,) = row["down_windows"]
    assert abs((window["start"] - _dt(nd.DOWN[0])).total_seconds()) <= use.step_s
    assert abs((window["end"] - _dt(nd.DOWN[1])).total_seconds()) <= use.step_s
    assert av.filter(pl.col("node") != "node-c")["downtime_s"].to_list() == [0.0, 0.0]
    boots = wn.reboots(wn.resource_frame(use, "boot_time", per_node=True))
    assert boots.select("node", "reboots").rows() == [("node-a", 0), ("node-b", 0), ("node-c", 1)]
    assert boots.filter(pl.col("node") == "node-c")["last_boot"][0] == _dt(nd.REBOOT_BOOT_TIME)


def test_summary_worst_first_with_exact_flags(use: wn.NodeUse) -> None:
    s = wn.use_summary(use)
    assert s["node"].to_list() == ["node-b", "node-c", "node-a"]
    flags = dict(zip(s["node"], s["flags"].to_list(), strict=True))
    assert sorted(flags["node-b"]) == ["cpu", "fs_filling", "load", "net_errors"]
    assert sorted(flags["node-c"]) == ["down", "rebooted"]
    assert flags["node-a"] == []
    b = s.row(0, named=True)
    assert b["fs_hours_to_full"] == pytest.approx(12.0)
    assert b["fs_worst"] == "/var/lib/data"
    assert b["load_per_cpu_above_s"] == pytest.approx(3600.0)
    assert 3300 <= b["cpu_util_above_s"] <= 3600  # the 5m rate window blurs the edges
    c = s.filter(pl.col("node") == "node-c").row(0, named=True)
    assert c["reboots"] == 1
    assert c["availability"] == pytest.approx(1 - 3600 / 36060, abs=0.002)


def test_thresholds_retune_flags(use: wn.NodeUse) -> None:
    s = wn.use_summary(use, wn.UseThresholds(cpu_util=0.2, net_err_ratio=0.02))
    flags = dict(zip(s["node"], s["flags"].to_list(), strict=True))
    assert "cpu" in flags["node-a"]  # 0.25 busy all along
    assert "net_errors" not in flags["node-b"]  # 1.3 % < 2 %
    # the hot hour is 60 minutes: a 90-minute `for` does not flag it
    s = wn.use_summary(use, wn.UseThresholds(sustain_min=90))
    assert "load" not in s.filter(pl.col("node") == "node-b")["flags"][0].to_list()


def test_missing_job_names_the_jobs_found(node_prom: ManagedProcess) -> None:
    with pytest.raises(wn.NodeDataError, match=r"job='node'.*node-exporter.*kubelet|kubelet.*"
                       r"node-exporter"):
        wn.fetch_node_use(Prometheus(node_prom.url), nd.BASE_S, nd.END_S, job="node")


def _spiky_history(path: Path) -> tuple[int, int]:
    """One 2-CPU node, 6 h scraped every 30 s: load1 0.5 and memory 25 % throughout, except a
    one-minute spike (load 6, memory 99 %) ending exactly on a 30-minute step, and a 45-minute
    stretch of load 6 from 4h00 (sustained, a real saturation)."""
    base = nd.BASE_S
    ts = np.arange(base, base + 6 * 3600 + 1, 30, dtype=float)
    spike = (ts > base + 2 * 3600 - 60) & (ts <= base + 2 * 3600)
    hot = (ts >= base + 4 * 3600) & (ts < base + 4 * 3600 + 45 * 60)
    target = {"job": "node-exporter", "instance": "10.9.0.1:9100"}
    with path.open("w") as fh:
        w = OpenMetricsWriter(fh)
        w.family("node_cpu_seconds", "counter", "cpu")
        for cpu in ("0", "1"):
            for mode, frac in (("idle", 0.9), ("user", 0.1)):
                w.series("node_cpu_seconds_total", {**target, "cpu": cpu, "mode": mode}, ts,
                         (ts - base + 1000.0) * frac)
        w.family("node_load1", "gauge", "load")
        w.series("node_load1", target, ts, np.where(spike | hot, 6.0, 0.5))
        w.family("node_memory_MemTotal_bytes", "gauge", "mem")
        w.series("node_memory_MemTotal_bytes", target, ts, np.full(ts.shape, 8 * GIB))
        w.family("node_memory_MemAvailable_bytes", "gauge", "mem")
        w.series("node_memory_MemAvailable_bytes", target, ts,
                 np.where(spike, 0.01, 0.75) * 8 * GIB)
        w.family("up", "gauge", "up")
        w.series("up", target, ts, np.ones(ts.shape))
        w.close()
    return base, base + 6 * 3600


def test_a_one_minute_spike_on_a_coarse_step_is_not_sustained(tmp_path: Path) -> None:
    # On a 30-minute step the load and memory gauges used to be the one sample at each step's
    # end: a one-minute spike landing there counted as 30 minutes above the threshold and
    # flagged the node (sustain_min is 15). They are now the step's mean, as rates already are.
    require_binary("prometheus")
    require_binary("promtool")
    start, end = _spiky_history(tmp_path / "spiky.om")
    backfill_openmetrics(tmp_path / "spiky.om", tmp_path / "tsdb")
    server = start_prometheus(tmp_path / "tsdb")
    try:
        use = wn.fetch_node_use(Prometheus(server.url), start, end, step="30m")
    finally:
        server.stop()
    (row,) = wn.use_summary(use).iter_rows(named=True)
    assert row["flags"] == ["load"]  # the 45-minute stretch, not the spike; no "memory"
    load = wn.resource_frame(use, "load_per_cpu").filter(
        pl.col("timestamp") == _dt(start + 2 * 3600))["value"]
    # mean of 60 samples in (1h30, 2h00]: 2 at 6.0 and 58 at 0.5, per CPU (closed 2.x window
    # holds 61 samples: one more 0.5)
    assert load.to_list() == [pytest.approx((2 * 6.0 + 59 * 0.5) / 61 / 2)]
    mem = wn.resource_frame(use, "mem_util").filter(
        pl.col("timestamp") == _dt(start + 2 * 3600))["value"]
    assert mem.to_list() == [pytest.approx(1 - (2 * 0.01 + 59 * 0.75) / 61)]
    assert row["load_per_cpu_above_s"] == 1800.0  # 4h30 step: 30 minutes at 3.0 per CPU


# -- pure functions on hand-made frames ---------------------------------------------------------

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _frame(values: list[float | None], node: str = "a", start_min: int = 0) -> pl.DataFrame:
    rows = [(node, "", T0 + timedelta(minutes=start_min + i), v)
            for i, v in enumerate(values) if v is not None]
    return pl.DataFrame(rows, schema={"node": pl.String, "device": pl.String,
                                      "timestamp": pl.Datetime("ms", "UTC"),
                                      "value": pl.Float64}, orient="row")


def test_sustained_breaks_on_gaps_and_dips() -> None:
    f = _frame([1, 1, 1, None, 1, 1, 0, 1])  # a missing minute breaks the run
    assert wn.sustained(f, 0.5, 60.0)["longest_s"].to_list() == [180.0]
    assert wn.sustained(f, 2.0, 60.0)["longest_s"].to_list() == [0.0]
    nan = float("nan")  # polars orders NaN above every number; it must not count as "above"
    assert wn.sustained(_frame([nan, nan, nan]), 0.5, 60.0)["longest_s"].to_list() == [0.0]


def test_availability_counts_vanished_targets() -> None:
    # seen from minute 2; silent at minutes 5-6; silent again after minute 8 until the end (10)
    up = _frame([1, 1, 1, None, None, 1, 1], start_min=2).drop("device")
    av = wn.availability(up, T0, T0 + timedelta(minutes=10), 60.0).row(0, named=True)
    assert av["downtime_s"] == 4 * 60.0  # minutes 5, 6, 9, 10; minutes 0-1 precede the node
    assert [(w["start"], w["end"]) for w in av["down_windows"]] == [
        (T0 + timedelta(minutes=4), T0 + timedelta(minutes=6)),
        (T0 + timedelta(minutes=8), T0 + timedelta(minutes=10)),
    ]


def test_availability_on_a_grid_off_the_window_start() -> None:
    """VictoriaMetrics puts range points on multiples of the step, not at start + k * step:
    the same samples 42 s later are the same steps (the big demo's node report read all 50
    nodes down for 24 h), and the vanished minutes are still found."""
    up = _frame([1, 1, 1, None, None, 1, 1], start_min=2).drop("device").with_columns(
        pl.col("timestamp") + timedelta(seconds=42))
    av = wn.availability(up, T0, T0 + timedelta(minutes=10), 60.0).row(0, named=True)
    assert av["downtime_s"] == 3 * 60.0  # minutes 5, 6 and 9 (the grid ends at 9:42)
    assert [(w["start"], w["end"]) for w in av["down_windows"]] == [
        (T0 + timedelta(minutes=4, seconds=42), T0 + timedelta(minutes=6, seconds=42)),
        (T0 + timedelta(minutes=8, seconds=42), T0 + timedelta(minutes=9, seconds=42)),
    ]


def test_node_names_fallbacks() -> None:
    targets = pl.DataFrame({"instance": ["10.0.0.1:9100", "10.0.0.2:9100", "10.0.0.3:9100",
                                         "10.0.0.9:9100"],
                            "namespace": ["m", "m", None, None], "pod": ["p1", "p2", None, None],
                            "node": ["labelled", None, None, None]})
    pods = pl.DataFrame({"namespace": ["m", "m"], "pod": ["p1", "p2"], "node": ["x", "from-pod"]})
    info = pl.DataFrame({"node": ["from-ip"], "internal_ip": ["10.0.0.3"]})
    assert wn.node_names(targets, pods, info).rows() == [
        ("10.0.0.1:9100", "labelled", "label"),
        ("10.0.0.2:9100", "from-pod", "kube_pod_info"),
        ("10.0.0.3:9100", "from-ip", "kube_node_info"),
        ("10.0.0.9:9100", "10.0.0.9:9100", "instance"),
    ]


def test_chart_rows_bounds_rows_and_keeps_peaks() -> None:
    n = 3000
    rows = [(f"n{k}", "", T0 + timedelta(minutes=i), float(i == 1234 and k == 0))
            for k in range(4) for i in range(n)]
    f = pl.DataFrame(rows, schema={"node": pl.String, "device": pl.String,
                                   "timestamp": pl.Datetime("ms", "UTC"), "value": pl.Float64},
                     orient="row")
    out = wn.chart_rows(f, max_rows=1000)
    assert out.height <= 1000
    assert out.filter(pl.col("node") == "n0")["max"].max() == 1.0
    assert out.group_by("node").len()["len"].unique().to_list() == [250]


def test_thresholds_validated() -> None:
    with pytest.raises(ConfigError, match="cpu_util"):
        wn.UseThresholds(cpu_util=-1)
