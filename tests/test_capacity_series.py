"""Server-side statistics per series equal KRR's ``max by`` shape, also for a container with two
cAdvisor series in the window (a restart with a new cgroup ``id``), on a real Prometheus over
hand-written history (oracle: KRR's own query shape evaluated by the same Prometheus)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from workbench import Prometheus, capacity
from workbench.testing.servers import backfill_openmetrics, start_prometheus

pytestmark = pytest.mark.server

T0 = 1_790_000_040  # a multiple of 60 s
HOURS = 6
STEP = "5m"
CAD = 'job="kubelet",metrics_path="/metrics/cadvisor"'
KSM = 'job="kube-state-metrics"'


def _history() -> str:
    """Pod ``p`` (container ``c``) restarts after 20 minutes: two series (``id="a"`` busy, then
    ``id="b"`` quiet, overlapping 10 minutes); container ``d`` of pods ``q`` and ``r`` has one
    series (so most containers of namespace ``ns`` have one: the per-series shortcut is taken,
    and redone with KRR's shape for ``p``). Namespace ``solo`` holds a copy of ``p`` alone (``p2``:
    most containers have two series, so KRR's shape is used for all)."""
    n = HOURS * 60
    cpu: list[str] = []
    mem: list[str] = []
    ksm: list[str] = []
    a = b = d = 0.0
    for i in range(n + 1):
        t = T0 + 60 * i
        a += 60 * (0.8 + 0.4 * (i % 7) / 6)
        b += 60 * (0.1 + 0.01 * (i % 3))
        d += 60 * (0.5 + 0.05 * (i % 4))
        for ns, pod in (("ns", "p"), ("solo", "p2")):
            cad = f'{CAD},namespace="{ns}",pod="{pod}",container="c"'
            if i <= 20:  # busy: 0.8 to 1.2 cores, 600-900 MiB
                cpu.append(f'container_cpu_usage_seconds_total{{{cad},id="a"}} {a:.3f} {t}')
                mem.append(f'container_memory_working_set_bytes{{{cad},id="a"}} '
                           f'{(600 + 50 * (i % 7)) * 2**20} {t}')
            if i >= 10:  # quiet: 0.1 cores, 200 MiB
                j = i - 10
                cpu.append(f'container_cpu_usage_seconds_total{{{cad},id="b"}} {b:.3f} {t}')
                mem.append(f'container_memory_working_set_bytes{{{cad},id="b"}} '
                           f'{(200 + (j % 5)) * 2**20} {t}')
        for pod, k in (("q", 1.0), ("r", 2.0)):
            cpu.append(f'container_cpu_usage_seconds_total{{{CAD},namespace="ns",pod="{pod}",'
                       f'container="d",id="x"}} {d * k:.3f} {t}')
            mem.append(f'container_memory_working_set_bytes{{{CAD},namespace="ns",pod="{pod}",'
                       f'container="d",id="x"}} {(100 + i % 9) * k * 2**20} {t}')
        for ns, pod in (("ns", "p"), ("ns", "q"), ("ns", "r"), ("solo", "p2")):
            ksm.append(f'kube_pod_owner{{{KSM},namespace="{ns}",pod="{pod}",owner_kind="<none>",'
                       f'owner_name="<none>"}} 1 {t}')
            ksm.append(f'kube_pod_status_phase{{{KSM},namespace="{ns}",pod="{pod}",'
                       f'phase="Running"}} 1 {t}')
            ksm.append(f'kube_pod_info{{{KSM},namespace="{ns}",pod="{pod}",node="n1"}} 1 {t}')
        for res, v in (("cpu", 4), ("memory", 16 * 2**30), ("pods", 110)):
            ksm.append(f'kube_node_status_allocatable{{{KSM},node="n1",resource="{res}"}} {v} {t}')
    out = ["# TYPE container_cpu_usage_seconds_total counter", *sorted(cpu, key=_order),
           "# TYPE container_memory_working_set_bytes gauge", *sorted(mem, key=_order)]
    for name in ("kube_pod_owner", "kube_pod_status_phase", "kube_pod_info",
                 "kube_node_status_allocatable"):
        out += [f"# TYPE {name} gauge",
                *sorted((x for x in ksm if x.startswith(name + "{")), key=_order)]
    return "\n".join([*out, "# EOF", ""])


def _order(line: str) -> tuple[str, float]:
    labels, _, rest = line.rpartition("} ")
    return labels, float(rest.split()[-1])


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    root: Path = tmp_path_factory.mktemp("capacity-series")
    om = root / "data.om"
    om.write_text(_history())
    backfill_openmetrics(om, root / "tsdb")
    server = start_prometheus(root / "tsdb")
    try:
        with Prometheus(server.url, timeout=60) as client:
            yield client
    finally:
        server.stop()


def _krr_shape(prom: Prometheus, fn: str, inner: str, end: float) -> dict[tuple[str, str], float]:
    w = f"{HOURS * 3600 - 600}s"
    f = prom.query(f"{fn}(max by (namespace, pod, container) ({inner}))[{w}:{STEP}])", end)
    return {(r["pod"], r["container"]): r["value"] for r in f.iter_rows(named=True)}


@pytest.mark.parametrize(("aggregation", "namespace"), [
    ("server", "ns"), ("server", "solo"), ("local", "ns"), ("local", "solo")])
def test_statistics_equal_krr_shape_with_two_series_per_container(
        prom: Prometheus, aggregation: str, namespace: str) -> None:
    start, end = T0 + 600, T0 + HOURS * 3600
    u = capacity.fetch_usage(prom, start, end, STEP, percentiles=(95,), aggregation=aggregation,
                             namespace=namespace)
    got = {(r["pod"], r["container"]): r for r in u.containers.iter_rows(named=True)}
    assert set(got) == ({("p", "c"), ("q", "d"), ("r", "d")} if namespace == "ns"
                        else {("p2", "c")})
    dup = ("p", "c") if namespace == "ns" else ("p2", "c")
    cpu = f"rate(container_cpu_usage_seconds_total{{{CAD}}}[{STEP}])"
    mem = f"container_memory_working_set_bytes{{{CAD}}}"
    expected = {
        "cpu_p95": _krr_shape(prom, "quantile_over_time(0.95, ", cpu, end),
        "cpu_points": _krr_shape(prom, "count_over_time(", cpu, end),
        "cpu_mean": _krr_shape(prom, "avg_over_time(", cpu, end),
        "memory_max": _krr_shape(prom, "max_over_time(", mem, end),
        "memory_p95": _krr_shape(prom, "quantile_over_time(0.95, ", mem, end),
        "memory_mean": _krr_shape(prom, "avg_over_time(", mem, end),
    }
    for col, values in expected.items():
        for key, v in values.items():
            if key in got:
                assert got[key][col] == pytest.approx(v, rel=1e-9), (col, key)
    # the per-series shortcut alone would be wrong here: the busy series' p95 is not the p95
    # of the container over the window
    naive = prom.query(f"max by (pod) (quantile_over_time(0.95, ({cpu})"
                       f"[{HOURS * 3600 - 600}s:{STEP}]))", end)
    busy = {r["pod"]: r["value"] for r in naive.iter_rows(named=True)}[dup[0]]
    assert busy > got[dup]["cpu_p95"] * 1.5
    recs = capacity.recommend(u, points_required=10)
    row = recs.filter(recs["container"] == "c").row(0, named=True)
    assert row["points"] == expected["cpu_points"][dup]
