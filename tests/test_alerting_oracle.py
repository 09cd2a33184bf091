"""Differential tests: the backtester against ``promtool test rules`` (Prometheus 2.42's own rule
manager) on randomised series and rules, every evaluation step compared.

Two legs share one generator of raw samples (regime switches around the threshold, values landing
exactly on it, NaN, gaps shorter and longer than the 5m lookback, staleness markers):

* local leg: the 2.42 instant selector is applied to the raw samples
  (:func:`workbench.analysis.alerting.lookback.instant_vector`), then the backtester's identity and state
  machine run; promtool replays the raw samples (with their ``stale`` markers) through the real
  rule file and must agree on the firing alerts (with rendered annotations) and on every
  pending/firing alert's ``ALERTS_FOR_STATE`` (activeAt) at every step;
* server leg: the same kind of series (no staleness markers: OpenMetrics cannot encode them) are
  backfilled into a real Prometheus, backtested through ``workbench.Prometheus`` (query_range),
  and the result must again pass promtool on the raw samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from workbench import DuplicateAlertError, Prometheus, PromtoolError, Rule, backtest, sweep
from workbench.analysis.alerting import backtest_matrix, sweep_matrix
from workbench.analysis.alerting.export import promtool_test_document, rule_file_text, selector, series_values
from workbench.analysis.alerting.identity import SeriesMatrix
from workbench.analysis.alerting.lookback import instant_vector
from workbench.analysis.alerting.promtool import test_rules as run_promtool_test
from workbench.analysis.alerting.promtool_test import expected_checks
from workbench.testing.openmetrics import OpenMetricsWriter
from workbench.testing.servers import backfill_openmetrics, start_prometheus

from .conftest import require_binary

pytestmark = pytest.mark.server

METRIC = "wb_sig"
JOBS = ("api", "db", "web")


@dataclass
class Raw:
    """Raw samples on a scrape grid: ``values``/``present``/``stale`` are [n_series, n_samples]."""

    labels: list[dict[str, str]]
    scrape_ms: int
    values: np.ndarray
    present: np.ndarray
    stale: np.ndarray

    @property
    def t(self) -> np.ndarray:
        return np.arange(self.values.shape[1], dtype=np.int64) * self.scrape_ms


def generate(seed: int, n_series: int, n_samples: int, scrape_ms: int, *,
             stale: bool = True) -> Raw:
    rng = np.random.default_rng(seed)
    # Regime switching between "low" and "high" around 0.5, values quantised to 0.05 so that
    # many samples sit exactly on the thresholds used below.
    flips = rng.random((n_series, n_samples)) < 0.06
    regime = np.cumsum(flips, axis=1) % 2
    level = np.where(regime == 1, 0.62, 0.38) + rng.normal(0, 0.1, (n_series, n_samples))
    values = np.round(level * 20) / 20
    values[rng.random(values.shape) < 0.02] = np.nan
    present = np.ones(values.shape, bool)
    # Gaps of 1..14 samples (some longer than the 5m lookback at 30s scrapes).
    starts = rng.random(values.shape) < 0.012
    lengths = rng.integers(1, 15, values.shape)
    for i, j in zip(*np.nonzero(starts), strict=True):
        present[i, j: j + lengths[i, j]] = False
    st = np.zeros(values.shape, bool)
    if stale:
        st = present & (rng.random(values.shape) < 0.012)
        present &= ~st
    labels = [{"__name__": METRIC, "instance": f"host{i:03d}", "job": JOBS[i % 3]}
              for i in range(n_series)]
    return Raw(labels, scrape_ms, values, present, st)


def local_matrix(raw: Raw, eval_ms: int, n_eval: int) -> SeriesMatrix:
    """The 2.42 instant selector over the raw samples, at evaluations k*eval_ms from 0."""
    n, s = raw.values.shape
    sid = np.repeat(np.arange(n), s)
    t = np.tile(raw.t, n)
    keep = (raw.present | raw.stale).ravel()
    ev = np.arange(n_eval, dtype=np.int64) * eval_ms
    vals, ok = instant_vector(sid[keep], t[keep], raw.values.ravel()[keep], raw.stale.ravel()[keep],
                              n, ev, closed=True)
    labels = pl.DataFrame(raw.labels, schema=dict.fromkeys(("__name__", "instance", "job"),
                                                           pl.String))
    return SeriesMatrix(ev, labels, vals, ok)


def random_rule(rng: np.random.Generator, k: int) -> Rule:
    op = str(rng.choice([">", ">=", "<", "<=", "==", "!="]))
    threshold = float(rng.choice([0.45, 0.5, 0.55]))
    labels = {"severity": str(rng.choice(["page", "warning"]))}
    if rng.random() < 0.5:
        labels["team"] = "{{ $labels.job }}-team"
    if rng.random() < 0.3:
        labels["job"] = "{{ $labels.job }}-x"          # overrides a series label
    if rng.random() < 0.2:
        labels["level"] = "{{ $value }}"                # identity changes with the value
    annotations = {}
    if rng.random() < 0.6:
        annotations["summary"] = "{{ $labels.instance }} is {{ $value }}"
    if rng.random() < 0.3:
        annotations["description"] = "{{ $value | humanize }} on {{ $labels.job | toUpper }}"
    return Rule(alert=f"WbRule{k}", expr=METRIC, op=op, threshold=threshold,
                for_=str(rng.choice(["0s", "30s", "1m", "90s", "150s", "5m"])),
                keep_firing_for=str(rng.choice(["0s", "30s", "1m", "150s", "5m"])),
                labels=labels, annotations=annotations)


def write_oracle(directory: Path, raw: Raw, rules: list[Rule], checks: list[tuple], *,
                 eval_ms: int, name: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "rules.yml").write_text(rule_file_text(rules, group="oracle", check=False))
    series = [(selector(lb["__name__"], {k: v for k, v in lb.items() if k != "__name__"}),
               series_values(raw.values[i], raw.present[i], raw.stale[i]))
              for i, lb in enumerate(raw.labels)]
    alert_checks = [c for a, _ in checks for c in a]
    promql_checks = [c for _, p in checks for c in p]
    doc = promtool_test_document(rule_files=["rules.yml"], interval_ms=raw.scrape_ms,
                                 input_series=series, alert_checks=alert_checks,
                                 promql_checks=promql_checks, name=name,
                                 evaluation_interval_ms=eval_ms)
    path = directory / "test.yml"
    path.write_text(doc)
    return path


def checks_for(matrix: SeriesMatrix, rule: Rule, eval_ms: int,
               mutate_for_ms: int = 0) -> tuple[list, list]:
    bt = backtest_matrix(matrix, rule.with_(for_=rule.for_ms / 1000 + mutate_for_ms / 1000),
                         eval_ms)
    template_labels = [{k: v for k, v in r.items() if v is not None}
                       for r in matrix.labels.iter_rows(named=True)]
    return expected_checks(rule, bt.alerts, matrix, bt.raw_episodes, matrix.eval_times_ms,
                           template_labels=template_labels)


def run_local_leg(tmp: Path, seed: int, n_series: int, n_eval: int, scrape_ms: int,
                  rules: list[Rule]) -> tuple[int, int]:
    eval_ms = 60_000
    raw = generate(seed, n_series, n_eval * eval_ms // scrape_ms, scrape_ms)
    matrix = local_matrix(raw, eval_ms, n_eval)
    checks = [checks_for(matrix, r, eval_ms) for r in rules]
    n_firing = sum(len(exp) for a, _ in checks for _, _, exp in a)
    path = write_oracle(tmp, raw, rules, checks, eval_ms=eval_ms, name=f"seed {seed}")
    run_promtool_test(path)          # raises PromtoolError (with promtool's diff) on a mismatch
    return n_firing, sum(len(s) for _, p in checks for _, _, s in p)


@pytest.mark.parametrize(("seed", "scrape_ms"), [(1, 30_000), (2, 60_000), (3, 30_000),
                                                 (4, 20_000), (5, 60_000), (6, 30_000)])
def test_random_rules_match_promtool(tmp_path: Path, seed: int, scrape_ms: int) -> None:
    require_binary("promtool")
    rng = np.random.default_rng(seed + 1000)
    rules = [random_rule(rng, k) for k in range(4)]
    n_firing, n_active = run_local_leg(tmp_path, seed, 10, 240, scrape_ms, rules)
    assert n_firing > 0 and n_active > n_firing     # the checks are not vacuous


def test_100k_series_steps_match_promtool(tmp_path: Path) -> None:
    """50 series x 2,000 evaluations (100,000 series-steps), every step checked.

    promtool's cost grows with the number of alert-steps it compares, so these two rules keep
    alerts active on ~10% of the series-steps (with many transitions) to hold the run to seconds.
    """
    require_binary("promtool")
    rules = [
        Rule(alert="WbBigA", expr=METRIC, op=">", threshold=0.65, for_="90s",
             keep_firing_for="1m", labels={"severity": "page", "team": "{{ $labels.job }}-t"},
             annotations={"summary": "{{ $labels.instance }} is {{ $value }}"}),
        Rule(alert="WbBigB", expr=METRIC, op="<=", threshold=0.25, for_="0s",
             labels={"severity": "info", "level": "{{ $value }}"}),
    ]
    n_firing, n_active = run_local_leg(tmp_path, 42, 50, 2_000, 60_000, rules)
    assert n_firing > 5_000 and n_active > n_firing


def test_oracle_catches_a_wrong_model(tmp_path: Path) -> None:
    """The same pipeline with ``for`` off by one interval must make promtool fail."""
    require_binary("promtool")
    eval_ms = 60_000
    raw = generate(9, 6, 240, 30_000)
    matrix = local_matrix(raw, eval_ms, 120)
    rule = Rule(alert="WbMut", expr=METRIC, op=">", threshold=0.5, for_="2m",
                labels={"severity": "page"})
    good = checks_for(matrix, rule, eval_ms)
    run_promtool_test(write_oracle(tmp_path / "good", raw, [rule], [good], eval_ms=eval_ms,
                                   name="good"))
    bad = checks_for(matrix, rule, eval_ms, mutate_for_ms=eval_ms)
    with pytest.raises(PromtoolError, match="FAILED"):
        run_promtool_test(write_oracle(tmp_path / "bad", raw, [rule], [bad], eval_ms=eval_ms,
                                       name="bad"))


def test_duplicate_label_sets_raise() -> None:
    raw = generate(3, 4, 40, 60_000, stale=False)
    matrix = local_matrix(raw, 60_000, 40)
    rule = Rule(alert="Dup", expr=METRIC, op=">=", threshold=0.0,
                labels={"instance": "all", "job": "same"})
    with pytest.raises(DuplicateAlertError, match="same alert labels") as info:
        backtest_matrix(matrix, rule, 60_000)
    assert info.value.labels["instance"] == "all"


# -- server leg ------------------------------------------------------------------------------

T0_MS = 1_764_000_000_000          # 2025-11-24T16:00:00Z, a multiple of 60 s


@pytest.fixture(scope="module")
def backfilled(tmp_path_factory: pytest.TempPathFactory):
    require_binary("prometheus")
    require_binary("promtool")
    root = tmp_path_factory.mktemp("alerting-backfill")
    raw = generate(77, 16, 1_200, 30_000, stale=False)     # 10 h at 30 s
    om = root / "data.om"
    with om.open("w") as fh:
        w = OpenMetricsWriter(fh)
        w.family(METRIC, "gauge")
        for i, lb in enumerate(raw.labels):
            keep = raw.present[i]
            w.series(METRIC, {k: v for k, v in lb.items() if k != "__name__"},
                     (raw.t[keep] + T0_MS) / 1000, raw.values[i][keep])
        w.close()
    backfill_openmetrics(om, root / "tsdb")
    server = start_prometheus(root / "tsdb", config_text="global:\n  scrape_interval: 1m\n")
    yield raw, Prometheus(server.url)
    server.stop()


def _server_rules() -> list[Rule]:
    rng = np.random.default_rng(5)
    rules = [random_rule(rng, k) for k in range(4)]
    rules.append(Rule(alert="WbFull", expr=f"{METRIC} > 0.5 and {METRIC} < 0.75", for_="90s",
                      keep_firing_for="1m", labels={"severity": "page"},
                      annotations={"summary": "{{ $labels.instance }} {{ $value }}"}))
    return rules


def test_server_backtest_matches_promtool(backfilled, tmp_path: Path) -> None:
    raw, prom = backfilled
    eval_ms, n_eval = 60_000, 600
    start, end = T0_MS / 1000, (T0_MS + (n_eval - 1) * eval_ms) / 1000
    rules = _server_rules()
    local = local_matrix(raw, eval_ms, n_eval)
    checks = []
    for rule in rules:
        bt = backtest(prom, rule, start, end, "1m", scrape_interval="30s")
        assert bt.server_version is not None and bt.server_version.startswith("2.")
        assert bt.eval_times_ms.shape[0] == n_eval
        if rule.is_threshold:
            # query_range sees exactly what the 2.42 instant selector gives on the raw samples.
            order = [local.labels.rows().index(r) for r in bt.matrix.labels.rows()]
            np.testing.assert_array_equal(bt.matrix.present, local.present[order])
        shifted = SeriesMatrix(bt.eval_times_ms - T0_MS, bt.matrix.labels, bt.matrix.values,
                               bt.matrix.present)
        labels = [{k: v for k, v in r.items() if v is not None}
                  for r in bt.matrix.labels.iter_rows(named=True)]
        if not rule.is_threshold:
            labels = [lb | {"__name__": METRIC} for lb in labels]   # `and` keeps the name
        checks.append(expected_checks(rule, bt.alerts, shifted, bt.raw_episodes,
                                      shifted.eval_times_ms, template_labels=labels))
    assert sum(len(e) for c in checks for _, _, e in c[0]) > 100
    path = write_oracle(tmp_path, raw, rules, checks, eval_ms=eval_ms, name="server leg")
    run_promtool_test(path)


def test_server_sweep_equals_backtests(backfilled) -> None:
    _, prom = backfilled
    start, end = T0_MS / 1000, (T0_MS + 599 * 60_000) / 1000
    rule = Rule(alert="WbSweep", expr=METRIC, op=">", threshold=0.5, for_="2m",
                labels={"severity": "page"}, annotations={"summary": "s"})
    grid = sweep(prom, rule, thresholds=[0.45, 0.5, 0.6], for_=["0s", "90s", "5m"],
                 keep_firing_for=["0s", "2m"], start=start, end=end)
    assert grid.height == 18
    bt = backtest(prom, rule, start, end)
    for row in grid.iter_rows(named=True):
        variant = rule.with_(threshold=row["threshold"], for_=row["for_s"],
                             keep_firing_for=row["keep_firing_for_s"])
        expect = backtest_matrix(bt.matrix, variant, 60_000).summary().row(0, named=True)
        got = {k: row[k] for k in expect}
        assert got == expect
    # More permissive thresholds and shorter `for` never fire less time.
    fs = grid.filter(pl.col("keep_firing_for_s") == 0).sort("threshold", "for_s")
    by_thr = fs.group_by("threshold").agg(pl.col("firing_s").sort_by("for_s")).sort("threshold")
    for seq in by_thr["firing_s"].to_list():
        assert seq == sorted(seq, reverse=True)
    assert sweep_matrix(bt.matrix, rule, interval_ms=60_000).row(0, named=True)["alerts_fired"] \
        == bt.summary()["alerts_fired"][0]


def test_server_pinned_promtool_export(backfilled, tmp_path: Path) -> None:
    _, prom = backfilled
    start, end = T0_MS / 1000, (T0_MS + 599 * 60_000) / 1000
    rule = Rule(alert="WbPinned", expr=f"avg by (job) ({METRIC})", op=">", threshold=0.5,
                for_="3m", keep_firing_for="2m", labels={"severity": "warning"},
                annotations={"summary": "{{ $labels.job }} at {{ $value | humanize }}"})
    bt = backtest(prom, rule, start, end)
    assert bt.summary()["alerts_fired"][0] > 0
    path = bt.to_promtool_test(tmp_path, window=90)    # runs promtool test rules itself
    text = path.read_text()
    assert "workbench_pinned_input" in text and "exp_annotations:" in text
    # Block-style YAML: one line per item, no line longer than a reviewer's screen.
    assert text.count("\n") > 100 and max(map(len, text.splitlines())) < 200


def test_server_backtest_across_query_chunks(backfilled) -> None:
    """A 2 s grid over 10 h is 18,000 evaluations: query_range splits it into two requests; the
    seam must neither drop nor repeat an evaluation, and lookback-bridged steps must match."""
    raw, prom = backfilled
    eval_ms, n_eval = 2_000, 18_000
    start, end = T0_MS / 1000, (T0_MS + (n_eval - 1) * eval_ms) / 1000
    rule = Rule(alert="WbChunks", expr=METRIC, op=">=", threshold=0.55, for_="45s",
                keep_firing_for="10s", labels={"severity": "page"})
    bt = backtest(prom, rule, start, end, "2s")
    local = local_matrix(raw, eval_ms, n_eval)
    order = [local.labels.rows().index(r) for r in bt.matrix.labels.rows()]
    np.testing.assert_array_equal(bt.matrix.present, local.present[order])
    np.testing.assert_array_equal(np.isnan(bt.matrix.values), np.isnan(local.values[order]))
    ref = backtest_matrix(SeriesMatrix(local.eval_times_ms + T0_MS, local.labels[order],
                                       local.values[order], local.present[order]), rule, eval_ms)
    assert bt.episodes.equals(ref.episodes)
    assert bt.summary()["alerts_fired"][0] > 10


def test_server_promtool_export_of_a_selector_rule_uses_the_real_rule(backfilled,
                                                                      tmp_path: Path) -> None:
    _, prom = backfilled
    start, end = T0_MS / 1000, (T0_MS + 599 * 60_000) / 1000
    rule = Rule(alert="WbReal", expr=METRIC, op=">", threshold=0.6, for_="2m",
                labels={"severity": "page", "team": "{{ $labels.job }}"},
                annotations={"summary": "{{ $labels.instance }} is {{ $value }}"})
    bt = backtest(prom, rule, start, end)
    path = bt.to_promtool_test(tmp_path, window=60, max_series=5)   # runs promtool itself
    rules_text = (tmp_path / "WbReal.rules.yml").read_text()
    assert f"expr: {METRIC} > 0.6" in rules_text and "workbench_pinned_input" not in rules_text
    assert path.read_text().count("- series: ") == 5
    # the pinned window must contain at least one firing alert to be a meaningful test
    assert "exp_labels:" in path.read_text()
