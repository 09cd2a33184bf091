"""Decode a Prometheus ``query_range`` body into a frame: workbench vs the peer vs raw orjson.

For 1,000 series x 1,000 points (1 M samples) and, unless ``--quick``, 1,000 x 10,000 (10 M),
with node-exporter labels (``node_cpu_seconds_total`` by instance/cpu/mode), three methods each run
in a fresh process, timed from body bytes in memory to the finished result:

* ``workbench``: :func:`workbench.sources.prometheus.decode.decode_result`
  (what ``Prometheus.query_range`` runs);
* ``peer``: ``json.loads`` + prometheus-api-client's ``MetricRangeDataFrame`` (its documented path);
* ``floor``: ``orjson.loads`` alone with the GC paused: parsing, no frame at all.

Peak memory is the rise of the process's high-water mark (VmHWM) over its RSS before the timed
step, after resetting the mark through /proc/self/clear_refs. Run: ``python -m benchmarks decode``.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(__file__).parent / ".data"
MODES = ("idle", "user", "system", "iowait", "irq", "softirq", "steal", "nice")


def make_body(series: int, points: int, path: Path) -> None:
    """Write a realistic matrix body: counters as Prometheus formats them (shortest repr)."""
    import orjson

    path.parent.mkdir(parents=True, exist_ok=True)
    start = 1_767_225_600
    with path.open("wb") as fh:
        fh.write(b'{"status":"success","data":{"resultType":"matrix","result":[')
        for s in range(series):
            node = s // 128
            metric = orjson.dumps({
                "__name__": "node_cpu_seconds_total", "container": "node-exporter",
                "cpu": str((s // 8) % 16), "endpoint": "http-metrics",
                "instance": f"10.0.{node // 250}.{node % 250 + 1}:9100", "job": "node-exporter",
                "mode": MODES[s % 8], "namespace": "monitoring",
                "pod": f"kube-prometheus-stack-prometheus-node-exporter-{node:05x}",
                "service": "kube-prometheus-stack-prometheus-node-exporter",
            })
            base = 180_000 + s * 13.37
            vals = ",".join(
                f'[{start + 15 * i},"{round(base + i * 0.37 * (1 + s % 5), 2)!r}"]' for i in range(points)
            )
            if s:
                fh.write(b",")
            fh.write(b'{"metric":' + metric + b',"values":[' + vals.encode() + b"]}")
        fh.write(b"]}}")


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    return 0


def run_one(method: str, path: Path) -> dict[str, float]:
    """Run one method in this process and return seconds, peak delta (MiB) and rows."""
    body = path.read_bytes()
    if method == "workbench":
        from workbench.sources.prometheus.decode import decode_result

        def step() -> int:
            frame, _ = decode_result(body)
            return frame.height
    elif method == "peer":
        from prometheus_api_client import MetricRangeDataFrame

        def step() -> int:
            result = json.loads(body)["data"]["result"]
            return len(MetricRangeDataFrame(result))
    elif method == "floor":
        import orjson

        def step() -> int:
            gc.disable()
            try:
                doc = orjson.loads(body)
                return sum(len(s["values"]) for s in doc["data"]["result"])
            finally:
                gc.enable()
    else:
        raise SystemExit(f"unknown method {method}")
    gc.collect()
    with contextlib.suppress(OSError):  # resets VmHWM; needs Linux and write access
        Path("/proc/self/clear_refs").write_text("5")
    before = _rss_kib("VmRSS:")
    t0 = time.perf_counter()
    rows = step()
    seconds = time.perf_counter() - t0
    peak = _rss_kib("VmHWM:")
    return {"seconds": seconds, "peak_delta_mib": (peak - before) / 1024,
            "process_peak_mib": peak / 1024, "rows": rows}


def _measure(method: str, path: Path, reps: int) -> dict[str, float]:
    runs = []
    for _ in range(reps):
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_decode", "--run", method, str(path)],
            capture_output=True, text=True, check=True, cwd=Path(__file__).parents[1],
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {
        "seconds": statistics.median(r["seconds"] for r in runs),
        "peak_delta_mib": max(r["peak_delta_mib"] for r in runs),
        "process_peak_mib": max(r["process_peak_mib"] for r in runs),
        "rows": runs[0]["rows"],
    }


def main(quick: bool = False) -> None:
    sizes = [(1000, 1000)] if quick else [(1000, 1000), (1000, 10_000)]
    print(f"python {sys.version.split()[0]}, cores {os.cpu_count()}; median of runs, fresh process "
          "per run")
    header = (f"{'samples':>8} {'method':<10} {'seconds':>8} {'samples/s':>11} {'x peer':>7} "
              f"{'/ floor':>7} {'peak+MiB':>9} {'proc MiB':>9}")
    for series, points in sizes:
        n = series * points
        path = DATA / f"body_{series}x{points}.json"
        if not path.exists():
            t0 = time.perf_counter()
            make_body(series, points, path)
            print(f"generated {path.name} ({path.stat().st_size / 2**20:.0f} MiB) in "
                  f"{time.perf_counter() - t0:.1f} s")
        reps_wb = 3
        reps_peer = 1 if n > 2_000_000 else 3
        res = {
            "workbench": _measure("workbench", path, reps_wb),
            "peer": _measure("peer", path, reps_peer),
            "floor": _measure("floor", path, reps_wb),
        }
        for r in res.values():
            assert r["rows"] == n, r
        print(header)
        for method, r in res.items():
            rate = n / r["seconds"]
            print(f"{n / 1e6:>7.0f}M {method:<10} {r['seconds']:>8.3f} {rate / 1e6:>9.2f} M "
                  f"{res['peer']['seconds'] / r['seconds']:>7.1f} "
                  f"{rate / (n / res['floor']['seconds']):>7.2f} {r['peak_delta_mib']:>9.0f} "
                  f"{r['process_peak_mib']:>9.0f}")
        wb, peer, floor = res["workbench"], res["peer"], res["floor"]
        print(f"targets at {n / 1e6:.0f}M: speed-up vs peer {peer['seconds'] / wb['seconds']:.1f}x "
              f"(>= 10x), rate vs raw orjson {floor['seconds'] / wb['seconds']:.2f} (>= 0.5), "
              f"peak memory vs peer {wb['peak_delta_mib'] / peer['peak_delta_mib']:.2f} (< 0.33)")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--run":
        print(json.dumps(run_one(sys.argv[2], Path(sys.argv[3]))))
    else:
        main(quick="--quick" in sys.argv)
