"""Deterministic time signals: seasonal waves with closed-form integrals, and hash noise.

Everything is a pure function of absolute time, so the backfilled history and the live scrape
targets compute the same value for the same instant, and counters (integrals of a rate) need no
state: ``counter(t) = W(t) - W(t_start)``.

Examples
--------
>>> import numpy as np
>>> w = Wave.make(key=1, mean=2.0, daily=0.3, weekly=0.1, jitter=0.05)
>>> t = np.array([1.7e9, 1.7e9 + 7 * 86400.0])
>>> bool(np.all(w.rate(t) > 0))
True
>>> float(np.round((w.integral(t[1:]) - w.integral(t[:1]))[0] / (7 * 86400.0), 2))  # a week: mean
2.0
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["DAY", "EPOCH0", "WEEK", "Wave", "hash64", "noise", "uniform"]

DAY = 86400.0
WEEK = 7 * DAY
#: A Sunday 00:00 UTC; waves are phased against it so daily/weekly peaks land on clock hours.
EPOCH0 = 18518 * 86400
_TAU = 2 * np.pi
_M = np.uint64(0xFFFFFFFFFFFFFFFF)

F = npt.NDArray[np.float64]


def hash64(*parts: object) -> int:
    """A stable 64-bit hash of ``parts`` (independent of PYTHONHASHSEED)."""
    h = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8)
    return int.from_bytes(h.digest(), "little")


def uniform(*parts: object) -> float:
    """A stable uniform number in [0, 1) for ``parts``."""
    return hash64(*parts) / 2.0**64


def noise(key: int, t: F, interval_s: float) -> F:
    """Uniform noise in [-1, 1), constant within each ``interval_s`` slot of ``t``."""
    k = np.floor(np.asarray(t, dtype=np.float64) / interval_s).astype(np.int64).astype(np.uint64)
    with np.errstate(over="ignore"):
        x = k * np.uint64(0x9E3779B97F4A7C15) + np.uint64(key & 0xFFFFFFFFFFFFFFFF)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)).astype(np.float64) / 2.0**52 - 1.0


@dataclass(frozen=True)
class Wave:
    """``rate(t) = mean * (1 + sum_i a_i sin(w_i (t - EPOCH0) + p_i))`` with its integral.

    The components are a daily one (peaking mid-afternoon UTC), a weekly one (peaking
    mid-week) and two short incommensurate ones that read as noise. ``sum(a_i) < 1`` keeps the
    rate positive, so integrals are valid counters.
    """

    mean: float
    amps: tuple[float, ...]
    omegas: tuple[float, ...]
    phases: tuple[float, ...]

    @classmethod
    @functools.lru_cache(maxsize=65536)
    def make(cls, key: object, mean: float, daily: float = 0.3, weekly: float = 0.1,
             jitter: float = 0.08, peak_hour: float | None = None) -> Wave:
        if daily + weekly + 2 * jitter >= 1:
            msg = "wave amplitudes must sum below 1"
            raise ValueError(msg)
        u = [uniform(key, i) for i in range(6)]
        peak = (peak_hour if peak_hour is not None else 12.0 + 5.0 * u[0]) * 3600.0
        wd, ww = _TAU / DAY, _TAU / WEEK
        w1, w2 = _TAU / (420 + 1000 * u[1]), _TAU / (2400 + 7000 * u[2])
        return cls(
            mean=float(mean),
            amps=(daily, weekly, jitter, jitter * 0.7),
            omegas=(wd, ww, w1, w2),
            phases=(np.pi / 2 - wd * peak, np.pi / 2 - ww * 3.5 * DAY, _TAU * u[3], _TAU * u[4]),
        )

    def rate(self, t: F) -> F:
        x = np.asarray(t, dtype=np.float64) - EPOCH0
        out = np.ones_like(x)
        for a, w, p in zip(self.amps, self.omegas, self.phases, strict=True):
            out += a * np.sin(w * x + p)
        return self.mean * out

    def integral(self, t: F) -> F:
        """Antiderivative (an arbitrary constant aside): differences are exact counters."""
        x = np.asarray(t, dtype=np.float64) - EPOCH0
        out = x.copy()
        for a, w, p in zip(self.amps, self.omegas, self.phases, strict=True):
            out += (a / w) * (np.cos(p) - np.cos(w * x + p))
        return self.mean * out
