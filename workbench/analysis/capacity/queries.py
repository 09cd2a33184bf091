"""The capacity report's PromQL: one query per metric family, aggregated on the server.

Every query is an instant query at the window's end ``T`` over the window ``W``; statistics over
time are subqueries ``[W:step]`` (evaluated at the multiples of ``step`` in ``(T - W, T]``, so the
grid is aligned on the Unix epoch, as Prometheus aligns every subquery) and several statistics of
one family come back in one answer, told apart by a ``stat`` label (``label_replace(...) or ...``).

Examples
--------
>>> sel = Selectors(cadvisor='job="kubelet"', ksm='job="kube-state-metrics"', namespace="")
>>> print(cpu_rate(sel, "5m").replace("{", "\\n{"))
max by (namespace, pod, container) (rate(container_cpu_usage_seconds_total
{job="kubelet",container!="",container!="POD"}[5m]))
>>> stat_union({"a": "x", "b": "y"})
'label_replace(x, "stat", "a", "", "") or label_replace(y, "stat", "b", "", "")'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

__all__ = [
    "Selectors",
    "cpu_rate",
    "cpu_rate_series",
    "duplicate_keys",
    "events",
    "hpa",
    "memory_gauge",
    "memory_series",
    "node_usage",
    "nodes",
    "over_time",
    "owners",
    "per_series_over_time",
    "quotas",
    "specs",
    "stat_union",
    "storage",
    "storage_trend",
    "throttling",
    "trend",
]

_C = "namespace, pod, container"


@dataclass(frozen=True)
class Selectors:
    """Label matchers (PromQL text without braces) for cAdvisor, kube-state-metrics, namespaces."""

    cadvisor: str = 'job="kubelet",metrics_path="/metrics/cadvisor"'
    ksm: str = 'job="kube-state-metrics"'
    namespace: str = ""  # a regex; "" = every namespace
    prometheus: str = 'job="prometheus"'

    pods: str = ""  # a regex of pod names for the cAdvisor series; "" = every pod

    def cad(self, *, namespaced: bool = True) -> str:
        ns = f',namespace=~"{self.namespace}"' if namespaced and self.namespace else ""
        pods = f',pod=~"{self.pods}"' if self.pods else ""
        return f'{self.cadvisor},container!="",container!="POD"{ns}{pods}'

    def only_pods(self, pods: list[str]) -> Selectors:
        """The same selectors restricted to exactly these pods (cAdvisor series)."""
        return replace(self, pods="|".join(_literal(p) for p in pods))

    def batch(self, namespaces: list[str]) -> Selectors:
        """The same selectors restricted to exactly these namespaces."""
        return replace(self, namespace="|".join(_literal(n) for n in namespaces))

    def ks(self, *, namespaced: bool = True) -> str:
        ns = f',namespace=~"{self.namespace}"' if namespaced and self.namespace else ""
        return f"{self.ksm}{ns}"


def _literal(name: str) -> str:
    r"""A regex matching ``name`` only, written for a PromQL double-quoted string.

    >>> print(_literal("kube-system"), _literal("a.b"))
    kube-system a\\.b
    """
    return re.sub(r"([.\\+*?^$()\[\]{}|])", r"\\\\\1", name)


def stat_union(parts: dict[str, str], label: str = "stat") -> str:
    """``label_replace(expr, label, name, "", "") or ...``: several results in one query."""
    return " or ".join(f'label_replace({e}, "{label}", "{k}", "", "")' for k, e in parts.items())


def cpu_rate(sel: Selectors, step: str) -> str:
    """Cores per container, the rate over one step (KRR: ``max by (container, pod, job)``)."""
    return f"max by ({_C}) (rate(container_cpu_usage_seconds_total{{{sel.cad()}}}[{step}]))"


def memory_gauge(sel: Selectors) -> str:
    """Working-set bytes per container."""
    return f"max by ({_C}) (container_memory_working_set_bytes{{{sel.cad()}}})"


def over_time(inner: str, window: str, step: str, quantiles: tuple[float, ...]
              ) -> dict[str, str]:
    """Statistic name -> its subquery over the window (``mean``, ``max``, ``points``, ``p95``...)."""
    sub = f"({inner})[{window}:{step}]"
    out = {"mean": f"avg_over_time({sub})", "max": f"max_over_time({sub})",
           "points": f"count_over_time({sub})"}
    for q in quantiles:
        out[f"p{q:g}"] = f"quantile_over_time({q / 100:g}, {sub})"
    return out


_OVER_TIME = {"mean": "avg_over_time", "max": "max_over_time", "points": "count_over_time"}


def per_series_over_time(series: str, window: str, step: str,
                         stats: tuple[str, ...]) -> dict[str, str]:
    """Statistic -> ``max by (namespace, pod, container) (<stat>_over_time((series)[W:step]))``.

    The statistic is taken per series and the ``max by`` only drops the other labels: this equals
    :func:`over_time` of the ``max by``-aggregated inner expression (KRR's shape) for every
    container with one series in the window (:func:`duplicate_keys` finds the others), and
    Prometheus does not aggregate ``W / step`` times (three times faster on 2,000 pods).

    >>> per_series_over_time("x", "1d", "5m", ("p95", "points"))["p95"]
    'max by (namespace, pod, container) (quantile_over_time(0.95, (x)[1d:5m]))'
    """
    out = {}
    for k in stats:
        fn = (f"{_OVER_TIME[k]}(" if k in _OVER_TIME
              else f"quantile_over_time({float(k[1:]) / 100:g}, ")
        out[k] = f"max by ({_C}) ({fn}({series})[{window}:{step}]))"
    return out


def cpu_rate_series(sel: Selectors, step: str) -> str:
    """Cores per cAdvisor series, the rate over one step (not aggregated)."""
    return f"rate(container_cpu_usage_seconds_total{{{sel.cad()}}}[{step}])"


def memory_series(sel: Selectors) -> str:
    """Working-set bytes per cAdvisor series (not aggregated)."""
    return f"container_memory_working_set_bytes{{{sel.cad()}}}"


def duplicate_keys(sel: Selectors, window: str) -> str:
    """(namespace, pod, container) with more than one cAdvisor CPU or memory series in the
    window (e.g. a new cgroup ``id`` after a restart): their statistics need the ``max by``
    inside the subquery."""
    return " or ".join(
        f"count by ({_C}) (count_over_time({m}{{{sel.cad()}}}[{window}])) > 1"
        for m in ("container_cpu_usage_seconds_total", "container_memory_working_set_bytes"))


def events(sel: Selectors, window: str) -> str:
    """Throttled ratio, OOM events (cAdvisor), OOMKilled (KSM) and restarts over the window."""
    thr = (f"sum by ({_C}) (increase(container_cpu_cfs_throttled_periods_total{{{sel.cad()}}}"
           f"[{window}])) / sum by ({_C}) (increase(container_cpu_cfs_periods_total"
           f"{{{sel.cad()}}}[{window}]))")
    return stat_union({
        "throttled_ratio": thr,
        "oom_events": f"sum by ({_C}) (increase(container_oom_events_total{{{sel.cad()}}}"
                      f"[{window}]))",
        "oom_killed": f"max by ({_C}) (max_over_time(kube_pod_container_status_last_terminated_"
                      f'reason{{{sel.ks()},reason="OOMKilled"}}[{window}]))',
        "restarts": f"max by ({_C}) (increase(kube_pod_container_status_restarts_total"
                    f"{{{sel.ks()}}}[{window}]))",
    })


def throttling(sel: Selectors, step: str, top: int = 20) -> str:
    """The most throttled containers over time (a range query): throttled/total CFS periods per
    step, the ``top`` highest at each step (at most ``top`` rows per step)."""
    thr = (f"sum by ({_C}) (increase(container_cpu_cfs_throttled_periods_total{{{sel.cad()}}}"
           f"[{step}])) / sum by ({_C}) (increase(container_cpu_cfs_periods_total"
           f"{{{sel.cad()}}}[{step}]))")
    return f"topk({top}, {thr} > 0.01)"


def specs(sel: Selectors, window: str) -> str:
    """Requests and limits (cpu, memory) of every container seen in the window (``stat``)."""
    parts = {}
    for kind in ("requests", "limits"):
        parts[kind] = (f"max by ({_C}, resource) (max_over_time(kube_pod_container_resource_"
                       f'{kind}{{{sel.ks()},resource=~"cpu|memory"}}[{window}]))')
    return stat_union(parts)


def owners(sel: Selectors, window: str) -> str:
    """Owner chains seen in the window: pod, ReplicaSet and Job owners, the pod's node (``rel``)."""
    return stat_union({
        "pod": f"max by (namespace, pod, owner_kind, owner_name) (max_over_time(kube_pod_owner"
               f"{{{sel.ks()}}}[{window}]))",
        "replicaset": f"max by (namespace, replicaset, owner_kind, owner_name) (max_over_time("
                      f"kube_replicaset_owner{{{sel.ks()}}}[{window}]))",
        "job": f"max by (namespace, job_name, owner_kind, owner_name) (max_over_time("
               f"kube_job_owner{{{sel.ks()}}}[{window}]))",
        "node": f"max by (namespace, pod, node) (max_over_time(kube_pod_info{{{sel.ks()}}}"
                f"[{window}]))",
        "active": f'max by (namespace, pod) (kube_pod_status_phase{{{sel.ks()},'
                  f'phase=~"Pending|Running"}}) == 1',
    }, label="rel")


def hpa(sel: Selectors, window: str) -> str:
    """HorizontalPodAutoscalers: their targets and the resources they scale on (``rel``)."""
    return stat_union({
        "target": "max by (namespace, horizontalpodautoscaler, scaletargetref_kind, "
                  f"scaletargetref_name) (last_over_time(kube_horizontalpodautoscaler_info"
                  f"{{{sel.ks()}}}[{window}]))",
        "metric": "max by (namespace, horizontalpodautoscaler, metric_name) (last_over_time("
                  f"kube_horizontalpodautoscaler_spec_target_metric{{{sel.ks()}}}[{window}]))",
    }, label="rel")


def quotas(sel: Selectors) -> str:
    """ResourceQuota hard and used values at the window's end."""
    return (f"max by (namespace, resourcequota, resource, type) (kube_resourcequota"
            f"{{{sel.ks()}}})")


def _active_specs(sel: Selectors, kind: str, by: str) -> str:
    return (f"sum by ({by}) (max by (namespace, pod, container, node, resource) (kube_pod_"
            f'container_resource_{kind}{{{sel.ks(namespaced=False)},resource=~"cpu|memory"}}) '
            f"* on (namespace, pod) group_left () (max by (namespace, pod) (kube_pod_status_phase"
            f'{{{sel.ks(namespaced=False)},phase=~"Pending|Running"}}) == 1))')


def nodes(sel: Selectors, window: str) -> str:
    """Per node: allocatable, and the active requests, limits and pods at the window's end."""
    k = sel.ks(namespaced=False)
    return stat_union({
        "allocatable": f'max by (node, resource) (kube_node_status_allocatable{{{k},'
                       f'resource=~"cpu|memory|pods"}})',
        "requests": _active_specs(sel, "requests", "node, resource"),
        "limits": _active_specs(sel, "limits", "node, resource"),
        "pods": f"count by (node) (max by (namespace, pod, node) (kube_pod_info{{{k}}}) * on "
                f"(namespace, pod) group_left () (max by (namespace, pod) (kube_pod_status_phase"
                f'{{{k},phase=~"Pending|Running"}}) == 1))',
        "control_plane": f'count by (node) (kube_node_role{{{k},role=~"control-plane|master"}})',
    })


def node_usage(sel: Selectors, step: str) -> str:
    """Per node over time (a range query at ``step``): CPU cores (the step's mean) and working set
    of every container (cAdvisor carries the kubelet's ``node`` label)."""
    cad = sel.cad(namespaced=False)
    return stat_union({
        "cpu": f"sum by (node) (rate(container_cpu_usage_seconds_total{{{cad}}}[{step}]))",
        "memory": f"sum by (node) (container_memory_working_set_bytes{{{cad}}})",
    })


def trend(sel: Selectors, step: str) -> str:
    """Cluster totals over time (a range query): requests, usage, allocatable, largest node."""
    k = sel.ks(namespaced=False)
    cad = sel.cad(namespaced=False)
    alloc = f'kube_node_status_allocatable{{{k},resource=~"cpu|memory"}}'
    return stat_union({
        "requests": _active_specs(sel, "requests", "resource"),
        "usage": (f'label_replace(sum(rate(container_cpu_usage_seconds_total{{{cad}}}[{step}])),'
                  f' "resource", "cpu", "", "") or label_replace(sum(container_memory_working_set'
                  f'_bytes{{{cad}}}), "resource", "memory", "", "")'),
        "allocatable": f"sum by (resource) ({alloc})",
        "largest_node": f"max by (resource) ({alloc})",
    }, label="series")


def storage(sel: Selectors, window: str) -> str:
    """Prometheus's own TSDB at the window's end: ingestion, series, bytes per sample."""
    p = sel.prometheus
    app = f"prometheus_tsdb_head_samples_appended_total{{{p}}}"
    return stat_union({
        "samples_per_s": f"sum(rate({app}[{window}]))",
        "head_series": f"sum(last_over_time(prometheus_tsdb_head_series{{{p}}}[{window}]))",
        "blocks_bytes": f"sum(last_over_time(prometheus_tsdb_storage_blocks_bytes{{{p}}}"
                        f"[{window}]))",
        "wal_bytes": f"sum(last_over_time(prometheus_tsdb_wal_storage_size_bytes{{{p}}}"
                     f"[{window}]))",
        "blocks_growth": f"sum(delta(prometheus_tsdb_storage_blocks_bytes{{{p}}}[{window}]))",
        "appended": f"sum(increase({app}[{window}]))",
        "chunk_bytes": f"sum(increase(prometheus_tsdb_compaction_chunk_size_bytes_sum{{{p}}}"
                       f"[{window}]))",
        "chunk_samples": f"sum(increase(prometheus_tsdb_compaction_chunk_samples_sum{{{p}}}"
                         f"[{window}]))",
    })


def storage_trend(sel: Selectors) -> str:
    """Blocks bytes and head series over time (a range query)."""
    p = sel.prometheus
    return stat_union({
        "blocks_bytes": f"sum(prometheus_tsdb_storage_blocks_bytes{{{p}}})",
        "head_series": f"sum(prometheus_tsdb_head_series{{{p}}})",
    }, label="series")
