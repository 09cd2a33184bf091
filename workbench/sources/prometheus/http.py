"""The HTTP layer under :class:`workbench.Prometheus`: session, auth, retries, error mapping.

It returns raw response bytes so the decoder can parse them straight into columns. The
``requests.Session`` is injectable (mTLS, proxies, adapters, or a ``PrometheusConnect``'s own
session), which is also the seam tests use.
"""

from __future__ import annotations

import base64
import logging
import os
import random
import re
import ssl
import time
import warnings
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urlencode

import orjson
import requests
import urllib3

from ..._errors import (
    ConfigError,
    PrometheusError,
    QueryError,
    QueryTimeoutError,
    ServerHTTPError,
    ServerUnreachableError,
    WorkbenchError,
)
from .config import PromConfig, check_timeout

__all__ = ["HttpTransport", "PrometheusWarning"]

log = logging.getLogger("workbench.sources.prometheus")

_SENSITIVE = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key"})
RETRY_STATUS = frozenset({429, 502, 503, 504})
MAX_RETRY_AFTER_S = 30.0
# What requests accepts as a header value (no leading blank, no CR/LF/NUL). requests' own
# InvalidHeader error quotes the whole value, so values are checked here first.
_VALID_HEADER_VALUE = re.compile(r"^(?:\S[^\r\n\x00]*)?$")


class PrometheusWarning(UserWarning):
    """A warning the Prometheus API returned with a successful result."""


