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


def _ts(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _iso(value: datetime | int | float | str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        dt = value if value.tzinfo else value.replace(tzinfo=UTC)
    else:                                       # unix ms
        dt = datetime.fromtimestamp(value / 1000, tz=UTC)
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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
            url = url.strip().rstrip("/").removesuffix("/api/v2")
            config = PromConfig(
                url=url, token=Secret(token) if isinstance(token, str) else token,
                username=username,
                password=Secret(password) if isinstance(password, str) else password,
                ca_bundle=ca_bundle, verify=verify, headers=dict(headers or {}),
                timeout=timeout, name="alertmanager")
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
        return str(self.status().get("config", {}).get("original", ""))

    def alerts(self, *, active: bool = True, silenced: bool = True, inhibited: bool = True,
               unprocessed: bool = True, filter: Sequence[str] = (),
               receiver: str | None = None) -> pl.DataFrame:
        """``GET /api/v2/alerts`` as a frame (see the module doc for the columns).

        ``filter`` holds matchers like ``'alertname="Watchdog"'``; ``receiver`` is a regex.
        """
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
        for s in self._request("/silences") or []:
            ms = ",".join(f'{m["name"]}{_OPS[(bool(m.get("isRegex")), m.get("isEqual", True))]}'
                          f'{orjson.dumps(m["value"]).decode()}' for m in s.get("matchers", []))
            rows.append({"id": s.get("id"), "state": s.get("status", {}).get("state"),
                         "matchers": "{" + ms + "}", "starts_at": _ts(s.get("startsAt")),
                         "ends_at": _ts(s.get("endsAt")), "updated_at": _ts(s.get("updatedAt")),
                         "created_by": s.get("createdBy"), "comment": s.get("comment")})
        return pl.DataFrame(rows, schema=SILENCE_SCHEMA)

    # -- writes ------------------------------------------------------------------------------
    def post_alerts(self, alerts: Iterable[Mapping[str, Any]]) -> None:
        """``POST /api/v2/alerts`` as Prometheus does.

        Each alert: ``labels`` (dict), optional ``annotations``, ``starts_at``, ``ends_at``
        (datetime, unix ms or RFC 3339 text) and ``generator_url``.
        """
        payload = []
        for a in alerts:
            item: dict[str, Any] = {"labels": dict(a["labels"]),
                                    "annotations": dict(a.get("annotations") or {})}
            for key, api in (("starts_at", "startsAt"), ("ends_at", "endsAt")):
                if a.get(key) is not None:
                    item[api] = _iso(a[key])
            if a.get("generator_url"):
                item["generatorURL"] = a["generator_url"]
            payload.append(item)
        self._request("/alerts", orjson.dumps(payload), method="POST")


def alerts_frame(items: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """``/api/v2/alerts`` JSON -> the :meth:`Alertmanager.alerts` frame."""
    label_names = sorted({k for a in items for k in a.get("labels", {})},
                         key=lambda k: (k != "alertname", k))
    ann_names = sorted({k for a in items for k in a.get("annotations", {})})

    def col(name: str) -> str:
        name = label_column(name)
        return f"label_{name}" if name in ALERT_COLUMNS or name.startswith(
            "annotation_") else name

    rows = []
    for a in items:
        status = a.get("status", {})
        row: dict[str, Any] = {
            "fingerprint": a.get("fingerprint"), "state": status.get("state"),
            "starts_at": _ts(a.get("startsAt")), "ends_at": _ts(a.get("endsAt")),
            "updated_at": _ts(a.get("updatedAt")),
            "receivers": [r.get("name") for r in a.get("receivers", [])],
            "silenced_by": list(status.get("silencedBy") or []),
            "inhibited_by": list(status.get("inhibitedBy") or []),
            "generator_url": a.get("generatorURL")}
        labels, anns = a.get("labels", {}), a.get("annotations", {})
        row.update({col(n): labels.get(n) for n in label_names})
        row.update({f"annotation_{n}": anns.get(n) for n in ann_names})
        rows.append(row)
    schema = {**ALERT_COLUMNS, **{col(n): pl.String for n in label_names},
              **{f"annotation_{n}": pl.String for n in ann_names}}
    return pl.DataFrame(rows, schema=schema)
