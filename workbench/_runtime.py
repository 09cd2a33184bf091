"""Process-level helpers shared by every layer: GC pausing, "is a person watching?", binaries."""

from __future__ import annotations

import gc
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from ._errors import MissingBinaryError

__all__ = ["BINARY_PACKAGES", "find_binary", "gc_paused", "interactive"]


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while building many small objects; always restored.

    Decoding a large body allocates millions of containers the GC would walk for nothing
    (about 3x slower with it on).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def interactive() -> bool:
    """Whether a person is watching: a terminal, or a Jupyter kernel not run by a scheduler.

    ``WORKBENCH_PROGRESS=0`` turns progress bars off (the report runner sets it for papermill
    runs); ``=1`` turns them on. Read at call time, never at import.
    """
    setting = os.environ.get("WORKBENCH_PROGRESS", "").strip().lower()
    if setting in ("0", "false", "no", "off"):
        return False
    if setting in ("1", "true", "yes", "on"):
        return True
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is not None and getattr(shell, "kernel", None) is not None:
        return True
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


#: Binary name -> Debian package that ships it.
BINARY_PACKAGES = {
    "prometheus": "prometheus",
    "promtool": "prometheus",
    "prometheus-node-exporter": "prometheus-node-exporter",
    "prometheus-alertmanager": "prometheus-alertmanager",
    "amtool": "prometheus-alertmanager",
    "victoria-metrics": "victoria-metrics",
    "vmauth": "victoria-metrics",
}


def find_binary(name: str) -> str:
    """Return the path of ``name`` or raise :class:`MissingBinaryError` naming its package."""
    path = shutil.which(name)
    if path is None:
        raise MissingBinaryError(name, BINARY_PACKAGES.get(name, name))
    return path
