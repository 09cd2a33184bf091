"""The capacity report's tables and charts read like a person wrote them (hand-built frames)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import polars as pl

from workbench.charts.capacity import node_allocation_chart, throttling_chart
from workbench.charts.table import html_table, num
from workbench.frames import TIMESTAMP
from workbench.widgets.capacity import _readable


def _aligns(html: str) -> list[str]:
    row = html.split("<tbody>")[1].split("</tr>")[0]
    return re.findall(r"text-align:(\w+)", row)


def test_text_columns_left_numbers_right() -> None:
    f = pl.DataFrame({"workload": ["Deployment api"], "examples": [["a/b", "c/d"]],
                      "containers": [3], "saving": [0.5], "detail": ["over 90 %"]})
    t = html_table(f)
    assert _aligns(t.html) == ["left", "left", "right", "right", "left"]
    head = re.findall(r"<th style=\"[^\"]*text-align:(\w+)", t.html)
    assert head == ["left", "left", "right", "right", "left"]
    assert _aligns(html_table(f.select("workload"), right=("workload",)).html) == ["right"]


def test_negative_zero_is_zero() -> None:
    assert num(-0.0) == "0"
    assert num(-0.0001) == "-0.0001"
    assert num(-1e-9) == "-1e-09"
    assert "-0<" not in html_table(pl.DataFrame({"saving (cores)": [-0.0]})).html
    assert num(-0.4) == "-0.4"


def test_quota_tables_in_units_with_marks() -> None:
    q = pl.DataFrame({"namespace": ["a", "a", "a"],
                      "resource": ["requests.memory", "requests.cpu", "pods"],
                      "hard": [7_516_192_768.0, 4.0, 50.0], "used": [536_870_912.0, 1.5, 9.0],
                      "overcommitted": [True, False, False]})
    r = _readable(q)
    assert r["hard"].to_list() == ["7.0 GiB", "4.0 cores", "50"]
    assert r["used"].to_list() == ["512 MiB", "1.5 cores", "9"]
    assert r["overcommitted"].to_list() == ["✓", "—", "—"]
    html = html_table(r, right=("hard", "used")).html
    assert "7,516,192,768" not in html and "True" not in html and "False" not in html


def _throttling(values: dict[str, list[float]]) -> pl.DataFrame:
    t0 = datetime(2026, 11, 1)
    rows = [{"timestamp": t0 + timedelta(hours=i), "namespace": "ns", "workload": w,
             "container": "c", "value": v}
            for w, vs in values.items() for i, v in enumerate(vs)]
    return pl.DataFrame(rows).with_columns(pl.col("timestamp").cast(TIMESTAMP))


def test_throttling_heat_map_shows_only_throttled_containers() -> None:
    # the demo's noise: ~1.2 % of periods throttled, invisible on the scale
    ch = throttling_chart(_throttling({"busy": [0.0, 0.4, 0.3], "idle": [0.0, 0.0, 0.0],
                                       "noise": [0.011, 0.0127, 0.012]}))
    rows = set(ch.data["container_of"].to_list())
    assert rows == {"ns/busy · c"}
    assert "flags" in ch.title
    none = throttling_chart(_throttling({"idle": [0.0, 0.0]}))
    assert none.data.height == 0
    assert none.title == "CFS throttling: no container was throttled in the window"


def test_resource_titles_not_shouted() -> None:
    nodes = pl.DataFrame({"node": ["n1"], "pods": [3], "cpu_requests": [1.0],
                          "cpu_allocatable": [3.88], "cpu_usage_p95": [0.5],
                          "memory_requests": [2.0 * 2**30], "memory_allocatable": [8.0 * 2**30],
                          "memory_usage_p95": [1.0 * 2**30]})
    spec = str(node_allocation_chart(nodes).to_dict())
    assert "Memory allocation per node" in spec and "CPU allocation per node" in spec
    assert "MEMORY" not in spec
