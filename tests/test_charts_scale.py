"""Charts stay readable on the big setting (50 nodes, 2,000 pods): spec-level bounds on the
number of panels, rows and marks, on synthetic frames of that size with known values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from workbench.charts import resource_chart
from workbench.frames import TIMESTAMP

T0 = datetime(2026, 3, 1, tzinfo=UTC)
NODES = [f"ip-10-0-{n // 256}-{n % 256}.ec2.internal" for n in range(50)]


def _nodes_frame(points: int = 288, devices: int = 1) -> pl.DataFrame:
    """50 nodes over 24 h: node ``n`` is flat at ``n / 100`` (device ``d`` adds ``d / 1000``),
    except node 7, whose single spike to 0.99 makes it the peak of the cluster."""
    step = timedelta(hours=24) / points
    ts = pl.Series([T0 + i * step for i in range(points)]).cast(TIMESTAMP)
    parts = []
    for n, node in enumerate(NODES):
        for d in range(devices):
            values = [n / 100 + d / 1000] * points
            if n == 7:
                values[points // 2] = 0.99
            parts.append(pl.DataFrame({"node": node, "device": f"sd{chr(97 + d)}" if devices > 1
                                       else "", "timestamp": ts, "value": values}))
    return pl.concat(parts)


def _panels(spec: dict) -> list[str]:  # type: ignore[type-arg]
    (rows,) = spec["datasets"].values()
    return sorted({r["node"] for r in rows})


def test_fifty_nodes_are_twelve_panels_busiest_first_then_others() -> None:
    frame = _nodes_frame()
    spec = resource_chart(frame, title="CPU", unit="ratio", threshold=0.9).to_dict()
    (rows,) = spec["datasets"].values()
    order = spec["facet"]["sort"]
    # node 7's spike first, then the 10 highest flat ones (49 .. 40); the 39 others in one panel
    assert order == [NODES[7], *NODES[49:39:-1], "others (39 nodes)"]
    assert set(_panels(spec)) == set(order) and len(rows) <= 4000
    assert "11 of 50 nodes" in spec["title"] and "other 39" in spec["title"]
    others = [r for r in rows if r["node"] == "others (39 nodes)"]
    rest = [n for n in range(40) if n != 7]  # flat values n / 100, 39 nodes
    assert others and all(r["value"] == pytest.approx(sum(rest) / 100 / len(rest))
                          for r in others)
    # every kept node keeps its own line, at enough points to read a day (>= 1 per 20 min)
    assert min(sum(r["node"] == n for r in rows) for n in order) >= 72


def test_few_nodes_keep_a_panel_each_and_devices_stay_bounded() -> None:
    frame = _nodes_frame(points=100).filter(pl.col("node").is_in(NODES[:5]))
    spec = resource_chart(frame, title="CPU", unit="ratio").to_dict()
    assert _panels(spec) == sorted(NODES[:5]) and "others" not in spec["title"]
    many = _nodes_frame(points=60, devices=12)
    spec = resource_chart(many, title="Disk", unit="ratio").to_dict()
    (rows,) = spec["datasets"].values()
    assert len(_panels(spec)) == 12 and len(rows) <= 4000
    assert len({(r["node"], r["device"]) for r in rows}) == 12 * 8  # max_devices per panel


def test_two_thousand_pod_alerts_are_a_few_merged_bands() -> None:
    from workbench.charts import tuning_chart

    # 2,000 pods: pod p pending 10 min then firing 20 min, starting at hour p % 4 (+ p s)
    rows = []
    for p in range(2000):
        t = T0 + timedelta(hours=p % 4, seconds=p)
        rows += [{"start": t, "end": t + timedelta(minutes=10), "state": "pending",
                  "alert": f"pod=web-{p}"},
                 {"start": t + timedelta(minutes=10), "end": t + timedelta(minutes=30),
                  "state": "firing", "alert": f"pod=web-{p}"}]
    bands = pl.DataFrame(rows).with_columns(pl.col("start", "end").cast(TIMESTAMP))
    series = pl.DataFrame({"timestamp": [T0, T0 + timedelta(hours=5)], "series": ["a", "a"],
                           "value": [1.0, 2.0]}).with_columns(pl.col("timestamp").cast(TIMESTAMP))
    spec = tuning_chart(series, bands, threshold=1.5, title="x").to_dict()
    rects = spec["datasets"][spec["layer"][0]["data"]["name"]]
    # per state, the 500 pods of each hour overlap (starts 4 s apart): 4 spans each
    assert sorted((r["state"], r["alert"]) for r in rects) == sorted(
        [("pending", "500 alerts")] * 4 + [("firing", "500 alerts")] * 4)
    first = min((r for r in rects if r["state"] == "firing"), key=lambda r: r["start"])
    assert first["start"].startswith("2026-03-01T00:10:00")
    assert first["end"].startswith("2026-03-01T01:03:16")  # pod 1996: 33 min 16 s + 30 min
    few = tuning_chart(series, bands.head(10), threshold=1.5, title="x").to_dict()
    assert len(few["datasets"][few["layer"][0]["data"]["name"]]) == 10  # kept one by one


def _fifty_node_forecast() -> pl.DataFrame:
    """50 nodes x 3 filesystems: ``/`` at 40% + n/1000 (node 11 at 96%, almost full), ``/boot``
    at 6%, ``/run`` at 0.1%."""
    from workbench.analysis.nodes.analysis import fs_forecast

    rows = []
    for n, node in enumerate(NODES):
        for mount, used in (("/", 0.96 if n == 11 else 0.40 + n / 1000), ("/boot", 0.06),
                            ("/run", 0.001)):
            rows.append({"node": node, "device": "/dev/x", "mountpoint": mount,
                         "fstype": "ext4", "size_bytes": 100e9,
                         "avail_bytes": 100e9 * (1 - used), "readonly": False,
                         "deriv_bytes_per_s": 0.0, "fitted_avail_bytes": 100e9 * (1 - used)})
    return fs_forecast(pl.DataFrame(rows))


def test_filesystems_of_fifty_nodes_are_forty_bars_with_others_and_a_short_table() -> None:
    from workbench.charts import fs_forecast_chart, fs_table

    forecast = _fifty_node_forecast()
    assert forecast.height == 150 and forecast["almost_full"].sum() == 1
    spec = fs_forecast_chart(forecast).to_dict()
    (rows,) = spec["datasets"].values()
    assert len(rows) == 40
    assert rows[0]["filesystem"] == f"{NODES[11]} /" and rows[0]["status"] == "almost full"
    # then the fullest: node 49's / (0.449) down; the 39th bar is node 12's /
    assert rows[1]["used_ratio"] == pytest.approx(0.449) and rows[38]["node"] == NODES[12]
    assert rows[-1]["filesystem"] == "others (111 filesystems)"
    assert rows[-1]["used_ratio"] == pytest.approx(0.410) and rows[-1]["status"] == "ok"  # node 10
    assert spec["encoding"]["y"]["sort"][-1] == "others (111 filesystems)"
    table = fs_table(forecast)
    assert table.html.count("<tr") <= 61 and "90 more rows not shown" in table.html
    assert table.html.index(NODES[11]) < table.html.index(NODES[49])  # flagged first


def test_sweep_cells_of_a_rule_over_fifty_nodes_are_plain_numbers() -> None:
    from workbench.charts import heatmap_chart

    sweep = pl.DataFrame({"threshold": [4.0, 4.0, 6.0, 6.0], "for_s": [0.0, 120, 0, 120],
                          "fired_per_day": [1187.0, 692.0, 872.0, 326.0]})
    spec = heatmap_chart(sweep, current=(6.0, 120.0)).to_dict()
    labels = sorted(r["label"] for r in spec["datasets"][spec["layer"][1]["data"]["name"]]) \
        if "data" in spec["layer"][1] else sorted(r["label"] for r in spec["datasets"][
            spec["data"]["name"]])
    assert labels == ["1,187", "326", "692", "872"]


def test_availability_of_fifty_nodes_is_the_down_ones_and_one_always_up_bar() -> None:
    from workbench.charts import availability_chart

    win = pl.Struct({"start": TIMESTAMP, "end": TIMESTAMP})
    down = {NODES[9]: [{"start": T0 + timedelta(hours=7), "end": T0 + timedelta(hours=8)}],
            NODES[3]: [{"start": T0 + timedelta(hours=1), "end": T0 + timedelta(hours=1,
                                                                                 minutes=30)}]}
    avail = pl.DataFrame({"node": NODES, "down_windows": [down.get(n, []) for n in NODES]},
                         schema={"node": pl.String, "down_windows": pl.List(win)})
    spec = availability_chart(avail, T0, T0 + timedelta(hours=24)).to_dict()
    (rows,) = spec["datasets"].values()
    assert spec["encoding"]["y"]["sort"] == [NODES[3], NODES[9], "48 nodes, always up"]
    assert sorted((r["node"], r["state"], r["down_minutes"]) for r in rows) == sorted(
        [(NODES[3], "up", 0.0), (NODES[3], "down", 30.0), (NODES[9], "up", 0.0),
         (NODES[9], "down", 60.0), ("48 nodes, always up", "up", 0.0)])
    few = availability_chart(avail.head(5), T0, T0 + timedelta(hours=24)).to_dict()
    assert few["encoding"]["y"]["sort"] == NODES[:5]  # a bar per node below max_nodes


def test_fifty_firing_node_alerts_are_counted_above_a_short_table() -> None:
    from workbench.charts import html_table
    from workbench.widgets.alerts import firing_counts

    current = pl.DataFrame({"alertname": ["NodeLoadFlapping"] * 50 + ["CPUThrottlingHigh"] * 2,
                            "state": ["firing"] * 49 + ["pending"] + ["firing"] * 2,
                            "instance": [f"10.0.1.{n}:9100" for n in range(52)]})
    assert firing_counts(current).rows() == [("NodeLoadFlapping", "firing", 49),
                                             ("CPUThrottlingHigh", "firing", 2),
                                             ("NodeLoadFlapping", "pending", 1)]
    table = html_table(current, max_rows=20)
    assert table.html.count("10.0.1.") == 20 and "32 more rows not shown" in table.html
