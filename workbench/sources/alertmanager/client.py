"""A client for a running Alertmanager's ``/api/v2``: current alerts, silences, status, posting.

It reuses the Prometheus transport (:class:`~workbench.sources.prometheus.http.HttpTransport`:
session, bearer/basic auth, TLS, headers, whole-response timeout, retries on 429/502/503/504)
and maps its failures to :class:`~workbench.AlertmanagerError` with a fix.

Frames
------
:meth:`Alertmanager.alerts`: one row per alert: ``fingerprint``, ``state`` (``active``,
``suppressed``, ``unprocessed``), ``starts_at``, ``ends_at``, ``updated_at``
(:data:`~workbench.frames.TIMESTAMP`), ``receivers`` (list), ``silenced_by``, ``inhibited_by``
(lists of ids/fingerprints), ``generator_url``, then one ``String`` column per label (sorted,
``alertname`` first; a label named like a fixed column, or ``timestamp``/``value`` as in
:func:`~workbench.frames.label_column`, gets a ``label_`` prefix) and one
``annotation_<name>`` column per annotation.

:meth:`Alertmanager.silences`: ``id``, ``state``, ``matchers`` (``{a="b",c=~"d"}``),
``starts_at``, ``ends_at``, ``updated_at``, ``created_by``, ``comment``.

Examples
--------
>>> am = Alertmanager("http://127.0.0.1:9093")
>>> am.alerts()                     # doctest: +SKIP
>>> am.status()["versionInfo"]["version"]   # doctest: +SKIP
'0.25.0'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import polars as pl
import requests

from ..._errors import (
    AlertmanagerError,
    ConfigError,
    PrometheusError,
    QueryError,
    QueryTimeoutError,
    ServerHTTPError,
    ServerUnreachableError,
)
from ...frames import TIMESTAMP, label_column
from ..prometheus.config import PromConfig, Secret
from ..prometheus.http import HttpTransport

__all__ = ["ALERT_COLUMNS", "SILENCE_SCHEMA", "Alertmanager"]

#: Fixed columns of :meth:`Alertmanager.alerts` (labels and annotations follow).
ALERT_COLUMNS: dict[str, Any] = {
    "fingerprint": pl.String, "state": pl.String, "starts_at": TIMESTAMP, "ends_at": TIMESTAMP,
    "updated_at": TIMESTAMP, "receivers": pl.List(pl.String), "silenced_by": pl.List(pl.String),
    "inhibited_by": pl.List(pl.String), "generator_url": pl.String,
}
#: Columns of :meth:`Alertmanager.silences`.
SILENCE_SCHEMA: dict[str, Any] = {
    "id": pl.String, "state": pl.String, "matchers": pl.String, "starts_at": TIMESTAMP,
    "ends_at": TIMESTAMP, "updated_at": TIMESTAMP, "created_by": pl.String, "comment": pl.String,
}
_OPS = {(False, True): "=", (False, False): "!=", (True, True): "=~", (True, False): "!~"}


def _shape(what: str, value: object, expected: str) -> AlertmanagerError:
    """The error for a JSON field of the wrong shape in an Alertmanager answer."""
    return AlertmanagerError(
        f"Alertmanager answered {what} = {value!r:.80} where {expected} belongs. Fix: check "
        "that the URL points at Alertmanager's /api/v2 (not a proxy or another service) and "
        "that it is a supported version (>= 0.16).")


def _obj(what: str, value: object) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _shape(what, value, "an object")
    return value


def _list(what: str, value: object) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _shape(what, value, "a list")
    return value


def _text(what: str, value: object) -> str | None:
    if value is not None and not isinstance(value, str):
        raise _shape(what, value, "text")
    return value


def _texts(what: str, value: object) -> Mapping[str, str | None]:
    """A JSON object of text values (labels, annotations)."""
    obj = _obj(what, value)
    for k, v in obj.items():
        _text(f"{what}[{k!r}]", v)
    return obj


def _ts(text: object, what: str = "a time") -> datetime | None:
    if not _text(what, text):
        return None
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        raise _shape(what, text, "an RFC 3339 time") from None


def _iso(value: object, what: str) -> str:
    if isinstance(value, str):
        return value
    try:
        if isinstance(value, datetime):
            dt = value if value.tzinfo else value.replace(tzinfo=UTC)
        elif isinstance(value, int | float) and not isinstance(value, bool):  # unix ms
            dt = datetime.fromtimestamp(value / 1000, tz=UTC)
        else:
            raise TypeError(type(value).__name__)
        return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    except (TypeError, ValueError, OverflowError, OSError):
        msg = (f"post_alerts: {what} must be a datetime, unix milliseconds or RFC 3339 text, got "
               f"{value!r:.60}. Fix: pass e.g. datetime.now(UTC).")
        raise AlertmanagerError(msg) from None


class Alertmanager:
    """Read a running Alertmanager (``/api/v2``); post alerts to it (tests, demos).

    Parameters
    ----------
    url
        Base URL, e.g. ``http://127.0.0.1:9093`` (a trailing ``/api/v2`` is dropped).
    session
        A ``requests.Session`` to use (proxies, mTLS adapters); one is created when omitted.
    token, username, password, ca_bundle, verify, headers, timeout
        As for :class:`~workbench.PromConfig` (``token``/``password`` as
        :class:`~workbench.Secret` or plain text).
    config
        A ready :class:`~workbench.PromConfig` instead of the individual settings.
    """

    def __init__(self, url: str | None = None, *, session: requests.Session | None = None,
                 token: Secret | str | None = None, username: str | None = None,
                 password: Secret | str | None = None, ca_bundle: str | None = None,
                 verify: bool = True, headers: Mapping[str, str] | None = None,
                 timeout: float = 30.0, config: PromConfig | None = None) -> None:
        if config is None:
            if url is None:
                msg = "Alertmanager needs a url (e.g. http://127.0.0.1:9093) or config=."
                raise AlertmanagerError(msg)
            if not isinstance(url, str):
                msg = (f"Alertmanager url must be text, got {type(url).__name__}. Fix: pass e.g. "
                       "Alertmanager('http://127.0.0.1:9093').")
                raise ConfigError(msg)
            for name, value in (("token", token), ("password", password)):
                if value is not None and not isinstance(value, str | Secret):
                    msg = (f"Alertmanager {name} must be text or a Secret, got "
                           f"{type(value).__name__}. Fix: pass {name}=Secret(path=...).")
                    raise ConfigError(msg)
            if headers is not None and not isinstance(headers, Mapping):
                msg = (f"Alertmanager headers must be a dict, got {type(headers).__name__}. "
                       "Fix: pass e.g. headers={'X-Scope-OrgID': 'team'}.")
                raise ConfigError(msg)
            url = url.strip().rstrip("/").removesuffix("/api/v2")
            config = PromConfig(
                url=url, token=Secret(token) if isinstance(token, str) else token,
                username=username,
                password=Secret(password) if isinstance(password, str) else password,
                ca_bundle=ca_bundle, verify=verify, headers=dict(headers or {}),
                timeout=timeout, name="alertmanager")
        elif not isinstance(config, PromConfig):
            msg = (f"Alertmanager config must be a PromConfig, got {type(config).__name__}. Fix: "
                   "pass config=PromConfig(url=...) or the url and settings.")
            raise ConfigError(msg)
        self.config = config
        self.url = config.url
        self._get = HttpTransport(config, session=session)
        json_headers = {**config.headers, "Content-Type": "application/json"}
        self._post = HttpTransport(config.with_options(headers=json_headers),
                                   session=self._get.session)

    def __repr__(self) -> str:
        return f"Alertmanager({self.url!r})"

    def close(self) -> None:
        """Close the HTTP session if this client created it."""
        self._get.close()

    def __enter__(self) -> Alertmanager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport ---------------------------------------------------------------------------
    def _request(self, path: str, params: Any = None, *, method: str = "GET") -> Any:
        transport = self._post if method == "POST" else self._get
        failure: AlertmanagerError | None = None
        try:
            body = transport.request(f"/api/v2{path}", params, method=method)
        except ServerUnreachableError as exc:
            failure = AlertmanagerError(
                f"Cannot reach Alertmanager at {self.url}: {exc.cause}. Fix: check the URL "
                "(Alertmanager listens on port 9093 by default) and that it is running and "
                "reachable from here.", url=self.url)
        except QueryTimeoutError as exc:
            failure = AlertmanagerError(
                f"Alertmanager at {self.url} did not answer {path} within {exc.timeout:g} s. "
                "Fix: check its load, or pass a larger timeout=...", url=self.url)
        except (ServerHTTPError, QueryError) as exc:
            code = exc.status_code
            text = exc.body if isinstance(exc, ServerHTTPError) else exc.error
            hint = {400: "the request was malformed (see the message)",
                    401: "the Alertmanager (or its proxy) wants credentials: pass token= or "
                         "username=/password=",
                    403: "the credentials lack permission for this path",
                    404: "the URL does not point at Alertmanager's API; pass the base URL "
                         "(e.g. http://host:9093) without /api/v2"}.get(
                code, "check Alertmanager (or the proxy in front of it) and retry")
            failure = AlertmanagerError(
                f"Alertmanager at {self.url} answered HTTP {code} on {path}: "
                f"{text.strip()[:200]!r}. Fix: {hint}.", url=self.url, status_code=code)
        except PrometheusError as exc:
            failure = AlertmanagerError(f"Alertmanager at {self.url}: {exc}", url=self.url)
        if failure is not None:
            raise failure
        if not body.strip():
            return None
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            raise AlertmanagerError(
                f"Alertmanager at {self.url} answered {path} with a body that is not JSON "
                f"({body[:80]!r}). Fix: check that the URL points at Alertmanager, not a login "
                "page or another service.", url=self.url) from None

    # -- reads -------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """``GET /api/v2/status``: version, uptime, cluster and ``config.original`` (YAML)."""
        doc = self._request("/status")
        if not isinstance(doc, dict):
            msg = f"Alertmanager at {self.url} answered /status with {type(doc).__name__}."
            raise AlertmanagerError(msg, url=self.url)
        return doc

    def config_text(self) -> str:
        """The running configuration's YAML (from :meth:`status`)."""
        original = _obj("/status config", self.status().get("config")).get("original")
        return _text("/status config.original", original) or ""

    def alerts(self, *, active: bool = True, silenced: bool = True, inhibited: bool = True,
               unprocessed: bool = True, filter: Sequence[str] = (),
               receiver: str | None = None) -> pl.DataFrame:
        """``GET /api/v2/alerts`` as a frame (see the module doc for the columns).

        ``filter`` holds matchers like ``'alertname="Watchdog"'``; ``receiver`` is a regex.
        """
        if isinstance(filter, str):
            filter = [filter]
        if not isinstance(filter, Sequence) or not all(isinstance(f, str) for f in filter):
            msg = (f"alerts: filter must be a list of matchers, got {filter!r:.60}. Fix: pass "
                   "e.g. filter=['alertname=\"Watchdog\"'].")
            raise AlertmanagerError(msg)
        if receiver is not None and not isinstance(receiver, str):
            msg = (f"alerts: receiver must be a regex (text), got {receiver!r:.60}. Fix: pass "
                   "e.g. receiver='team-.*'.")
            raise AlertmanagerError(msg)
        params: list[tuple[str, Any]] = [
            ("active", str(active).lower()), ("silenced", str(silenced).lower()),
            ("inhibited", str(inhibited).lower()), ("unprocessed", str(unprocessed).lower()),
            *(("filter", f) for f in filter)]
        if receiver is not None:
            params.append(("receiver", receiver))
        return alerts_frame(self._request("/alerts", params) or [])

    def silences(self) -> pl.DataFrame:
        """``GET /api/v2/silences`` as a frame (see the module doc for the columns)."""
        rows = []
        for i, s in enumerate(_list("/silences", self._request("/silences"))):
            s = _obj(f"/silences[{i}]", s)
            parts = []
            for j, m in enumerate(_list(f"/silences[{i}].matchers", s.get("matchers"))):
                m = _obj(f"/silences[{i}].matchers[{j}]", m)
                name, value = m.get("name"), m.get("value")
                if not isinstance(name, str) or not isinstance(value, str):
                    raise _shape(f"/silences[{i}].matchers[{j}]", m,
                                 "a matcher with text name and value")
                op = _OPS[(bool(m.get("isRegex")), m.get("isEqual", True) is not False)]
                parts.append(f"{name}{op}{orjson.dumps(value).decode()}")
            ms = ",".join(parts)
            for key in ("id", "createdBy", "comment"):
                _text(f"/silences[{i}].{key}", s.get(key))
            state = _text(f"/silences[{i}].status.state",
                          _obj(f"/silences[{i}].status", s.get("status")).get("state"))
            rows.append({"id": s.get("id"), "state": state,
                         "matchers": "{" + ms + "}", "starts_at": _ts(s.get("startsAt"), "startsAt"),
                         "ends_at": _ts(s.get("endsAt"), "endsAt"),
                         "updated_at": _ts(s.get("updatedAt"), "updatedAt"),
                         "created_by": s.get("createdBy"), "comment": s.get("comment")})
        return pl.DataFrame(rows, schema=SILENCE_SCHEMA)

    # -- writes ------------------------------------------------------------------------------
    def post_alerts(self, alerts: Iterable[Mapping[str, Any]]) -> None:
        """``POST /api/v2/alerts`` as Prometheus does.

        Each alert: ``labels`` (dict), optional ``annotations``, ``starts_at``, ``ends_at``
        (datetime, unix ms or RFC 3339 text) and ``generator_url``.
        """
        fix = ("Fix: pass a list of dicts like {'labels': {'alertname': 'X'}, "
               "'annotations': {...}}.")
        if isinstance(alerts, str | bytes | Mapping) or not isinstance(alerts, Iterable):
            msg = f"post_alerts: alerts must be a list of alert dicts, got {alerts!r:.60}. {fix}"
            raise AlertmanagerError(msg)
        payload = []
        for i, a in enumerate(alerts):
            if not isinstance(a, Mapping):
                msg = f"post_alerts: alerts[{i}] must be a dict, got {a!r:.60}. {fix}"
                raise AlertmanagerError(msg)
            for key in ("labels", "annotations"):
                v = a.get(key)
                if not ((v is None and key == "annotations") or (isinstance(v, Mapping)
                        and all(isinstance(k, str) and isinstance(t, str)
                                for k, t in v.items()))):
                    msg = (f"post_alerts: alerts[{i}][{key!r}] must be a dict of text to text, "
                           f"got {v!r:.60}. {fix}")
                    raise AlertmanagerError(msg)
            item: dict[str, Any] = {"labels": dict(a["labels"]),
                                    "annotations": dict(a.get("annotations") or {})}
            for key, api in (("starts_at", "startsAt"), ("ends_at", "endsAt")):
                if a.get(key) is not None:
                    item[api] = _iso(a[key], f"alerts[{i}][{key!r}]")
            url = a.get("generator_url")
            if url is not None and not isinstance(url, str):
                msg = f"post_alerts: alerts[{i}]['generator_url'] must be text, got {url!r:.60}."
                raise AlertmanagerError(msg)
            if url:
                item["generatorURL"] = url
            payload.append(item)
        self._request("/alerts", orjson.dumps(payload), method="POST")