def _retry_after_s(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _is_reset(exc: BaseException) -> bool:
    text = repr(exc)
    return any(s in text for s in ("ConnectionResetError", "RemoteDisconnected", "Connection aborted",
                                   "BrokenPipe", "IncompleteRead", "ProtocolError"))


class HttpTransport:
    """POST/GET against one Prometheus base URL with bounded retries.

    Parameters
    ----------
    config
        Connection settings (URL, auth, TLS, headers, timeout).
    session
        A ``requests.Session`` to use; one is created (and owned) when omitted.
    max_retries
        Retries for 429/502/503/504 and connection resets (``Retry-After`` honoured, capped at
        30 s); other failures are not retried.
    backoff
        Base of the exponential backoff in seconds (0.5 -> 0.5, 1, 2, ... plus jitter).
    sleep
        Injectable sleep, for tests.
    """

    def __init__(
        self,
        config: PromConfig,
        *,
        session: requests.Session | None = None,
        max_retries: int = 3,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self._owns_session = session is None
        self.session = session if session is not None else requests.Session()
        self.max_retries = max_retries
        self.backoff = backoff
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"HttpTransport({self.config!r})"

    def close(self) -> None:
        """Close the session if this transport created it."""
        if self._owns_session:
            self.session.close()

    # -- request building -----------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": "observability-workbench"}
        headers.update(self.config.headers)
        for name, value in self.config.headers.items():
            if not isinstance(value, str) or not _VALID_HEADER_VALUE.match(value) \
                    or not _latin1(value):
                msg = (
                    f"The header {name!r} has a value that cannot be sent (a line break, a NUL, "
                    "leading blanks or characters outside Latin-1). Fix: correct the configured "
                    "header value (it is not shown here)."
                )
                raise ConfigError(msg)
        if self.config.token is not None:
            # A token read with open(...).read() or copied from a terminal often ends in a
            # newline; a bearer token never contains blanks, so surrounding ones are dropped.
            token = self.config.token.get().strip()
            if not _VALID_HEADER_VALUE.match(token) or any(c.isspace() for c in token) \
                    or not token.isascii():
                msg = (
                    f"The bearer token ({self.config.token.source}) contains blanks, line breaks, "
                    "control or non-ASCII characters, so it cannot be sent. Fix: check the "
                    "token's value (it is not shown here)."
                )
                raise ConfigError(msg)
            headers["Authorization"] = f"Bearer {token}"
        if self.config.username is not None:
            # Built here, UTF-8 encoded (RFC 7617; what Go servers compare): requests would encode
            # as Latin-1 and fail on other characters with an error quoting the password.
            pw = self.config.password.get() if self.config.password is not None else ""
            headers["Authorization"] = _basic(self.config.username, pw)
        return headers

    def _secrets(self) -> list[str]:
        """Every credential this transport sends, in the forms a server could echo it."""
        cfg, found = self.config, []
        found += [v for k, v in cfg.headers.items() if k.lower() in _SENSITIVE]
        found += [str(v) for k, v in self.session.headers.items()
                  if str(k).lower() in _SENSITIVE and v]
        auth: Any = self.session.auth
        if not isinstance(auth, tuple) and getattr(auth, "password", None) is not None:
            auth = (getattr(auth, "username", ""), auth.password)  # requests' HTTPBasicAuth
        if isinstance(auth, tuple) and len(auth) == 2:
            user, pw = (a.decode("latin-1") if isinstance(a, bytes) else str(a) for a in auth)
            found += [pw, _basic(user, pw)[6:],
                      base64.b64encode(f"{user}:{pw}".encode("latin-1", "replace")).decode()]
        for proxy in (self.session.proxies or {}).values():
            if isinstance(proxy, str) and "@" in proxy:
                found.append(proxy.split("//", 1)[-1].split("@", 1)[0])
        try:
            if cfg.token is not None:
                found.append(cfg.token.get().strip())
            if cfg.username is not None:
                pw = cfg.password.get() if cfg.password is not None else ""
                found += [_basic(cfg.username, pw)[6:], pw]
        except WorkbenchError:  # an unreadable token file: nothing was sent from it
            pass
        for value in list(found):  # a value after "Bearer "/"Basic ", JSON- or URL-escaped
            found += [value.split(" ", 1)[-1], orjson.dumps(value).decode()[1:-1],
                      quote(value, safe="")]
        return sorted({v for v in found if v}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        """``text`` with every credential this client sends replaced by ``<hidden>``.

        The one redaction used for everything the Prometheus client raises, warns or logs with
        server-provided text in it (error bodies, error JSON, warnings, decode errors): tokens,
        passwords, the basic-auth base64, sensitive header values (``Authorization``,
        ``Cookie``, ``X-Api-Key``, ...), a shared session's credentials, and their JSON- and
        URL-escaped forms.

        Examples
        --------
        >>> from workbench.sources.prometheus.config import Secret
        >>> t = HttpTransport(PromConfig(url="http://h:9090", username="u",
        ...                               password=Secret("hunter2-pw")))
        >>> t.redact('denied "Basic dTpodW50ZXIyLXB3" for hunter2-pw')
        'denied "Basic <hidden>" for <hidden>'
        """
        text = str(text)
        for secret in self._secrets():
            text = text.replace(secret, "<hidden>")
        return text

    def _kwargs(self, timeout: float | None) -> dict[str, Any]:
        kw: dict[str, Any] = {
            "headers": self._headers(),
            "timeout": self.config.timeout if timeout is None else check_timeout(timeout),
        }
        if not self.config.verify:
            kw["verify"] = False
        elif self.config.ca_bundle:
            kw["verify"] = _usable_ca_bundle(self.config.ca_bundle)
        return kw

    # -- the one entry point --------------------------------------------------------------------

    def request(
        self,
        path: str,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        *,
        method: str = "POST",
        query: str | None = None,
        timeout: float | None = None,
    ) -> bytes:
        """Send one API request and return the body of a successful response.

        Raises the matching :class:`~workbench.PrometheusError` subclass otherwise; API
        ``warnings`` are emitted as :class:`PrometheusWarning` by the caller's decoder.
        """
        url = f"{self.config.url}{path}"
        if self.config.query_params:  # Thanos dedup/partial_response, VictoriaMetrics nocache
            url = f"{url}?{urlencode(sorted(self.config.query_params.items()))}"
        kw = self._kwargs(timeout)
        if method == "POST":
            kw["data"] = params
        else:
            kw["params"] = params
        attempt = 0
        while True:
            t0 = time.perf_counter()
            # ``timeout`` bounds the whole request, body included: requests' own timeout is per
            # socket read, so a server or proxy trickling the body would never time out.
            deadline = time.monotonic() + float(kw["timeout"])
            # Failures are built inside the except clauses but raised after them, so the raised
            # error has no __context__: requests' exception holds the request, headers included.
            failure: PrometheusError | None = None
            reset = False
            try:
                resp = self.session.request(method, url, stream=True, **kw)
                try:
                    body = _read_body(resp, deadline)
                finally:
                    resp.close()
            except requests.exceptions.ConnectTimeout:
                failure = ServerUnreachableError(
                    url=self.config.url, query=query,
                    cause=f"connection attempt timed out after {kw['timeout']:g} s")
            except requests.exceptions.ReadTimeout:
                failure = QueryTimeoutError(
                    url=self.config.url, query=query, timeout=float(kw["timeout"]))
            except requests.exceptions.SSLError as exc:
                failure = ServerUnreachableError(
                    url=self.config.url, query=query,
                    cause=self.redact(f"TLS failure ({_short(exc)})"))
            except (requests.exceptions.ConnectionError,
                    requests.exceptions.ChunkedEncodingError) as exc:
                reset = _is_reset(exc) and attempt < self.max_retries
                if not reset:
                    failure = ServerUnreachableError(
                        url=self.config.url, query=query, cause=self.redact(_short(exc)))
            except (requests.exceptions.RequestException, ValueError, OSError) as exc:
                # Anything else requests/urllib3 refuse (a URL or header they cannot send, a
                # body that cannot be decoded): ours, and never quoting what was sent.
                failure = ServerUnreachableError(
                    url=self.config.url, query=query,
                    cause=self.redact(f"the request could not be sent or read "
                                      f"({type(exc).__name__}: {_short(exc)})"))
            if failure is not None:
                raise failure
            if reset:
                attempt += 1
                self._wait(attempt, None, "connection reset")
                continue
            elapsed = time.perf_counter() - t0
            log.debug("%s %s -> %s in %.3fs (%d bytes)", method, path, resp.status_code, elapsed,
                      len(body))
            if resp.status_code in RETRY_STATUS and attempt < self.max_retries:
                attempt += 1
                self._wait(attempt, _retry_after_s(resp.headers.get("Retry-After")),
                           f"HTTP {resp.status_code}")
                continue
            if resp.status_code >= 400:
                self._raise_for_error(resp.status_code, body, query)
            return body

    def _wait(self, attempt: int, retry_after: float | None, why: str) -> None:
        delay = (
            min(retry_after, MAX_RETRY_AFTER_S)
            if retry_after is not None
            else self.backoff * 2 ** (attempt - 1) * (1 + random.random() / 4)
        )
        log.info("retrying %s after %s (attempt %d/%d, %.2fs)", self.config.url, why, attempt,
                 self.max_retries, delay)
        self._sleep(delay)

    def _raise_for_error(self, status_code: int, body: bytes, query: str | None) -> None:
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError:
            doc = None
        if isinstance(doc, dict) and doc.get("status") == "error":
            raise QueryError(
                url=self.config.url, query=query, error_type=str(doc.get("errorType", ""))[:60],
                error=_bounded(self.redact(str(doc.get("error", "")))), status_code=status_code,
            )
        raise ServerHTTPError(
            url=self.config.url, status_code=status_code,
            body=self.redact(body.decode("utf-8", "replace")), query=query,
        )


def _read_body(resp: requests.Response, deadline: float) -> bytes:
    """Read a streamed body whole, giving up at ``deadline`` (``time.monotonic()``).

    Each read waits at most the time left (the socket timeout is lowered to it), and urllib3's
    errors become the requests exceptions that ``resp.content`` would have raised.
    """
    raw = resp.raw
    read = getattr(raw, "read1", None) or raw.read  # read1: urllib3 >= 2, returns what arrived
    chunks: list[bytes] = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise requests.exceptions.ReadTimeout("the response did not complete in time")
        sock = getattr(getattr(raw, "connection", None), "sock", None)
        if sock is not None:
            sock.settimeout(left)
        try:
            chunk = read(1 << 20, decode_content=True)
        except (urllib3.exceptions.ReadTimeoutError, TimeoutError) as exc:
            raise requests.exceptions.ReadTimeout(str(exc)) from None
        except urllib3.exceptions.ProtocolError as exc:
            raise requests.exceptions.ChunkedEncodingError(exc) from None
        except urllib3.exceptions.DecodeError as exc:
            raise requests.exceptions.ContentDecodingError(exc) from None
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


#: Server texts (error bodies, warnings) quoted in our errors and warnings are cut to this.
MAX_QUOTED = 500


def _bounded(text: str) -> str:
    return text if len(text) <= MAX_QUOTED else text[: MAX_QUOTED - 3] + "..."


_CA_OK: dict[tuple[str, float], str] = {}


def _usable_ca_bundle(path: str) -> str:
    """``path`` when it is a readable CA bundle (file or directory); a ConfigError otherwise,
    raised before any request (requests' own error is a bare OSError, or a TLS failure)."""
    try:
        mtime = os.stat(path).st_mtime
    except OSError as exc:
        msg = (f"The CA bundle {path!r} cannot be read ({exc.strerror}). Fix: point ca_bundle at "
               "the PEM file (or directory) of the CA that signed the server's certificate.")
        raise ConfigError(msg) from None
    if (path, mtime) not in _CA_OK:
        try:
            if os.path.isdir(path):
                ssl.create_default_context(capath=path)
            else:
                ssl.create_default_context(cafile=path)
        except (ssl.SSLError, OSError, ValueError) as exc:
            msg = (f"The CA bundle {path!r} holds no usable certificate ({_short(exc)}). Fix: "
                   "point ca_bundle at a PEM file with the CA certificate(s).")
            raise ConfigError(msg) from None
        _CA_OK[(path, mtime)] = path
    return path


def _latin1(value: str) -> bool:
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def _basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def _short(exc: BaseException) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "No route to host",
                   "Temporary failure in name resolution", "certificate verify failed",
                   "Connection reset by peer", "Remote end closed connection"):
        if marker in text:
            return marker
    return text[:200]


def emit_warnings(warns: list[str], query: str | None,
                  redact: Callable[[str], str] | None = None) -> None:
    """Surface API ``warnings`` as :class:`PrometheusWarning` (through ``redact`` when given)."""
    for w in warns:
        w = redact(str(w)) if redact is not None else w
        where = f" (query {query[:200]!r})" if query else ""
        warnings.warn(f"Prometheus warning{where}: {_bounded(str(w))}", PrometheusWarning,
                      stacklevel=4)
