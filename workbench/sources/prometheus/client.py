"""`Prometheus`: PromQL instant and range queries, and the other HTTP API reads, as polars frames.

Every query result follows the frame schema documented in :mod:`workbench.frames`:
``timestamp`` (Datetime ms UTC), ``value`` (Float64), then one String column per label, sorted.
"""

from __future__ import annotations

import hashlib
import os
import time as _time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import orjson
import polars as pl
import requests

from ..._errors import ConfigError, ResponseDecodeError
from ..._runtime import interactive
from ..._time import (
    MAX_POINTS_PER_SERIES,
    MAX_POINTS_TOTAL,
    MAX_REQUESTS,
    DurationLike,
    TimeLike,
    auto_step_ms,
    check_plan,
    format_duration,
    parse_duration_ms,
    parse_time_ms,
    plan_chunks,
)
from ...frames import DATA_COLUMNS, TIMESTAMP, empty_frame
from .cache import QueryCache
from .config import DEFAULT_TIMEOUT, PromConfig, Secret, check_timeout
from .decode import decode_api_response, decode_result
from .http import HttpTransport, emit_warnings
from .shape import _matches, _shaped

if TYPE_CHECKING:
    from prometheus_api_client import PrometheusConnect

__all__ = ["Prometheus"]

#: Show a progress bar when a fetch needs at least this many windows (and output is interactive).
PROGRESS_MIN_CHUNKS = 3


def _fmt_ts(ms: int) -> str:
    """Exact decimal seconds for the wire (``-1500`` -> ``"-1.500"``, ``1000001`` -> ``"1000.001"``)."""
    sign, ms = ("-", -ms) if ms < 0 else ("", ms)
    return f"{sign}{ms // 1000}.{ms % 1000:03d}"


