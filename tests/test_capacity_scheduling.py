"""The simulated scheduler never binds a pod whose requests don't fit the node's allocatable."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.demo.params import DEFAULT, SMALL
from workbench.demo.sim import MI, Cluster


@pytest.mark.parametrize("params", [DEFAULT, SMALL], ids=["default", "small"])
def test_scheduled_requests_fit_allocatable_at_every_step(params):
    c = Cluster(params, end_s=1_764_000_000)
    t = np.arange(c.origin, c.end_s, float(params.interval_s))
    pods = c.pods_between(float(t[0]), float(t[-1]) + 1)
    assert all(0 <= p.node < len(c.nodes) for p in pods)  # nothing left Pending
    for n in c.nodes:
        cpu = np.zeros_like(t)
        mem = np.zeros_like(t)
        for p in c.on_node(pods, n.index):
            alive = (t >= p.start) & (t < p.run_end)
            cpu += alive * sum(x.cpu_req_m or 0 for x in p.workload.containers)
            mem += alive * sum((x.mem_req_mi or 0) * MI for x in p.workload.containers)
        assert cpu.max() <= n.alloc_cpu_m, n.name
        assert mem.max() <= n.alloc_mem, n.name
