"""``ALERTS`` / ``ALERTS_FOR_STATE`` over the backfilled history, with Prometheus's exact semantics.

Stock tools cannot backfill alerts (``create-blocks-from rules`` writes the raw expression). So:
evaluate each alert expression with ``query_range`` on the backfilled TSDB at the rule group's
interval (a range query at step I returns exactly the rule's instant results at those times),
run the Prometheus 2.42 state machine of :mod:`workbench.analysis.alerting.state` over which label sets
were present, and backfill the resulting ``ALERTS``/``ALERTS_FOR_STATE`` samples.

Not reproducible in a backfill: the staleness markers Prometheus writes when an alert leaves a
state, so an instant query in the 5 minutes after a transition still sees the old series
(``count_over_time`` and raw samples are exact).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ..analysis.alerting.state import alert_episodes, alert_states
from ..testing.servers import backfill_openmetrics, move_blocks
from .history import _labels_text
from .rules import ALERT_RULES, EVAL_INTERVAL_S, parse_duration_s

__all__ = ["alert_history", "backfill_alerts", "eval_times"]


def eval_times(start_s: float, end_s: float, interval_s: int = EVAL_INTERVAL_S) -> np.ndarray:
    """Evaluation instants (unix s) on the ``interval_s`` grid within ``[start_s, end_s]``."""
    first = math.ceil(start_s / interval_s) * interval_s
    return np.arange(first, math.floor(end_s / interval_s) * interval_s + 1, interval_s,
                     dtype=np.int64)


def alert_history(prom: Any, rule: dict[str, Any], times_s: np.ndarray) -> pl.DataFrame:
    """Per-step alert state of one rule: columns ``labels`` (dict text), ``t``, ``state``, ``active_at``.

    ``prom`` is a :class:`workbench.Prometheus`; ``times_s`` a uniform grid of evaluation instants.
    """
    step = int(times_s[1] - times_s[0]) if len(times_s) > 1 else EVAL_INTERVAL_S
    df = prom.query_range(rule["expr"], int(times_s[0]), int(times_s[-1]), step)
    empty = pl.DataFrame(schema={"labels": pl.String, "t": pl.Int64, "state": pl.Int8,
                                 "active_at": pl.Int64})
    if df.height == 0:
        return empty
    label_cols = [c for c in df.columns if c not in ("timestamp", "value", "__name__")]
    extra = {**rule.get("labels", {}), "alertname": rule["alert"]}
    df = df.with_columns(
        (pl.col("timestamp").dt.epoch("s")).alias("t"),
        pl.struct(label_cols).struct.json_encode().alias("key") if label_cols
        else pl.lit("{}").alias("key"))
    keys = df["key"].unique(maintain_order=True).to_list()
    index = {k: i for i, k in enumerate(keys)}
    present = np.zeros((len(keys), len(times_s)), dtype=bool)
    rows = np.array([index[k] for k in df["key"].to_list()], dtype=np.int64)
    cols = np.searchsorted(times_s, df["t"].to_numpy())
    ok = (cols < len(times_s)) & (times_s[np.minimum(cols, len(times_s) - 1)] == df["t"].to_numpy())
    present[rows[ok], cols[ok]] = True
    t_ms = times_s.astype(np.int64) * 1000
    ep = alert_episodes(present, t_ms, for_ms=parse_duration_s(rule.get("for", "0s")) * 1000)
    st = alert_states(ep, len(keys), t_ms)
    out_rows = []
    import json

    for i, k in enumerate(keys):
        lab = {kk: v for kk, v in json.loads(k).items() if v is not None}
        lab.update(extra)
        idx = np.flatnonzero(st.state[i] > 0)
        if len(idx) == 0:
            continue
        out_rows.append(pl.DataFrame({
            "labels": [json.dumps(lab, sort_keys=True)] * len(idx),
            "t": times_s[idx].astype(np.int64),
            "state": st.state[i, idx].astype(np.int8),
            "active_at": (st.active_at_ms[i, idx] // 1000).astype(np.int64),
        }))
    return pl.concat(out_rows) if out_rows else empty


def backfill_alerts(prom: Any, start_s: float, end_s: float, tsdb: Path, work: Path,
                    rules: list[dict[str, Any]] | None = None, *, block_s: int = 4320 * 3600,
                    after_s: float | None = None) -> dict[str, int]:
    """Compute ALERTS/ALERTS_FOR_STATE for ``rules`` over ``[start_s, end_s]`` and backfill them.

    ``after_s``: evaluate the whole window (so every ``active_at`` is the one the history has)
    but write only the evaluations after it — the catch-up after the history's end.

    ``block_s`` should be the history's block length: each alert block then overlaps exactly one
    history block, so Prometheus's vertical compaction merges them pairwise (bounded memory)
    instead of into one block spanning everything.

    Returns the number of firing evaluations per alert name.
    """
    import json

    times = eval_times(start_s, end_s)
    path = work / "alerts.om"
    work.mkdir(parents=True, exist_ok=True)
    frames = {r["alert"]: alert_history(prom, r, times) for r in (rules or ALERT_RULES)}
    if after_s is not None:
        frames = {k: f.filter(pl.col("t") > after_s) for k, f in frames.items()}
    counts = {}
    with open(path, "w") as fh:
        for family, help_ in (("ALERTS", "Alert states (backfilled by workbench demo)."),
                              ("ALERTS_FOR_STATE", "Alert activeAt (backfilled).")):
            fh.write(f"# HELP {family} {help_}\n# TYPE {family} gauge\n")
            for name, df in frames.items():
                if family == "ALERTS":
                    counts[name] = int((df["state"] == 2).sum()) if df.height else 0
                for (key,), g in df.group_by("labels", maintain_order=True):
                    lab = json.loads(str(key))
                    if family == "ALERTS_FOR_STATE":
                        pre = f"ALERTS_FOR_STATE{{{_labels_text(lab)}}} "
                        fh.write("".join(f"{pre}{a} {t}\n" for a, t in zip(
                            g["active_at"].to_list(), g["t"].to_list(), strict=True)))
                        continue
                    for code, state in ((1, "pending"), (2, "firing")):
                        ts = g.filter(pl.col("state") == code)["t"].to_list()
                        if ts:
                            pre = f"ALERTS{{{_labels_text({**lab, 'alertstate': state})}}} 1 "
                            fh.write("".join(f"{pre}{t}\n" for t in ts))
        fh.write("# EOF\n")
    if any(f.height for f in frames.values()):
        out = work / "alert-blocks"
        backfill_openmetrics(path, out, max_block_duration=f"{block_s // 3600}h")
        move_blocks(out, tsdb)
    path.unlink()
    return counts