class Prometheus:
    """A client for one Prometheus-compatible server (Prometheus, Thanos, Mimir, VictoriaMetrics).

    Parameters
    ----------
    target
        A base URL (``"http://127.0.0.1:9090"``), a profile name from the config file
        (``"prod"``), ``"env"`` for ``WORKBENCH_PROMETHEUS_*``, or a :class:`PromConfig`.
    token, token_file
        Bearer token, or a file holding it (re-read when it changes). Prefer ``token_file`` or a
        profile so the token never sits in a notebook.
    username, password
        Basic auth.
    ca_bundle, verify
        TLS: a CA bundle path; ``verify=False`` disables verification (only when asked).
    headers
        Extra headers, e.g. ``{"X-Scope-OrgID": "tenant"}`` (Mimir, Cortex).
    query_params
        Extra URL parameters on every request, e.g. ``{"dedup": "true", "partial_response":
        "false"}`` (Thanos) or ``{"nocache": "1"}`` (VictoriaMetrics: exact range grids).
    timeout
        Seconds per request: the whole response, body included, must arrive in that time.
    session
        A ``requests.Session`` to send with (mTLS, proxies, adapters; also the test seam).
    cache_dir
        Enable the parquet cache of settled query windows in this directory.
    max_workers
        Concurrent requests when a range is split into windows.
    max_retries
        Retries for 429/502/503/504 and connection resets.
    progress
        ``True``/``False`` forces the progress bar; ``None`` shows it for long fetches when the
        output is a terminal or a notebook.
    max_points_total
        Refuse a range query that would return more samples than this, all series together
        (default 50 million): up front when one series alone exceeds it, otherwise as soon as
        the first window shows the result would (before the other windows are fetched).
    max_requests
        Refuse a range query that would need more requests (windows) than this (default 10,000).
    config_path
        Profile file to read instead of the default.
    now
        Clock returning unix milliseconds (for tests and reproducible reports).

    Examples
    --------
    >>> prom = Prometheus("http://127.0.0.1:9090")
    >>> prom
    Prometheus(url='http://127.0.0.1:9090')
    >>> prom.query("up")  # doctest: +SKIP
    """

    def __init__(
        self,
        target: str | PromConfig,
        *,
        token: str | None = None,
        token_file: str | os.PathLike[str] | None = None,
        username: str | None = None,
        password: str | None = None,
        ca_bundle: str | None = None,
        verify: bool | None = None,
        headers: Mapping[str, str] | None = None,
        query_params: Mapping[str, str] | None = None,
        timeout: float | None = None,
        session: requests.Session | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        max_workers: int = 4,
        max_retries: int = 3,
        progress: bool | None = None,
        max_points_total: int = MAX_POINTS_TOTAL,
        max_requests: int = MAX_REQUESTS,
        config_path: str | os.PathLike[str] | None = None,
        now: Callable[[], int] | None = None,
    ) -> None:
        config = PromConfig.resolve(target, config_path=config_path)
        changes: dict[str, Any] = {}
        for name, value in (("token", token), ("username", username), ("password", password)):
            if value is not None and not isinstance(value, str):
                msg = f"{name} must be text, got {type(value).__name__}."
                raise ConfigError(msg)
        if token is not None and token_file is not None:
            msg = "Pass token= or token_file=, not both."
            raise ConfigError(msg)
        if token is not None:
            changes["token"] = Secret(token, source="token argument")
        if token_file is not None:
            changes["token"] = Secret(path=token_file)
        if username is not None:
            changes["username"] = username
        if password is not None:
            changes["password"] = Secret(password, source="password argument")
        if ca_bundle is not None:
            changes["ca_bundle"] = ca_bundle
        if verify is not None:
            changes["verify"] = verify
        if headers is not None:
            if not isinstance(headers, Mapping):
                msg = f"headers must be a mapping of names to text, got {type(headers).__name__}."
                raise ConfigError(msg)
            changes["headers"] = {**config.headers, **headers}
        if query_params is not None:
            if not isinstance(query_params, Mapping):
                msg = f"query_params must be a mapping, got {type(query_params).__name__}."
                raise ConfigError(msg)
            changes["query_params"] = {**config.query_params, **query_params}
        if timeout is not None:
            changes["timeout"] = check_timeout(timeout)
        self.config = config.with_options(**changes) if changes else config
        for what, count, low in (("max_workers", max_workers, 1), ("max_retries", max_retries, 0)):
            if isinstance(count, bool) or not isinstance(count, int) or not low <= count <= 1000:
                msg = f"{what} must be a whole number from {low} to 1000, got {str(count)[:40]!r}."
                raise ConfigError(msg)
        if progress is not None and not isinstance(progress, bool):
            msg = f"progress must be True, False or None, got {str(progress)[:40]!r}."
            raise ConfigError(msg)
        if session is not None and not isinstance(session, requests.Session):
            msg = f"session must be a requests.Session, got {type(session).__name__}."
            raise ConfigError(msg)
        if now is not None and not callable(now):
            msg = "now must be a function returning unix milliseconds."
            raise ConfigError(msg)
        if cache_dir is not None and not isinstance(cache_dir, str | os.PathLike):
            msg = f"cache_dir must be a directory path, got {type(cache_dir).__name__}."
            raise ConfigError(msg)
        self.transport = HttpTransport(self.config, session=session, max_retries=max_retries)
        self.cache = QueryCache(cache_dir) if cache_dir is not None else None
        check_plan(0, 0, 1, max_points_total=max_points_total, max_requests=max_requests)
        self.max_points_total = max_points_total
        self.max_requests = max_requests
        self.max_workers = max_workers
        self.progress = progress
        self._now = now or (lambda: _time.time_ns() // 1_000_000)

    # -- constructors ---------------------------------------------------------------------------

    @classmethod
    def from_env(cls, **kwargs: Any) -> Prometheus:
        """Connect using ``WORKBENCH_PROMETHEUS_URL`` and friends (see :class:`PromConfig`)."""
        return cls(PromConfig.from_env(), **kwargs)

    @classmethod
    def from_profile(
        cls, name: str, *, config_path: str | os.PathLike[str] | None = None, **kwargs: Any
    ) -> Prometheus:
        """Connect using a named profile of the config file."""
        return cls(PromConfig.from_profile(name, config_path), **kwargs)

    @classmethod
    def from_prometheus_connect(cls, pc: PrometheusConnect, **kwargs: Any) -> Prometheus:
        """Reuse a prometheus-api-client ``PrometheusConnect``: its URL, session, headers, auth.

        Examples
        --------
        >>> from prometheus_api_client import PrometheusConnect  # doctest: +SKIP
        >>> prom = Prometheus.from_prometheus_connect(PrometheusConnect("http://127.0.0.1:9090"))
        ... # doctest: +SKIP
        """
        headers = dict(getattr(pc, "headers", None) or {})
        auth_header = {k: v for k, v in headers.items() if k.lower() == "authorization"}
        plain = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        session: requests.Session = pc._session
        if auth_header:
            session.headers.update(auth_header)  # kept on the shared session, out of our config
        if getattr(pc, "auth", None) is not None:
            session.auth = pc.auth
        timeout = getattr(pc, "_timeout", None)
        cfg = PromConfig(url=pc.url, headers=plain, timeout=float(timeout or DEFAULT_TIMEOUT),
                         verify=bool(getattr(session, "verify", True)))
        return cls(cfg, session=session, **kwargs)

    def now(self) -> int:
        """The client's clock, in epoch milliseconds: what ``"now"`` means in relative times.

        Injected with ``now=`` (tests, reproducible reports); the wall clock otherwise.

        Examples
        --------
        >>> Prometheus("http://127.0.0.1:9090", now=lambda: 1_700_000_000_000).now()
        1700000000000
        """
        return self._now()

    def __repr__(self) -> str:
        name = f"profile={self.config.name!r}, " if self.config.name else ""
        return f"Prometheus({name}url={self.config.url!r})"

    def close(self) -> None:
        """Release the HTTP session (if this client created it)."""
        self.transport.close()

    def __enter__(self) -> Prometheus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- queries --------------------------------------------------------------------------------

    def query(self, expr: str, time: TimeLike | None = None, *,
              timeout: float | None = None) -> pl.DataFrame:
        """Evaluate an instant query.

        Parameters
        ----------
        expr
            PromQL expression.
        time
            Evaluation time (default: the server's now).
        timeout
            Override the client timeout for this request.

        Returns
        -------
        polars.DataFrame
            One row per series (frame schema); scalar results give one row with no labels.

        Examples
        --------
        >>> prom.query('up{job="node-exporter"}')  # doctest: +SKIP
        """
        params = {"query": expr}
        if time is not None:
            params["time"] = _fmt_ts(parse_time_ms(time, now=self._now))
        body = self.transport.request("/api/v1/query", params, query=expr, timeout=timeout)
        return self._result(body, expr)

    def _result(self, body: bytes, expr: str) -> pl.DataFrame:
        """Decode a query body; warnings are emitted, and errors raised, redacted."""
        return self._result_and_warnings(body, expr)[0]

    def _result_and_warnings(self, body: bytes, expr: str) -> tuple[pl.DataFrame, list[str]]:
        try:
            frame, warns = decode_result(body)
        except ResponseDecodeError as exc:  # its preview of the body may echo a credential
            raise ResponseDecodeError(self.transport.redact(str(exc)), url=self.config.url,
                                      query=expr) from None
        emit_warnings(warns, expr, self.transport.redact)
        return frame, warns

    def query_range(
        self,
        expr: str,
        start: TimeLike,
        end: TimeLike = "now",
        step: DurationLike | None = None,
        *,
        timeout: float | None = None,
        max_points: int = MAX_POINTS_PER_SERIES,
        max_points_total: int | None = None,
        max_requests: int | None = None,
    ) -> pl.DataFrame:
        """Evaluate a range query, split into windows the server accepts, fetched concurrently.

        Parameters
        ----------
        expr
            PromQL expression.
        start, end
            Range bounds: datetimes (naive = UTC), unix seconds, RFC 3339 text, ``"now"``,
            ``"now-6h"``.
        step
            Seconds or a duration (``"30s"``). When omitted, the smallest of 1s, 5s, 10s, 15s,
            30s, 1m, 2m, 5m, 10m, 15m, 30m, 1h, 2h, 3h, 6h, 12h, 1d that keeps the result to at
            most 1,000 points per series.
        timeout
            Override the client timeout for each request.
        max_points
            Evaluation steps per request (Prometheus refuses more than 11,000 per series).
        max_points_total, max_requests
            Override the client's ceilings for this query (see :class:`Prometheus`).

        Raises
        ------
        ConfigError
            The plan is too big (the message says how big and which step would fit).

        Returns
        -------
        polars.DataFrame
            Frame schema, one row per sample. A single-window result keeps the server's series
            order; a multi-window one is sorted by label columns, then ``timestamp``.

        Examples
        --------
        >>> prom.query_range("rate(node_cpu_seconds_total[5m])", "now-6h", step="1m")
        ... # doctest: +SKIP
        """
        start_ms = parse_time_ms(start, now=self._now)
        end_ms = parse_time_ms(end, now=self._now)
        step_ms = auto_step_ms(start_ms, end_ms) if step is None else parse_duration_ms(step)
        if step_ms <= 0:
            msg = f"step must be positive, got {step!r}."
            raise ConfigError(msg)
        total = self.max_points_total if max_points_total is None else max_points_total
        check_plan(start_ms, end_ms, step_ms, max_points=max_points, max_points_total=total,
                   max_requests=self.max_requests if max_requests is None else max_requests)
        windows = plan_chunks(start_ms, end_ms, step_ms, max_points=max_points)
        fetch = self._window_fetcher(expr, step_ms, timeout)
        if len(windows) == 1:
            return fetch(windows[0])
        first = fetch(windows[0])
        steps_first = (windows[0][1] - windows[0][0]) // step_ms + 1
        steps_all = (end_ms - start_ms) // step_ms + 1
        projected = first.height * steps_all // steps_first
        if projected > total:
            series = first.select(pl.exclude(DATA_COLUMNS)).n_unique() if first.width > 2 else 1
            fit = auto_step_ms(start_ms, end_ms, max_points=max(2, total // max(1, series)))
            msg = (
                f"The range query {expr[:200]!r} would return about {projected:,} samples "
                f"({series:,} series over {steps_all:,} steps at step {format_duration(step_ms)}), "
                f"more than max_points_total={total:,}; stopped after the first of "
                f"{len(windows):,} requests. Fix: use a bigger step (e.g. "
                f"step={format_duration(fit)!r}), a shorter range or a narrower selector, or "
                "raise max_points_total=."
            )
            raise ConfigError(msg)
        frames = [first, *self._fetch_windows(fetch, windows[1:], done=1)]
        frames = [f for f in frames if f.height]
        if not frames:
            return empty_frame()
        out = pl.concat(frames, how="diagonal_relaxed")
        labels = sorted(c for c in out.columns if c not in DATA_COLUMNS)
        return out.select([*DATA_COLUMNS, *labels]).sort(
            [*labels, "timestamp"], nulls_last=False, maintain_order=True
        )

    def _window_fetcher(self, expr: str, step_ms: int,
                        timeout: float | None) -> Callable[[tuple[int, int]], pl.DataFrame]:
        tenant = sorted((k, v) for k, v in self.config.headers.items()
                        if k.lower() not in ("authorization", "cookie"))
        # dedup=false and dedup=true (Thanos), or a tenant chosen by a parameter, differ.
        tenant += sorted((f"?{k}", v) for k, v in self.config.query_params.items())
        identity = self._identity()

        def fetch(window: tuple[int, int]) -> pl.DataFrame:
            s, e = window
            cache = self.cache
            key = None
            if cache is not None and cache.cacheable(e, self._now()):
                key = cache.key(self.config.url, tenant, identity, expr, s, e, step_ms)
                hit = cache.load(key)
                if hit is not None:
                    return hit
            params = {"query": expr, "start": _fmt_ts(s), "end": _fmt_ts(e),
                      "step": _fmt_ts(step_ms)}
            frame, warns = self._result_and_warnings(
                self.transport.request("/api/v1/query_range", params, query=expr, timeout=timeout),
                expr)
            # A window that came with warnings may be partial (Thanos/Mimir "partial response",
            # VictoriaMetrics isPartial): never keep it, or it would be served, silently, forever.
            if key is not None and cache is not None and not warns:
                cache.save(key, frame)
            return frame

        return fetch

    def _identity(self) -> list[str]:
        """Who is asking, for cache keys: behind multi-tenant gateways (Grafana Cloud, Mimir,
        prom-label-proxy) the credentials choose the data, so two users must not share entries.
        Secrets enter only as SHA-256 digests (and the key itself is hashed again)."""
        def digest(value: object) -> str:
            return hashlib.sha256(str(value).encode()).hexdigest()

        cfg, session = self.config, self.transport.session
        out = [f"user:{cfg.username}",
               f"token:{cfg.token.fingerprint() if cfg.token is not None else None}"]
        for name, value in sorted(cfg.headers.items()):
            if name.lower() in ("authorization", "cookie"):
                out.append(f"{name.lower()}:{digest(value)}")
        for name in ("Authorization", "Cookie"):
            if session.headers.get(name):
                out.append(f"session-{name.lower()}:{digest(session.headers[name])}")
        auth = session.auth
        if isinstance(auth, tuple) and auth:
            out.append(f"session-user:{auth[0]}")
        elif auth is not None:
            state = digest(getattr(auth, "__dict__", None))
            out.append(f"session-auth:{type(auth).__qualname__}:{state}")
        return out

    def _fetch_windows(self, fetch: Callable[[tuple[int, int]], pl.DataFrame],
                       windows: Sequence[tuple[int, int]], *,
                       done: int = 0) -> list[pl.DataFrame]:
        show = self.progress if self.progress is not None else (
            len(windows) + done >= PROGRESS_MIN_CHUNKS and interactive()
        )
        workers = min(self.max_workers, len(windows))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="workbench-fetch") as pool:
            results = pool.map(fetch, windows)
            if show:
                from tqdm.auto import tqdm

                results = tqdm(results, total=len(windows) + done, initial=done,
                               desc="query_range", unit="window")
            return list(results)

    # -- metadata endpoints ---------------------------------------------------------------------

    def _api(self, path: str, params: Any = None, *, method: str = "GET") -> Any:
        try:
            resp = decode_api_response(self.transport.request(path, params, method=method))
        except ResponseDecodeError as exc:
            raise ResponseDecodeError(self.transport.redact(str(exc)),
                                      url=self.config.url) from None
        emit_warnings(resp.warnings, None, self.transport.redact)
        return resp.data

    def _range_params(self, start: TimeLike | None, end: TimeLike | None) -> list[tuple[str, str]]:
        out = []
        if start is not None:
            out.append(("start", _fmt_ts(parse_time_ms(start, now=self._now))))
        if end is not None:
            out.append(("end", _fmt_ts(parse_time_ms(end, now=self._now))))
        return out

    @_shaped
    def series(self, match: str | Iterable[str], start: TimeLike | None = None,
               end: TimeLike | None = None) -> pl.DataFrame:
        """Series matching one or more selectors: one row per series, one column per label.

        Examples
        --------
        >>> prom.series('node_cpu_seconds_total{mode="idle"}', "now-1h")  # doctest: +SKIP
        """
        matches = _matches(match)
        params = [("match[]", m) for m in matches] + self._range_params(start, end)
        data = self._api("/api/v1/series", params, method="POST") or []
        names = sorted({k for d in data for k in d})
        return pl.DataFrame({n: pl.Series([d.get(n) for d in data], dtype=pl.String)
                             for n in names})

    @_shaped
    def labels(self, match: str | Iterable[str] | None = None, start: TimeLike | None = None,
               end: TimeLike | None = None) -> list[str]:
        """Label names (optionally only those of series matching ``match``)."""
        matches = [] if match is None else _matches(match)
        params = [("match[]", m) for m in matches] + self._range_params(start, end)
        return list(self._api("/api/v1/labels", params, method="POST") or [])

    @_shaped
    def label_values(self, label: str, match: str | Iterable[str] | None = None,
                     start: TimeLike | None = None, end: TimeLike | None = None) -> pl.DataFrame:
        """Values of one label, as a one-column frame named after the label (sorted).

        Examples
        --------
        >>> prom.label_values("job")  # doctest: +SKIP
        """
        matches = [] if match is None else _matches(match)
        params = [("match[]", m) for m in matches] + self._range_params(start, end)
        # The name is one path segment: "/", "?", "#", "%" or blanks in it must not change the URL.
        values = self._api(f"/api/v1/label/{quote(str(label), safe='')}/values", params) or []
        return pl.DataFrame({label: pl.Series(sorted(values), dtype=pl.String)})

    @_shaped
    def targets(self, state: str = "active") -> pl.DataFrame:
        """Scrape targets and their health, one row per target.

        Columns: ``scrape_pool``, ``job``, ``instance``, ``health``, ``last_error``,
        ``last_scrape`` (Datetime), ``scrape_duration_s``, ``scrape_interval_s``, ``scrape_url``.
        """
        data = self._api("/api/v1/targets", {"state": state}) or {}
        rows = data.get("droppedTargets" if state == "dropped" else "activeTargets", [])
        return pl.DataFrame(
            {
                "scrape_pool": [t.get("scrapePool") for t in rows],
                "job": [t.get("labels", {}).get("job") for t in rows],
                "instance": [t.get("labels", {}).get("instance") for t in rows],
                "health": [t.get("health") for t in rows],
                "last_error": [t.get("lastError") or None for t in rows],
                "last_scrape": [t.get("lastScrape") for t in rows],
                "scrape_duration_s": [t.get("lastScrapeDuration") for t in rows],
                "scrape_interval_s": [
                    parse_duration_ms(t["scrapeInterval"]) / 1000 if t.get("scrapeInterval")
                    else None for t in rows
                ],
                "scrape_url": [t.get("scrapeUrl") for t in rows],
            },
            schema={"scrape_pool": pl.String, "job": pl.String, "instance": pl.String,
                    "health": pl.String, "last_error": pl.String, "last_scrape": pl.String,
                    "scrape_duration_s": pl.Float64, "scrape_interval_s": pl.Float64,
                    "scrape_url": pl.String},
        ).with_columns(_parse_rfc3339("last_scrape")).sort(["job", "instance"])

    @_shaped
    def alerts(self) -> pl.DataFrame:
        """Alerts currently pending or firing: ``alertname``, ``state``, ``active_at``, ``value``,
        one column per other label, and ``annotations`` (a struct)."""
        data = self._api("/api/v1/alerts") or {}
        rows = data.get("alerts", [])
        labels = [dict(a.get("labels", {})) for a in rows]
        names = sorted({k for d in labels for k in d} - {"alertname"})
        frame = pl.DataFrame(
            {
                "alertname": pl.Series([d.get("alertname") for d in labels], dtype=pl.String),
                "state": pl.Series([a.get("state") for a in rows], dtype=pl.String),
                "active_at": pl.Series([a.get("activeAt") for a in rows], dtype=pl.String),
                "value": pl.Series([a.get("value") for a in rows], dtype=pl.String)
                .cast(pl.Float64),
                **{n: pl.Series([d.get(n) for d in labels], dtype=pl.String) for n in names},
            },
            height=len(rows),
        ).with_columns(_parse_rfc3339("active_at"))
        annotations = [a.get("annotations") or {} for a in rows]
        if any(annotations):
            frame = frame.with_columns(pl.Series("annotations", annotations))
        return frame

    def alertmanagers(self) -> list[str]:
        """Base URLs of the Alertmanagers this server sends alerts to (``/api/v1/alertmanagers``,
        active ones; the ``/api/v2/alerts`` suffix removed)."""
        data = self._api("/api/v1/alertmanagers") or {}
        urls = [str(a.get("url", "")) for a in data.get("activeAlertmanagers", [])]
        return [u.split("/api/v")[0] for u in urls if u]

    @_shaped
    def rules(self, type: str | None = None) -> pl.DataFrame:
        """Rule groups' rules and their current state, one row per rule (``type``: ``"alert"``
        or ``"record"`` to keep one kind).

        Columns: ``group``, ``file``, ``interval_s``, ``name``, ``type`` (``alerting`` /
        ``recording``), ``query``, ``for_s``, ``keep_firing_for_s``, ``health``, ``last_error``,
        ``state``, ``n_alerts``, ``last_evaluation``, ``evaluation_time_s``, ``labels`` and
        ``annotations`` (JSON text).
        """
        if type not in (None, "alert", "record"):
            msg = f"type must be 'alert', 'record' or None, got {type!r}."
            raise ConfigError(msg)
        params = {"type": type} if type else None
        data = self._api("/api/v1/rules", params) or {}
        rows: list[dict[str, Any]] = []
        for g in data.get("groups", []):
            for r in g.get("rules", []):
                rows.append({
                    "group": g.get("name"), "file": g.get("file"),
                    "interval_s": float(g.get("interval") or 0),
                    "name": r.get("name"), "type": r.get("type"), "query": r.get("query"),
                    "for_s": float(r.get("duration") or 0),
                    "keep_firing_for_s": float(r.get("keepFiringFor") or 0),
                    "health": r.get("health"), "last_error": r.get("lastError") or None,
                    "state": r.get("state"), "n_alerts": len(r.get("alerts") or []),
                    "last_evaluation": r.get("lastEvaluation"),
                    "evaluation_time_s": float(r.get("evaluationTime") or 0),
                    "labels": orjson.dumps(r.get("labels") or {}).decode(),
                    "annotations": orjson.dumps(r.get("annotations") or {}).decode(),
                })
        schema = {"group": pl.String, "file": pl.String, "interval_s": pl.Float64,
                  "name": pl.String, "type": pl.String, "query": pl.String, "for_s": pl.Float64,
                  "keep_firing_for_s": pl.Float64, "health": pl.String, "last_error": pl.String,
                  "state": pl.String, "n_alerts": pl.Int64, "last_evaluation": pl.String,
                  "evaluation_time_s": pl.Float64, "labels": pl.String, "annotations": pl.String}
        return pl.DataFrame(rows, schema=schema).with_columns(_parse_rfc3339("last_evaluation"))

    @_shaped
    def build_info(self) -> pl.DataFrame:
        """The server's build information as a one-row frame (``version``, ``revision``, ...)."""
        data = self._api("/api/v1/status/buildinfo") or {}
        return pl.DataFrame({k: [str(v)] for k, v in sorted(data.items())})

    @_shaped
    def tsdb_status(self) -> pl.DataFrame:
        """Cardinality statistics, long format: ``section``, ``name``, ``value``.

        Sections are ``headStats`` (numSeries, chunkCount, minTime, maxTime, ...),
        ``seriesCountByMetricName``, ``labelValueCountByLabelName``,
        ``memoryInBytesByLabelName`` and ``seriesCountByLabelValuePair``.
        """
        data = self._api("/api/v1/status/tsdb") or {}
        sections, names, values = [], [], []
        for k, v in (data.get("headStats") or {}).items():
            sections.append("headStats")
            names.append(k)
            values.append(float(v))
        for section, items in data.items():
            if section == "headStats" or not isinstance(items, list):
                continue
            for item in items:
                sections.append(section)
                names.append(str(item.get("name")))
                values.append(float(item.get("value")))
        return pl.DataFrame({"section": sections, "name": names, "value": values},
                            schema={"section": pl.String, "name": pl.String, "value": pl.Float64})


def _parse_rfc3339(col: str) -> pl.Expr:
    # Prometheus writes RFC 3339 with nanoseconds and a zone; "0001-01-01..." means "never".
    c = pl.col(col)
    parsed = c.str.replace(r"^0001-01-01.*$", "").replace("", None).str.to_datetime(
        format="%Y-%m-%dT%H:%M:%S%.fZ", time_zone="UTC", time_unit="ms", strict=False
    )
    return parsed.cast(TIMESTAMP).alias(col)
