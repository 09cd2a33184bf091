"""Size and seed knobs of the simulated cluster.

Examples
--------
>>> p = DemoParams(nodes=3, days=2)
>>> p.steps_per_day
1440
>>> DemoParams(nodes=3, days=2).fingerprint() == p.fingerprint()
True
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace
from typing import Any

from .._errors import ConfigError

__all__ = ["BIG", "DEFAULT", "SMALL", "DemoParams"]

#: Application namespaces the planted scenarios live in (the first five are always present).
APP_NAMESPACES = ("payments", "search", "analytics", "data", "batch", "web", "auth", "media",
                  "ml", "ops", "checkout", "catalog", "ads", "mail", "billing", "reporting")


@dataclass(frozen=True)
class DemoParams:
    """What to simulate.

    Parameters
    ----------
    seed
        Seed of every random choice (topology, shapes, noise); same seed, same cluster.
    nodes
        Worker nodes (at least 2: one fills its disk, another goes down).
    namespaces
        Application namespaces (at least 5; ``kube-system`` and ``monitoring`` come on top).
    pods
        Approximate number of pods alive at any time, DaemonSets and system pods included.
    days
        Length of the backfilled history.
    interval_s
        Scrape interval of every simulated target, in seconds (15, 30 or 60 are usual).
    """

    seed: int = 42
    nodes: int = 5
    namespaces: int = 6
    pods: int = 60
    days: float = 14.0
    interval_s: int = 60

    def __post_init__(self) -> None:
        problems = []
        if self.nodes < 2:
            problems.append(f"nodes={self.nodes} (need at least 2)")
        if self.namespaces < 5:
            problems.append(f"namespaces={self.namespaces} (need at least 5)")
        if not 0 < self.days <= 400:  # also refuses NaN, which every comparison fails
            problems.append(f"days={self.days} (need 0 < days <= 400)")
        if self.interval_s < 5 or self.interval_s > 120:
            problems.append(f"interval_s={self.interval_s} (need 5..120 s)")
        if self.pods < 0:
            problems.append(f"pods={self.pods}")
        if problems:
            msg = f"Invalid demo size: {', '.join(problems)}. Fix: choose values in range."
            raise ConfigError(msg)

    @property
    def steps_per_day(self) -> int:
        return 86400 // self.interval_s

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DemoParams:
        return cls(**{k: d[k] for k in asdict(cls()) if k in d})

    def fingerprint(self) -> str:
        """Stable hash of the parameters (and the simulator version), for TSDB reuse."""
        blob = json.dumps({**self.to_dict(), "sim_version": SIM_VERSION}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def with_options(self, **changes: Any) -> DemoParams:
        return replace(self, **changes)


#: Bumped whenever the simulator's output changes, so a stored TSDB is not reused by mistake.
SIM_VERSION = 9

#: ``make demo``: 5 nodes, about 60 pods, 14 days at 60 s.
DEFAULT = DemoParams()
#: The test suite's cluster: small enough to generate and backfill in seconds.
SMALL = DemoParams(nodes=3, namespaces=5, pods=24, days=2.0, interval_s=60)
#: The big setting of the benchmark.
BIG = DemoParams(nodes=50, namespaces=16, pods=2000, days=30.0, interval_s=60)
