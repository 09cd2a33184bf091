"""Rule sets: every alerting rule of rule files, PrometheusRule objects or a running Prometheus.

:func:`load_rules` reads

* Prometheus rule files (``groups: [{name, interval, rules: [...]}]``), one file, a directory
  (every ``*.yml``/``*.yaml``/``*.json`` below it) or a glob;
* ``monitoring.coreos.com/v1`` ``PrometheusRule`` objects (what kube-prometheus-stack ships),
  also several per file (multi-document YAML) and ``kind: List`` (``kubectl get
  prometheusrules -A -o yaml``);
* rule-file or PrometheusRule YAML text (anything holding a newline);
* a running Prometheus (anything with a ``rules()`` method, e.g. :class:`~workbench.Prometheus`).

Recording rules are skipped. Each :class:`Rule` keeps its ``group``, ``file`` and the group's
``interval``. Templates are not expanded at load time, so rules whose annotations use functions
outside the supported subset load (annotations only matter for exported tests); a rule that cannot
be built (no ``expr``, a bad ``for``, an invalid label name ...) raises
:class:`~workbench.AlertRuleError` naming the file, group and rule.

:func:`threshold_rule` turns a full-expression rule ``lhs > 0.9`` into a threshold rule
(``expr=lhs, op=">", threshold=0.9``) so its threshold can be swept.

Examples
--------
>>> text = '''
... groups:
... - name: node
...   interval: 30s
...   rules:
...   - alert: NodeHighLoad
...     expr: node_load1 > 4
...     for: 10m
...     labels: {severity: warning}
... '''
>>> [(r.group, r.alert, r.interval_ms) for r in load_rules(text)]
[('node', 'NodeHighLoad', 30000)]
>>> r = threshold_rule(load_rules(text)[0])
>>> (r.expr, r.op, r.threshold)
('node_load1', '>', 4.0)
"""

from __future__ import annotations

import ast
import glob
import operator
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson
import yaml

from ..._errors import AlertRuleError, WorkbenchError
from ..._time import format_duration
from .rule import Rule

__all__ = ["RuleSource", "load_rules", "threshold_rule"]

RuleSource = str | Path | Any
_SUFFIXES = (".yml", ".yaml", ".json")


def _rule_name(node: Any) -> str:
    if isinstance(node, Mapping):
        return str(node.get("alert") or node.get("record") or "<unnamed>")
    return "<not a mapping>"


def _where(file: str | None, group: str | None, rule: str | None = None) -> str:
    parts = [f"file {file}" if file else "rule text"]
    if group is not None:
        parts.append(f"group {group!r}")
    if rule is not None:
        parts.append(f"rule {rule!r}")
    return ", ".join(parts)


def _build(node: Mapping[str, Any], group: str, interval: Any, file: str | None) -> Rule:
    where = _where(file, group, _rule_name(node))
    if not isinstance(node.get("expr"), str | int | float) or not str(node.get("expr")).strip():
        msg = f"{where}: the rule has no 'expr'. Fix: give the PromQL condition."
        raise AlertRuleError(msg)
    for key in ("labels", "annotations"):
        if node.get(key) is not None and not isinstance(node[key], Mapping):
            msg = f"{where}: '{key}' must be a mapping of names to strings, got {node[key]!r}."
            raise AlertRuleError(msg)
    try:
        rule = Rule.from_dict(node)
        return rule.with_(group=group, file=file, interval=interval)
    except AlertRuleError as exc:
        msg = f"{where}: {exc}"
        raise AlertRuleError(msg) from None


def _groups(groups: Any, file: str | None) -> list[Rule]:
    if not isinstance(groups, list):
        msg = f"{_where(file, None)}: 'groups' must be a list of rule groups, got {groups!r:.80}."
        raise AlertRuleError(msg)
    out: list[Rule] = []
    for g in groups:
        if not isinstance(g, Mapping) or "name" not in g:
            msg = f"{_where(file, None)}: a rule group without a 'name': {g!r:.80}."
            raise AlertRuleError(msg)
        name = str(g["name"])
        interval = g.get("interval")
        if interval is not None:
            try:
                interval = format_duration(Rule(alert="x", expr="x", for_=interval).for_ms)
            except AlertRuleError:
                msg = f"{_where(file, name)}: invalid group interval {interval!r}."
                raise AlertRuleError(msg) from None
        rules = g.get("rules") or []
        if not isinstance(rules, list):
            msg = f"{_where(file, name)}: 'rules' must be a list."
            raise AlertRuleError(msg)
        for node in rules:
            if not isinstance(node, Mapping):
                msg = f"{_where(file, name)}: a rule must be a mapping, got {node!r:.80}."
                raise AlertRuleError(msg)
            if "record" in node:
                continue
            if "alert" not in node:
                msg = (f"{_where(file, name, '<unnamed>')}: a rule needs 'alert' (alerting) or "
                       "'record' (recording).")
                raise AlertRuleError(msg)
            out.append(_build(node, name, interval, file))
    return out


