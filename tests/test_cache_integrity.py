"""The query cache serves only what it stored for that very window, and never costs the data."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path
from urllib.parse import parse_qs

import orjson
import pytest

from workbench import Prometheus
from workbench.sources.prometheus.cache import CacheWarning

from .httpstub import Seen, http_stub

STEP = 60


def _by_window(req: Seen, n: int) -> tuple[int, dict[str, str], bytes]:
    """A matrix whose values name the window: value = start second + k (k-th step)."""
    form = parse_qs(req.body.decode())
    start, end = float(form["start"][0]), float(form["end"][0])
    values = [[start + k * STEP, str(start + k)] for k in range(int((end - start) // STEP) + 1)]
    doc = {"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": {"job": "a"}, "values": values}]}}
    return 200, {}, orjson.dumps(doc)


def _expected(start: int, end: int, per_window: int) -> list[float]:
    out = []
    for k in range((end - start) // STEP + 1):
        w0 = start + (k // per_window) * per_window * STEP
        out.append(float(w0 + k % per_window))
    return out


def _files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.parquet"))


def test_swapped_and_bit_flipped_files_are_refetched_with_a_warning(tmp_path: Path) -> None:
    start, end = 0, 59 * STEP  # 60 steps -> 3 windows of 20
    want = _expected(start, end, 20)
    with http_stub(_by_window) as stub:
        prom = Prometheus(stub.url, cache_dir=tmp_path, now=lambda: 10**12)
        first = prom.query_range("x", start, end, step=STEP, max_points=20)
        assert first["value"].to_list() == want
        assert len(stub.requests) == 3
        files = _files(tmp_path)
        assert len(files) == 3
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert prom.query_range("x", start, end, step=STEP, max_points=20).equals(first)
        assert len(stub.requests) == 3  # all from the cache

        # Another window's file under this window's name: detected by the stored key.
        shutil.copyfile(files[0], files[1])
        with pytest.warns(CacheWarning, match="another window"):
            got = prom.query_range("x", start, end, step=STEP, max_points=20)
        assert got["value"].to_list() == want
        assert len(stub.requests) == 4

        # One flipped byte in the middle of the payload (a parquet data page): the checksum.
        raw = bytearray(files[2].read_bytes())
        raw[len(raw) // 2] ^= 0x01
        files[2].write_bytes(bytes(raw))
        with pytest.warns(CacheWarning, match="integrity"):
            got = prom.query_range("x", start, end, step=STEP, max_points=20)
        assert got["value"].to_list() == want
        assert len(stub.requests) == 5

        # Truncated, or not a cache file at all.
        files[0].write_bytes(files[0].read_bytes()[:-7])
        files[1].write_bytes(b"not parquet at all")
        with pytest.warns(CacheWarning):
            got = prom.query_range("x", start, end, step=STEP, max_points=20)
        assert got["value"].to_list() == want
        assert len(stub.requests) == 7
        # ... and the refetched windows were stored again, intact.
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert prom.query_range("x", start, end, step=STEP, max_points=20).equals(first)
        assert len(stub.requests) == 7


@pytest.mark.parametrize("how", ["a file", "under a file"])
def test_unwritable_cache_dir_still_returns_the_data(tmp_path: Path, how: str) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the cache directory should be")
    cache_dir = blocker if how == "a file" else blocker / "sub"
    with http_stub(_by_window) as stub:
        prom = Prometheus(stub.url, cache_dir=cache_dir, now=lambda: 10**12)
        with pytest.warns(CacheWarning, match="Cannot write to the query cache"):
            got = prom.query_range("x", 0, 9 * STEP, step=STEP)
    assert got["value"].to_list() == _expected(0, 9 * STEP, 20)
    assert blocker.read_text().startswith("a file")


def test_query_params_separate_cache_entries(tmp_path: Path) -> None:
    # Thanos: dedup=true merges replicas, dedup=false returns each; one must not serve the other.
    def by_dedup(req: Seen, n: int) -> tuple[int, dict[str, str], bytes]:
        value = "1" if "dedup=true" in req.path else "2"
        return 200, {}, orjson.dumps({"status": "success", "data": {"resultType": "matrix",
                                      "result": [{"metric": {}, "values": [[0, value]]}]}})

    from workbench import PromConfig

    with http_stub(by_dedup) as stub:
        got = [Prometheus(PromConfig(url=stub.url, query_params={"dedup": d}), cache_dir=tmp_path,
                          now=lambda: 10**12).query_range("x", 0, 0, step=60)["value"].to_list()
               for d in ("true", "false", "true", "false")]
    assert got == [[1.0], [2.0], [1.0], [2.0]]
    assert len(stub.requests) == 2
