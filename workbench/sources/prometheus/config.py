"""Connection settings for Prometheus: explicit arguments, named profiles, or the environment.

Nothing here runs at import time; every lookup happens when a constructor is called.

Profiles live in a TOML file, by default ``~/.config/workbench/config.toml`` (the path can be
given explicitly or with ``WORKBENCH_CONFIG``)::

    [profiles.prod]
    url = "https://prometheus.example.com"
    token_env = "PROD_PROMETHEUS_TOKEN"     # or token_file = "/var/run/secrets/prom-token"
    ca_bundle = "/etc/ssl/certs/internal-ca.pem"
    headers = { "X-Scope-OrgID" = "team-a" }
    timeout = 60

    [profiles.thanos]
    url = "https://thanos-query.example.com"
    query_params = { dedup = "true", partial_response = "false" }

    [profiles.lab]
    url = "http://127.0.0.1:9090"
    username = "admin"
    password_env = "LAB_PROMETHEUS_PASSWORD"

A profile names *where* a secret lives, never the secret itself, so a report parameter such as
``prometheus="prod"`` is safe to store in a notebook.

Environment variables read by :meth:`PromConfig.from_env`:

================================  =====================================================
``WORKBENCH_PROMETHEUS_URL``       base URL (required)
``WORKBENCH_PROMETHEUS_TOKEN``     bearer token
``WORKBENCH_PROMETHEUS_TOKEN_FILE`` file holding the bearer token (re-read when it changes)
``WORKBENCH_PROMETHEUS_USERNAME``  basic-auth user (with ``..._PASSWORD``)
``WORKBENCH_PROMETHEUS_PASSWORD``  basic-auth password
``WORKBENCH_PROMETHEUS_CA_BUNDLE`` CA bundle path for TLS verification
``WORKBENCH_PROMETHEUS_INSECURE``  ``true`` to disable TLS verification (not recommended)
``WORKBENCH_PROMETHEUS_HEADERS``   extra headers, ``Name=value,Other=value``
``WORKBENCH_PROMETHEUS_TIMEOUT``   request timeout in seconds
``WORKBENCH_PROMETHEUS_QUERY_PARAMS`` extra query parameters, ``name=value,other=value``
================================  =====================================================
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..._errors import ConfigError

__all__ = ["DEFAULT_TIMEOUT", "PromConfig", "Secret", "check_timeout", "default_config_path"]

DEFAULT_TIMEOUT = 60.0
_ENV = "WORKBENCH_PROMETHEUS_"
_SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key"})


class Secret:
    """A credential resolved at request time; its value never shows in ``repr`` or ``str``.

    Either a literal value or a file path (re-read when the file's mtime changes, so rotated
    service-account tokens keep working).
    """

    __slots__ = ("_cache", "_path", "_source", "_value")

    def __init__(self, value: str | None = None, *, path: str | os.PathLike[str] | None = None,
                 source: str = "value") -> None:
        if (value is None) == (path is None):
            msg = "Secret needs exactly one of a value or a file path."
            raise ConfigError(msg)
        if value is not None and not isinstance(value, str):
            msg = f"A secret's value must be text, got {type(value).__name__} (not shown)."
            raise ConfigError(msg)
        if path is not None and not isinstance(path, str | os.PathLike):
            msg = f"A secret's file must be a path, got {type(path).__name__}."
            raise ConfigError(msg)
        self._value = value
        self._path = Path(path) if path is not None else None
        self._cache: tuple[float, str] | None = None
        self._source = source

    def get(self) -> str:
        """Return the secret's current value."""
        if self._value is not None:
            return self._value
        assert self._path is not None
        try:
            mtime = self._path.stat().st_mtime
            if self._cache is None or self._cache[0] != mtime:
                self._cache = (mtime, self._path.read_bytes().decode("utf-8").strip())
        except UnicodeDecodeError:
            msg = (f"The credential file {str(self._path)!r} is not UTF-8 text (its content is not "
                   "shown). Fix: write the token as plain text.")
            raise ConfigError(msg) from None
        except OSError as exc:
            msg = (
                f"Cannot read the credential file {str(self._path)!r} ({exc.strerror}). Fix: "
                "check the path and its permissions."
            )
            raise ConfigError(msg) from None
        return self._cache[1]

    @property
    def source(self) -> str:
        """Where the value comes from, for messages (``"file '/path'"``, ``"$VAR"``); never the value."""
        return f"file {str(self._path)!r}" if self._path is not None else self._source

    def fingerprint(self) -> str:
        """A stable identity for cache keys that does not reveal the value: the file's path (a
        rotated token keeps its identity), or a SHA-256 of the literal value."""
        if self._path is not None:
            return f"file:{self._path}"
        assert self._value is not None
        return "sha256:" + hashlib.sha256(self._value.encode()).hexdigest()

    def __repr__(self) -> str:
        return f"Secret(<hidden>, from {self.source})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and (self._value, self._path) == (other._value, other._path)

    def __hash__(self) -> int:
        return hash((self._value, self._path))


