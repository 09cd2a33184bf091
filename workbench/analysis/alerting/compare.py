"""PromQL comparison filters (``expr > 0.9``) applied locally, with the engine's float semantics.

A comparison between an instant vector and a scalar keeps the samples for which the Go float
comparison is true. IEEE rules apply: every comparison with NaN is false **except** ``!=``, which is
true (so ``NaN != 1`` keeps the sample, and ``NaN > x`` never does); ``+Inf``/``-Inf`` compare as
usual. numpy's comparisons are the same IEEE comparisons, so applying them to a value matrix gives
exactly the series the server would return, without a round trip per threshold.

Examples
--------
>>> import numpy as np
>>> passes(np.array([0.5, 0.9, np.nan, np.inf]), ">=", 0.9).tolist()
[False, True, False, True]
>>> passes(np.array([np.nan]), "!=", 0.9).tolist()
[True]
>>> format_threshold(0.1 + 0.2)
'0.30000000000000004'
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from ..._errors import AlertRuleError

__all__ = ["OPS", "format_threshold", "passes"]

#: PromQL comparison operators and their numpy ufuncs.
OPS: dict[str, Callable[[Any, Any], Any]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}


def check_op(op: str) -> str:
    """Return ``op`` if it is a PromQL comparison operator, else raise AlertRuleError."""
    if not isinstance(op, str) or op not in OPS:
        msg = f"op must be one of {', '.join(OPS)}, got {str(op)[:40]!r}."
        raise AlertRuleError(msg)
    return op


def passes(values: npt.ArrayLike, op: str, threshold: float) -> npt.NDArray[np.bool_]:
    """Boolean mask of samples a ``<vector> op threshold`` filter keeps (NaN: only ``!=``)."""
    fn = OPS[check_op(op)]
    with np.errstate(invalid="ignore"):
        return np.asarray(fn(np.asarray(values, dtype=np.float64), float(threshold)), dtype=bool)


def format_threshold(threshold: float) -> str:
    """PromQL literal that parses back to exactly ``threshold`` (``+Inf``, ``NaN``, shortest repr)."""
    v = float(threshold)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    text = repr(v)
    return text[:-2] if text.endswith(".0") and "e" not in text else text
