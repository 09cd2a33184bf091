"""The Alertmanager 0.25 routing tree: inheritance of receiver/grouping/timers and matching.

Matching follows ``dispatch/route.go``: a node matches when all its matchers match; its children
are tried left to right and the first matching child stops the scan unless it has
``continue: true``; a node is itself a destination only when none of its children matched. The
result is in the order ``amtool config routes test`` prints receivers.

Examples
--------
>>> from workbench.analysis.alertmanager import AlertmanagerConfig
>>> cfg = AlertmanagerConfig.from_yaml('''
... route:
...   receiver: default
...   group_by: [job]
...   routes:
...     - matchers: ['severity="critical"']
...       receiver: pager
...       continue: true
...     - matchers: ['job=~"db|postgres"']
...       receiver: db
... receivers: [{name: default}, {name: pager}, {name: db}]
... ''')
>>> [r.receiver for r in cfg.route({"job": "db", "severity": "critical"})]
['pager', 'db']
>>> cfg.route({"job": "api"})[0].key
'{}'
>>> cfg.route({"job": "db"})[0].key
'{}/{job=~"db|postgres"}'
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from .matchers import Matcher, matches_all

__all__ = ["DEFAULT_GROUP_INTERVAL_MS", "DEFAULT_GROUP_WAIT_MS", "DEFAULT_REPEAT_INTERVAL_MS",
           "Route", "go_quote"]

DEFAULT_GROUP_WAIT_MS = 30_000
DEFAULT_GROUP_INTERVAL_MS = 300_000
DEFAULT_REPEAT_INTERVAL_MS = 4 * 3600_000


@dataclass(eq=False)
class Route:
    """One node of the routing tree with its effective (inherited) options.

    Attributes
    ----------
    receiver
        The receiver name (inherited from the parent when not set).
    group_by
        Label names alerts are grouped by (empty: one group per route); ignored when
        ``group_by_all`` (``group_by: ['...']``).
    group_wait_ms, group_interval_ms, repeat_interval_ms
        Effective timers (defaults 30s, 5m, 4h; inherited from the parent when not set).
    matchers
        This node's matchers (``match``, ``match_re`` and ``matchers`` together), sorted as
        Alertmanager sorts them.
    continue_
        ``continue: true``.
    mute_time_intervals, active_time_intervals
        Names of time intervals (not inherited).
    routes
        Child routes.
    path
        Child indexes from the root (``()`` is the root).
    line
        The node's line in the YAML source.
    """

    receiver: str
    group_by: tuple[str, ...] = ()
    group_by_all: bool = False
    group_wait_ms: int = DEFAULT_GROUP_WAIT_MS
    group_interval_ms: int = DEFAULT_GROUP_INTERVAL_MS
    repeat_interval_ms: int = DEFAULT_REPEAT_INTERVAL_MS
    matchers: tuple[Matcher, ...] = ()
    continue_: bool = False
    mute_time_intervals: tuple[str, ...] = ()
    active_time_intervals: tuple[str, ...] = ()
    routes: list[Route] = field(default_factory=list)
    parent: Route | None = field(default=None, repr=False)
    path: tuple[int, ...] = ()
    line: int | None = None

    @cached_property
    def key(self) -> str:
        """Alertmanager's route key: the parent's key, ``/``, this node's matchers."""
        own = "{" + ",".join(str(m) for m in self.matchers) + "}"
        return own if self.parent is None else f"{self.parent.key}/{own}"

    def match(self, labels: Mapping[str, str]) -> list[Route]:
        """The destination routes for an alert with ``labels`` (depth-first, left to right)."""
        if not matches_all(self.matchers, labels):
            return []
        found: list[Route] = []
        for child in self.routes:
            hit = child.match(labels)
            found.extend(hit)
            if hit and not child.continue_:
                break
        return found or [self]

    def group_labels(self, labels: Mapping[str, str]) -> dict[str, str]:
        """The labels this route groups ``labels`` by (only those the alert has)."""
        if self.group_by_all:
            return {k: v for k, v in labels.items() if v}
        return {k: labels[k] for k in self.group_by if labels.get(k)}

    def group_key(self, labels: Mapping[str, str]) -> str:
        """Alertmanager's group key ``<route key>:{name="value", ...}`` for an alert's labels."""
        return f"{self.key}:{label_set_string(self.group_labels(labels))}"

    def walk(self) -> Iterator[Route]:
        """This node and all its descendants, depth-first."""
        yield self
        for child in self.routes:
            yield from child.walk()


def go_quote(value: str) -> str:
    """Go's ``%q`` for the printable-ASCII and common-escape cases."""
    out = ['"']
    for ch in value:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def label_set_string(labels: Mapping[str, str]) -> str:
    """Prometheus ``LabelSet.String()``: ``{a="1", b="2"}`` sorted by name."""
    return "{" + ", ".join(sorted(f"{k}={go_quote(v)}" for k, v in labels.items())) + "}"
