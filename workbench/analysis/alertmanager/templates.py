"""The Go-template subset Alertmanager's Slack title/text use, rendered like Alertmanager 0.25.

Supported: ``{{ .Field.Path }}``, pipelines with ``toUpper``, ``toLower``, ``title``, ``len``,
``join "sep"``, ``safeHtml``, ``reReplaceAll``, ``{{ if }}``/``{{ else }}``/``{{ end }}`` with
``eq``, ``ne``, ``gt``, ``lt``, ``and``, ``or``, ``not``, ``{{ range }}``, ``{{ with }}``,
``{{ template "slack.default.title" . }}`` (and the other default Slack templates), the ``-``
whitespace trim markers, and the data Alertmanager passes (``.Status``, ``.Receiver``,
``.Alerts`` with ``.Firing``/``.Resolved``, ``.GroupLabels``, ``.CommonLabels``,
``.CommonAnnotations``, ``.ExternalURL``; label maps with ``.SortedPairs``, ``.Names``,
``.Values``, ``.Remove``). A missing map key renders as the empty string, as for Go's
``map[string]string`` — which is why ``*Description:* {{ .CommonAnnotations.description }}`` is
empty when grouped alerts' descriptions differ.

Examples
--------
>>> data = template_data("slack", [
...     {"status": "firing", "labels": {"alertname": "CPUThrottlingHigh", "job": "kubelet",
...      "pod": "a"}, "annotations": {"description": "pod a"}},
...     {"status": "firing", "labels": {"alertname": "CPUThrottlingHigh", "job": "kubelet",
...      "pod": "b"}, "annotations": {"description": "pod b"}}], {"job": "kubelet"})
>>> render('[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}', data)
'[FIRING] CPUThrottlingHigh'
>>> render("*Description:* {{ .CommonAnnotations.description }}", data)
'*Description:* '
>>> render('{{ template "slack.default.title" . }}', data)
'[FIRING:2] kubelet (CPUThrottlingHigh)'
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from ..._errors import AlertmanagerConfigError

__all__ = ["DEFAULT_TEMPLATES", "TemplateError", "render", "template_data"]


class TemplateError(AlertmanagerConfigError, ValueError):
    """A template outside the supported subset (an :class:`~workbench.AlertmanagerConfigError`)."""


class KV(dict):  # type: ignore[type-arg]
    """Alertmanager's ``template.KV`` (a label or annotation map)."""

    def SortedPairs(self) -> Pairs:
        return Pairs({"Name": k, "Value": self[k]} for k in sorted(self))

    def Names(self) -> list[str]:
        return sorted(self)

    def Values(self) -> list[str]:
        return [self[k] for k in sorted(self)]

    def Remove(self, names: Sequence[str]) -> KV:
        return KV({k: v for k, v in self.items() if k not in set(names)})


class Pairs(list):  # type: ignore[type-arg]
    def Names(self) -> list[str]:
        return [p["Name"] for p in self]

    def Values(self) -> list[str]:
        return [p["Value"] for p in self]


class Alerts(list):  # type: ignore[type-arg]
    def Firing(self) -> Alerts:
        return Alerts(a for a in self if a["Status"] == "firing")

    def Resolved(self) -> Alerts:
        return Alerts(a for a in self if a["Status"] == "resolved")


_SUBJECT = ('[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}'
            '{{ end }}] {{ .GroupLabels.SortedPairs.Values | join " " }} {{ if gt (len '
            '.CommonLabels) (len .GroupLabels) }}({{ with .CommonLabels.Remove '
            '.GroupLabels.Names }}{{ .Values | join " " }}{{ end }}){{ end }}')
#: Alertmanager 0.25's default templates used by Slack configs (``template/default.tmpl``).
DEFAULT_TEMPLATES = {
    "__subject": _SUBJECT,
    "__alertmanager": "Alertmanager",
    "__alertmanagerURL": "{{ .ExternalURL }}/#/alerts?receiver={{ .Receiver | urlquery }}",
    "slack.default.title": '{{ template "__subject" . }}',
    "slack.default.username": '{{ template "__alertmanager" . }}',
    "slack.default.fallback": '{{ template "slack.default.title" . }} | '
                              '{{ template "slack.default.titlelink" . }}',
    "slack.default.titlelink": '{{ template "__alertmanagerURL" . }}',
    "slack.default.text": "", "slack.default.pretext": "", "slack.default.footer": "",
    "slack.default.callbackid": "", "slack.default.iconemoji": "", "slack.default.iconurl": "",
}


