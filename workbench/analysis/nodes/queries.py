"""The PromQL behind the node-exporter (USE) report, following the node-mixin recording rules.

Every expression keeps the scrape-target labels (``instance``, ``namespace``, ``pod``, and
``node`` when the scrape config adds it) so :func:`workbench.analysis.nodes.fetch.fetch_node_use`
can map each series to a Kubernetes node name: node-exporter series carry no ``node`` label
under kube-prometheus-stack (the target is the exporter pod).

Examples
--------
>>> sel = selector("node-exporter")
>>> sel
'job="node-exporter"'
>>> print(memory_utilisation(sel))
1 - node_memory_MemAvailable_bytes{job="node-exporter"} / node_memory_MemTotal_bytes{job="node-exporter"}
"""

from __future__ import annotations

__all__ = [
    "DISK_DEVICES",
    "FS_SELECTOR",
    "NET_EXCLUDE",
    "RANGE_QUERIES",
    "boot_time",
    "cpu_count",
    "cpu_utilisation",
    "disk_queue",
    "disk_utilisation",
    "fs_instant_queries",
    "fs_used",
    "kube_node_info",
    "kube_pod_info",
    "load_per_cpu",
    "majfault_rate",
    "memory_utilisation",
    "net_rate",
    "selector",
    "up_fraction",
]

#: Block devices the node-mixin's disk rules consider (``diskDeviceSelector``).
DISK_DEVICES = r"(/dev/)?(mmcblk.p.+|nvme.+|rbd.+|sd.+|vd.+|xvd.+|dm-.+|md.+|dasd.+)"
#: Filesystems the chart's rules consider (``fsSelector`` plus the mixin's mountpoint filter).
FS_SELECTOR = 'fstype!="",mountpoint!=""'
#: Interfaces left out of network sums: loopback and the virtual interfaces CNI plugins create
#: per pod or per node (veth, Calico cali*, Cilium lxc*/cilium_*, flannel, cni0 bridges, tunnels,
#: kube-ipvs0, and the 15-hex-digit names kube-prometheus-stack's node-exporter also ignores).
#: Pod traffic crosses one of these *and* the physical NIC, so summing both counts it twice.
NET_EXCLUDE = ("lo|veth.+|cali.+|lxc.+|cilium_.+|flannel.+|cni.+|vxlan.+|tunl.+|genev_sys.+"
               "|kube-ipvs.+|docker.+|[a-f0-9]{15}")


