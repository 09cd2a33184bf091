"""The demo history through VictoriaMetrics' native import format stores exactly what the JSON
import stores: both imports of the same simulation, exported back as JSON, are equal series for
series and sample for sample (VictoriaMetrics' own decoder and storage are the oracle)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import orjson
import pytest
import requests

from workbench.demo.params import BIG, SMALL
from workbench.demo.sim import FAMILIES, Cluster
from workbench.demo.vm_backend import _slice_job, import_gap, import_history
from workbench.demo.vm_native import NativeWriter, metric_name
from workbench.testing.victoria import flush_victoria_metrics, post_import, start_victoria_metrics

from .conftest import require_binary

pytestmark = pytest.mark.server


@pytest.fixture
def two_vms(tmp_path: Path) -> Iterator[tuple[str, str]]:
    require_binary("victoria-metrics")
    a = start_victoria_metrics(tmp_path / "a")
    b = start_victoria_metrics(tmp_path / "b")
    try:
        yield a.url, b.url
    finally:
        a.stop()
        b.stop()


def _export(url: str) -> dict[str, tuple[list[float], list[int]]]:
    flush_victoria_metrics(url)
    r = requests.get(f"{url}/api/v1/export", params={"match[]": '{__name__!=""}'}, timeout=120)
    r.raise_for_status()
    out: dict[str, tuple[list[float], list[int]]] = {}
    for line in r.content.splitlines():
        doc = orjson.loads(line)
        key = orjson.dumps(doc["metric"], option=orjson.OPT_SORT_KEYS).decode()
        vals, ts = out.setdefault(key, ([], []))
        vals.extend(doc["values"])
        ts.extend(doc["timestamps"])
    return {k: (v, t) for k, (v, t) in out.items()}


def test_native_import_stores_what_json_import_stores(two_vms: tuple[str, str]) -> None:
    json_url, native_url = two_vms
    c = Cluster(SMALL, end_s=1_764_000_000)
    sj = import_history(c, json_url, fmt="json", workers=1, max_samples=200_000)
    sn = import_history(c, native_url, fmt="native", workers=1, max_samples=200_000)
    assert sj.samples == sn.samples > 1_000_000
    want, have = _export(json_url), _export(native_url)
    assert len(want) > 1000 and have.keys() == want.keys()
    assert sum(len(v[0]) for v in have.values()) == sj.samples
    assert have == want  # floats compared exactly


def test_big_setting_slice_native_equals_json(two_vms: tuple[str, str]) -> None:
    """BIG's values (large counters, 1/100 and 1/1000 decimals, gaps) over two hours."""
    json_url, native_url = two_vms
    end_s = 1_764_000_000.0
    params = BIG.with_options(days=2.0)
    sj = _slice_job(params, end_s, end_s - 7200, end_s + 1, json_url, "json")
    sn = _slice_job(params, end_s, end_s - 7200, end_s + 1, native_url, "native")
    assert sj.samples == sn.samples > 4_000_000
    assert sn.bytes < sj.bytes / 4
    assert _export(native_url) == _export(json_url)


def test_writer_blocks_and_encodings(two_vms: tuple[str, str]) -> None:
    """Constant values, constant and irregular steps, negative deltas, negative scale, a series
    longer than one block: each reads back as written."""
    url = two_vms[0]
    w = NativeWriter()
    ts = 1_764_000_000_000 + np.arange(20_000, dtype=np.int64) * 15_000
    rng = np.random.default_rng(7)
    walk = np.cumsum(rng.integers(-10**6, 10**6, 20_000))
    irregular = np.sort(rng.choice(ts, 500, replace=False))
    cases = {
        "const": (ts[:100], np.full(100, 42), 0),
        "long_walk": (ts, walk, -3),
        "irregular": (irregular, np.arange(500) * 7, -2),
        "one": (ts[:1], np.array([-5]), 0),
        "big": (ts[:50], np.full(50, 2**52) - np.arange(50), 0),
    }
    for name, (t, m, scale) in cases.items():
        w.add(metric_name({"__name__": f"native_{name}", "case": name, "sp ace": "a b"}), t, m,
              scale)
    post_import(url, w.body(), path="/api/v1/import/native")
    got = _export(url)
    assert len(got) == len(cases)
    for name, (t, m, scale) in cases.items():
        key = orjson.dumps({"__name__": f"native_{name}", "case": name, "sp ace": "a b"},
                           option=orjson.OPT_SORT_KEYS).decode()
        vals, stamps = got[key]
        assert stamps == t.tolist()
        want = m / 10.0**-scale if scale < 0 else m.astype(float)
        assert vals == want.tolist(), name


def test_gap_after_the_history_is_imported(two_vms: tuple[str, str]) -> None:
    """``import_gap`` writes the simulated minutes after the history's end (what ``up`` imports
    while the history was being generated), equal to the simulator, and nothing after."""
    url = two_vms[0]
    c = Cluster(SMALL, end_s=1_764_000_000)
    until = c.end_s + 40 * c.interval
    st = import_gap(c, url, until)
    t = c.end_s + np.arange(1, 41) * c.interval
    want = {}
    for s in c.samples(t):
        ok = ~np.isnan(s.values)
        if ok.any():
            key = orjson.dumps({"__name__": s.name, **{k: v for k, v in s.labels.items() if v}},
                               option=orjson.OPT_SORT_KEYS).decode()
            want[key] = ((t[ok] * 1000).astype(np.int64).tolist(), s.name, s.values[ok])
    got = _export(url)
    assert st.samples == sum(len(v[0]) for v in want.values()) > 10_000
    assert got.keys() == want.keys()
    for key, (stamps, name, vals) in want.items():
        scale = FAMILIES[name][2]
        assert got[key][1] == stamps
        written = vals if scale == 1 else np.rint(vals * scale) / scale  # as the import writes
        # VictoriaMetrics keeps ~15 significant digits of a JSON float (3433771827.2000003)
        assert got[key][0] == pytest.approx(written.tolist(), rel=1e-15, abs=0), key
    assert import_gap(c, url, c.end_s).samples == 0
