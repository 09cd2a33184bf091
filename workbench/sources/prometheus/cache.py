"""An opt-in on-disk cache of query results: one file per request window.

Only windows that ended before ``now - settle`` (and came without warnings, which may mean a
partial response) are stored or reused, because samples near "now" can still change (late
scrapes, rule evaluation).

Integrity
---------
Each file is a short header line (the format tag, the key it was stored under and the SHA-256
of the payload) followed by the parquet payload. A read checks both before trusting a byte: a
file damaged on disk (flipped bits inside a parquet data page, which parquet itself would
read without complaint), truncated, or swapped for another window's file is reported with a
:class:`CacheWarning`, removed, and the window is fetched again. Files are written atomically
(temp file + rename). A cache directory that cannot be read or written never costs the data:
the fetched frame is returned and a :class:`CacheWarning` says what failed.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import tempfile
import warnings
from pathlib import Path

import orjson
import polars as pl

__all__ = ["CacheWarning", "QueryCache"]

log = logging.getLogger("workbench.cache")

_MAGIC = b"workbench-cache-v2 "


class CacheWarning(UserWarning):
    """The query cache could not be used for one window (damaged entry, unwritable directory);
    the data were fetched from the server instead."""


def _warn(message: str) -> None:
    log.warning("%s", message)
    warnings.warn(message, CacheWarning, stacklevel=5)


class QueryCache:
    """Parquet files keyed by (server, tenant headers, credentials identity, query, start, end, step).

    Parameters
    ----------
    directory
        Where files go; created on first write.
    settle_ms
        A window is cacheable when it ended at least this long ago (default 5 minutes, the
        Prometheus lookback delta).

    Examples
    --------
    >>> import tempfile
    >>> cache = QueryCache(tempfile.mkdtemp())
    >>> k = cache.key("http://prom:9090", "up", 0, 60_000, 15_000)
    >>> cache.save(k, pl.DataFrame({"value": [1.0]}))
    >>> cache.load(k)["value"].to_list()
    [1.0]
    """

    def __init__(self, directory: str | os.PathLike[str], *, settle_ms: int = 300_000) -> None:
        self.directory = Path(directory).expanduser()
        self.settle_ms = settle_ms

    def __repr__(self) -> str:
        return f"QueryCache({str(self.directory)!r})"

    def key(self, *parts: object) -> str:
        """Return the hex digest naming a cache entry."""
        return hashlib.sha256(orjson.dumps([str(p) for p in parts])).hexdigest()[:40]

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.parquet"

    def cacheable(self, end_ms: int, now_ms: int) -> bool:
        """Whether a window ending at ``end_ms`` is settled enough to store or reuse."""
        return end_ms <= now_ms - self.settle_ms

    def load(self, key: str) -> pl.DataFrame | None:
        """Return the cached frame, or ``None`` when absent or not trustworthy.

        A file whose checksum or stored key does not match is removed (with a
        :class:`CacheWarning`) so the caller fetches the window again.
        """
        path = self._path(key)
        try:
            raw = path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            _warn(f"Cannot read the cache file {path} ({exc.strerror}); fetching the window from "
                  "the server. Fix: check the cache directory's permissions.")
            return None
        problem = _verify(raw, key)
        if problem is None:
            payload = raw[raw.index(b"\n") + 1:]
            try:
                return pl.read_parquet(io.BytesIO(payload))
            except Exception as exc:  # checksum matched but parquet refused: still not trusted
                problem = f"unreadable parquet ({type(exc).__name__})"
        _warn(f"The cache file {path} failed its integrity check ({problem}); it was removed and "
              "the window is fetched again.")
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
        return None

    def save(self, key: str, frame: pl.DataFrame) -> None:
        """Store ``frame`` atomically; a failure to write is a :class:`CacheWarning`, not an error."""
        path = self._path(key)
        buf = io.BytesIO()
        frame.write_parquet(buf)
        payload = buf.getvalue()
        header = _MAGIC + orjson.dumps({"key": key, "sha256": hashlib.sha256(payload).hexdigest(),
                                        "size": len(payload)}) + b"\n"
        tmp = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".parquet")
            with os.fdopen(fd, "wb") as fh:
                fh.write(header)
                fh.write(payload)
            os.replace(tmp, path)
            tmp = None
        except OSError as exc:
            _warn(f"Cannot write to the query cache {self.directory} ({exc.strerror or exc}); the "
                  "data were fetched and returned but not cached. Fix: pass a writable "
                  "cache_dir=, or leave it out to disable the cache.")
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)


def _verify(raw: bytes, key: str) -> str | None:
    """Why ``raw`` cannot be trusted as the entry for ``key`` (``None`` when it can)."""
    if not raw.startswith(_MAGIC):
        return "not a workbench cache file"
    end = raw.find(b"\n")
    if end == -1:
        return "no header"
    try:
        header = orjson.loads(raw[len(_MAGIC):end])
    except orjson.JSONDecodeError:
        return "damaged header"
    if not isinstance(header, dict):
        return "damaged header"
    if header.get("key") != key:
        return "it holds another window's data"
    payload = memoryview(raw)[end + 1:]
    if header.get("size") != len(payload):
        return "truncated"
    if header.get("sha256") != hashlib.sha256(payload).hexdigest():
        return "checksum mismatch"
    return None
