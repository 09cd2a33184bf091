"""Sliders that never change the value they were given.

ipywidgets clamps a slider's value into ``[min, max]`` without a word (``sustain_min=600`` on a
0–240 slider became 240, and the report silently used 240). :func:`slider` widens the range to
the given value instead, and says so: a warning, and a note the tuner shows above its sliders.

Examples
--------
>>> import warnings
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     s, note = slider("sustain_min", 600.0, 0.0, 240.0, 1.0)
>>> s.value, s.max
(600.0, 600.0)
>>> note.split(":")[0]
'sustain_min = 600 is above the slider range 0–240'
>>> str(caught[0].message) == note
True
>>> slider("cpu_util", 0.9, 0.05, 1.0, 0.01)[1] is None
True
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import ipywidgets

__all__ = ["slider"]


def slider(name: str, value: float, lo: float, hi: float, step: float,
           **kwargs: Any) -> tuple[ipywidgets.FloatSlider, str | None]:
    """A FloatSlider holding exactly ``value``; returns it and a note when ``value`` is outside
    ``[lo, hi]`` (the range is widened to include it, and a warning says so)."""
    import ipywidgets as w

    note = None
    if not lo <= value <= hi:
        side = "above" if value > hi else "below"
        note = (f"{name} = {value:g} is {side} the slider range {lo:g}–{hi:g}: the range was "
                f"widened to {value:g} (the value is used as given).")
        warnings.warn(note, UserWarning, stacklevel=2)
    s = w.FloatSlider(min=min(lo, value), max=max(hi, value), step=step, description=name,
                      **kwargs)
    s.value = value  # after min/max: a value set first is clamped to the default 0..100
    return s, note