def _common(maps: list[dict[str, str]]) -> KV:
    if not maps:
        return KV()
    first = maps[0]
    return KV({k: v for k, v in first.items() if all(m.get(k) == v for m in maps[1:])})


def template_data(receiver: str, alerts: Sequence[Mapping[str, Any]],
                  group_labels: Mapping[str, str], external_url: str = "") -> dict[str, Any]:
    """Alertmanager's ``template.Data`` for a notification.

    ``alerts``: dicts with ``status`` (``firing``/``resolved``), ``labels``, ``annotations``.
    """
    items = Alerts({"Status": a["status"], "Labels": KV(a["labels"]),
                    "Annotations": KV(a.get("annotations") or {}),
                    "GeneratorURL": a.get("generator_url", ""),
                    "Fingerprint": a.get("fingerprint", "")} for a in alerts)
    firing = any(a["Status"] == "firing" for a in items)
    return {"Receiver": receiver, "Status": "firing" if firing else "resolved", "Alerts": items,
            "GroupLabels": KV(group_labels),
            "CommonLabels": _common([dict(a["Labels"]) for a in items]),
            "CommonAnnotations": _common([dict(a["Annotations"]) for a in items]),
            "ExternalURL": external_url}


# --- a small Go text/template interpreter --------------------------------------------------
_ACTION = re.compile(r"\{\{(-?)\s*(.*?)\s*(-?)\}\}", re.S)