def default_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """Return the profile file path: ``$WORKBENCH_CONFIG`` or ``~/.config/workbench/config.toml``."""
    env = os.environ if environ is None else environ
    if env.get("WORKBENCH_CONFIG"):
        return Path(env["WORKBENCH_CONFIG"]).expanduser()
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "workbench" / "config.toml"


def _truthy(text: str) -> bool:
    return text.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class PromConfig:
    """Immutable connection settings for one Prometheus-compatible server.

    Parameters
    ----------
    url
        Base URL, e.g. ``http://127.0.0.1:9090`` or ``https://mimir.example/prometheus``.
    token
        Bearer token (a :class:`Secret`).
    username, password
        Basic auth (``password`` is a :class:`Secret`).
    ca_bundle
        CA bundle path for TLS verification.
    verify
        TLS verification; stays ``True`` unless explicitly disabled.
    headers
        Extra headers, e.g. ``{"X-Scope-OrgID": "tenant-a"}`` for Mimir/Cortex.
    timeout
        Seconds to wait for one request.
    name
        Profile name, for messages.
    query_params
        Extra URL parameters sent with every API request, e.g. ``{"dedup": "true",
        "partial_response": "false"}`` for Thanos or ``{"nocache": "1"}`` for VictoriaMetrics.

    Examples
    --------
    >>> cfg = PromConfig(url="http://127.0.0.1:9090", token=Secret("abc"))
    >>> "abc" in repr(cfg)
    False
    """

    url: str
    token: Secret | None = None
    username: str | None = None
    password: Secret | None = None
    ca_bundle: str | None = None
    verify: bool = True
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout: float = DEFAULT_TIMEOUT
    name: str | None = None
    query_params: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.url, str):
            msg = (f"The Prometheus URL must be text like 'http://127.0.0.1:9090', got "
                   f"{type(self.url).__name__} {str(self.url)[:80]!r}.")
            raise ConfigError(msg)
        url = str(self.url).strip().rstrip("/")
        if not url.startswith(("http://", "https://")):
            msg = (
                f"Invalid Prometheus URL {self.url!r}: it must start with http:// or https:// "
                "(e.g. http://127.0.0.1:9090)."
            )
            raise ConfigError(msg)
        if "@" in url.split("//", 1)[1].split("/", 1)[0]:
            msg = (
                "Credentials in the Prometheus URL are not accepted (they would leak into logs and "
                "reports). Fix: pass username=/password= or a token instead."
            )
            raise ConfigError(msg)
        _check_host_port(url)
        if url.endswith("/api/v1"):
            url = url[: -len("/api/v1")]
        object.__setattr__(self, "url", url)
        object.__setattr__(self, "headers", _text_map(self.headers, "headers", hide=True))
        object.__setattr__(self, "query_params", _text_map(self.query_params, "query_params"))
        for name in ("token", "password"):
            value = getattr(self, name)
            if isinstance(value, str):  # a plain string is taken as the secret's value
                object.__setattr__(self, name, Secret(value, source=f"{name} argument"))
            elif value is not None and not isinstance(value, Secret):
                msg = f"{name} must be a string or a Secret, got {type(value).__name__}."
                raise ConfigError(msg)
        for name in ("username", "name"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                msg = f"{name} must be text, got {type(value).__name__} {str(value)[:80]!r}."
                raise ConfigError(msg)
        if self.ca_bundle is not None:
            if not isinstance(self.ca_bundle, str | os.PathLike):
                msg = f"ca_bundle must be a file path, got {type(self.ca_bundle).__name__}."
                raise ConfigError(msg)
            object.__setattr__(self, "ca_bundle", os.fspath(self.ca_bundle))
        if not isinstance(self.verify, bool):
            msg = f"verify must be True or False, got {self.verify!r}."
            raise ConfigError(msg)
        if self.password is not None and self.username is None:
            msg = "A password was given without a username. Fix: set username= too."
            raise ConfigError(msg)
        object.__setattr__(self, "timeout", check_timeout(self.timeout))

    def __repr__(self) -> str:
        parts = [f"url={self.url!r}"]
        if self.name:
            parts.insert(0, f"name={self.name!r}")
        if self.token is not None:
            parts.append("token=<hidden>")
        if self.username is not None:
            parts.append(f"username={self.username!r}, password=<hidden>")
        if self.ca_bundle:
            parts.append(f"ca_bundle={self.ca_bundle!r}")
        if not self.verify:
            parts.append("verify=False")
        if self.headers:
            shown = {
                k: ("<hidden>" if k.lower() in _SENSITIVE_HEADERS else v)
                for k, v in self.headers.items()
            }
            parts.append(f"headers={shown!r}")
        if self.query_params:
            parts.append(f"query_params={dict(self.query_params)!r}")
        parts.append(f"timeout={self.timeout:g}")
        return f"PromConfig({', '.join(parts)})"

    def with_options(self, **changes: Any) -> PromConfig:
        """Return a copy with some fields replaced."""
        return replace(self, **changes)

    # -- constructors -------------------------------------------------------------------------

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PromConfig:
        """Build a config from ``WORKBENCH_PROMETHEUS_*`` variables (see the module docstring)."""
        env = os.environ if environ is None else environ
        url = env.get(_ENV + "URL")
        if not url:
            msg = (
                f"{_ENV}URL is not set. Fix: export {_ENV}URL=http://prometheus:9090 (and "
                f"{_ENV}TOKEN or {_ENV}TOKEN_FILE if the server needs a token)."
            )
            raise ConfigError(msg)
        token = None
        if env.get(_ENV + "TOKEN"):
            token = Secret(env[_ENV + "TOKEN"], source=f"${_ENV}TOKEN")
        elif env.get(_ENV + "TOKEN_FILE"):
            token = Secret(path=env[_ENV + "TOKEN_FILE"])
        password = (
            Secret(env[_ENV + "PASSWORD"], source=f"${_ENV}PASSWORD")
            if env.get(_ENV + "PASSWORD")
            else None
        )
        headers = {}
        for item in filter(None, (env.get(_ENV + "HEADERS") or "").split(",")):
            if "=" not in item:
                msg = f"{_ENV}HEADERS must look like 'Name=value,Other=value'; got an item without '='."
                raise ConfigError(msg)
            k, v = item.split("=", 1)
            headers[k.strip()] = v.strip()
        query_params = {}
        for item in filter(None, (env.get(_ENV + "QUERY_PARAMS") or "").split(",")):
            if "=" not in item:
                msg = (f"{_ENV}QUERY_PARAMS must look like 'name=value,other=value'; got an item "
                       "without '='.")
                raise ConfigError(msg)
            k, v = item.split("=", 1)
            query_params[k.strip()] = v.strip()
        timeout = env.get(_ENV + "TIMEOUT")
        try:
            timeout_s = float(timeout) if timeout else DEFAULT_TIMEOUT
        except ValueError:
            msg = f"{_ENV}TIMEOUT must be a number of seconds, got {timeout!r}."
            raise ConfigError(msg) from None
        return cls(
            url=url,
            token=token,
            username=env.get(_ENV + "USERNAME") or None,
            password=password,
            ca_bundle=env.get(_ENV + "CA_BUNDLE") or None,
            verify=not _truthy(env.get(_ENV + "INSECURE", "")),
            headers=headers,
            timeout=timeout_s,
            name="env",
            query_params=query_params,
        )

    @classmethod
    def from_profile(
        cls,
        name: str,
        path: str | os.PathLike[str] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> PromConfig:
        """Build a config from a named profile in the TOML config file.

        Secrets are named by ``token_env``/``token_file``/``password_env``/``password_file``;
        literal ``token``/``password`` keys are refused so the file can be shared.
        """
        env = os.environ if environ is None else environ
        if path is not None and not isinstance(path, str | os.PathLike):
            msg = f"The config path must be a file path, got {type(path).__name__}."
            raise ConfigError(msg)
        cfg_path = Path(path).expanduser() if path is not None else default_config_path(env)
        profiles = _load_profiles(cfg_path)
        if name not in profiles:
            known = ", ".join(sorted(profiles)) or "none"
            msg = (
                f"No Prometheus profile named {name!r} in {cfg_path} (known: {known}). Fix: add a "
                f"[profiles.{name}] table with at least url = \"http://...\"."
            )
            raise ConfigError(msg)
        return cls._from_table(name, profiles[name], cfg_path, env)

    @classmethod
    def _from_table(
        cls, name: str, table: Mapping[str, Any], cfg_path: Path, env: Mapping[str, str]
    ) -> PromConfig:
        where = f"profile {name!r} in {cfg_path}"
        for literal in ("token", "password"):
            if literal in table:
                msg = (
                    f"{where} holds a literal {literal!r}. Fix: use {literal}_env = \"VAR\" or "
                    f"{literal}_file = \"/path\" so the secret stays out of the config file."
                )
                raise ConfigError(msg)
        known = {"url", "token_env", "token_file", "username", "password_env", "password_file",
                 "ca_bundle", "verify", "headers", "timeout", "query_params"}
        unknown = sorted(set(table) - known)
        if unknown:
            msg = f"{where} has unknown keys {unknown}; accepted keys: {sorted(known)}."
            raise ConfigError(msg)
        if "url" not in table:
            msg = f"{where} has no url. Fix: add url = \"http://host:9090\"."
            raise ConfigError(msg)
        for key in ("url", "token_env", "token_file", "username", "password_env",
                    "password_file", "ca_bundle"):
            if key in table and not isinstance(table[key], str):
                msg = (f"{where}: {key} must be a quoted string, got {type(table[key]).__name__} "
                       f"{str(table[key])[:60]!r}. Fix: write {key} = \"...\".")
                raise ConfigError(msg)
        for key in ("headers", "query_params"):
            if key in table and not isinstance(table[key], dict):
                msg = (f"{where}: {key} must be a table, e.g. {key} = {{ \"Name\" = \"value\" }}, "
                       f"got {type(table[key]).__name__}.")
                raise ConfigError(msg)
        if "headers" in table and not all(isinstance(v, str) for v in table["headers"].values()):
            msg = f"{where}: every header value must be a quoted string."
            raise ConfigError(msg)
        timeout = table.get("timeout", DEFAULT_TIMEOUT)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float):
            msg = f"{where}: timeout must be a number of seconds, got {str(timeout)[:40]!r}."
            raise ConfigError(msg)
        check_timeout(timeout, f"{where}: timeout")

        def secret(kind: str) -> Secret | None:
            if f"{kind}_env" in table:
                var = table[f"{kind}_env"]
                if not env.get(var):
                    msg = f"{where} reads its {kind} from ${var}, which is not set. Fix: export {var}."
                    raise ConfigError(msg)
                return Secret(env[var], source=f"${var}")
            if f"{kind}_file" in table:
                return Secret(path=Path(table[f"{kind}_file"]).expanduser())
            return None

        return cls(
            url=table["url"],
            token=secret("token"),
            username=table.get("username"),
            password=secret("password"),
            ca_bundle=table.get("ca_bundle"),
            verify=_bool(table.get("verify", True), f"{where}: verify"),
            headers={str(k): str(v) for k, v in (table.get("headers") or {}).items()},
            timeout=float(timeout),
            name=name,
            query_params={str(k): _param_text(v)
                          for k, v in (table.get("query_params") or {}).items()},
        )

    @classmethod
    def resolve(
        cls,
        target: str | PromConfig,
        *,
        config_path: str | os.PathLike[str] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> PromConfig:
        """Resolve what a report parameter names: a URL, ``"env"``, ``"demo"`` or a profile name.

        Besides the config file's profiles, installed packages can provide named profiles through
        the ``workbench.profiles`` entry-point group (a callable taking the environment mapping
        and returning a URL). The package registers ``"demo"`` there: the Prometheus of the
        running demo stack (``workbench demo up``; its state directory is ``$WORKBENCH_DEMO_DIR``
        or ``~/.cache/workbench/demo``).

        Examples
        --------
        >>> PromConfig.resolve("http://127.0.0.1:9090").url
        'http://127.0.0.1:9090'
        """
        if isinstance(target, PromConfig):
            return target
        if not isinstance(target, str) or not target.strip():
            msg = (f"Not a Prometheus target: {type(target).__name__} {str(target)[:80]!r}. Fix: "
                   "pass a URL ('http://host:9090'), a profile name, 'env' or a PromConfig.")
            raise ConfigError(msg)
        if target.startswith(("http://", "https://")):
            return cls(url=target)
        if target == "env":
            return cls.from_env(environ)
        provider = _profile_provider(target)
        if provider is not None:
            env = os.environ if environ is None else environ
            return cls(url=provider(env), name=target)
        return cls.from_profile(target, config_path, environ)


def _profile_provider(name: str) -> Callable[[Mapping[str, str]], str] | None:
    """The ``workbench.profiles`` entry point called ``name``, loaded (or None).

    Sources never import the layers above them; the demo registers itself here instead.
    """
    from importlib.metadata import entry_points

    for ep in entry_points(group="workbench.profiles", name=name):
        provider: Callable[[Mapping[str, str]], str] = ep.load()
        return provider
    return None


def _param_text(value: Any) -> str:
    """A TOML value as URL parameter text (``true`` -> ``"true"``, as Thanos and Go expect)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


#: The longest timeout accepted, in seconds (one week; larger values overflow socket timeouts).
MAX_TIMEOUT = 7 * 86_400.0


def check_timeout(value: Any, what: str = "timeout") -> float:
    """``value`` as positive, finite seconds (at most a week), or a :class:`ConfigError`.

    Examples
    --------
    >>> check_timeout(30)
    30.0
    >>> check_timeout(float("nan"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    workbench._errors.ConfigError: timeout must be a positive, finite number of seconds ...
    """
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = float(value.strip())
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or not 0 < value <= MAX_TIMEOUT:
        msg = (f"{what} must be a positive, finite number of seconds (at most {MAX_TIMEOUT:g}), "
               f"got {str(value)[:40]}. Fix: pass e.g. {what}=60.")
        raise ConfigError(msg)
    return float(value)


def _check_host_port(url: str) -> None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError as exc:
        msg = (f"Invalid Prometheus URL {url[:200]!r}: {exc}. Fix: use a port between 1 and 65535, "
               "e.g. http://127.0.0.1:9090.")
        raise ConfigError(msg) from None
    if not parts.hostname:
        msg = f"Invalid Prometheus URL {url[:200]!r}: no host name. Fix: e.g. http://127.0.0.1:9090."
        raise ConfigError(msg)
    if parts.port == 0:
        msg = f"Invalid Prometheus URL {url[:200]!r}: port 0. Fix: use a port between 1 and 65535."
        raise ConfigError(msg)


def _text_map(value: Any, what: str, *, hide: bool = False) -> dict[str, str]:
    """A mapping of text to text (headers, query parameters); values are never shown if ``hide``."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        msg = f"{what} must be a mapping of names to text, got {type(value).__name__}."
        raise ConfigError(msg)
    out = {}
    for k, v in value.items():
        if not isinstance(k, str) or not k or not isinstance(v, str | int | float) \
                or isinstance(v, bool):
            shown = "" if hide else f" = {str(v)[:60]!r}"
            msg = (f"{what}: {str(k)[:60]!r}{shown} is not a name and a text value. Fix: write "
                   f"{what} as {{ \"Name\" = \"value\" }}.")
            raise ConfigError(msg)
        out[k] = v if isinstance(v, str) else _param_text(v) if what == "query_params" else str(v)
    return out


def _bool(value: Any, what: str) -> bool:
    # TOML has real booleans; "false" in quotes is a string and must not silently mean True.
    if not isinstance(value, bool):
        msg = f"{what} must be true or false (a TOML boolean, without quotes), got {value!r}."
        raise ConfigError(msg)
    return value


def _load_profiles(path: Path) -> dict[str, Mapping[str, Any]]:
    try:
        doc = tomllib.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        msg = (f"The workbench config file {path} is not UTF-8 text (byte {exc.start}: "
               f"{exc.reason}). Fix: save it as UTF-8 (TOML files must be UTF-8).")
        raise ConfigError(msg) from None
    except IsADirectoryError:
        msg = f"The workbench config path {path} is a directory. Fix: point at the TOML file."
        raise ConfigError(msg) from None
    except PermissionError:
        msg = f"The workbench config file {path} cannot be read (permission denied). Fix: chmod it."
        raise ConfigError(msg) from None
    except FileNotFoundError:
        msg = (
            f"The workbench config file {path} does not exist. Fix: create it with a "
            "[profiles.NAME] table (url = ..., token_env = ...), or pass a URL instead of a "
            "profile name."
        )
        raise ConfigError(msg) from None
    except tomllib.TOMLDecodeError as exc:
        msg = f"The workbench config file {path} is not valid TOML: {exc}."
        raise ConfigError(msg) from None
    profiles = doc.get("profiles", {})
    if not isinstance(profiles, dict) or not all(isinstance(t, dict) for t in profiles.values()):
        msg = f"In {path}, 'profiles' must be a table of tables ([profiles.NAME])."
        raise ConfigError(msg)
    return profiles
