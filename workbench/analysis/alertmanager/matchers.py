"""Alertmanager 0.25 label matchers: ``name="value"``, ``!=``, ``=~``, ``!~`` and their parsing.

The parser follows ``pkg/labels/parse.go`` of Alertmanager 0.25: a list item of ``matchers:`` may
hold several comma-separated matchers (commas inside double quotes don't split), the value may be
quoted or bare, OpenMetrics escapes (``\\"``, ``\\n``, ``\\\\``) apply and any other backslash is
literal, surrounding whitespace is dropped. A missing label matches as the empty string. Regexes are
anchored (``^(?:re)$``, Go RE2 syntax); constructs RE2 lacks (look-arounds, back-references) are
rejected as Alertmanager would.

Examples
--------
>>> from workbench.analysis.alertmanager.matchers import parse_matchers
>>> ms = parse_matchers('{severity="critical", job=~"db|postgres"}')
>>> [str(m) for m in ms]
['severity="critical"', 'job=~"db|postgres"']
>>> ms[1].matches("postgres"), ms[1].matches("postgres2")
(True, False)
>>> parse_matchers('team != ""')[0].matches("")
False
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..._errors import AlertmanagerConfigError

__all__ = ["LABEL_NAME", "Matcher", "MatcherError", "matches_all", "parse_matcher",
           "parse_matchers"]

#: A valid Prometheus label name.
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_MATCHER = re.compile(r"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(=~|=|!=|!~)\s*(.*?)\s*$", re.S)
_NOT_RE2 = re.compile(r"\(\?[=!]|\(\?<[=!]|\(\?P=|\\[1-9]|\(\?#")
_ORDER = {"=": 0, "!=": 1, "=~": 2, "!~": 3}


class MatcherError(AlertmanagerConfigError, ValueError):
    """A matcher or regex Alertmanager would reject (the config layer adds the position).

    ``reason`` is the problem alone; the message adds how to write a matcher.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"{reason}. Fix: write matchers as name=\"value\", name!=\"value\", "
                         "name=~\"regex\" or name!~\"regex\" (regexes in Go RE2 syntax).")


def compile_go_regex(pattern: str) -> re.Pattern[str]:
    """Compile an Alertmanager regex (anchored, Go RE2 syntax) for :func:`re.fullmatch` use."""
    if _NOT_RE2.search(pattern):
        msg = (f"invalid regex {pattern!r}: Go RE2 (used by Alertmanager) has no look-arounds, "
               "back-references or comments")
        raise MatcherError(msg)
    try:
        return re.compile(f"(?:{pattern})")
    except (re.error, OverflowError, RecursionError) as exc:
        msg = f"invalid regex {pattern!r}: {exc}"
        raise MatcherError(msg) from None


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


@dataclass(frozen=True)
class Matcher:
    """One label matcher. ``op`` is one of ``=``, ``!=``, ``=~``, ``!~``."""

    name: str
    op: str
    value: str
    _re: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def new(cls, name: str, op: str, value: str) -> Matcher:
        """Build a matcher, compiling the regex of ``=~``/``!~`` (raises :class:`MatcherError`)."""
        for what, text in (("label name", name), ("operator", op), ("value", value)):
            if not isinstance(text, str):
                msg = f"matcher {what} must be a str, got {type(text).__name__} {text!r:.40}"
                raise MatcherError(msg)
        if op not in _ORDER:
            msg = f"unknown match operator {op!r} (use =, !=, =~ or !~)"
            raise MatcherError(msg)
        rx = compile_go_regex(value) if op in ("=~", "!~") else None
        return cls(name, op, value, rx)

    def matches(self, value: str) -> bool:
        """Whether a label value (``""`` when the label is missing) satisfies the matcher."""
        if self.op == "=":
            return value == self.value
        if self.op == "!=":
            return value != self.value
        assert self._re is not None
        hit = self._re.fullmatch(value) is not None
        return hit if self.op == "=~" else not hit

    def sort_key(self) -> tuple[str, str, int]:
        """Alertmanager's ``Matchers.Less``: name, then value, then operator."""
        return (self.name, self.value, _ORDER[self.op])

    def __str__(self) -> str:
        return f'{self.name}{self.op}"{_escape(self.value)}"'


def matches_all(matchers: Sequence[Matcher], labels: Mapping[str, str]) -> bool:
    """Whether every matcher matches ``labels`` (missing labels are ``""``)."""
    return all(m.matches(labels.get(m.name) or "") for m in matchers)


def parse_matcher(text: str) -> Matcher:
    """Parse one matcher like Alertmanager 0.25's ``labels.ParseMatcher``."""
    found = _MATCHER.match(text)
    if found is None:
        msg = f"bad matcher format: {text}"
        raise MatcherError(msg)
    name, op, raw = found.group(1), found.group(2), found.group(3)
    expect_quote = raw.startswith('"')
    if expect_quote:
        raw = raw[1:]
    out: list[str] = []
    escaped = False
    for i, ch in enumerate(raw):
        if escaped:
            escaped = False
            if ch == "n":
                out.append("\n")
            elif ch in '"\\':
                out.append(ch)
            else:
                out.append("\\" + ch)
            continue
        if ch == "\\":
            if i < len(raw) - 1:
                escaped = True
                continue
            out.append("\\")
        elif ch == '"':
            if not expect_quote or i < len(raw) - 1:
                msg = f"matcher value contains unescaped double quote: {found.group(3)}"
                raise MatcherError(msg)
            expect_quote = False
        else:
            out.append(ch)
    if expect_quote:
        msg = f"matcher value contains unescaped double quote: {found.group(3)}"
        raise MatcherError(msg)
    return Matcher.new(name, op, "".join(out))


def parse_matchers(text: str) -> list[Matcher]:
    """Parse a comma-separated matcher list like Alertmanager 0.25's ``labels.ParseMatchers``."""
    if not isinstance(text, str):
        msg = f"matchers must be given as a str like '{{a=\"b\"}}', got {type(text).__name__}"
        raise MatcherError(msg)
    s = text.removeprefix("{").removesuffix("}")
    tokens: list[str] = []
    token: list[str] = []
    inside = escaped = False
    for ch in s:
        if ch == ",":
            if not inside:
                tokens.append("".join(token))
                token = []
                continue
        elif ch == '"':
            if not escaped:
                inside = not inside
            else:
                escaped = False
        elif ch == "\\":
            escaped = not escaped
        else:
            escaped = False
        token.append(ch)
    last = "".join(token).strip()
    if last:
        tokens.append(last)
    return [parse_matcher(t) for t in tokens]
