"""The alert-history charts stay readable and under altair's row limit with thousands of
identities: top-N identities on the timeline, top-N alerts, 168 heat-map cells, top PVCs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

from workbench import alert_history
from workbench.charts import (
    alert_heatmap_chart,
    alert_timeline_chart,
    messages_chart,
    noisiest_chart,
    pvc_chart,
)
from workbench.frames import TIMESTAMP

T0 = datetime(2026, 1, 5, tzinfo=UTC)


def _episodes(n_ident: int, per_ident: int) -> pl.DataFrame:
    rows = []
    for i in range(n_ident):
        for k in range(per_ident):
            start = T0 + timedelta(minutes=37 * i % 10_000 + 600 * k)
            rows.append({"alertname": f"Alert{i % 40:02d}", "namespace": f"ns-{i % 25}",
                         "pod": f"pod-{i}", "active_at": start,
                         "fired_at": start + timedelta(minutes=5),
                         "resolved_at": start + timedelta(minutes=5 + i % 90),
                         "pending_s": 300.0, "firing_s": float(60 * (i % 90))})
    return pl.DataFrame(rows).with_columns(pl.col("active_at", "fired_at", "resolved_at")
                                           .cast(TIMESTAMP))


def test_thousands_of_identities_stay_readable() -> None:
    ep = _episodes(5000, 3)
    tl = alert_timeline_chart(ep, top_n=30).to_dict()
    values = next(iter(tl["datasets"].values()))
    assert len({v["label"] for v in values}) == 30
    assert len(values) <= 4000
    assert tl["height"] == 16 * 30
    # the title says what the rows leave out: the 30 shown all fire 89 min per episode (55
    # identities do; 3 episodes each), so the other 4,970 hold the rest of the firing time
    rest_h = (sum(60 * (i % 90) for i in range(5000)) - 30 * 89 * 60) * 3 / 3600
    assert tl["title"] == ("Alert episodes: the 30 of 5,000 identities with most firing time "
                           f"(the other 4,970: 14,910 episodes, {rest_h:,.1f} h firing)")
    nz = noisiest_chart(alert_history.alert_summary(ep), top_n=15).to_dict()
    assert len(next(iter(nz["datasets"].values()))) == 15
    hm = alert_heatmap_chart(alert_history.heatmap(ep)).to_dict()
    assert len(next(iter(hm["datasets"].values()))) == 168


def test_pvc_chart_draws_the_fullest() -> None:
    n = 50
    usage = pl.DataFrame({
        "timestamp": [T0 + timedelta(hours=h) for _ in range(n) for h in range(24)],
        "value": [(p / n) * (0.5 + h / 48) for p in range(n) for h in range(24)],
        "namespace": ["data"] * (n * 24),
        "persistentvolumeclaim": [f"pvc-{p}" for p in range(n) for _ in range(24)],
    }).with_columns(pl.col("timestamp").cast(TIMESTAMP))
    spec = pvc_chart(usage, 0.7, top_n=10).to_dict()
    pvcs = {v["pvc"] for d in spec["datasets"].values() for v in d if "pvc" in v}
    assert pvcs == {f"data/pvc-{p}" for p in range(40, 50)}


def test_empty_inputs_draw_a_note() -> None:
    empty = alert_history.empty_episodes()
    for chart in (alert_timeline_chart(empty), noisiest_chart(alert_history.alert_summary(empty)),
                  messages_chart(alert_history.messages_frame(None, None, "x"))):
        spec = chart.to_dict()
        assert spec["mark"]["type"] == "text"


def test_messages_chart_has_one_band_per_day_with_the_scenarios_side_by_side() -> None:
    from datetime import date

    per_day = pl.DataFrame({
        "day": [date(2026, 11, 25), date(2026, 11, 25), date(2026, 11, 26), date(2026, 11, 26),
                date(2026, 11, 26)],
        "scenario": ["configured", "what-if", "configured", "what-if", "configured"],
        "receiver": ["slack", "slack", "slack", "slack", "pager"],
        "messages": [470, 30, 400, 20, 7]})
    spec = messages_chart(per_day).to_dict()
    assert spec["encoding"]["x"]["type"] == "ordinal"
    assert spec["encoding"]["x"]["sort"] == ["Wed Nov 25", "Thu Nov 26"]
    assert spec["encoding"]["xOffset"]["field"] == "scenario"
    rows = {(r["date"], r["scenario"]): r["messages"]
            for d in spec["datasets"].values() for r in d}
    assert rows == {("Wed Nov 25", "configured"): 470, ("Wed Nov 25", "what-if"): 30,
                    ("Thu Nov 26", "configured"): 407, ("Thu Nov 26", "what-if"): 20}
