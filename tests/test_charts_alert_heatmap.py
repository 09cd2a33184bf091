"""The weekday x hour heat map keeps its numbers readable: white on dark cells, dark on light."""

from __future__ import annotations

import polars as pl

from workbench.charts.alerts import alert_heatmap_chart


def test_numbers_are_white_on_the_dark_half_of_the_scale() -> None:
    heat = pl.DataFrame({"weekday": ["Mon", "Tue", "Wed"], "weekday_num": [1, 2, 3],
                         "hour": [0, 1, 2], "fired": [0, 2, 5], "firing_s": [0.0, 60.0, 300.0]})
    spec = alert_heatmap_chart(heat).to_dict()
    (text,) = [layer for layer in spec["layer"]
               if (layer["mark"] if isinstance(layer["mark"], str) else layer["mark"]["type"])
               == "text"]
    colour = text["encoding"]["color"]
    # 5 is the top of the scale: numbers from 2.5 up are white, the rest dark grey
    assert colour["condition"] == {"test": "(datum.fired >= 2.5)", "value": "white"}
    assert colour["value"] == "#333"
