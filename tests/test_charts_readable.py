"""Charts people can read, checked on the specs and on Vega's own SVG rendering (vl-convert):
time labels never run together on 24 h and 14 d windows, y titles are short units, load per
CPU is not a percentage, small rates are decimals (never SI milli ``4m``), charts fill the
page, the heat map covers filesystems and availability, and the summary table fits a page."""

from __future__ import annotations

import ast
import itertools
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
import vl_convert as vlc

from workbench.analysis.nodes.analysis import RESOURCES, UseThresholds
from workbench.charts import (
    availability_chart,
    enable_theme,
    fs_forecast_chart,
    overview_chart,
    resource_chart,
    summary_table,
)
from workbench.frames import TIMESTAMP

ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _series(span: timedelta, nodes: int = 5, value: float = 0.5, points: int = 400
            ) -> pl.DataFrame:
    step = span / (points - 1)
    rows = [{"node": f"ip-10-0-1-{10 + n}.ec2.internal", "device": "",
             "timestamp": T0 + i * step, "value": value * (1 + 0.1 * ((i + n) % 7))}
            for n in range(nodes) for i in range(points)]
    return pl.DataFrame(rows).with_columns(pl.col("timestamp").cast(TIMESTAMP))


def _svg(chart) -> str:  # type: ignore[no-untyped-def]
    enable_theme()
    return vlc.vegalite_to_svg(chart.to_dict())


_TEXT = re.compile(r'<text([^>]*)transform="translate\(([-\d.]+),\s*([-\d.]+)\)"([^>]*)>([^<]*)'
                   r"</text>")


Label = tuple[float, float, str, float]


def _label_groups(svg: str) -> list[list[Label]]:
    """Per axis: (x, y, text, font px) of its visible labels, from Vega's SVG."""
    out = []
    for group in re.findall(r'<g class="mark-text role-axis-label"[^>]*>(.*?)</g>', svg, re.S):
        labels = []
        for pre, x, y, post, text in _TEXT.findall(group):
            attrs = pre + post
            if 'opacity="0"' in attrs:
                continue  # hidden by Vega's label-overlap removal
            size = float(re.search(r'font-size="([\d.]+)px"', attrs).group(1))  # type: ignore[union-attr]
            labels.append((float(x), float(y), text, size))
        out.append(labels)
    return out


def _axis_labels(svg: str) -> list[Label]:
    return [lab for g in _label_groups(svg) for lab in g]


def _time_overlaps(svg: str) -> tuple[int, list[tuple[str, str]]]:
    """Visible time labels, and pairs within one axis whose boxes (0.6 em a character) touch."""
    n, bad = 0, []
    for group in _label_groups(svg):
        row = []
        for x, _, text, size in group:
            if re.fullmatch(r"\d\d:\d\d|[A-Z][a-z]{2} \d\d", text):
                w = 0.6 * size * len(text)
                row.append((x - w / 2, x + w / 2, text))
        row.sort()
        n += len(row)
        bad += [(a[2], b[2]) for a, b in itertools.pairwise(row) if a[1] + 2 > b[0]]
    return n, bad


@pytest.mark.parametrize(("span", "fmt"), [(timedelta(hours=24), "%H:%M"),
                                           (timedelta(days=3), "%H:%M"),
                                           (timedelta(days=14), "%b %d")])
def test_time_labels_never_run_together(span: timedelta, fmt: str) -> None:
    chart = resource_chart(_series(span), title="CPU utilisation", unit="ratio", threshold=0.9)
    spec = chart.to_dict()
    x = spec["spec"]["layer"][0]["encoding"]["x"]["axis"]
    assert x["format"] == fmt and x["labelOverlap"] == "greedy"
    width = spec["spec"]["layer"][0]["width"] if "width" in spec["spec"]["layer"][0] else \
        spec["spec"]["width"]
    ticks = x["tickCount"]
    # hours: at most one tick per 90 px; days: a tick per day or per few days, so a 3-day
    # window never shows one date at several ticks
    assert ticks <= width // 90 if isinstance(ticks, int) else (
        ticks["interval"] == "day" and ticks["step"] * (width // 90) * 86400
        >= span.total_seconds())
    svg = _svg(chart)
    n, bad = _time_overlaps(svg)
    assert n >= 2 * 5 and bad == []  # every panel keeps a few labels, none touch
    for group in _label_groups(svg):
        texts = [t for _, _, t, _ in group]
        if any(":" in t or t[:3] in ("Feb", "Mar") for t in texts):   # a time axis
            assert len(texts) == len(set(texts)), texts
    avail = pl.DataFrame({"node": ["a", "b"], "down_windows": [[], []]},
                         schema={"node": pl.String, "down_windows": pl.List(pl.Struct(
                             {"start": TIMESTAMP, "end": TIMESTAMP}))})
    n, bad = _time_overlaps(_svg(availability_chart(avail, T0, T0 + span)))
    assert n >= 4 and bad == []


