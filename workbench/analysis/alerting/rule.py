"""`Rule`: one Prometheus alerting rule, as a threshold on an expression or as a full expression.

Examples
--------
>>> rule = Rule(alert="NodeHighCPU", expr="instance:node_cpu_utilisation:rate5m", op=">",
...             threshold=0.9, for_="10m", labels={"severity": "warning"})
>>> rule.condition
'instance:node_cpu_utilisation:rate5m > 0.9'
>>> rule.for_ms, rule.with_(threshold=0.8).condition
(600000, 'instance:node_cpu_utilisation:rate5m > 0.8')
>>> Rule(alert="X", expr="up == 0", for_="5m").is_threshold
False
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..._errors import AlertRuleError, ConfigError
from ..._time import DurationLike, format_duration, parse_duration_ms
from .compare import check_op, format_threshold
from .templates import is_templated, uses_value

__all__ = ["Rule"]

_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_SIMPLE = re.compile(r"^[a-zA-Z_:][\w:]*(\{[^{}]*\})?$")
_CALL = re.compile(r"^[a-zA-Z_]\w*\s*\(")


def _balanced_call(expr: str) -> bool:
    """``fn(...)`` whose opening parenthesis closes at the very end (no top-level operator)."""
    if not _CALL.match(expr) or not expr.endswith(")"):
        return False
    depth, quote, escaped = 0, "", False
    i = expr.index("(")
    for pos in range(i, len(expr)):
        c = expr[pos]
        if quote:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == quote:
                quote = ""
            continue
        if c in "\"'`":
            quote = c
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0 and pos != len(expr) - 1:
                return False
    return depth == 0


def _needs_parens(expr: str) -> bool:
    e = expr.strip()
    return not (_SIMPLE.match(e) or _balanced_call(e))


def _duration(value: DurationLike, name: str) -> int:
    try:
        return parse_duration_ms(value)
    except ConfigError as exc:
        msg = f"Rule {name}: {exc}"
        raise AlertRuleError(msg) from None


@dataclass(frozen=True)
class Rule:
    """A Prometheus alerting rule.

    Either a *threshold rule* (``expr`` is the left-hand side, ``op`` and ``threshold`` complete
    the condition ``expr op threshold``; sweeps vary the threshold locally) or a *full-expression
    rule* (``op``/``threshold`` omitted: every sample ``expr`` returns is an alert, as in a rule
    file).

    Parameters
    ----------
    alert
        The alert name (``alertname`` label).
    expr
        PromQL: the left-hand side of a threshold rule, or the whole condition.
    op, threshold
        A comparison operator (``>``, ``>=``, ``<``, ``<=``, ``==``, ``!=``) and a float.
    for_, keep_firing_for
        Durations (``"10m"``, seconds, timedelta).
    labels
        Rule labels; values may be templates (``"{{ $labels.job }}"``) and are part of the
        alert's identity.
    annotations
        Annotation templates (not part of the identity).
    group, file, interval
        Where the rule came from (set by :func:`~workbench.alerting.ruleset.load_rules`): its
        rule group, the file holding it, and the group's evaluation interval (``None``: the
        server's ``global.evaluation_interval``). Not part of the rule's behaviour.
    """

    alert: str
    expr: str
    op: str | None = None
    threshold: float | None = None
    for_: DurationLike = "0s"
    keep_firing_for: DurationLike = "0s"
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    group: str | None = field(default=None, compare=False)
    file: str | None = field(default=None, compare=False)
    interval: DurationLike | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not self.alert or not isinstance(self.alert, str):
            msg = "Rule alert= must be a non-empty name, e.g. 'NodeHighCPU'."
            raise AlertRuleError(msg)
        if not isinstance(self.expr, str) or not self.expr.strip():
            msg = f"Rule {self.alert}: expr= is empty. Fix: pass the PromQL expression."
            raise AlertRuleError(msg)
        if (self.op is None) != (self.threshold is None):
            msg = (f"Rule {self.alert}: pass both op= and threshold= (a threshold rule) or "
                   "neither (a full-expression rule).")
            raise AlertRuleError(msg)
        if self.op is not None:
            check_op(self.op)
            t = self.threshold
            if isinstance(t, bool) or not isinstance(t, int | float | str):
                msg = f"Rule {self.alert}: threshold= must be a number, got {str(t)[:40]!r}."
                raise AlertRuleError(msg)
            try:
                object.__setattr__(self, "threshold", float(t))
            except (ValueError, OverflowError):
                msg = f"Rule {self.alert}: threshold= must be a number, got {str(t)[:40]!r}."
                raise AlertRuleError(msg) from None
        for kind, mapping in (("label", self.labels), ("annotation", self.annotations)):
            if not isinstance(mapping, Mapping):
                msg = (f"Rule {self.alert}: {kind}s= must be a mapping of names to strings, got "
                       f"{type(mapping).__name__}.")
                raise AlertRuleError(msg)
            for k, v in mapping.items():
                if not isinstance(k, str) or not _LABEL_NAME.fullmatch(k):
                    msg = (f"Rule {self.alert}: invalid {kind} name {k!r} (must match "
                           "[a-zA-Z_][a-zA-Z0-9_]*).")
                    raise AlertRuleError(msg)
                if not isinstance(v, str):
                    msg = f"Rule {self.alert}: {kind} {k!r} must be a string, got {v!r}."
                    raise AlertRuleError(msg)
        if "alertname" in self.labels:
            msg = (f"Rule {self.alert}: a rule label named 'alertname' is overwritten by the alert "
                   "name. Fix: drop it.")
            raise AlertRuleError(msg)
        object.__setattr__(self, "labels", dict(self.labels))
        object.__setattr__(self, "annotations", dict(self.annotations))
        _duration(self.for_, "for_")
        _duration(self.keep_firing_for, "keep_firing_for")
        if self.interval is not None and _duration(self.interval, "interval") <= 0:
            msg = f"Rule {self.alert}: the group interval must be positive, got {self.interval!r}."
            raise AlertRuleError(msg)

    # -- derived -----------------------------------------------------------------------------

    @property
    def is_threshold(self) -> bool:
        """Whether the rule is ``expr op threshold`` (so sweeps can vary the threshold)."""
        return self.op is not None

    @property
    def for_ms(self) -> int:
        """``for`` in milliseconds."""
        return _duration(self.for_, "for_")

    @property
    def keep_firing_for_ms(self) -> int:
        """``keep_firing_for`` in milliseconds."""
        return _duration(self.keep_firing_for, "keep_firing_for")

    @property
    def interval_ms(self) -> int | None:
        """The group's evaluation interval in milliseconds (``None`` when not known)."""
        return None if self.interval is None else _duration(self.interval, "interval")

    @property
    def condition(self) -> str:
        """The full PromQL condition as it goes into a rule file."""
        if self.op is None:
            return self.expr.strip()
        lhs = self.expr.strip()
        if _needs_parens(lhs):
            lhs = f"({lhs})"
        return f"{lhs} {self.op} {format_threshold(self.threshold)}"  # type: ignore[arg-type]

    @property
    def templated_labels(self) -> dict[str, str]:
        """Rule labels whose values are templates."""
        return {k: v for k, v in self.labels.items() if is_templated(v)}

    @property
    def value_dependent(self) -> bool:
        """Whether a label template reads ``$value`` (identity can change every evaluation)."""
        return any(uses_value(v) for v in self.templated_labels.values())

    def with_(self, **changes: Any) -> Rule:
        """A copy with some fields replaced (``threshold=``, ``for_=``, ``labels=`` ...)."""
        return dataclasses.replace(self, **changes)

    # -- rule-file form ----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The rule as a rule-file mapping (``alert``, ``expr``, ``for``, ...)."""
        out: dict[str, Any] = {"alert": self.alert, "expr": self.condition}
        if self.for_ms:
            out["for"] = format_duration(self.for_ms)
        if self.keep_firing_for_ms:
            out["keep_firing_for"] = format_duration(self.keep_firing_for_ms)
        if self.labels:
            out["labels"] = dict(self.labels)
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out

    @classmethod
    def from_dict(cls, node: Mapping[str, Any]) -> Rule:
        """Build a full-expression rule from a rule-file mapping (``alert``, ``expr``, ...)."""
        if not isinstance(node, Mapping):
            msg = f"not an alerting rule: expected a mapping, got {type(node).__name__}."
            raise AlertRuleError(msg)
        for key in ("labels", "annotations"):
            if node.get(key) is not None and not isinstance(node.get(key), Mapping):
                msg = f"rule {str(node.get('alert'))[:60]!r}: {key} must be a mapping."
                raise AlertRuleError(msg)
        if "alert" not in node or "expr" not in node:
            msg = f"not an alerting rule (needs 'alert' and 'expr'): {dict(node)!r}"
            raise AlertRuleError(msg)
        return cls(alert=str(node["alert"]), expr=str(node["expr"]), for_=node.get("for", "0s"),
                   keep_firing_for=node.get("keep_firing_for", "0s"),
                   labels={str(k): str(v) for k, v in (node.get("labels") or {}).items()},
                   annotations={str(k): str(v)
                                for k, v in (node.get("annotations") or {}).items()})

    def to_rule_file(self, group: str = "workbench", interval: DurationLike | None = None, *,
                     check: bool = True) -> str:
        """A Prometheus rule file (YAML) holding this rule in one group.

        Parameters
        ----------
        group
            The group name.
        interval
            The group's evaluation interval (omit to use ``global.evaluation_interval``).
        check
            Validate the text with ``promtool check rules`` (raises
            :class:`~workbench.PromtoolError` or :class:`~workbench.MissingBinaryError`).
        """
        from .export import rule_file_text

        return rule_file_text([self], group=group, interval=interval, check=check)

    def to_prometheus_rule(self, name: str, namespace: str, labels: Mapping[str, str] | None = None,
                           *, group: str | None = None, interval: DurationLike | None = None,
                           check: bool = True) -> str:
        """A ``monitoring.coreos.com/v1`` PrometheusRule manifest (YAML) holding this rule.

        kube-prometheus-stack's Prometheus selects PrometheusRules by label, by default
        ``release: <helm release name>``; pass it in ``labels``. ``check`` validates the
        ``spec`` with ``promtool check rules``.
        """
        from .export import prometheus_rule_text

        return prometheus_rule_text([self], name=name, namespace=namespace, labels=labels,
                                    group=group or name, interval=interval, check=check)
