"""The demo's alerting and recording rules, and the Alertmanager configuration of the seed brief.

The alert rules follow kube-prometheus-stack / kubernetes-mixin / kwatch where one exists, with
thresholds chosen so that each planted scenario fires (see ``docs/demo.md``).

Examples
--------
>>> [r["alert"] for r in ALERT_RULES][:2]
['NodeExporterDown', 'NodeFilesystemSpaceFillingUp']
>>> "group_wait: 10s" in alertmanager_config("http://127.0.0.1:1/slack")
True
"""

from __future__ import annotations

from typing import Any

import yaml

from .sim import FLAP_THRESHOLD

__all__ = [
    "ALERT_GROUP",
    "ALERT_RULES",
    "EVAL_INTERVAL_S",
    "RECORDING_RULES",
    "alertmanager_config",
    "parse_duration_s",
    "rules_yaml",
]

#: Evaluation interval of both rule groups (and of the backfilled ALERTS history).
EVAL_INTERVAL_S = 60
ALERT_GROUP = "demo-alerts"

_CADVISOR = 'job="kubelet", metrics_path="/metrics/cadvisor"'
_THROTTLE_DROP = "id, metrics_path, name, image, endpoint, job, node, instance, service"

ALERT_RULES: list[dict[str, Any]] = [
    {
        "alert": "NodeExporterDown",
        "expr": 'up{job="node-exporter"} == 0',
        "for": "5m",
        "labels": {"severity": "critical"},
        "annotations": {"description": "node-exporter {{ $labels.instance }} has been down for 5m."},
    },
    {
        "alert": "NodeFilesystemSpaceFillingUp",
        "expr": (
            '(node_filesystem_avail_bytes{job="node-exporter",fstype!=""} / '
            'node_filesystem_size_bytes{job="node-exporter",fstype!=""} * 100 < 40 and '
            'predict_linear(node_filesystem_avail_bytes{job="node-exporter",fstype!=""}[6h], '
            '4*24*60*60) < 0 and node_filesystem_readonly{job="node-exporter",fstype!=""} == 0)'
        ),
        "for": "1h",
        "labels": {"severity": "warning"},
        "annotations": {"description": "Filesystem {{ $labels.mountpoint }} on "
                                       "{{ $labels.instance }} will fill within 4 days."},
    },
    {
        "alert": "KubeContainerOOMKilled",
        "expr": (
            "(kube_pod_container_status_restarts_total - "
            "kube_pod_container_status_restarts_total offset 10m >= 1) and ignoring(reason) "
            'min_over_time(kube_pod_container_status_last_terminated_reason{reason="OOMKilled"}'
            "[10m]) == 1"
        ),
        "for": "0m",
        "labels": {"severity": "warning"},
        "annotations": {"description": "Container {{ $labels.container }} in "
                                       "{{ $labels.namespace }}/{{ $labels.pod }} was OOM-killed."},
    },
    {
        "alert": "CPUThrottlingHigh",
        "expr": (
            f"sum without ({_THROTTLE_DROP}) (increase(container_cpu_cfs_throttled_periods_total"
            f'{{container!="", {_CADVISOR}}}[5m])) / sum without ({_THROTTLE_DROP}) '
            f'(increase(container_cpu_cfs_periods_total{{container!="", {_CADVISOR}}}[5m])) '
            "> (25 / 100)"
        ),
        "for": "15m",
        "labels": {"severity": "info"},
        "annotations": {"description": "{{ $value | humanizePercentage }} throttling of CPU in "
                                       "{{ $labels.namespace }}/{{ $labels.pod }}."},
    },
    {
        "alert": "KubePersistentVolumeUsageHigh",
        "expr": (
            'kubelet_volume_stats_used_bytes{job="kubelet", metrics_path="/metrics"} / '
            'kubelet_volume_stats_capacity_bytes{job="kubelet", metrics_path="/metrics"} > 0.70'
        ),
        "for": "1m",
        "labels": {"severity": "warning"},
        "annotations": {"description": "PVC {{ $labels.persistentvolumeclaim }} is over 70% full "
                                       "(kwatch pvcMonitor threshold)."},
    },
    {
        "alert": "NodeLoadFlapping",
        "expr": f'node_load1{{job="node-exporter"}} > {FLAP_THRESHOLD:g}',
        "for": "2m",
        "labels": {"severity": "warning"},
        "annotations": {"description": "Load on {{ $labels.instance }} is above "
                                       f"{FLAP_THRESHOLD:g} (a deliberately flapping alert)."},
    },
]

RECORDING_RULES: list[dict[str, str]] = [
    {"record": "instance:node_num_cpu:sum",
     "expr": 'count without (cpu, mode) (node_cpu_seconds_total{job="node-exporter",mode="idle"})'},
    {"record": "instance:node_cpu_utilisation:rate5m",
     "expr": '1 - avg without (cpu) (sum without (mode) (rate(node_cpu_seconds_total'
             '{job="node-exporter", mode=~"idle|iowait|steal"}[5m])))'},
    {"record": "instance:node_memory_utilisation:ratio",
     "expr": '1 - (node_memory_MemAvailable_bytes{job="node-exporter"} / '
             'node_memory_MemTotal_bytes{job="node-exporter"})'},
    {"record": "node_namespace_pod_container:container_cpu_usage_seconds_total:sum_rate5m",
     "expr": f'sum by (namespace, pod, container, node) (rate(container_cpu_usage_seconds_total'
             f'{{{_CADVISOR}, image!=""}}[5m]))'},
    {"record": "namespace_cpu:kube_pod_container_resource_requests:sum",
     "expr": 'sum by (namespace) (kube_pod_container_resource_requests{resource="cpu",'
             'job="kube-state-metrics"} * on (namespace, pod) group_left () '
             '(kube_pod_status_phase{phase=~"Pending|Running"} == 1))'},
]


def parse_duration_s(text: str) -> int:
    """``"1h"`` -> 3600 (the units the rules use: s, m, h, d)."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    return int(float(text[:-1]) * units[text[-1]])


def rules_yaml() -> str:
    """The rule file Prometheus loads (both groups at :data:`EVAL_INTERVAL_S`)."""
    doc = {"groups": [
        {"name": ALERT_GROUP, "interval": f"{EVAL_INTERVAL_S}s", "rules": ALERT_RULES},
        {"name": "demo-records", "interval": f"{EVAL_INTERVAL_S}s", "rules": RECORDING_RULES},
    ]}
    return yaml.safe_dump(doc, sort_keys=False, width=200)


def alertmanager_config(webhook_url: str) -> str:
    """Alertmanager config with the seed brief's route and Slack receiver, posting to ``webhook_url``.

    ``webhook_url`` is the local sink that records what would have gone to Slack.
    """
    doc = {
        "global": {"resolve_timeout": "5m", "slack_api_url": webhook_url},
        "route": {
            "group_by": ["job"],
            "group_wait": "10s",
            "group_interval": "1m",
            "repeat_interval": "5m",
            "receiver": "slack-notifications",
            "routes": [{"receiver": "slack-notifications",
                        "matchers": ['alertname =~ "InfoInhibitor|Watchdog"']}],
        },
        "receivers": [{
            "name": "slack-notifications",
            "slack_configs": [{
                "channel": "#demo-alerts",
                "send_resolved": True,
                "title": "[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}",
                "text": "*Description:* {{ .CommonAnnotations.description }}\n",
            }],
        }],
    }
    return yaml.safe_dump(doc, sort_keys=False, width=200)