def _document(doc: Any, file: str | None) -> list[Rule]:
    if doc is None:
        return []
    if not isinstance(doc, Mapping):
        msg = f"{_where(file, None)}: expected a rule file or PrometheusRule, got {doc!r:.80}."
        raise AlertRuleError(msg)
    kind = doc.get("kind")
    if kind == "PrometheusRule":
        return _groups((doc.get("spec") or {}).get("groups") or [], file)
    if isinstance(kind, str) and kind.endswith("List") and "items" in doc:
        return [r for item in doc.get("items") or [] for r in _document(item, file)]
    if "groups" in doc:
        return _groups(doc["groups"], file)
    if kind is not None:
        return []                              # another Kubernetes object in the same stream
    msg = (f"{_where(file, None)}: neither a rule file ('groups:') nor a PrometheusRule "
           "('kind: PrometheusRule'). Fix: point at Prometheus rule files or PrometheusRule "
           "manifests.")
    raise AlertRuleError(msg)


def _text(text: str, file: str | None) -> list[Rule]:
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        msg = f"{_where(file, None)}: not valid YAML: {exc}"
        raise AlertRuleError(msg) from None
    return [r for d in docs for r in _document(d, file)]


def _files(source: str | Path) -> list[Path]:
    p = Path(source).expanduser()
    try:
        if p.is_dir():
            return sorted(f for f in p.rglob("*") if f.is_file() and f.suffix in _SUFFIXES)
        if p.is_file():
            return [p]
    except (OSError, ValueError) as exc:       # name too long, NUL byte, permissions
        msg = (f"Cannot use {str(source)[:120]!r} as a rule file, directory or glob: {exc}. Fix: "
               "give a path; YAML text must hold a newline.")
        raise AlertRuleError(msg) from None
    if glob.has_magic(str(source)):
        found = sorted(Path(f) for f in glob.glob(str(p), recursive=True) if Path(f).is_file())
        if found:
            return found
        msg = f"No rule file matches {str(source)!r}. Fix: check the pattern."
        raise AlertRuleError(msg)
    msg = f"Rule file {str(source)!r} does not exist. Fix: give a file, a directory or a glob."
    raise AlertRuleError(msg)


def _from_prometheus(prom: Any) -> list[Rule]:
    frame = prom.rules("alert")
    out: list[Rule] = []
    for row in frame.iter_rows(named=True):
        node: dict[str, Any] = {
            "alert": row["name"], "expr": row["query"],
            "for": format_duration(round((row["for_s"] or 0) * 1000)),
            "keep_firing_for": format_duration(round((row["keep_firing_for_s"] or 0) * 1000)),
            "labels": orjson.loads(row["labels"] or "{}"),
            "annotations": orjson.loads(row["annotations"] or "{}")}
        interval = (format_duration(round(row["interval_s"] * 1000))
                    if row["interval_s"] else None)
        out.append(_build(node, row["group"], interval, row["file"]))
    return out


def load_rules(source: RuleSource | Iterable[RuleSource]) -> list[Rule]:
    """Every alerting rule of ``source``, in file and group order.

    Parameters
    ----------
    source
        A rule file, a directory (searched recursively for ``*.yml``/``*.yaml``/``*.json``), a
        glob (``"rules/*.yaml"``), YAML text holding a newline, a running Prometheus (its
        ``/api/v1/rules``), or a list of these.

    Returns
    -------
    list[Rule]
        Full-expression rules with ``group``, ``file`` (``None`` for text) and ``interval``.

    Raises
    ------
    AlertRuleError
        A file that is not a rule file or PrometheusRule, or a rule that cannot be built; the
        message names the file, group and rule.
    """
    if hasattr(source, "rules") and callable(source.rules):
        return _from_prometheus(source)
    if isinstance(source, str) and "\n" in source:
        return _text(source, None)
    if isinstance(source, str | Path):
        out: list[Rule] = []
        for f in _files(source):
            try:
                text = f.read_text()
            except (OSError, UnicodeDecodeError) as exc:
                msg = f"Cannot read rule file {f}: {exc}"
                raise AlertRuleError(msg) from None
            out += _text(text, str(f))
        return out
    if isinstance(source, Iterable):
        return [r for s in source for r in load_rules(s)]
    msg = (f"load_rules cannot read a {type(source).__name__}. Fix: pass a path, a glob, YAML "
           "text or a Prometheus.")
    raise WorkbenchError(msg)


