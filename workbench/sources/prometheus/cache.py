"""An opt-in on-disk cache of query results: one parquet file per request window.

Only windows that ended before ``now - settle`` (and came without warnings, which may mean a
partial response) are stored or reused, because samples near
"now" can still change (late scrapes, rule evaluation). Files are written atomically (temp
file + rename) and a damaged file is detected on read, removed, and fetched again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

import orjson
import polars as pl

__all__ = ["QueryCache"]

log = logging.getLogger("workbench.cache")


class QueryCache:
    """Parquet files keyed by (server, tenant headers, credentials identity, query, start, end, step).

    Parameters
    ----------
    directory
        Where files go; created on first write.
    settle_ms
        A window is cacheable when it ended at least this long ago (default 5 minutes, the
        Prometheus lookback delta).
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
        """Return the cached frame, or ``None`` when absent or damaged (damaged files are removed)."""
        path = self._path(key)
        if not path.exists():
            return None
        try:
            return pl.read_parquet(path)
        except Exception as exc:  # any read failure means the file cannot be trusted
            log.warning("cache file %s is damaged (%s); refetching", path, exc)
            path.unlink(missing_ok=True)
            return None

    def save(self, key: str, frame: pl.DataFrame) -> None:
        """Store ``frame`` atomically."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".parquet")
        os.close(fd)
        try:
            frame.write_parquet(tmp)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