def _tokens(src: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    for m in _ACTION.finditer(src):
        text = src[pos:m.start()]
        if m.group(1):
            text = text.rstrip()
        if out and out[-1][0] == "trim":
            out.pop()
            text = text.lstrip()
        out.append(("text", text))
        out.append(("action", m.group(2)))
        if m.group(3):
            out.append(("trim", ""))
        pos = m.end()
    text = src[pos:]
    if out and out[-1][0] == "trim":
        out.pop()
        text = text.lstrip()
    out.append(("text", text))
    return out


def _parse(tokens: list[tuple[str, str]], i: int, stop: tuple[str, ...]) -> tuple[list[Any], int]:
    nodes: list[Any] = []
    while i < len(tokens):
        kind, body = tokens[i]
        if kind == "text":
            nodes.append(("text", body))
            i += 1
            continue
        word = body.split(None, 1)[0] if body else ""
        if word in stop:
            return nodes, i
        if word in ("if", "range", "with"):
            then, i = _parse(tokens, i + 1, ("else", "end"))
            other: list[Any] = []
            if tokens[i][1].split(None, 1)[0] == "else":
                other, i = _parse(tokens, i + 1, ("end",))
            nodes.append((word, body[len(word):].strip(), then, other))
            i += 1
            continue
        if word.startswith("/*"):
            i += 1
            continue
        nodes.append(("expr", body))
        i += 1
    if stop:
        msg = "template ends before {{ end }}"
        raise TemplateError(msg)
    return nodes, i


@lru_cache(maxsize=512)
def _compiled(template: str) -> list[Any]:
    return _parse(_tokens(template), 0, ())[0]


@lru_cache(maxsize=4096)
def _lex_cached(expr: str) -> tuple[str, ...]:
    return tuple(_lex_raw(expr))


def _lex(expr: str) -> list[str]:
    return list(_lex_cached(expr))


def _lex_raw(expr: str) -> list[str]:
    lexer = shlex.shlex(expr.replace("(", " ( ").replace(")", " ) ").replace("|", " | "),
                        posix=False)
    lexer.whitespace_split = True
    return list(lexer)


def _truth(v: Any) -> bool:
    return bool(v) and v != 0


def _join(sep: str, items: Sequence[str]) -> str:
    return sep.join(items)


_FUNCS: dict[str, Callable[..., Any]] = {
    "toUpper": str.upper, "toLower": str.lower, "title": str.title, "len": len,
    "join": _join, "safeHtml": str, "urlquery": lambda s: __import__("urllib.parse").parse.quote_plus(str(s)),
    "eq": lambda a, *b: any(a == x for x in b), "ne": lambda a, b: a != b,
    "gt": lambda a, b: a > b, "lt": lambda a, b: a < b, "ge": lambda a, b: a >= b,
    "le": lambda a, b: a <= b, "not": lambda a: not _truth(a),
    "and": lambda *a: next((x for x in a if not _truth(x)), a[-1]),
    "or": lambda *a: next((x for x in a if _truth(x)), a[-1]),
    "reReplaceAll": lambda pat, repl, s: re.sub(pat, re.sub(r"\$(\d+)", r"\\\1", repl), s),
}


class _Eval:
    def __init__(self, templates: Mapping[str, str]) -> None:
        self.templates = templates

    def field(self, obj: Any, path: str, args: list[Any]) -> Any:
        parts = [p for p in path.split(".") if p]
        for n, part in enumerate(parts):
            last = n == len(parts) - 1
            if isinstance(obj, dict) and part in obj:
                obj = obj[part]
            elif callable(getattr(obj, part, None)) and part[:1].isupper():
                obj = getattr(obj, part)(*(args if last else []))
                if last:
                    return obj
            elif isinstance(obj, dict):
                obj = ""                  # missing key of a map[string]string
            else:
                msg = f"can't evaluate field {part}"
                raise TemplateError(msg)
        return obj

    def operand(self, toks: list[str], i: int, dot: Any) -> tuple[Any, int]:
        t = toks[i]
        if t == "(":
            depth, j = 1, i + 1
            while depth:
                depth += {"(": 1, ")": -1}.get(toks[j], 0)
                j += 1
            return self.pipeline(toks[i + 1:j - 1], dot), j
        if t.startswith(('"', "`")):
            return t[1:-1].encode().decode("unicode_escape") if t[0] == '"' else t[1:-1], i + 1
        if re.fullmatch(r"-?\d+", t):
            return int(t), i + 1
        if t == ".":
            return dot, i + 1
        if t.startswith("."):
            return self.field(dot, t, []), i + 1
        msg = f"unsupported operand {t!r}"
        raise TemplateError(msg)

    def command(self, toks: list[str], dot: Any, piped: list[Any]) -> Any:
        head = toks[0]
        if head in _FUNCS or head.startswith("."):
            args, i = [], 1
            while i < len(toks):
                v, i = self.operand(toks, i, dot)
                args.append(v)
            if head.startswith("."):
                return self.field(dot, head, args + piped)
            return _FUNCS[head](*args, *piped)
        if head in ("true", "false"):
            return head == "true"
        v, _ = self.operand(toks, 0, dot)
        return v

    def pipeline(self, toks: list[str], dot: Any) -> Any:
        cmds: list[list[str]] = [[]]
        depth = 0
        for t in toks:
            depth += {"(": 1, ")": -1}.get(t, 0)
            if t == "|" and depth == 0:
                cmds.append([])
            else:
                cmds[-1].append(t)
        value: list[Any] = []
        for cmd in cmds:
            value = [self.command(cmd, dot, value)]
        return value[0]

    def run(self, nodes: list[Any], dot: Any, out: list[str]) -> None:
        for node in nodes:
            kind = node[0]
            if kind == "text":
                out.append(node[1])
            elif kind == "expr":
                toks = _lex(node[1])
                if toks and toks[0] == "template":
                    name = toks[1].strip('"')
                    arg = self.pipeline(toks[2:], dot) if len(toks) > 2 else None
                    if name not in self.templates:
                        msg = f'no such template "{name}"'
                        raise TemplateError(msg)
                    self.run(_compiled(self.templates[name]), arg, out)
                else:
                    out.append(_text(self.pipeline(toks, dot)))
            else:
                _, expr, then, other = node
                v = self.pipeline(_lex(expr), dot)
                if kind == "range":
                    items = list(v.items()) if isinstance(v, dict) else list(v or [])
                    for item in items:
                        self.run(then, item, out)
                    if not items:
                        self.run(other, dot, out)
                elif _truth(v):
                    self.run(then, v if kind == "with" else dot, out)
                else:
                    self.run(other, dot, out)


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return "[" + " ".join(_text(x) for x in v) + "]"
    if isinstance(v, dict):
        return "map[" + " ".join(f"{k}:{_text(x)}" for k, x in sorted(v.items())) + "]"
    return str(v)


def render(template: str, data: Mapping[str, Any],
           templates: Mapping[str, str] = DEFAULT_TEMPLATES) -> str:
    """Render a Slack title/text template with :func:`template_data` output.

    Raises :class:`TemplateError` for constructs outside the supported subset.
    """
    nodes = _compiled(template)
    out: list[str] = []
    try:
        _Eval(templates).run(nodes, data, out)
    except (IndexError, KeyError, TypeError) as exc:
        msg = f"cannot render {template!r}: {exc}"
        raise TemplateError(msg) from None
    return "".join(out)
