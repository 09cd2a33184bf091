"""Demo cluster: generation + backfill time, TSDB size and peak memory; first and second `demo up`.

``python -m benchmarks demo --quick`` runs the test-suite cluster only. Without ``--quick`` it runs
the default demo (5 nodes, ~60 pods, 14 days at 60 s: history + a first and a second
``workbench demo up``) and the big setting (50 nodes, 2,000 pods, 30 days). The big setting's
history length can be cut with ``WORKBENCH_BENCH_BIG_DAYS`` (its cost is linear in days: every
slice file costs the same, and peak memory is per slice, independent of days).

The peer, measured in the same run on the small cluster, is the naive backfill: the whole
history in one OpenMetrics file through ``promtool tsdb create-blocks-from openmetrics`` with its
default 2 h blocks (the file is re-parsed once per block window).
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from workbench._runtime import find_binary
from workbench.demo.history import backfill_history, write_openmetrics
from workbench.demo.params import BIG, DEFAULT, SMALL, DemoParams
from workbench.demo.sim import Cluster


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _peak_children_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def _peak_self_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _history(params: DemoParams, root: Path, label: str) -> dict[str, float]:
    end = float(int(time.time() // 60) * 60)
    c = Cluster(params, end)
    st = backfill_history(c, root / "tsdb", root / "work")
    size = _du(root / "tsdb")
    out = {"wall_s": st.wall_s, "samples": st.samples, "tsdb_mb": size / 2**20,
           "om_gb": st.openmetrics_bytes / 2**30, "files": st.files,
           "peak_child_mb": _peak_children_mb(), "peak_self_mb": _peak_self_mb()}
    print(f"{label:<28} {st.samples:>13,} samples  {st.files:>4} slices  "
          f"{st.wall_s:8.1f} s  ({st.samples / st.wall_s / 1e3:6.0f} k samples/s)  "
          f"TSDB {size / 2**20:8.1f} MiB ({size / st.samples:.2f} B/sample)  "
          f"OpenMetrics written {st.openmetrics_bytes / 2**30:6.2f} GiB  "
          f"peak RSS: largest child {out['peak_child_mb']:.0f} MiB, "
          f"parent {out['peak_self_mb']:.0f} MiB", flush=True)
    return out


def _naive(params: DemoParams, root: Path) -> float:
    """The peer: one file, promtool's default block windows."""
    end = float(int(time.time() // 60) * 60)
    c = Cluster(params, end)
    t0 = time.perf_counter()
    t = c.origin + np.arange(int((end - c.origin) // c.interval) + 1) * c.interval
    root.mkdir(parents=True, exist_ok=True)
    path = root / "all.om"
    with open(path, "w") as fh:
        write_openmetrics(fh, c.samples(t), t)
    subprocess.run([find_binary("promtool"), "tsdb", "create-blocks-from", "openmetrics", "-q",
                    str(path), str(root / "naive")], check=True, capture_output=True)
    return time.perf_counter() - t0


def _demo_up_twice(params: DemoParams, root: Path) -> tuple[float, float]:
    from workbench.demo import stack

    d = root / "demo"
    try:
        t0 = time.perf_counter()
        stack.up(d, params, echo=lambda m: None)
        first = time.perf_counter() - t0
        stack.down(d)
        t0 = time.perf_counter()
        stack.up(d, params, echo=lambda m: None)
        second = time.perf_counter() - t0
    finally:
        stack.down(d)
    return first, second


def main(quick: bool) -> None:
    base = Path(os.environ.get("WORKBENCH_BENCH_TMP") or tempfile.gettempdir())
    root = Path(tempfile.mkdtemp(prefix="bench-demo-", dir=base))
    try:
        small = SMALL
        ours = _history(small, root / "small", "small (3 nodes, 2 d, 60 s)")
        naive = _naive(small, root / "small-naive")
        print(f"{'peer: one file, 2h blocks':<28} {naive:8.1f} s   -> sliced/parallel backfill is "
              f"{naive / ours['wall_s']:.1f}x faster", flush=True)
        if quick:
            return
        _history(DEFAULT, root / "default", "default (5 nodes, 14 d, 60 s)")
        shutil.rmtree(root / "default", ignore_errors=True)
        first, second = _demo_up_twice(DEFAULT, root)
        print(f"demo up (default): first {first:.1f} s (budget 180 s), second {second:.1f} s "
              f"(budget 20 s)", flush=True)
        days = float(os.environ.get("WORKBENCH_BENCH_BIG_DAYS") or BIG.days)
        big = BIG.with_options(days=days)
        res = _history(big, root / "big", f"big (50 nodes, {days:g} d, 60 s)")
        if days < BIG.days:
            f = BIG.days / days
            print(f"  big at {BIG.days:g} d, extrapolated linearly: {res['wall_s'] * f:.0f} s, "
                  f"{res['samples'] * f:,.0f} samples, TSDB {res['tsdb_mb'] * f:.0f} MiB; "
                  "peak memory is per slice and does not grow with days", flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
