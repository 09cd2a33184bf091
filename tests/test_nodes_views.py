"""Charts, tables and the threshold tuner of the node-exporter report (specs, not pixels)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import altair as alt
import polars as pl
import pytest

from workbench import Prometheus
from workbench import nodes as wn
from workbench.charts import (
    availability_chart,
    enable_renderer,
    enable_theme,
    fs_forecast_chart,
    fs_table,
    html_table,
    resource_chart,
    safe_json,
    summary_table,
)
from workbench.charts._render import chart_html
from workbench.testing.servers import ManagedProcess
from workbench.widgets import node_use_report, node_use_views, use_tuner

from . import nodes_data as nd


@pytest.fixture(scope="module")
def use(node_prom: ManagedProcess) -> wn.NodeUse:
    return wn.fetch_node_use(Prometheus(node_prom.url), nd.BASE_S, nd.END_S)


def _charts(views: list[object]) -> list[alt.TopLevelMixin]:
    return [v for v in views if isinstance(v, alt.TopLevelMixin)]


def _rows(spec: dict) -> int:
    return sum(len(d) for d in spec.get("datasets", {}).values())


def test_static_views_cover_every_resource(use: wn.NodeUse) -> None:
    enable_theme()
    views = node_use_views(use)
    charts = _charts(views)
    titles = [c.to_dict().get("title") for c in charts]
    for res in ("cpu_util", "load_per_cpu", "mem_util", "majfault_rate", "disk_util",
                "disk_queue", "fs_used", "net_rx_bytes", "net_tx_bytes", "net_err_ratio"):
        assert wn.RESOURCES[res][0] in titles, res
    assert len(charts) == 14
    # thresholds of flagged resources are drawn as a bound parameter with the right value
    cpu = next(c.to_dict() for c in charts if c.to_dict().get("title") == "CPU utilisation")
    assert cpu["params"][0]["name"] == "threshold"
    assert cpu["params"][0]["value"] == 0.9
    assert cpu["params"][0]["bind"]["input"] == "range"
    assert cpu["facet"]["field"] == "node"


def test_network_drops_are_drawn_per_hour_in_hourly_or_longer_buckets(use: wn.NodeUse) -> None:
    """Drops are rare events: a per-step rate of 0 and 1/240 is a barcode, so the chart shows
    drops per hour, bucket means over an hour or longer (the bucket maximum kept)."""
    from workbench.widgets.use import per_hour

    enable_theme()
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    # 24 h at a 2-minute step; a drop every 4 minutes during the first half of each hour
    frame = pl.DataFrame({"node": ["a"] * 720, "device": [""] * 720,
                          "timestamp": [t0 + timedelta(minutes=2 * i) for i in range(720)],
                          "value": [1 / 240 if i % 30 < 15 else 0.0 for i in range(720)]})
    hourly, max_rows = per_hour(frame, 24.0)
    assert max_rows == 24
    spec = resource_chart(hourly, title="Network drops per hour", unit="per hour",
                          max_rows=max_rows).to_dict()
    rows = [r for d in spec["datasets"].values() for r in d]
    assert 20 <= len(rows) <= 24
    # 15 an hour for half of each hour: 7.5 an hour (a bucket a few minutes off the hour
    # holds one step more or less), the bucket maximum the full rate of 15 an hour
    assert all(r["value"] == pytest.approx(7.5, abs=0.6) for r in rows[:-1])
    assert max(r["max"] for r in rows) == pytest.approx(15.0)
    # the report uses it: the node views title the drops chart per hour
    titles = [str(c.to_dict().get("title", "")) for c in _charts(node_use_views(use))]
    assert any(t.startswith("Network drops per hour") for t in titles)


def test_large_series_are_aggregated_under_the_row_limit() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    n_nodes, n_points = 30, 2000  # 60,000 samples
    frame = pl.DataFrame({
        "node": [f"node-{i:02d}" for i in range(n_nodes) for _ in range(n_points)],
        "device": [""] * (n_nodes * n_points),
        "timestamp": [t0 + timedelta(minutes=k) for _ in range(n_nodes) for k in range(n_points)],
        "value": [float(k % 100) / 100 for _ in range(n_nodes) for k in range(n_points)],
    })
    spec = resource_chart(frame, title="CPU", unit="ratio", threshold=0.9).to_dict()
    assert 0 < _rows(spec) <= 4000  # passes altair's default 5,000-row guard
    peak = max(r["max"] for d in spec["datasets"].values() for r in d)
    assert peak == pytest.approx(0.99)


def test_flaky_scrapes_on_a_large_cluster_stay_under_the_row_limit() -> None:
    # 50 nodes x 14 days at a 30-minute step, every other step with one failed scrape of 60:
    # 336 down windows per node, 16,800 in all. The chart must not hit altair's 5,000-row
    # MaxRowsError (which fails the whole scheduled report), and keeps the real downtime.
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    step_s, n_nodes = 1800, 50
    n = 14 * 24 * 2 + 1
    ts = [t0 + timedelta(seconds=step_s * k) for k in range(n)]
    up = pl.DataFrame({
        "node": [f"node-{i:02d}" for i in range(n_nodes) for _ in range(n)],
        "timestamp": ts * n_nodes,
        "value": [59 / 60 if k % 2 else 1.0 for _ in range(n_nodes) for k in range(n)],
    })
    av = wn.availability(up, ts[0], ts[-1], step_s)
    assert av["down_windows"].list.len().to_list() == [n // 2] * n_nodes
    enable_theme()
    spec = availability_chart(av, ts[0], ts[-1]).to_dict()  # raised MaxRowsError before
    rows = [r for d in spec["datasets"].values() for r in d]
    assert len(rows) <= 4000
    down = [r for r in rows if r["state"] == "down"]
    assert sum(r["windows"] for r in down) == n_nodes * (n // 2)
    # every window is 30 s of downtime: 336 x 0.5 min per node
    per_node = {r["node"]: 0.0 for r in down}
    for r in down:
        per_node[r["node"]] += r["down_minutes"]
    assert per_node == {f"node-{i:02d}": pytest.approx(n // 2 * 0.5) for i in range(n_nodes)}
    assert sorted(r["node"] for r in rows if r["state"] == "up") == sorted(per_node)


def test_few_down_windows_are_drawn_one_bar_each(use: wn.NodeUse) -> None:
    av = wn.availability(wn.resource_frame(use, "up", per_node=True), use.start, use.end,
                         use.step_s)
    spec = availability_chart(av, use.start, use.end).to_dict()
    down = [r for d in spec["datasets"].values() for r in d if r["state"] == "down"]
    assert [(r["node"], r["windows"], r["down_minutes"]) for r in down] == [
        ("node-c", 1, pytest.approx(60.0, abs=1.0))]


def test_thousands_of_pod_mounts_stay_under_the_row_limit() -> None:
    # containerd mounts a tmpfs shm per pod sandbox and older kube-prometheus-stack releases do
    # not exclude them: 50 nodes x 14 days of pod churn give > 5,000 filesystem series.
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    n = 14 * 48 + 1
    nodes, devices, times, values = [], [], [], []
    for i in range(50):
        for mount, used in (("/", 0.5), ("/boot", 0.3), ("/var/lib/data", 0.9)):
            nodes += [f"node-{i:02d}"] * n
            devices += [mount] * n
            times += [t0 + timedelta(minutes=30 * k) for k in range(n)]
            values += [used] * n
        for s in range(110):
            first = (s * 61) % (n - 6)
            nodes += [f"node-{i:02d}"] * 6
            devices += [f"/run/containerd/io.containerd.grpc.v1.cri/sandboxes/{s:064d}/shm"] * 6
            times += [t0 + timedelta(minutes=30 * k) for k in range(first, first + 6)]
            values += [0.01] * 6
    frame = pl.DataFrame({"node": nodes, "device": devices, "timestamp": times, "value": values})
    assert frame.select("node", "device").n_unique() == 50 * 113
    spec = resource_chart(frame, title="Filesystem used", unit="ratio").to_dict()  # no error
    rows = [r for d in spec["datasets"].values() for r in d]
    assert 0 < len(rows) <= 4000
    assert spec["title"] == ("Filesystem used (top 8 per node by peak; 5250 more not shown) "
                             "(11 of 50 nodes with the highest peak, then the mean of the "
                             "other 39)")
    shown = {(r["node"], r["device"]) for r in rows}
    assert len(shown) == 12 * 8  # 11 nodes and the others' panel, 8 devices each
    for node in spec["facet"]["sort"]:  # the real filesystems are kept, the fullest at 0.9
        assert {(node, m) for m in ("/", "/boot", "/var/lib/data")} <= shown
    assert max(r["max"] for r in rows) == pytest.approx(0.9)


def test_forecast_chart_of_thousands_of_filesystems_keeps_the_flagged_ones() -> None:
    # 50 nodes x 110 pods, one 64 MB shm tmpfs each, plus one filling filesystem per node
    n = 50 * 110
    shm = pl.DataFrame({
        "node": [f"node-{i % 50:02d}" for i in range(n)], "device": "shm",
        "mountpoint": [f"/run/containerd/io.containerd.grpc.v1.cri/sandboxes/{i:064d}/shm"
                       for i in range(n)],
        "fstype": "tmpfs", "size_bytes": 64e6, "avail_bytes": 63e6, "readonly": False,
        "deriv_bytes_per_s": 0.0, "fitted_avail_bytes": 63e6})
    data = pl.DataFrame({
        "node": [f"node-{i:02d}" for i in range(50)], "device": "/dev/sdb1",
        "mountpoint": "/var/lib/data", "fstype": "ext4", "size_bytes": 100e9,
        "avail_bytes": 10e9, "readonly": False, "deriv_bytes_per_s": -10e9 / 36_000,
        "fitted_avail_bytes": 10e9})
    full = pl.DataFrame({  # almost full with a flat trend: no hours to full
        "node": ["node-49"], "device": ["/dev/sdc1"], "mountpoint": ["/var/log"],
        "fstype": ["xfs"], "size_bytes": [100e9], "avail_bytes": [1e9], "readonly": [False],
        "deriv_bytes_per_s": [0.0], "fitted_avail_bytes": [1e9]})
    forecast = wn.fs_forecast(pl.concat([shm, data, full]))
    assert forecast["filling"].sum() == 50
    assert forecast["almost_full"].sum() == 1
    table = fs_table(forecast)
    assert "/var/log" in table.html  # within the 500 rows shown, not behind 5,500 shm mounts
    assert table.html.count("/var/lib/data") == 50
    spec = fs_forecast_chart(forecast).to_dict()  # raised MaxRowsError before
    rows = [r for d in spec["datasets"].values() for r in d]
    assert len(rows) == 40  # 39 filesystems and the others' bar
    assert sum(r["status"] == "filling up" for r in rows) == 39  # 38 + others (12 filling)
    assert [r["mountpoint"] for r in rows if r["status"] == "almost full"] == ["/var/log"]
    assert {r["hours_to_full"] for r in rows if r["status"] == "filling up"} == {10.0}
    assert rows[-1]["filesystem"] == "others (5512 filesystems)"
    assert rows[-1]["used_ratio"] == pytest.approx(0.9)  # the rest's fullest: /var/lib/data
    assert spec["title"].endswith("(flagged, then fullest; the other 5512: their fullest, "
                                  "worst status)")


def test_tuner_sliders_retune_flags(use: wn.NodeUse) -> None:
    box = use_tuner(use, charts=False)
    flags = dict(zip(box.state["summary"]["node"], box.state["summary"]["flags"].to_list(),
                     strict=True))
    assert flags["node-a"] == []
    box.sliders["cpu_util"].value = 0.2
    flags = dict(zip(box.state["summary"]["node"], box.state["summary"]["flags"].to_list(),
                     strict=True))
    assert flags["node-a"] == ["cpu"]
    assert box.state["thresholds"].cpu_util == 0.2
    box.sliders["sustain_min"].value = 120.0  # longer than the hot hour
    flags = dict(zip(box.state["summary"]["node"], box.state["summary"]["flags"].to_list(),
                     strict=True))
    assert "load" not in flags["node-b"]
    assert len(node_use_report(use, interactive=True)) == 1
    assert len(node_use_report(use, interactive=False)) > 10


def test_tables_escape_label_values(use: wn.NodeUse) -> None:
    table = html_table(wn.fs_forecast(use.filesystems))
    assert nd.XSS not in table.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in table.html
    summary = summary_table(wn.use_summary(use))
    assert summary.html.index("node-b") < summary.html.index("node-c") < \
        summary.html.index("node-a")
    assert "12.0 h" in summary.html


def test_chart_html_cannot_be_broken_out_of() -> None:
    spec = {"data": {"values": [{"x": "</script><script>alert(1)</script>"}]}, "mark": "point"}
    markup = chart_html(spec)
    assert "</script><script>" not in markup.split("var spec = ", 1)[1].split(";\n", 1)[0]
    assert markup.count("<script") == 1
    assert safe_json("a&b<c>") == '"a\\u0026b\\u003cc\\u003e"'


def test_renderer_outputs_self_contained_html() -> None:
    enable_renderer()
    bundle = alt.Chart(pl.DataFrame({"x": [1, 2]})).mark_point().encode(x="x")._repr_mimebundle_()
    mimes = bundle[0] if isinstance(bundle, tuple) else bundle
    markup = mimes["text/html"]
    assert 'class="workbench-chart"' in markup
    assert "src=" not in markup  # nothing loaded; the only URL is the spec's $schema id
    assert markup.count("http") == 1


def test_threshold_above_the_data_stays_inside_the_panel(use: wn.NodeUse) -> None:
    import re

    import vl_convert as vlc

    frame = wn.resource_frame(use, "mem_util")  # 0.25-0.5, threshold 0.9
    heights = {}
    for thr in (None, 0.9):
        svg = vlc.vegalite_to_svg(resource_chart(frame, title="Memory", unit="ratio",
                                                 threshold=thr).to_dict())
        heights[thr] = float(re.search(r'height="([0-9.]+)"', svg).group(1))  # type: ignore[union-attr]
    assert heights[0.9] == pytest.approx(heights[None], abs=10)
