"""Parse an ``alertmanager.yml`` the way Alertmanager 0.25 does, rejecting what it rejects.

What is checked (each failure is an :class:`~workbench.AlertmanagerConfigError` naming the file,
line and column): YAML syntax and duplicate keys, unknown fields (Alertmanager parses strictly),
durations (Prometheus syntax ``1h30m``, no fractions), matchers and regexes, label names,
``group_by`` (``...`` alone, no duplicates), zero ``group_interval``/``repeat_interval``, a
missing root route or root receiver, matchers or time intervals on the root, undefined or
duplicate receivers and time intervals, receivers without a name, Slack configs without any API
URL, webhook configs without a URL.

Examples
--------
>>> cfg = AlertmanagerConfig.from_yaml('''
... global: {slack_api_url: "http://127.0.0.1:1/slack"}
... route: {receiver: slack, group_by: [job], group_wait: 10s, group_interval: 1m,
...         repeat_interval: 5m}
... receivers:
...   - name: slack
...     slack_configs: [{channel: "#alerts", send_resolved: true}]
... ''')
>>> r = cfg.root
>>> r.receiver, r.group_by, r.group_wait_ms, r.repeat_interval_ms
('slack', ('job',), 10000, 300000)
>>> cfg.receivers["slack"].integrations[0].send_resolved
True
>>> from workbench import AlertmanagerConfigError
>>> try:
...     AlertmanagerConfig.from_yaml("route: {receiver: nope}\\nreceivers: [{name: a}]")
... except AlertmanagerConfigError as exc:
...     print(exc.line, exc.column, str(exc).split(". Fix")[0])
1 19 <string>:1:19: undefined receiver 'nope' used in route
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..._errors import AlertmanagerConfigError
from .matchers import LABEL_NAME, Matcher, MatcherError, parse_matchers
from .route import (
    DEFAULT_GROUP_INTERVAL_MS,
    DEFAULT_GROUP_WAIT_MS,
    DEFAULT_REPEAT_INTERVAL_MS,
    Route,
)
from .timeintervals import TimeInterval, parse_time_interval
from .yamlpos import PosDict, PosList, load

__all__ = ["AlertmanagerConfig", "InhibitRule", "Integration", "Receiver", "fetch_config",
           "parse_go_duration_ms"]

_DURATION = re.compile(r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?"
                       r"(?:(\d+)ms)?")
_UNIT_MS = (365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000, 1)

_TOP = {"global", "route", "inhibit_rules", "receivers", "templates", "mute_time_intervals",
        "time_intervals"}
_ROUTE = {"receiver", "group_by", "continue", "matchers", "match", "match_re", "group_wait",
          "group_interval", "repeat_interval", "mute_time_intervals", "active_time_intervals",
          "routes"}
_INHIBIT = {"source_match", "source_match_re", "source_matchers", "target_match",
            "target_match_re", "target_matchers", "equal"}
_GLOBAL = {"resolve_timeout", "http_config", "smtp_from", "smtp_hello", "smtp_smarthost",
           "smtp_auth_username", "smtp_auth_password", "smtp_auth_password_file",
           "smtp_auth_secret", "smtp_auth_identity", "smtp_require_tls", "slack_api_url",
           "slack_api_url_file", "victorops_api_key", "victorops_api_key_file",
           "victorops_api_url", "pagerduty_url", "opsgenie_api_key", "opsgenie_api_key_file",
           "opsgenie_api_url", "wechat_api_url", "wechat_api_secret", "wechat_api_corp_id",
           "telegram_api_url", "webex_api_url"}
#: Integration kinds and their ``send_resolved`` default in Alertmanager 0.25.
SEND_RESOLVED_DEFAULT = {
    "discord": True, "email": False, "pagerduty": True, "slack": False, "webhook": True,
    "opsgenie": True, "wechat": False, "pushover": True, "victorops": True, "sns": True,
    "telegram": True, "webex": True,
}
_SLACK = {"send_resolved", "http_config", "api_url", "api_url_file", "channel", "username",
          "color", "title", "title_link", "pretext", "text", "fields", "short_fields", "footer",
          "fallback", "callback_id", "icon_emoji", "icon_url", "image_url", "thumb_url",
          "link_names", "mrkdwn_in", "actions"}
_WEBHOOK = {"send_resolved", "http_config", "url", "url_file", "max_alerts"}


def parse_go_duration_ms(text: str) -> int:
    """Prometheus ``model.ParseDuration`` (as Alertmanager uses it) in ms; ``ValueError`` if bad.

    >>> parse_go_duration_ms("1h30m"), parse_go_duration_ms("0")
    (5400000, 0)
    """
    if text == "0":
        return 0
    found = _DURATION.fullmatch(text)
    if not text or found is None:
        msg = f"not a valid duration string: {text!r}"
        raise ValueError(msg)
    return sum(int(g) * u for g, u in zip(found.groups(), _UNIT_MS, strict=True) if g)


@dataclass(frozen=True)
class Integration:
    """One notifier of a receiver (``slack_configs[0]`` ...), with what the simulation needs.

    ``title``/``text`` are the Slack templates (``None``: Alertmanager's default templates).
    """

    kind: str
    index: int
    send_resolved: bool
    title: str | None = None
    text: str | None = None
    channel: str | None = None

    name: str = ""

    def __post_init__(self) -> None:
        # ``slack[0]``-style name, as Alertmanager logs it
        object.__setattr__(self, "name", f"{self.kind}[{self.index}]")


@dataclass(frozen=True)
class Receiver:
    """A receiver: its name and integrations (none: Alertmanager sends nothing for it)."""

    name: str
    integrations: tuple[Integration, ...] = ()


@dataclass(frozen=True)
class InhibitRule:
    """Mute alerts matching ``target`` while a firing alert matching ``source`` has equal labels."""

    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...] = ()


@dataclass
class AlertmanagerConfig:
    """A parsed Alertmanager configuration.

    Attributes
    ----------
    root
        The routing tree's root :class:`Route`.
    receivers
        Receivers by name.
    inhibit_rules
        :class:`InhibitRule` list.
    time_intervals
        Named :class:`TimeInterval` lists (``time_intervals`` and ``mute_time_intervals``).
    resolve_timeout_ms
        ``global.resolve_timeout`` (5m by default).
    source
        The file name, or ``"<string>"``.
    """

    root: Route
    receivers: dict[str, Receiver]
    inhibit_rules: list[InhibitRule] = field(default_factory=list)
    time_intervals: dict[str, list[TimeInterval]] = field(default_factory=dict)
    resolve_timeout_ms: int = 300_000
    source: str = "<string>"

    @classmethod
    def from_file(cls, path: str | Path) -> AlertmanagerConfig:
        """Read and parse ``alertmanager.yml``."""
        if not isinstance(path, str | Path):
            msg = (f"AlertmanagerConfig.from_file needs a path (str or Path), got "
                   f"{type(path).__name__}. Fix: pass the path of alertmanager.yml.")
            raise AlertmanagerConfigError(msg)
        p = Path(path)
        try:
            raw = p.read_bytes()
        except (OSError, ValueError) as exc:
            why = exc.strerror if isinstance(exc, OSError) else str(exc)
            msg = f"Cannot read Alertmanager config {str(p)!r}: {why}. Fix: check the path."
            raise AlertmanagerConfigError(msg, source=str(p)) from None
        return cls.from_yaml(raw, source=str(p))

    @classmethod
    def from_yaml(cls, text: str | bytes, *, source: str = "<string>") -> AlertmanagerConfig:
        """Parse the YAML text (``str``, or UTF-8 ``bytes``) of an Alertmanager configuration."""
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError as exc:
                msg = (f"{source}: the configuration is not UTF-8 text (byte {exc.start}). Fix: "
                       "save alertmanager.yml as UTF-8.")
                raise AlertmanagerConfigError(msg, source=source) from None
        if not isinstance(text, str):
            msg = (f"AlertmanagerConfig.from_yaml needs the YAML text as a str, got "
                   f"{type(text).__name__}. Fix: pass the file's text, or use "
                   "AlertmanagerConfig.from_file(path).")
            raise AlertmanagerConfigError(msg, source=str(source))
        return _Parser(source).parse(text)

    def route(self, labels: Mapping[str, str]) -> list[Route]:
        """The routes an alert with ``labels`` is dispatched to (``amtool config routes test``)."""
        if not isinstance(labels, Mapping) or not all(
                isinstance(k, str) and (v is None or isinstance(v, str))
                for k, v in labels.items()):
            msg = (f"route() needs the alert's labels as a dict of str to str, got {labels!r:.80}."
                   ' Fix: pass e.g. {"alertname": "X", "severity": "page"}.')
            raise AlertmanagerConfigError(msg, source=self.source)
        clean = {k: v for k, v in labels.items() if v is not None}
        return self.root.match(clean)

    def routes(self) -> list[Route]:
        """Every node of the routing tree, depth-first."""
        return list(self.root.walk())


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, pos: tuple[int, int] | None, what: str, fix: str) -> AlertmanagerConfigError:
        where = f"{self.source}:{pos[0]}:{pos[1]}" if pos else self.source
        return AlertmanagerConfigError(f"{where}: {what}. Fix: {fix}.", source=self.source,
                                       line=pos[0] if pos else None,
                                       column=pos[1] if pos else None)

    # -- helpers ---------------------------------------------------------------------------
    def mapping(self, value: Any, pos: tuple[int, int], what: str, allowed: set[str] | None
                ) -> PosDict:
        if value is None:
            value = PosDict()
            value.pos, value.key_pos = pos, {}
        if not isinstance(value, PosDict):
            raise self.fail(pos, f"{what} must be a mapping, got {type(value).__name__}",
                            "write it as 'key: value' lines")
        if allowed is not None:
            for key in value:
                if key not in allowed:
                    raise self.fail(value.pos_of(key), f"field {key} not found in {what}",
                                    f"remove it or use one of {sorted(allowed)}")
        return value

    def seq(self, value: Any, pos: tuple[int, int], what: str) -> PosList:
        if value is None:
            value = PosList()
            value.pos, value.item_pos = pos, []
        if not isinstance(value, PosList):
            raise self.fail(pos, f"{what} must be a list", "write it as a YAML list")
        return value

    def duration(self, d: PosDict, key: str) -> int | None:
        if key not in d:
            return None
        raw = d[key]
        try:
            if not isinstance(raw, str | int) or isinstance(raw, bool):
                raise ValueError
            return parse_go_duration_ms(str(raw))
        except ValueError:
            raise self.fail(d.pos_of(key), f"{key}: not a valid duration string: {raw!r}",
                            "use Prometheus syntax such as 30s, 5m, 1h30m, 4h (integers only, "
                            "units y w d h m s ms)") from None

    def matchers(self, d: PosDict, key: str) -> list[Matcher]:
        items = self.seq(d.get(key), d.pos_of(key), key)
        out: list[Matcher] = []
        for item, pos in zip(items, items.item_pos, strict=True):
            try:
                out.extend(parse_matchers(str(item)))
            except MatcherError as exc:
                raise self.fail(pos, f"{key}: {exc.reason}", 'write matchers as name="value", '
                                'name!="value", name=~"regex" or name!~"regex"') from None
        return out

    def legacy(self, d: PosDict, key: str, op: str) -> list[Matcher]:
        m = self.mapping(d.get(key), d.pos_of(key), key, None)
        out: list[Matcher] = []
        for name, value in m.items():
            if not isinstance(name, str) or not LABEL_NAME.fullmatch(name):
                raise self.fail(m.pos_of(name), f"{key}: invalid label name {name!r}",
                                "label names are [a-zA-Z_][a-zA-Z0-9_]*")
            try:
                out.append(Matcher.new(name, op, "" if value is None else str(value)))
            except MatcherError as exc:
                raise self.fail(m.pos_of(name), f"{key}: {exc.reason}", "fix the regex (Go RE2 "
                                "syntax)") from None
        return out

    def text(self, d: PosDict, key: str) -> str | None:
        """``d[key]`` as text (a YAML scalar reads as its text, like Go's yaml into a string);
        ``None`` when absent or null; a list or mapping is an error naming the field."""
        value = d.get(key)
        if value is None:
            return None
        if isinstance(value, PosDict | PosList):
            raise self.fail(d.pos_of(key), f"{key} must be a string, got a "
                            f"{'mapping' if isinstance(value, dict) else 'list'}",
                            f"write {key}: <text>")
        return str(value)

    def names(self, d: PosDict, key: str) -> tuple[str, ...]:
        items = self.seq(d.get(key), d.pos_of(key), key)
        for x, pos in zip(items, items.item_pos, strict=True):
            if isinstance(x, PosDict | PosList) or x is None:
                raise self.fail(pos, f"{key}: every item must be a string, got {x!r:.60}",
                                f"write {key} as a list of names")
        return tuple(str(x) for x in items)

    # -- sections --------------------------------------------------------------------------
    def parse(self, text: str) -> AlertmanagerConfig:
        try:
            doc = load(text)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            pos = (mark.line + 1, mark.column + 1) if mark else None
            raise self.fail(pos, f"invalid YAML: {exc.problem}", "fix the YAML syntax") from None
        except yaml.YAMLError as exc:
            raise self.fail(None, f"invalid YAML: {exc}", "fix the YAML syntax") from None
        if doc is None:
            raise self.fail(None, "the configuration is empty (no routes provided)",
                            "add a route: with a receiver and a receivers: list")
        doc = self.mapping(doc, (1, 1), "the configuration", _TOP)
        glob = self.mapping(doc.get("global"), doc.pos_of("global"), "global", _GLOBAL)
        resolve = self.duration(glob, "resolve_timeout")
        time_intervals = self.time_intervals(doc)
        receivers = self.receivers(doc, glob)
        if doc.get("route") is None:
            raise self.fail(doc.pos_of("route"), "no routes provided",
                            "add a route: block with a receiver")
        rdoc = self.mapping(doc["route"], doc.pos_of("route"), "route", _ROUTE)
        if not rdoc.get("receiver"):
            raise self.fail(rdoc.pos, "root route must specify a default receiver",
                            "add receiver: <name> to the top-level route")
        for key in ("match", "match_re", "matchers"):
            if rdoc.get(key):
                raise self.fail(rdoc.pos_of(key), "root route must not have any matchers",
                                "move the matchers into a child route under routes:")
        for key in ("mute_time_intervals", "active_time_intervals"):
            if rdoc.get(key):
                raise self.fail(rdoc.pos_of(key), f"root route must not have any "
                                f"{key.replace('_', ' ')}", "set them on a child route")
        root = self.route(rdoc, None, (), receivers, time_intervals)
        inhibit = self.inhibit_rules(doc)
        return AlertmanagerConfig(root=root, receivers=receivers, inhibit_rules=inhibit,
                                  time_intervals=time_intervals,
                                  resolve_timeout_ms=300_000 if resolve is None else resolve,
                                  source=self.source)

    def route(self, d: PosDict, parent: Route | None, path: tuple[int, ...],
              receivers: dict[str, Receiver], intervals: dict[str, list[TimeInterval]]) -> Route:
        own_receiver = self.text(d, "receiver")
        receiver = own_receiver or (parent.receiver if parent else "")
        if own_receiver and own_receiver not in receivers:
            raise self.fail(d.pos_of("receiver"), f"undefined receiver {own_receiver!r} used "
                            "in route", f"add a receiver named {own_receiver!r} under "
                            f"receivers:, or use one of {sorted(receivers)}")
        group_by, group_by_all = (parent.group_by, parent.group_by_all) if parent else ((), False)
        raw = self.names(d, "group_by")
        named = [g for g in raw if g != "..."]
        for g, pos in zip(raw, self.seq(d.get("group_by"), d.pos_of("group_by"),
                                        "group_by").item_pos, strict=True):
            if g != "..." and not LABEL_NAME.fullmatch(g):
                raise self.fail(pos, f"invalid label name {g!r} in group_by list",
                                "label names are [a-zA-Z_][a-zA-Z0-9_]*")
        if named and "..." in raw:
            raise self.fail(d.pos_of("group_by"), "cannot have wildcard group_by (`...`) and "
                            "other other labels at the same time",
                            "use either ['...'] or a list of label names")
        if len(set(named)) != len(named):
            dup = next(g for g in named if named.count(g) > 1)
            raise self.fail(d.pos_of("group_by"), f"duplicated label {dup!r} in group_by",
                            "list each label once")
        if named:                      # an empty list leaves GroupBy nil: inherited
            group_by, group_by_all = tuple(named), False
        elif "..." in raw:
            group_by_all = True
        timers = []
        for key, default in (("group_wait", DEFAULT_GROUP_WAIT_MS),
                             ("group_interval", DEFAULT_GROUP_INTERVAL_MS),
                             ("repeat_interval", DEFAULT_REPEAT_INTERVAL_MS)):
            own = self.duration(d, key)
            if own == 0 and key != "group_wait":
                raise self.fail(d.pos_of(key), f"{key} cannot be zero", f"set {key} to a "
                                "positive duration")
            inherited = getattr(parent, f"{key}_ms") if parent else default
            timers.append(inherited if own is None else own)
        matchers = (self.legacy(d, "match", "=") + self.legacy(d, "match_re", "=~")
                    + self.matchers(d, "matchers"))
        matchers.sort(key=Matcher.sort_key)
        mute, active = self.names(d, "mute_time_intervals"), self.names(d, "active_time_intervals")
        for key, names in (("mute_time_intervals", mute), ("active_time_intervals", active)):
            for n in names:
                if n not in intervals:
                    raise self.fail(d.pos_of(key), f"undefined time interval {n!r} used in "
                                    "route", "define it under time_intervals:")
        cont = d.get("continue", False)
        if not isinstance(cont, bool):
            raise self.fail(d.pos_of("continue"), "continue must be true or false",
                            "write continue: true")
        node = Route(receiver=receiver, group_by=group_by, group_by_all=group_by_all,
                     group_wait_ms=timers[0], group_interval_ms=timers[1],
                     repeat_interval_ms=timers[2], matchers=tuple(matchers), continue_=cont,
                     mute_time_intervals=mute, active_time_intervals=active, parent=parent,
                     path=path, line=d.pos[0])
        children = self.seq(d.get("routes"), d.pos_of("routes"), "routes")
        for i, (child, pos) in enumerate(zip(children, children.item_pos, strict=True)):
            cd = self.mapping(child, pos, "route", _ROUTE)
            node.routes.append(self.route(cd, node, (*path, i), receivers, intervals))
        return node

    def receivers(self, doc: PosDict, glob: PosDict) -> dict[str, Receiver]:
        items = self.seq(doc.get("receivers"), doc.pos_of("receivers"), "receivers")
        allowed = {"name"} | {f"{k}_configs" for k in SEND_RESOLVED_DEFAULT}
        out: dict[str, Receiver] = {}
        for item, pos in zip(items, items.item_pos, strict=True):
            r = self.mapping(item, pos, "receiver", allowed)
            name = self.text(r, "name")
            if not name:
                raise self.fail(pos, "missing name in receiver", "give every receiver a name:")
            if name in out:
                raise self.fail(r.pos_of("name"), f"notification config name {name!r} is not "
                                "unique", "rename one of the receivers")
            integrations: list[Integration] = []
            for kind, default in SEND_RESOLVED_DEFAULT.items():
                key = f"{kind}_configs"
                confs = self.seq(r.get(key), r.pos_of(key), key)
                for i, (c, cpos) in enumerate(zip(confs, confs.item_pos, strict=True)):
                    allowed_keys = {"slack": _SLACK, "webhook": _WEBHOOK}.get(kind)
                    cd = self.mapping(c, cpos, f"{kind} config", allowed_keys)
                    integrations.append(self.integration(kind, i, cd, default, glob))
            out[name] = Receiver(name, tuple(integrations))
        return out

    def integration(self, kind: str, i: int, c: PosDict, default: bool, glob: PosDict
                    ) -> Integration:
        send_resolved = c.get("send_resolved", default)
        if not isinstance(send_resolved, bool):
            raise self.fail(c.pos_of("send_resolved"), "send_resolved must be true or false",
                            "write send_resolved: true")
        if kind == "slack" and not (c.get("api_url") or c.get("api_url_file")
                                    or glob.get("slack_api_url")
                                    or glob.get("slack_api_url_file")):
            raise self.fail(c.pos, "no global Slack API URL set either inline or in a file",
                            "set api_url: in the slack config or global.slack_api_url")
        if kind == "webhook" and not (c.get("url") or c.get("url_file")):
            raise self.fail(c.pos, "one of url or url_file must be configured",
                            "set url: in the webhook config")
        return Integration(kind, i, send_resolved, title=self.text(c, "title"),
                           text=self.text(c, "text"), channel=self.text(c, "channel"))

    def inhibit_rules(self, doc: PosDict) -> list[InhibitRule]:
        items = self.seq(doc.get("inhibit_rules"), doc.pos_of("inhibit_rules"), "inhibit_rules")
        out = []
        for item, pos in zip(items, items.item_pos, strict=True):
            r = self.mapping(item, pos, "inhibit rule", _INHIBIT)
            sides = []
            for side in ("source", "target"):
                ms = (self.legacy(r, f"{side}_match", "=")
                      + self.legacy(r, f"{side}_match_re", "=~")
                      + self.matchers(r, f"{side}_matchers"))
                sides.append(tuple(ms))
            equal = self.names(r, "equal")
            for e in equal:
                if not LABEL_NAME.fullmatch(e):
                    raise self.fail(r.pos_of("equal"), f"invalid label name {e!r} in equal",
                                    "label names are [a-zA-Z_][a-zA-Z0-9_]*")
            out.append(InhibitRule(sides[0], sides[1], equal))
        return out

    def time_intervals(self, doc: PosDict) -> dict[str, list[TimeInterval]]:
        out: dict[str, list[TimeInterval]] = {}
        for key in ("mute_time_intervals", "time_intervals"):
            items = self.seq(doc.get(key), doc.pos_of(key), key)
            for item, pos in zip(items, items.item_pos, strict=True):
                t = self.mapping(item, pos, "time interval", {"name", "time_intervals"})
                name = self.text(t, "name")
                if not name:
                    raise self.fail(pos, "time interval without a name", "add name:")
                if name in out:
                    raise self.fail(t.pos_of("name"), f"time interval {name!r} is not unique",
                                    "rename one of them")
                specs = self.seq(t.get("time_intervals"), t.pos_of("time_intervals"),
                                 "time_intervals")
                parsed = []
                for spec, spos in zip(specs, specs.item_pos, strict=True):
                    try:
                        parsed.append(parse_time_interval(self.mapping(spec, spos,
                                                                       "time interval", None)))
                    except ValueError as exc:
                        raise self.fail(spos, f"time interval {name!r}: {exc}",
                                        "see Alertmanager's time_interval syntax") from None
                out[name] = parsed
        return out


def fetch_config(client: Any) -> AlertmanagerConfig:
    """The configuration a running Alertmanager uses, parsed (``client``: a
    :class:`workbench.sources.alertmanager.Alertmanager`).

    >>> fetch_config(Alertmanager("http://127.0.0.1:9093"))  # doctest: +SKIP
    """
    return AlertmanagerConfig.from_yaml(client.config_text(), source=f"{client.url}/api/v2/status")
