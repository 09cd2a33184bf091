"""The big demo's history into VictoriaMetrics: time, throughput and peak memory.

``python -m benchmarks vm_demo [--quick]`` imports the last ``DAYS`` days of the BIG setting
(50 nodes, 2,000 pods, 60 s scrapes) into a fresh VictoriaMetrics single node through the same
path as ``workbench demo up --backend victoriametrics`` (worker processes generating slices and
posting VictoriaMetrics' native format), then extrapolates linearly to the full 30 days:
generation and ingestion cost per sample, and memory is bounded by the slice size, not the
history length.

Environment: ``WORKBENCH_BENCH_VM_DAYS`` overrides the days imported (30 = the full setting);
``WORKBENCH_BENCH_VM_FORMAT=json`` imports JSON lines instead (the format before).
"""

from __future__ import annotations

import math
import os
import resource
import tempfile
import time
from pathlib import Path

from workbench.demo.params import BIG
from workbench.demo.sim import Cluster
from workbench.demo.vm_backend import import_history
from workbench.testing.victoria import start_victoria_metrics


def _hwm_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(quick: bool = False) -> None:
    days = float(os.environ.get("WORKBENCH_BENCH_VM_DAYS", "0.25" if quick else "2"))
    fmt = os.environ.get("WORKBENCH_BENCH_VM_FORMAT", "native")
    end_s = math.floor(time.time() / 60) * 60
    cluster = Cluster(BIG, end_s)
    with tempfile.TemporaryDirectory(prefix="wb-bench-vm-") as tmp:
        vm = start_victoria_metrics(Path(tmp) / "data")
        try:
            st = import_history(cluster, vm.url, start_s=end_s - days * 86400, fmt=fmt)
            vm_hwm = _hwm_kib(vm.pid)
            vm_cpu = _cpu_s(vm.pid)
        finally:
            vm.stop()
    self_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    workers = os.cpu_count() or 1
    me = resource.getrusage(resource.RUSAGE_SELF)
    parent_cpu = me.ru_utime + me.ru_stime
    worker_cpu = st.cpu_s  # measured in the workers (with one worker, in this process)
    if st.slices <= 1:  # import_history ran the one slice in this process
        parent_cpu -= worker_cpu
    # RUSAGE_CHILDREN's max RSS is the largest reaped child: a worker or VictoriaMetrics.
    peak_total_gib = (self_kib + workers * child_kib + vm_hwm) / 2**20
    print(f"BIG ({BIG.nodes} nodes, ~{BIG.pods} pods, {BIG.interval_s}s), last {days:g} days, "
          f"{os.cpu_count()} cores, {fmt} format (load average {os.getloadavg()[0]:.1f} at the end)")
    print(f"  samples            {st.samples:,} in {st.requests} requests "
          f"({st.bytes / 2**20:,.0f} MiB)")
    print(f"  wall               {st.wall_s:.1f} s  ({st.samples / st.wall_s / 1e6:.2f} M samples/s),"
          f" of which {st.warm_s:.1f} s building the simulation's signal tables (once)")
    print(f"  worker generate    {st.generate_s:.1f} s, post {st.post_s:.1f} s (summed over workers)")
    print(f"  peak RSS           parent {self_kib / 2**10:.0f} MiB, largest child (a worker or "
          f"VictoriaMetrics) {child_kib / 2**10:.0f} MiB, VictoriaMetrics {vm_hwm / 2**10:.0f} MiB; "
          f"upper bound all together {peak_total_gib:.2f} GiB")
    # The machine is shared: CPU seconds say what an idle machine would take. The table build
    # is one process (serial); workers and VictoriaMetrics share the cores.
    spread = (worker_cpu + vm_cpu + max(parent_cpu - st.warm_s, 0.0)) / workers
    idle = min(st.warm_s, parent_cpu) + spread
    print(f"  CPU seconds        parent {parent_cpu:.0f} (table build included), workers "
          f"{worker_cpu:.0f}, VictoriaMetrics {vm_cpu:.0f} ({vm_cpu / st.samples * 1e6:.2f} "
          f"CPU-us/sample, workers {worker_cpu / st.samples * 1e6:.2f}); on an idle "
          f"{workers}-core machine about {idle:.0f} s")
    print(f"  idle-machine estimate for 30 days: "
          f"{(min(st.warm_s, parent_cpu) + spread * 30 / days) / 60:.1f} min")
    full = st.warm_s + (st.wall_s - st.warm_s) * 30 / days
    print(f"  extrapolated to 30 days at this load: {full / 60:.1f} min (table build once + import linear in "
          "samples); memory bounded by the slice size, so about the same peak")
