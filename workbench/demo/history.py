"""Write the simulated history as OpenMetrics and backfill it into a TSDB, in bounded memory.

The history is cut into time slices aligned on promtool's block grid (``2h * 3**n``), one
OpenMetrics file per slice, so each file becomes exactly one block and blocks never overlap.
The slice length is chosen so that a file holds at most ``max_samples`` samples: memory stays
bounded (promtool reads a whole file into memory) whatever the cluster size or history length.
Slices are generated and backfilled by a pool of worker processes (one per core by default).

Examples
--------
>>> block_duration_s(n_series=2000, interval_s=60, max_samples=6_000_000, span_s=14 * 86400)
64800
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import TextIO

import numpy as np

from .._errors import WorkbenchError
from .._runtime import find_binary
from ..testing.openmetrics import escape_label_value
from .params import DemoParams
from .sim import FAMILIES, Cluster, Sample

__all__ = ["BackfillStats", "backfill_catch_up", "backfill_history", "block_duration_s",
           "write_openmetrics"]

_BLOCK_BASE_S = 7200


@dataclass
class BackfillStats:
    """What a backfill did: samples, series, files, seconds, bytes."""

    samples: int = 0
    series_slices: int = 0
    files: int = 0
    openmetrics_bytes: int = 0
    generate_s: float = 0.0
    promtool_s: float = 0.0
    wall_s: float = 0.0
    block_s: int = 0

    def add(self, other: BackfillStats) -> None:
        for f in ("samples", "series_slices", "files", "openmetrics_bytes", "generate_s",
                  "promtool_s"):
            setattr(self, f, getattr(self, f) + getattr(other, f))


def block_duration_s(n_series: int, interval_s: float, max_samples: int, span_s: float) -> int:
    """Largest promtool block length ``2h * 3**n`` (<= 486 h) whose slice fits ``max_samples``."""
    best = _BLOCK_BASE_S
    for n in range(6):
        d = _BLOCK_BASE_S * 3**n
        if n_series * d / interval_s > max_samples:
            break
        best = d
        if d >= span_s:
            break
    return best


def _labels_text(labels: dict[str, str]) -> str:
    return ",".join(f'{k}="{escape_label_value(v)}"' for k, v in sorted(labels.items()))


def write_openmetrics(fh: TextIO, samples: Iterable[Sample], t: np.ndarray) -> tuple[int, int]:
    """Write ``samples`` (values over the grid ``t``) as one OpenMetrics text; returns (samples, series).

    Families are grouped (contiguous), each series is in time order, timestamps are integer
    seconds, NaN values are left out (gaps), and the text ends with ``# EOF``.
    """
    ts = np.asarray(t)
    tsnl = [f" {int(x)}\n" for x in ts.tolist()]
    by_family: dict[str, list[Sample]] = {}
    for s in samples:
        by_family.setdefault(s.name, []).append(s)
    n_samples = n_series = 0
    for name in sorted(by_family, key=list(FAMILIES).index):
        type_, help_, scale = FAMILIES[name]
        fh.write(f"# HELP {name} {help_}\n# TYPE {name} {type_}\n")
        suffix = "" if scale == 1 else f"e-{round(math.log10(scale))}"
        for s in by_family[name]:
            v = s.values
            ok = ~np.isnan(v)
            if not ok.any():
                continue
            prefix = f"{name}{{{_labels_text(s.labels)}}} "
            idx = np.flatnonzero(ok)
            iv = np.rint(v[idx] * scale).astype(np.int64)
            if iv.min() == iv.max():
                head = f"{prefix}{iv[0]}{suffix}"
                fh.write("".join([head + tsnl[i] for i in idx.tolist()]))
            else:
                vs = iv.astype(str).tolist()
                if suffix:
                    fh.write("".join([f"{prefix}{a}{suffix}{tsnl[i]}"
                                      for a, i in zip(vs, idx.tolist(), strict=True)]))
                else:
                    fh.write("".join([prefix + a + tsnl[i]
                                      for a, i in zip(vs, idx.tolist(), strict=True)]))
            n_samples += len(idx)
            n_series += 1
    fh.write("# EOF\n")
    return n_samples, n_series


# -- worker side ---------------------------------------------------------------------------------

_WORKER_CLUSTER: dict[tuple[str, float], Cluster] = {}


def _cluster(params: DemoParams, end_s: float) -> Cluster:
    key = (params.fingerprint(), end_s)
    if key not in _WORKER_CLUSTER:
        _WORKER_CLUSTER.clear()
        _WORKER_CLUSTER[key] = Cluster(params, end_s)
    return _WORKER_CLUSTER[key]


def _slice_job(params: DemoParams, end_s: float, t0: float, t1: float, work: Path, tsdb: Path,
               block_s: int, keep_files: bool, until_s: float | None = None) -> BackfillStats:
    """Generate the samples of ``[t0, t1)`` into one file and backfill it (runs in a worker).

    Samples after ``until_s`` (default: the history's end) are left out."""
    c = _cluster(params, end_s)
    st = BackfillStats(files=1)
    g0 = time.perf_counter()
    first = math.ceil((t0 - c.origin) / c.interval)
    last = math.ceil((t1 - c.origin) / c.interval)
    t = c.origin + np.arange(first, last) * c.interval
    t = t[(t >= c.origin) & (t <= (end_s if until_s is None else until_s))]
    if len(t) == 0:
        return BackfillStats()
    path = work / f"slice-{int(t0)}.om"
    with open(path, "w", buffering=1 << 20) as fh:
        st.samples, st.series_slices = write_openmetrics(fh, c.samples(t), t)
    st.openmetrics_bytes = path.stat().st_size
    st.generate_s = time.perf_counter() - g0
    p0 = time.perf_counter()
    out = work / f"blocks-{int(t0)}"
    argv = [find_binary("promtool"), "tsdb", "create-blocks-from",
            f"--max-block-duration={block_s // 3600}h", "openmetrics", "-q", str(path), str(out)]
    res = subprocess.run(argv, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        msg = (f"promtool could not backfill {path} (exit {res.returncode}): "
               f"{(res.stderr or res.stdout).strip()[-800:]}")
        raise WorkbenchError(msg)
    for block in out.iterdir():
        shutil.move(str(block), str(tsdb / block.name))
    out.rmdir()
    if not keep_files:
        path.unlink()
    st.promtool_s = time.perf_counter() - p0
    return st


def backfill_catch_up(cluster: Cluster, tsdb: Path, work: Path, since_s: float,
                      until_s: float) -> BackfillStats:
    """Backfill the simulated samples of ``(since_s, until_s]`` on the scrape grid.

    The simulated cluster keeps running while the demo is generated or stopped; without this,
    the minutes between the history's end (or the last stored data) and the first live scrape
    read as every node being down. One block file, promtool's 2 h block grid.
    """
    work.mkdir(parents=True, exist_ok=True)
    t0 = (math.floor(since_s / cluster.interval) + 1) * cluster.interval
    if t0 > until_s:
        return BackfillStats()
    return _slice_job(cluster.params, cluster.end_s, t0, until_s + 1, work, tsdb,
                      _BLOCK_BASE_S, False, until_s=until_s)


def backfill_history(cluster: Cluster, tsdb: Path, work: Path, *, workers: int | None = None,
                     max_samples: int = 4_000_000, keep_files: bool = False,
                     progress: bool = False) -> BackfillStats:
    """Generate the whole history of ``cluster`` and backfill it into ``tsdb``.

    Parameters
    ----------
    cluster
        The simulation (its ``origin``..``end_s`` is the history).
    tsdb
        Prometheus data directory (created; blocks are added to it).
    work
        Scratch directory for the OpenMetrics slices (deleted as they are backfilled).
    workers
        Parallel slice jobs; default: the number of CPUs.
    max_samples
        Upper bound of samples per slice file (bounds memory: about 150 bytes each).
    """
    w0 = time.perf_counter()
    tsdb.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    # The first samples() call builds the simulation's signal tables (minutes at the big
    # setting): build them in the object the forked workers inherit, not once per worker.
    _WORKER_CLUSTER.clear()
    _WORKER_CLUSTER[(cluster.params.fingerprint(), cluster.end_s)] = cluster
    n_series = sum(1 for _ in cluster.samples(np.array([cluster.end_s])))
    span = cluster.end_s - cluster.origin
    block_s = block_duration_s(n_series, cluster.interval, max_samples, span)
    first = math.floor(cluster.origin / block_s) * block_s
    slices = [(float(b), float(b + block_s)) for b in range(int(first), int(cluster.end_s) + 1,
                                                             block_s)]
    workers = max(1, min(workers or os.cpu_count() or 1, len(slices)))
    total = BackfillStats()
    if workers == 1:
        for t0, t1 in slices:
            total.add(_slice_job(cluster.params, cluster.end_s, t0, t1, work, tsdb, block_s,
                                 keep_files))
    else:
        with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
            futs = [pool.submit(_slice_job, cluster.params, cluster.end_s, t0, t1, work, tsdb,
                                block_s, keep_files) for t0, t1 in slices]
            for i, f in enumerate(futs):
                total.add(f.result())
                if progress:
                    print(f"  backfilled slice {i + 1}/{len(futs)}", flush=True)
    total.wall_s = time.perf_counter() - w0
    total.block_s = block_s
    return total