def test_y_titles_are_short_units_and_rows_do_not_collide() -> None:
    for res, (title, unit, _) in RESOURCES.items():
        if res in ("up", "boot_time"):
            continue
        spec = resource_chart(_series(timedelta(hours=24)), title=title, unit=unit).to_dict()
        y = spec["spec"]["layer"][0]["encoding"]["y"]["axis"]
        assert len(y["title"]) <= 9, (res, y["title"])  # fits one 130 px row rotated
        assert spec["spacing"]["row"] >= 20
        assert spec["title"] == title


def test_load_per_cpu_is_not_a_percentage_and_small_rates_are_not_milli() -> None:
    title, unit, _ = RESOURCES["load_per_cpu"]
    spec = resource_chart(_series(timedelta(hours=24), value=2.0), title=title,
                          unit=unit).to_dict()
    y = spec["spec"]["layer"][0]["encoding"]["y"]["axis"]
    assert "%" not in json.dumps(y) and y["title"] == "per CPU"
    svg = _svg(resource_chart(_series(timedelta(hours=24), value=2.0), title=title, unit=unit))
    assert not any(t.endswith("%") for _, _, t, _ in _axis_labels(svg))
    # a few major faults per second, and bytes in the millions
    small = _svg(resource_chart(_series(timedelta(hours=24), value=0.004), title="faults",
                                unit="1/s"))
    labels = [t for _, _, t, _ in _axis_labels(small)]
    assert "0.004" in labels or "0.005" in labels
    assert not [t for t in labels if re.fullmatch(r"[\d.]+[mµu]", t)], labels
    big = _svg(resource_chart(_series(timedelta(hours=24), value=2e6), title="rx",
                              unit="bytes/s"))
    assert any(re.fullmatch(r"[\d.]+M", t) for _, _, t, _ in _axis_labels(big))


def _root_width(svg: str) -> int:
    return int(re.search(r'<svg[^>]*width="(\d+)"', svg).group(1))  # type: ignore[union-attr]


def test_charts_use_the_page_width() -> None:
    w = _root_width(_svg(resource_chart(_series(timedelta(days=14)), title="CPU", unit="ratio",
                                        threshold=0.9)))
    assert 1150 <= w <= 1330, w
    avail = pl.DataFrame({"node": ["ip-10-0-1-10.ec2.internal"], "down_windows": [[]]},
                         schema={"node": pl.String, "down_windows": pl.List(pl.Struct(
                             {"start": TIMESTAMP, "end": TIMESTAMP}))})
    assert 1150 <= _root_width(_svg(availability_chart(avail, T0, T0 + timedelta(
        days=14)))) <= 1330
    fs = pl.DataFrame({"node": ["ip-10-0-1-10.ec2.internal"], "mountpoint": ["/"],
                       "device": ["/dev/nvme0n1p1"], "fstype": ["ext4"], "used_ratio": [0.5],
                       "size_bytes": [1e11], "avail_bytes": [5e10], "hours_to_full": [None],
                       "filling": [False], "almost_full": [False]},
                      schema_overrides={"hours_to_full": pl.Float64})
    assert 1100 <= _root_width(_svg(fs_forecast_chart(fs))) <= 1330  # labels vary
    assert 1150 <= _root_width(_svg(overview_chart(_summary(), UseThresholds()))
                                          ) <= 1330