# -- full expression -> threshold rule --------------------------------------------------------

_COMPARISONS = ("==", "!=", ">=", "<=", ">", "<")
_CONSTANT = re.compile(r"^[\s\d.eE+\-*/()]+$")
_SET_OPS = re.compile(r"\b(and|or|unless)\b")


def _top_level(expr: str) -> list[tuple[int, str]]:
    """(position, text) of every comparison operator and set operator at nesting depth 0."""
    found: list[tuple[int, str]] = []
    depth, quote, i = 0, "", 0
    while i < len(expr):
        c = expr[i]
        if quote:
            if c == "\\":
                i += 2
                continue
            if c == quote:
                quote = ""
        elif c in "\"'`":
            quote = c
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif depth == 0:
            two = expr[i:i + 2]
            if two in _COMPARISONS:
                found.append((i, two))
                i += 2
                continue
            if c in "<>":
                found.append((i, c))
            elif c.isalpha() and (i == 0 or not (expr[i - 1].isalnum() or expr[i - 1] in "_:")):
                m = _SET_OPS.match(expr, i)
                if m:
                    found.append((i, m.group(1)))
        i += 1
    return found


_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv}


def _fold(node: ast.AST) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        v = _fold(node.operand)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        return float(_BINOPS[type(node.op)](_fold(node.left), _fold(node.right)))
    raise ValueError(node)


def _constant(text: str) -> float | None:
    """The value of constant arithmetic (``0.9``, ``(25 / 100)``, ``4*1024``), else ``None``."""
    t = text.strip()
    if not t or not _CONSTANT.match(t):
        return None
    try:
        return _fold(ast.parse(t, mode="eval").body)
    except (SyntaxError, ValueError, ZeroDivisionError):
        return None


def threshold_rule(rule: Rule) -> Rule:
    """``rule`` as a threshold rule when its expression is ``<lhs> <op> <number>``, else itself.

    The split happens only when the comparison is the top-level operation (no top-level
    ``and``/``or``/``unless``, no ``bool`` modifier) and the right-hand side is a number or
    constant arithmetic such as ``(25 / 100)``; the condition is unchanged, so a backtest of the
    result equals a backtest of ``rule``.

    Examples
    --------
    >>> r = threshold_rule(Rule(alert="T", expr="sum(rate(x[5m])) / sum(rate(y[5m])) > (25 / 100)"))
    >>> (r.expr, r.op, r.threshold)
    ('sum(rate(x[5m])) / sum(rate(y[5m]))', '>', 0.25)
    >>> threshold_rule(Rule(alert="U", expr="up == 0 and on() vector(1)")).is_threshold
    False
    """
    if rule.is_threshold:
        return rule
    expr = rule.expr.strip()
    ops = _top_level(expr)
    if len(ops) != 1 or ops[0][1] not in _COMPARISONS:
        return rule
    pos, op = ops[0]
    lhs, rhs = expr[:pos].strip(), expr[pos + len(op):].strip()
    if not lhs or rhs.startswith("bool") or _constant(lhs) is not None:
        return rule
    value = _constant(rhs)
    if value is None:
        return rule
    while lhs.startswith("(") and lhs.endswith(")") and _balanced_inner(lhs):
        lhs = lhs[1:-1].strip()
    return rule.with_(expr=lhs, op=op, threshold=value)


def _balanced_inner(text: str) -> bool:
    """Whether the outer parentheses of ``text`` enclose all of it."""
    depth = 0
    for i, c in enumerate(text):
        depth += (c == "(") - (c == ")")
        if depth == 0 and i != len(text) - 1:
            return False
    return depth == 0
