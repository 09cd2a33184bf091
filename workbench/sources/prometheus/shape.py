"""Argument and answer shape checks shared by :class:`~workbench.Prometheus`'s metadata reads."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import polars as pl

from ..._errors import ConfigError, ResponseDecodeError, WorkbenchError

_R = TypeVar("_R")


def _shaped(method: Callable[..., _R]) -> Callable[..., _R]:
    """A metadata answer of the wrong shape (a list where an object belongs, a number where
    text belongs) is a :class:`ResponseDecodeError` naming the endpoint, not a Python error."""
    @functools.wraps(method)
    def inner(self: Any, *args: Any, **kwargs: Any) -> _R:
        try:
            return method(self, *args, **kwargs)
        except WorkbenchError:
            raise
        except (TypeError, ValueError, AttributeError, KeyError, IndexError, OverflowError,
                pl.exceptions.PolarsError) as exc:
            msg = (f"Malformed answer from Prometheus at {self.config.url} to {method.__name__}() "
                   f"({type(exc).__name__}: {self.transport.redact(str(exc))[:160]}). Fix: check "
                   "that the URL points at a Prometheus-compatible API, not a proxy rewriting "
                   "bodies.")
            raise ResponseDecodeError(msg, url=self.config.url) from None
    return inner


def _matches(match: object) -> list[str]:
    """Series selectors as a list of text (one selector or an iterable of them)."""
    if isinstance(match, str):
        return [match]
    if isinstance(match, Iterable) and not isinstance(match, bytes | Mapping):
        out = list(match)
        if all(isinstance(m, str) for m in out):
            return out
    msg = f"match must be a selector string or a list of them, got {str(match)[:80]!r}."
    raise ConfigError(msg)
