"""Charts draw without a word in the browser console: Vega-Lite warns about conflicting domains
and an infinite extent when a layer with ``x2`` gets an explicit time ``domain`` or has no rows,
and people who open the console (or a CI log of it) see noise on every page. Each chart is
rendered in headless Chromium (Debian's, offline) with the page's own vega bundle."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from workbench.charts import availability_chart, chart_html, enable_theme
from workbench.charts._render import bundle_html
from workbench.charts.tuning import tuning_chart
from workbench.frames import TIMESTAMP

from .conftest import playwright_chromium

T0 = datetime(2026, 3, 1, tzinfo=UTC)
MINUTES = [T0 + timedelta(minutes=i) for i in range(180)]
SERIES = pl.DataFrame({"timestamp": MINUTES, "series": ["a"] * 180,
                       "value": [float(i % 9) for i in range(180)]}).with_columns(
    pl.col("timestamp").cast(TIMESTAMP))
BANDS = pl.DataFrame({"start": [MINUTES[20], MINUTES[25]], "end": [MINUTES[25], MINUTES[40]],
                      "state": ["pending", "firing"], "alert": ["a", "a"]}).with_columns(
    pl.col("start", "end").cast(TIMESTAMP))
WINDOWS = pl.List(pl.Struct({"start": TIMESTAMP, "end": TIMESTAMP}))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_chromium() as b:
        yield b


@pytest.fixture(scope="module")
def render(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    enable_theme()
    root = tmp_path_factory.mktemp("console")

    def run(chart: Any, name: str) -> tuple[list[str], int]:
        page_file = Path(root) / f"{name}.html"
        page_file.write_text("<html><body>" + bundle_html()
                             + chart_html(chart.to_dict(validate=False)) + "</body></html>")
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        messages: list[str] = []
        page.on("console", lambda m: messages.append(f"{m.type}: {m.text}"))
        page.goto(page_file.as_uri())
        page.wait_for_selector(".workbench-chart svg, .workbench-chart canvas")
        page.wait_for_timeout(500)
        marks = page.locator(".workbench-chart .mark-rect path, .workbench-chart "
                             ".mark-line path, .workbench-chart canvas").count()
        page.close()
        return messages, marks

    return run


@pytest.mark.parametrize("bands", [BANDS, BANDS.clear()], ids=["episodes", "no-episode"])
def test_tuning_chart_draws_without_console_warnings(render: Any, bands: pl.DataFrame) -> None:
    messages, marks = render(tuning_chart(SERIES, bands, threshold=4.0, title="t"), "tuning")
    assert messages == []
    assert marks >= 1
    spec = tuning_chart(SERIES, bands, threshold=4.0, title="t").to_dict()
    x_scale = spec["layer"][0]["encoding"]["x"]["scale"]
    # the x axis spans exactly the series (first to last sample), in epoch milliseconds
    assert (x_scale["domainMin"], x_scale["domainMax"]) == (
        round(MINUTES[0].timestamp() * 1000), round(MINUTES[-1].timestamp() * 1000))


def test_availability_chart_draws_without_console_warnings(render: Any) -> None:
    avail = pl.DataFrame({"node": ["a", "b"],
                          "down_windows": [[{"start": MINUTES[10], "end": MINUTES[30]}], []]},
                         schema={"node": pl.String, "down_windows": WINDOWS})
    messages, marks = render(availability_chart(avail, T0, MINUTES[-1]), "availability")
    assert messages == []
    assert marks >= 1


def test_resource_chart_with_a_threshold_slider_draws_without_console_warnings(
        render: Any) -> None:
    from workbench.charts import resource_chart

    frame = pl.DataFrame({"node": ["a"] * 180 + ["b"] * 180, "device": [""] * 360,
                          "timestamp": MINUTES * 2,
                          "value": [0.5 + 0.4 * ((i % 9) / 9) for i in range(360)]}).with_columns(
        pl.col("timestamp").cast(TIMESTAMP))
    chart = resource_chart(frame, title="CPU", unit="ratio", threshold=0.9)
    messages, marks = render(chart, "resource")
    assert messages == []
    assert marks >= 2


def test_times_are_drawn_in_utc_whatever_the_browser_time_zone(browser: Any,
                                                               tmp_path: Path) -> None:
    """A reader in Los Angeles sees the same hours on a chart as in the page's UTC tables."""
    from workbench.charts import resource_chart

    enable_theme()
    frame = pl.DataFrame({"node": ["a"] * 180, "device": [""] * 180, "timestamp": MINUTES,
                          "value": [0.5] * 180}).with_columns(pl.col("timestamp").cast(TIMESTAMP))
    page_file = tmp_path / "utc.html"
    page_file.write_text("<html><body>" + bundle_html() + chart_html(
        resource_chart(frame, title="CPU", unit="ratio").to_dict(validate=False),
        embed_options={"renderer": "svg"}) + "</body></html>")
    context = browser.new_context(timezone_id="America/Los_Angeles")
    page = context.new_page()
    assert page.evaluate("new Date(Date.UTC(2026, 2, 1)).getHours()") == 16   # really LA
    page.goto(page_file.as_uri())
    page.wait_for_selector(".workbench-chart svg .role-axis-label text")
    groups = page.locator(".workbench-chart svg g.role-axis-label")
    axes = [groups.nth(i).locator("text").all_text_contents() for i in range(groups.count())]
    context.close()
    labels = next(a for a in axes if any(":" in t for t in a))   # the time axis
    # 00:00-03:00 UTC on March 1st (16:00-19:00 the day before in Los Angeles); midnight
    # names the day on a window of hours
    assert labels == ["Mar 01", "01:00", "02:00"]
