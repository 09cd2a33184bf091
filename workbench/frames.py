"""The one frame schema every source produces and every analysis consumes.

Series frames (Prometheus results, anything with samples over time)
--------------------------------------------------------------------
``timestamp``
    :data:`TIMESTAMP` = ``Datetime("ms", "UTC")``: the sample time.
``value``
    ``Float64``: the sample value; ``NaN``, ``+Inf`` and ``-Inf`` are kept as floats.
    (A ``string`` query result is the one exception: its ``value`` is ``String``.)
label columns
    one ``String`` column per label name seen in the result, sorted by name, ``null`` where a
    series lacks the label. The metric name is the ``__name__`` column when the result has it.

Rows are long/tidy: one row per sample, series after series, each series in time order. An
empty result is :func:`empty_frame`: just ``timestamp`` and ``value``.

Label names that would shadow a data column
-------------------------------------------
A label whose name is ``timestamp`` or ``value``, possibly already prefixed with ``label_``
(``label_value``, ``label_label_timestamp``, ...), gets one more ``label_`` in front
(:func:`label_column`). The mapping is injective, so no two labels can land on one column:
``value`` -> ``label_value``, a real ``label_value`` -> ``label_label_value``. Every other label
keeps its name.

Other frames
------------
Snapshot and summary frames (metrics-server, capacity, alert episodes) use the same
``timestamp`` dtype for every time column, ``String`` for names and label values, ``Float64``
for cores/ratios and ``Int64`` for bytes and counts; each module documents its columns.

Examples
--------
>>> from workbench import frames
>>> frames.empty_frame().schema
Schema([('timestamp', Datetime(time_unit='ms', time_zone='UTC')), ('value', Float64)])
>>> [frames.label_column(n) for n in ("job", "value", "label_value")]
['job', 'label_value', 'label_label_value']
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import polars as pl

from ._errors import ConfigError as _ConfigError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DATA_COLUMNS",
    "TIMESTAMP",
    "check_frame",
    "empty_frame",
    "label_column",
    "series_keys",
    "to_pandas",
]

#: The dtype of every time column in every workbench frame.
TIMESTAMP = pl.Datetime("ms", "UTC")
#: The two data columns of a series frame, in order.
DATA_COLUMNS = ("timestamp", "value")

_SHADOWING = re.compile(r"(?:label_)*(?:timestamp|value)")


def empty_frame() -> pl.DataFrame:
    """The empty series frame: ``timestamp`` and ``value`` with their dtypes.

    Examples
    --------
    >>> empty_frame().height
    0
    """
    return pl.DataFrame(schema={"timestamp": TIMESTAMP, "value": pl.Float64})


def label_column(name: str) -> str:
    """The column a label called ``name`` is stored under (collision-free; see module doc).

    Examples
    --------
    >>> label_column("timestamp"), label_column("label_timestamp"), label_column("values")
    ('label_timestamp', 'label_label_timestamp', 'values')
    """
    if not isinstance(name, str):
        msg = f"A label name must be text, got {type(name).__name__} {str(name)[:60]!r}."
        raise _ConfigError(msg)
    return f"label_{name}" if _SHADOWING.fullmatch(name) else name


def series_keys(frame: pl.DataFrame) -> list[str]:
    """The label columns of a series frame (every column but ``timestamp`` and ``value``).

    Examples
    --------
    >>> f = pl.DataFrame({"timestamp": [0], "value": [1.0], "job": ["a"]})
    >>> series_keys(f)
    ['job']
    """
    _check_frame(frame)
    return [c for c in frame.columns if c not in DATA_COLUMNS]


def check_frame(frame: object, what: str = "frame",
                columns: tuple[str, ...] = ()) -> pl.DataFrame:
    """``frame`` if it is a polars DataFrame holding ``columns``, else a
    :class:`~workbench.ConfigError` naming ``what`` and what is missing.

    Examples
    --------
    >>> check_frame(empty_frame(), columns=DATA_COLUMNS).width
    2
    """
    if not isinstance(frame, pl.DataFrame):
        msg = (f"{what} must be a polars DataFrame, got {type(frame).__name__}. Fix: pass the "
               "frame the matching workbench function returned (pandas: pl.from_pandas(df)).")
        raise _ConfigError(msg)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        msg = (f"{what} lacks the column(s) {missing} (it has {frame.columns[:12]}). Fix: pass "
               "the frame the matching workbench function returned.")
        raise _ConfigError(msg)
    return frame


_check_frame = check_frame


def to_pandas(frame: pl.DataFrame, *, wide: bool = False) -> pd.DataFrame:
    """A series frame as pandas: long as it is, or ``wide`` (one column per series).

    Wide frames are indexed by ``timestamp`` with one column per label set; a column's name is
    the label set as ``{k="v",...}`` (or ``value`` for a single unlabelled series).

    Examples
    --------
    >>> f = pl.DataFrame({"timestamp": [0, 0], "value": [1.0, 2.0], "job": ["a", "b"]},
    ...                  schema_overrides={"timestamp": TIMESTAMP})
    >>> list(to_pandas(f, wide=True).columns)
    ['{job="a"}', '{job="b"}']
    """
    _check_frame(frame)
    if not wide:
        return frame.to_pandas()
    if not set(DATA_COLUMNS) <= set(frame.columns):
        msg = (f"wide=True needs a series frame with 'timestamp' and 'value' columns; this one has "
               f"{frame.columns[:10]}.")
        raise _ConfigError(msg)
    keys = series_keys(frame)
    if not keys:
        return frame.to_pandas().set_index("timestamp")
    name = pl.concat_str(
        [pl.lit("{")]
        + [e for i, k in enumerate(keys) for e in (
            [pl.lit(("," if i else "") + f'{k}="'), pl.col(k).fill_null(""), pl.lit('"')])]
        + [pl.lit("}")])
    wide_frame = (frame.with_columns(name.alias("_series"))
                  .pivot(on="_series", index="timestamp", values="value", aggregate_function=None)
                  .sort("timestamp"))
    return wide_frame.to_pandas().set_index("timestamp")