def _summary() -> pl.DataFrame:
    names = [f"ip-10-0-1-{10 + i}.ec2.internal" for i in range(5)]
    win = pl.Struct({"start": TIMESTAMP, "end": TIMESTAMP})
    return pl.DataFrame({
        "node": names, "flags": [["cpu", "load", "net_errors", "fs_filling", "down"], [], [],
                                 ["down", "rebooted"], ["fs_almost_full"]],
        "n_flags": [5, 0, 0, 2, 1], "n_cpu": [4, 8, 4, 8, 4], "score": [1.5, 0.2, 0.1, 0.3, 0.9],
        "availability": [0.99, 1.0, 1.0, 0.9968, 1.0],
        "downtime_s": [2700.0, 0.0, 0.0, 2700.0, 0.0],
        "down_windows": [[{"start": T0, "end": T0 + timedelta(minutes=45)}], [], [],
                         [{"start": T0 + timedelta(days=3), "end": T0 + timedelta(days=3, minutes=45)},
                          {"start": T0 + timedelta(days=9), "end": T0 + timedelta(days=9, hours=1)}],
                         []],
        "reboots": [0, 0, 0, 1, 0], "cpu_util_mean": [0.45] * 5, "cpu_util_p95": [0.95] * 5,
        "load_per_cpu_p95": [2.5] * 5, "mem_util_max": [0.5] * 5,
        "majfault_rate_p95": [0.004] * 5, "disk_util_p95": [0.1] * 5,
        "disk_queue_p95": [0.2] * 5, "net_rx_bytes_mean": [2.1e6] * 5,
        "net_tx_bytes_mean": [1.4e6] * 5, "net_err_ratio_max": [0.013] * 5,
        "net_drops_mean": [0.1] * 5, "fs_used_max": [0.88, 0.4, 0.3, 0.2, 0.97],
        "fs_worst": ["/var/lib/containerd", "/", "/", "/", "/boot/efi"],
        "fs_hours_to_full": [12.0, None, None, None, None]},
        schema_overrides={"down_windows": pl.List(win), "fs_hours_to_full": pl.Float64})


def test_heat_map_includes_filesystems_and_availability() -> None:
    spec = overview_chart(_summary(), UseThresholds()).to_dict()
    (rows,) = spec["datasets"].values()
    by = {(r["node"], r["resource"]): r["fraction_of_threshold"] for r in rows}
    assert {"filesystem", "availability"} <= {r["resource"] for r in rows}
    n = "ip-10-0-1-{}.ec2.internal".format
    assert by[(n(10), "availability")] == 2.0 and by[(n(11), "availability")] == 0.0
    assert by[(n(14), "filesystem")] == pytest.approx(0.97 / 0.85)
    assert by[(n(10), "filesystem")] >= 1.0  # flagged filling: at least at the threshold
    assert by[(n(12), "filesystem")] == pytest.approx(0.3 / 0.85)


def test_summary_table_fits_a_1400_px_page(tmp_path: Path) -> None:
    from .conftest import playwright_chromium

    t = summary_table(_summary())
    assert "down windows" in t.html and "03-04 00:00\u201300:45" in t.html
    assert "2.0 MiB/s" in t.html and "NodeUse(" not in t.html
    page = tmp_path / "t.html"
    page.write_text(f"<html><body style='margin:0 40px'>{t.html}</body></html>")
    with playwright_chromium() as b:
        pg = b.new_page(viewport={"width": 1400, "height": 900})
        pg.goto(page.as_uri())
        table, box = pg.evaluate("() => { const t = document.querySelector('table');"
                                 " return [t.scrollWidth, t.parentElement.clientWidth]; }")
    assert table <= box <= 1320, (table, box)


def test_report_notebook_prints_no_raw_repr() -> None:
    nb = json.loads((ROOT / "notebooks" / "node_exporter.ipynb").read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        body = ast.parse("".join(cell["source"])).body
        if body and isinstance(body[-1], ast.Expr):
            assert isinstance(body[-1].value, ast.Call), "".join(cell["source"])


def test_no_axis_under_an_empty_facet_cell_and_readable_times_to_full() -> None:
    from workbench.charts.table import hours

    # 5 nodes in 3 columns: 5 time axes (one per panel) + 2 rows of y axes, no footer axis
    svg = _svg(resource_chart(_series(timedelta(days=14)), title="CPU", unit="ratio"))
    assert 'role-column-footer' not in svg
    assert [hours(h) for h in (12.0, 37.04, 100.0, 3207.1, 15150.6, None)] == [
        "12.0 h", "37.0 h", "4 d", "134 d", "1.7 y", ""]


def test_small_ratios_get_distinct_percent_labels() -> None:
    svg = _svg(resource_chart(_series(timedelta(hours=24), value=0.0002), title="errors",
                              unit="ratio", threshold=0.01))
    for group in _label_groups(svg):
        texts = [t for _, _, t, _ in group if t.endswith("%")]
        assert len(texts) == len(set(texts)), texts
    assert "0.2%" in {t for _, _, t, _ in _axis_labels(svg)}
