"""Stream series into an OpenMetrics text file for ``promtool tsdb create-blocks-from openmetrics``.

The rules promtool enforces (or silently punishes) are handled here: timestamps in *seconds*,
each series in time order, one contiguous block per metric family, and the final ``# EOF``.
Samples are written series by series, so memory stays bounded however long the history is.

Examples
--------
>>> import io, numpy as np
>>> buf = io.StringIO()
>>> w = OpenMetricsWriter(buf)
>>> w.family("demo_temperature_celsius", "gauge", "A gauge.")
>>> w.series("demo_temperature_celsius", {"room": "lab"}, np.array([0.0, 15.0]), np.array([20.5, 21.0]))
>>> w.close()
>>> print(buf.getvalue(), end="")
# HELP demo_temperature_celsius A gauge.
# TYPE demo_temperature_celsius gauge
demo_temperature_celsius{room="lab"} 20.5 0
demo_temperature_celsius{room="lab"} 21.0 15
# EOF
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TextIO

import numpy as np

__all__ = ["OpenMetricsWriter", "escape_label_value", "format_value"]


def escape_label_value(value: str) -> str:
    """Escape a label value for the text format (backslash, double quote, newline)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def format_value(v: float) -> str:
    """Format a float the way the exposition format expects (``NaN``, ``+Inf``, ``-Inf``)."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(float(v))


def _fmt_ts(t: float) -> str:
    return str(int(t)) if float(t).is_integer() else repr(float(t))


class OpenMetricsWriter:
    """Write metric families and their series to a text stream.

    Call :meth:`family` once per metric family, then :meth:`series` for each of its series, and
    :meth:`close` at the end (it writes ``# EOF``).
    """

    def __init__(self, fh: TextIO) -> None:
        self.fh = fh
        self._families: set[str] = set()
        self._current: str | None = None
        self.samples_written = 0

    def family(self, name: str, type_: str, help_: str | None = None, unit: str | None = None
               ) -> None:
        """Start a metric family (``type_``: counter, gauge, unknown, info, stateset, ...)."""
        if name in self._families:
            msg = f"metric family {name!r} was already written; families must be contiguous"
            raise ValueError(msg)
        self._families.add(name)
        self._current = name
        if help_:
            self.fh.write(f"# HELP {name} {help_}\n")
        self.fh.write(f"# TYPE {name} {type_}\n")
        if unit:
            self.fh.write(f"# UNIT {name} {unit}\n")

    def series(self, name: str, labels: Mapping[str, str], timestamps_s: np.ndarray,
               values: np.ndarray) -> None:
        """Write one series' samples; ``timestamps_s`` must be increasing unix seconds.

        ``NaN`` values are written as ``NaN`` samples (Prometheus stores them as values, not
        as gaps); leave a sample out to make a gap.
        """
        if self._current is None or not name.startswith(self._current):
            msg = f"series {name!r} written outside its family (current: {self._current!r})"
            raise ValueError(msg)
        if len(timestamps_s) != len(values):
            msg = "timestamps and values differ in length"
            raise ValueError(msg)
        if len(timestamps_s) > 1 and np.any(np.diff(timestamps_s) <= 0):
            msg = f"timestamps of {name}{dict(labels)} are not strictly increasing"
            raise ValueError(msg)
        if labels:
            body = ",".join(f'{k}="{escape_label_value(str(v))}"' for k, v in sorted(labels.items()))
            prefix = f"{name}{{{body}}} "
        else:
            prefix = f"{name} "
        vals = [format_value(v) for v in values.tolist()]
        ts = [_fmt_ts(t) for t in timestamps_s.tolist()]
        self.fh.write("".join(f"{prefix}{v} {t}\n" for v, t in zip(vals, ts, strict=True)))
        self.samples_written += len(vals)

    def close(self) -> None:
        """Write the ``# EOF`` terminator."""
        self.fh.write("# EOF\n")