def alerts_frame(items: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """``/api/v2/alerts`` JSON -> the :meth:`Alertmanager.alerts` frame.

    Examples
    --------
    >>> alerts_frame([{"labels": {"alertname": "A"}, "status": {"state": "active"}}]).rows()
    [(None, 'active', None, None, None, [], [], [], None, 'A')]
    """
    if not isinstance(items, list):
        raise _shape("/alerts", items, "a list of alerts")
    for i, a in enumerate(items):
        if not isinstance(a, Mapping):
            raise _shape(f"/alerts[{i}]", a, "an alert object")
        _texts(f"/alerts[{i}].labels", a.get("labels"))
        _texts(f"/alerts[{i}].annotations", a.get("annotations"))
        status = _obj(f"/alerts[{i}].status", a.get("status"))
        _text(f"/alerts[{i}].status.state", status.get("state"))
        for key in ("silencedBy", "inhibitedBy"):
            for v in _list(f"/alerts[{i}].status.{key}", status.get(key)):
                _text(f"/alerts[{i}].status.{key}[]", v)
        for r in _list(f"/alerts[{i}].receivers", a.get("receivers")):
            _text(f"/alerts[{i}].receivers[].name", _obj(f"/alerts[{i}].receivers[]", r).get(
                "name"))
        for key in ("fingerprint", "generatorURL"):
            _text(f"/alerts[{i}].{key}", a.get(key))
    label_names = sorted({k for a in items for k in a.get("labels") or {}},
                         key=lambda k: (k != "alertname", k))
    ann_names = sorted({k for a in items for k in a.get("annotations") or {}})

    def col(name: str) -> str:
        name = label_column(name)
        return f"label_{name}" if name in ALERT_COLUMNS or name.startswith(
            "annotation_") else name

    rows = []
    for a in items:
        status = a.get("status") or {}
        row: dict[str, Any] = {
            "fingerprint": a.get("fingerprint"), "state": status.get("state"),
            "starts_at": _ts(a.get("startsAt"), "startsAt"),
            "ends_at": _ts(a.get("endsAt"), "endsAt"),
            "updated_at": _ts(a.get("updatedAt"), "updatedAt"),
            "receivers": [(r or {}).get("name") for r in a.get("receivers") or []],
            "silenced_by": list(status.get("silencedBy") or []),
            "inhibited_by": list(status.get("inhibitedBy") or []),
            "generator_url": a.get("generatorURL")}
        labels, anns = a.get("labels") or {}, a.get("annotations") or {}
        row.update({col(n): labels.get(n) for n in label_names})
        row.update({f"annotation_{n}": anns.get(n) for n in ann_names})
        rows.append(row)
    schema = {**ALERT_COLUMNS, **{col(n): pl.String for n in label_names},
              **{f"annotation_{n}": pl.String for n in ann_names}}
    return pl.DataFrame(rows, schema=schema)
