"""A 10-hour, three-node kube-prometheus-stack history with hand-computable USE truth.

Series are shaped exactly like node-exporter under kube-prometheus-stack (``job="node-exporter"``,
``instance=<hostIP>:9100``, the exporter pod's ``namespace``/``pod``, no ``node`` label) plus the
kube-state-metrics series that name the nodes. Scrapes every 30 s from :data:`BASE_S`.

Truth (see the constants below):

* ``node-a`` is healthy: CPU busy 0.25 (cpu0 0.30, cpu1 0.20 plus 0.10 iowait, which is not busy),
  load1 0.5 on 2 CPUs, memory 0.25, disk sda busy 0.1 with queue 0.2, 1 MB/s in, 0.5 MB/s out,
  and a filesystem whose mountpoint is ``/mnt/<script>alert(1)</script>``.
* ``node-b`` is hot for one hour (:data:`HOT`): CPU 0.95 and load1 5.0 on 2 CPUs; its
  ``/var/lib/data`` loses :data:`FILL_BYTES_PER_H` per hour, so at the end it has 12 GiB of
  100 GiB left and 12 h to full; 20 receive errors per 1500 packets per second.
* ``node-c`` (4 CPUs) is down during :data:`DOWN` (``up`` = 0, no exporter samples), reboots
  (new boot time, counters reset) and comes back with a new exporter pod name.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from workbench.testing.openmetrics import OpenMetricsWriter

BASE_S = 1_772_323_200  # 2026-03-01T00:00:00Z
SCRAPE_S = 30
HOURS = 10
END_S = BASE_S + HOURS * 3600
TS = np.arange(BASE_S, END_S + 1, SCRAPE_S, dtype=float)
GIB = 1024.0**3
HOT = (BASE_S + 3 * 3600, BASE_S + 4 * 3600)
DOWN = (BASE_S + 6 * 3600, BASE_S + 7 * 3600)
REBOOT_BOOT_TIME = DOWN[1] - 60
FILL_BYTES_PER_H = 1 * GIB
FILL_SIZE = 100 * GIB
FILL_AVAIL_END = 12 * GIB
XSS = "<script>alert(1)</script>"

NODES = {
    "node-a": {"ip": "10.0.0.1", "pods": ["kps-prometheus-node-exporter-aaaaa"], "cpus": 2},
    "node-b": {"ip": "10.0.0.2", "pods": ["kps-prometheus-node-exporter-bbbbb"], "cpus": 2},
    "node-c": {"ip": "10.0.0.3", "pods": ["kps-prometheus-node-exporter-ccccc",
                                          "kps-prometheus-node-exporter-ddddd"], "cpus": 4},
}
CPU_BUSY = {"node-a": 0.25, "node-b": 0.40, "node-c": 0.10}
HOT_BUSY = 0.95


def _mask(node: str) -> np.ndarray:
    """Samples the exporter answered (node-c is silent while down)."""
    if node == "node-c":
        return (DOWN[0] > TS) | (DOWN[1] <= TS)
    return np.ones(TS.shape, dtype=bool)


def _pod(node: str, t: np.ndarray) -> np.ndarray:
    pods = NODES[node]["pods"]
    return np.where(t >= DOWN[1], pods[-1], pods[0]) if len(pods) > 1 else np.full(t.shape, pods[0])


def _counter_time(node: str) -> np.ndarray:
    """Seconds since the counters started (they reset when node-c reboots)."""
    t = TS - BASE_S + 86_400.0
    if node == "node-c":
        t = np.where(DOWN[1] <= TS, TS - REBOOT_BOOT_TIME, t)
    return t


def _busy_fraction(node: str, cpu: int) -> np.ndarray:
    """Busy (user+system) fraction of one CPU at each scrape."""
    if node == "node-a":
        return np.full(TS.shape, 0.30 if cpu == 0 else 0.20)
    base = np.full(TS.shape, CPU_BUSY[node])
    if node == "node-b":
        base = np.where((HOT[0] <= TS) & (HOT[1] > TS), HOT_BUSY, base)
    return base


def _integrate(rate: np.ndarray, node: str) -> np.ndarray:
    """Counter values for a piecewise-constant rate (per second), resetting with the node."""
    t = _counter_time(node)
    out = np.empty_like(rate)
    acc = t[0] * rate[0]
    out[0] = acc
    for i in range(1, len(rate)):
        dt = t[i] - t[i - 1]
        acc = t[i] * rate[i] if dt <= 0 or dt > SCRAPE_S * 1.5 else acc + rate[i - 1] * dt
        out[i] = acc
    return out


def _target(node: str, pod: str) -> dict[str, str]:
    return {"job": "node-exporter", "instance": f"{NODES[node]['ip']}:9100",
            "namespace": "monitoring", "pod": pod, "container": "node-exporter",
            "endpoint": "http-metrics", "service": "kps-prometheus-node-exporter"}


def _write(w: OpenMetricsWriter, name: str, node: str, values: np.ndarray,
           extra: dict[str, str] | None = None, *, all_times: bool = False) -> None:
    """Write one node's series, split by exporter pod, skipping the node's silent samples."""
    mask = np.ones(TS.shape, dtype=bool) if all_times else _mask(node)
    pods = _pod(node, TS)
    for pod in NODES[node]["pods"]:
        keep = mask & (pods == pod)
        if keep.any():
            w.series(name, {**_target(node, pod), **(extra or {})}, TS[keep], values[keep])


def write(path: Path) -> int:
    """Write the OpenMetrics file; returns the number of samples."""
    with path.open("w") as fh:
        w = OpenMetricsWriter(fh)
        w.family("node_cpu_seconds", "counter", "Seconds the CPUs spent in each mode.")
        for node, info in NODES.items():
            for cpu in range(int(info["cpus"])):
                busy = _busy_fraction(node, cpu)
                iowait = np.full(TS.shape, 0.10 if (node == "node-a" and cpu == 1) else 0.0)
                modes = {"user": busy * 2 / 3, "system": busy / 3, "iowait": iowait,
                         "steal": np.zeros(TS.shape), "idle": 1.0 - busy - iowait}
                for mode, frac in modes.items():
                    _write(w, "node_cpu_seconds_total", node, _integrate(frac, node),
                           {"cpu": str(cpu), "mode": mode})
        w.family("node_load1", "gauge", "1m load average.")
        for node, info in NODES.items():
            per_cpu = {"node-a": 0.25, "node-b": 0.5, "node-c": 0.1}[node]
            load = np.full(TS.shape, per_cpu * int(info["cpus"]))
            if node == "node-b":
                load = np.where((HOT[0] <= TS) & (HOT[1] > TS), 5.0, load)
            _write(w, "node_load1", node, load)
        mem_util = {"node-a": 0.25, "node-b": 0.5, "node-c": 0.3}
        w.family("node_memory_MemTotal_bytes", "gauge", "Memory total.")
        for node in NODES:
            _write(w, "node_memory_MemTotal_bytes", node, np.full(TS.shape, 8 * GIB))
        w.family("node_memory_MemAvailable_bytes", "gauge", "Memory available.")
        for node in NODES:
            _write(w, "node_memory_MemAvailable_bytes", node,
                   np.full(TS.shape, 8 * GIB * (1 - mem_util[node])))
        w.family("node_vmstat_pgmajfault", "unknown", "Major page faults.")
        for node in NODES:
            _write(w, "node_vmstat_pgmajfault", node, _integrate(np.full(TS.shape, 10.0), node))
        w.family("node_disk_io_time_seconds", "counter", "Disk busy seconds.")
        for node in NODES:
            _write(w, "node_disk_io_time_seconds_total", node,
                   _integrate(np.full(TS.shape, 0.1), node), {"device": "sda"})
            _write(w, "node_disk_io_time_seconds_total", node,
                   _integrate(np.full(TS.shape, 0.9), node), {"device": "loop0"})
        w.family("node_disk_io_time_weighted_seconds", "counter", "Weighted disk seconds.")
        for node in NODES:
            _write(w, "node_disk_io_time_weighted_seconds_total", node,
                   _integrate(np.full(TS.shape, 0.2), node), {"device": "sda"})
        _filesystems(w)
        _network(w)
        w.family("node_boot_time_seconds", "gauge", "Boot time.")
        for node in NODES:
            boot = np.full(TS.shape, float(BASE_S - 86_400))
            if node == "node-c":
                boot = np.where(DOWN[1] <= TS, float(REBOOT_BOOT_TIME), boot)
            _write(w, "node_boot_time_seconds", node, boot)
        w.family("up", "gauge", "Scrape success.")
        for node in NODES:
            up = (~(((DOWN[0] <= TS) & (DOWN[1] > TS)) & (node == "node-c"))).astype(float)
            _write(w, "up", node, up, all_times=True)
        w.series("up", {"job": "kubelet", "instance": "10.0.0.1:10250", "node": "node-a"}, TS,
                 np.ones(TS.shape))
        w.family("kube_pod_info", "gauge", "Pod info.")
        for node, info in NODES.items():
            for pod in info["pods"]:
                keep = _pod(node, TS) == pod
                w.series("kube_pod_info", {
                    "job": "kube-state-metrics", "namespace": "monitoring", "pod": pod,
                    "node": node, "host_ip": str(info["ip"]), "created_by_kind": "DaemonSet",
                    "created_by_name": "kps-prometheus-node-exporter", "uid": pod + "-uid"},
                    TS[keep], np.ones(int(keep.sum())))
        w.family("kube_node_info", "gauge", "Node info.")
        for node, info in NODES.items():
            w.series("kube_node_info", {"job": "kube-state-metrics", "node": node,
                                        "internal_ip": str(info["ip"])}, TS, np.ones(TS.shape))
        w.close()
        return w.samples_written


def _filesystems(w: OpenMetricsWriter) -> None:
    hours = (TS - BASE_S) / 3600.0
    fs = {
        "node-a": [("/dev/sda1", "/", 100 * GIB, np.full(TS.shape, 60 * GIB)),
                   ("/dev/sdb1", f"/mnt/{XSS}", 10 * GIB, np.full(TS.shape, 9 * GIB))],
        "node-b": [("/dev/sda1", "/", 100 * GIB, np.full(TS.shape, 70 * GIB)),
                   ("/dev/sdc1", "/var/lib/data", FILL_SIZE,
                    FILL_AVAIL_END + FILL_BYTES_PER_H * (HOURS - hours))],
        "node-c": [("/dev/sda1", "/", 50 * GIB, np.full(TS.shape, 40 * GIB))],
    }
    for metric, pick in (("node_filesystem_size_bytes", "size"),
                         ("node_filesystem_avail_bytes", "avail"),
                         ("node_filesystem_readonly", "ro")):
        w.family(metric, "gauge", metric)
        for node, items in fs.items():
            for device, mount, size, avail in items:
                vals = {"size": np.full(TS.shape, size), "avail": avail,
                        "ro": np.zeros(TS.shape)}[pick]
                _write(w, metric, node, vals,
                       {"device": device, "mountpoint": mount, "fstype": "ext4"})


def _network(w: OpenMetricsWriter) -> None:
    rates = {  # per node: rx bytes, tx bytes, rx packets, tx packets, rx errs
        "node-a": (1e6, 5e5, 1000.0, 500.0, 0.0),
        "node-b": (2e6, 1e6, 1000.0, 500.0, 20.0),
        "node-c": (3e5, 3e5, 300.0, 300.0, 0.0),
    }
    fields = ["receive_bytes", "transmit_bytes", "receive_packets", "transmit_packets",
              "receive_errs", "transmit_errs", "receive_drop", "transmit_drop"]
    for field in fields:
        w.family(f"node_network_{field}", "counter", field)
        for node, (rxb, txb, rxp, txp, rxe) in rates.items():
            rate = {"receive_bytes": rxb, "transmit_bytes": txb, "receive_packets": rxp,
                    "transmit_packets": txp, "receive_errs": rxe}.get(field, 0.0)
            _write(w, f"node_network_{field}_total", node,
                   _integrate(np.full(TS.shape, rate), node), {"device": "eth0"})
            # loopback and per-pod CNI interfaces (Calico, Cilium) carry traffic that the
            # physical NIC also counts: left out of the sums
            for virtual in ("lo", "cali8f2a1b3c4d5", "lxc0a1b2c3d4e5f", "cni0"):
                _write(w, f"node_network_{field}_total", node,
                       _integrate(np.full(TS.shape, 1e9 if "bytes" in field else 0.0), node),
                       {"device": virtual})