def _q(text: str) -> str:
    """Quote a label value for a PromQL matcher."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def selector(job: str) -> str:
    """The label matcher for the node-exporter job (``job="node-exporter"`` on the chart)."""
    return f"job={_q(job)}"


def _sel(sel: str, extra: str = "") -> str:
    return "{" + ",".join(s for s in (sel, extra) if s) + "}"


def cpu_utilisation(sel: str, rate_window: str) -> str:
    """Busy fraction of all CPUs: iowait and steal count as not busy (``node_cpu_utilisation``).

    Written as ``1 - not-busy time / all time`` rather than the mixin's ``1 - avg(not-busy
    rate)``: the two agree when the rate window is full of samples, but where it is not (the
    start of the data, a node coming back after being down) ``rate()`` under-reports every mode
    alike, which the ratio cancels and the mixin form turns into a spike of false "busy".
    """
    idle = _sel(sel, "mode=~" + _q("idle|iowait|steal"))
    return (
        f"1 - sum without (cpu, mode) (rate(node_cpu_seconds_total{idle}[{rate_window}])) / "
        f"sum without (cpu, mode) (rate(node_cpu_seconds_total{_sel(sel)}[{rate_window}]))"
    )


def cpu_count(sel: str) -> str:
    """Number of CPUs (``instance:node_num_cpu:sum``)."""
    return f'count without (cpu, mode) (node_cpu_seconds_total{_sel(sel, "mode=" + _q("idle"))})'


def _gauge(metric: str, window: str | None) -> str:
    """A gauge as sampled at each step, or its mean over ``window`` before each step."""
    return f"avg_over_time({metric}[{window}])" if window else metric


def load_per_cpu(sel: str, window: str | None = None) -> str:
    """1-minute load average per CPU: the CPU saturation signal (``NodeSystemSaturation``).

    ``window``: average over this range before each step (used when the step is longer than
    the rate window, so a step stands for the whole step rather than one instant in it).
    """
    return f"{_gauge(f'node_load1{_sel(sel)}', window)} / {cpu_count(sel)}"


def memory_utilisation(sel: str, window: str | None = None) -> str:
    """``1 - MemAvailable / MemTotal`` (``instance:node_memory_utilisation:ratio``); ``window``
    as in :func:`load_per_cpu`."""
    return (
        f"1 - {_gauge(f'node_memory_MemAvailable_bytes{_sel(sel)}', window)} / "
        f"{_gauge(f'node_memory_MemTotal_bytes{_sel(sel)}', window)}"
    )


def majfault_rate(sel: str, rate_window: str) -> str:
    """Major page faults per second: the memory saturation signal."""
    return f"rate(node_vmstat_pgmajfault{_sel(sel)}[{rate_window}])"


def disk_utilisation(sel: str, rate_window: str) -> str:
    """Fraction of time each device was busy (``rate(node_disk_io_time_seconds_total)``)."""
    dev = "device=~" + _q(DISK_DEVICES)
    return f"rate(node_disk_io_time_seconds_total{_sel(sel, dev)}[{rate_window}])"


def disk_queue(sel: str, rate_window: str) -> str:
    """Average queue length per device (``NodeDiskIOSaturation`` uses it, threshold 10)."""
    dev = "device=~" + _q(DISK_DEVICES)
    return f"rate(node_disk_io_time_weighted_seconds_total{_sel(sel, dev)}[{rate_window}])"


def fs_used(sel: str) -> str:
    """Used fraction of each filesystem, as non-root users see it (``1 - avail / size``)."""
    return (
        f"1 - node_filesystem_avail_bytes{_sel(sel, FS_SELECTOR)} / "
        f"node_filesystem_size_bytes{_sel(sel, FS_SELECTOR)}"
    )


def fs_instant_queries(sel: str, trend_window: str) -> dict[str, str]:
    """Instant queries, evaluated at the end of the window, for the fill-up forecast.

    ``deriv`` and ``predict_linear(..., 0)`` over ``trend_window`` are the slope and the value of
    the same least-squares line the ``NodeFilesystemSpaceFillingUp`` alert extrapolates.
    """
    s = _sel(sel, FS_SELECTOR)
    return {
        "size_bytes": f"node_filesystem_size_bytes{s}",
        "avail_bytes": f"node_filesystem_avail_bytes{s}",
        "readonly": f"node_filesystem_readonly{s}",
        "deriv_bytes_per_s": f"deriv(node_filesystem_avail_bytes{s}[{trend_window}])",
        "fitted_avail_bytes": f"predict_linear(node_filesystem_avail_bytes{s}[{trend_window}], 0)",
    }


def net_rate(sel: str, what: str, rate_window: str) -> str:
    """Receive + transmit rate of ``what`` (``bytes``, ``packets``, ``errs``, ``drop``) summed
    over physical interfaces; ``rx_bytes``/``tx_bytes`` give one direction."""
    dev = "device!~" + _q(NET_EXCLUDE)
    s = _sel(sel, dev)
    if what in ("rx_bytes", "tx_bytes"):
        direction = "receive" if what == "rx_bytes" else "transmit"
        return f"sum without (device) (rate(node_network_{direction}_bytes_total{s}[{rate_window}]))"
    return (
        f"sum without (device) (rate(node_network_receive_{what}_total{s}[{rate_window}]) + "
        f"rate(node_network_transmit_{what}_total{s}[{rate_window}]))"
    )


def up_fraction(sel: str, window: str) -> str:
    """Fraction of successful scrapes of each target in the ``window`` before each step."""
    return f"avg_over_time(up{_sel(sel)}[{window}])"


def boot_time(sel: str) -> str:
    """Boot time (unix seconds); a jump means a reboot."""
    return f"node_boot_time_seconds{_sel(sel)}"


def kube_pod_info(ksm_job: str, namespaces: list[str]) -> str:
    """kube-state-metrics pod → node mapping, limited to the exporter pods' namespaces."""
    ns = "|".join(namespaces) if namespaces else ".*"
    return f'kube_pod_info{{job={_q(ksm_job)},namespace=~{_q(ns)},node!=""}}'


def kube_node_info(ksm_job: str) -> str:
    """kube-state-metrics node → internal IP mapping (fallback join on the instance host)."""
    return f'kube_node_info{{job={_q(ksm_job)},internal_ip!=""}}'


def _range_queries(sel: str, rate_window: str, gauge_window: str | None = None
                   ) -> dict[str, str]:
    return {
        "cpu_util": cpu_utilisation(sel, rate_window),
        "load_per_cpu": load_per_cpu(sel, gauge_window),
        "mem_util": memory_utilisation(sel, gauge_window),
        "majfault_rate": majfault_rate(sel, rate_window),
        "disk_util": disk_utilisation(sel, rate_window),
        "disk_queue": disk_queue(sel, rate_window),
        "fs_used": fs_used(sel),
        "net_rx_bytes": net_rate(sel, "rx_bytes", rate_window),
        "net_tx_bytes": net_rate(sel, "tx_bytes", rate_window),
        "net_packets": net_rate(sel, "packets", rate_window),
        "net_errs": net_rate(sel, "errs", rate_window),
        "net_drops": net_rate(sel, "drop", rate_window),
        "boot_time": boot_time(sel),
    }


#: resource name -> builder(sel, rate_window, gauge_window=None) for the report's range
#: queries.
RANGE_QUERIES = _range_queries
