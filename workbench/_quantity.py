"""Kubernetes wire formats: resource quantities and Go durations, parsed and formatted exactly.

Quantities follow apimachinery ``pkg/api/resource/quantity.go``::

    <quantity>     ::= <signedNumber><suffix>
    <signedNumber> ::= [+-] ( <digits> | <digits>. | <digits>.<digits> | .<digits> )
    <suffix>       ::= Ki | Mi | Gi | Ti | Pi | Ei            (powers of 1024)
                     | n | u | m | "" | k | M | G | T | P | E (powers of 1000)
                     | e<int> | E<int>                      (decimal exponent, sign allowed)

``E`` alone is exa; ``E`` followed by digits is an exponent. ``m`` on memory is legal
(``107374182400m`` is 0.1 GiB). Like the API server, a parsed value is rounded away from zero to
a whole nano-unit (``0.1n`` is ``1n``), and a binary-suffixed value is capped at 2**63-1.

Values are exact: :func:`parse_quantity` returns a :class:`~decimal.Decimal` built from integers
(never through ``float``, never rounded by the decimal context). :func:`scaled_value` gives the
integer Go's ``Value()`` / ``MilliValue()`` / ``ScaledValue()`` return (rounded up, away from 0),
which is what ``kubectl top`` prints.

Formatting: :func:`canonical_quantity` writes Go's canonical form (``1.5`` -> ``1500m``,
``1.5Gi`` -> ``1536Mi``); :func:`format_cpu_nanocores` and :func:`format_memory_bytes` encode
usage the way metrics-server does (``"137505512n"``, ``"1842164Ki"``). :func:`parse_go_duration`
and :func:`format_go_duration` handle metrics-server's ``window`` (``"15.013s"``, ``"1m0.5s"``).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import NamedTuple

from ._errors import QuantityError

__all__ = [
    "Decomposed",
    "canonical_quantity",
    "decompose_quantity",
    "format_cpu_nanocores",
    "format_go_duration",
    "format_memory_bytes",
    "nano_value",
    "parse_go_duration",
    "parse_quantity",
    "scaled_value",
]

_DECIMAL_SUFFIX = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15,
                   "E": 18}
_BINARY_SUFFIX = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL_BY_EXP = {v: k for k, v in _DECIMAL_SUFFIX.items()}
_BINARY_BY_EXP = {v: k for k, v in _BINARY_SUFFIX.items()}
_MAX_BINARY = 2**63 - 1
_INT32 = 2**31 - 1
#: Largest decimal exponent for which integer results (scaled_value) are computed.
_MAX_INT_EXP10 = 400

_QUANTITY_RE = re.compile(
    r"([+-]?)(?:(\d+)(?:\.(\d*))?|\.(\d+))"  # sign, integer part, fraction (or .digits)
    r"(?:(Ki|Mi|Gi|Ti|Pi|Ei)|([eE][+-]?\d+)|(n|u|m|k|M|G|T|P|E)?)"
)
_FAST_RE = re.compile(r"(\d+)(n|u|m|k|M|G|T|Ki|Mi|Gi|Ti)?")
_FAST_EXP10 = {None: 0, "n": -9, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12}
_FAST_MULT = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4}

_HINT = (
    "expected <number><suffix>, e.g. '250m', '1.5', '512Mi', '1e3', with suffix one of "
    "n u m k M G T P E (powers of 1000), Ki Mi Gi Ti Pi Ei (powers of 1024) or e<int>"
)


class Decomposed(NamedTuple):
    """A quantity as ``sign * mantissa * 10**exp10 * 1024**exp1024`` (``mantissa`` >= 0).

    ``fmt`` is the Go format the suffix implies: ``"BinarySI"``, ``"DecimalSI"`` or
    ``"DecimalExponent"``.
    """

    sign: int
    mantissa: int
    exp10: int
    exp1024: int
    fmt: str


def decompose_quantity(text: str) -> Decomposed:
    """Split a quantity string into sign, integer mantissa and exponents, without rounding.

    Examples
    --------
    >>> decompose_quantity("1.5Gi")
    Decomposed(sign=1, mantissa=15, exp10=-1, exp1024=3, fmt='BinarySI')
    >>> decompose_quantity("-12e-1")
    Decomposed(sign=-1, mantissa=12, exp10=-1, exp1024=0, fmt='DecimalExponent')
    """
    if not isinstance(text, str):
        msg = f"Invalid quantity {text!r}: expected a string; {_HINT}."
        raise QuantityError(msg)
    m = _QUANTITY_RE.fullmatch(text)
    if m is None:
        shown = text if len(text) <= 60 else text[:57] + "..."
        msg = f"Invalid Kubernetes quantity {shown!r}: {_HINT}."
        raise QuantityError(msg)
    sign_s, int_s, frac_s, only_frac, binary, exponent, dec = m.groups()
    if only_frac is not None:
        int_s, frac_s = "0", only_frac
    frac_s = frac_s or ""
    mantissa = int(int_s + frac_s) if (int_s + frac_s) else 0
    exp10 = -len(frac_s)
    sign = -1 if sign_s == "-" else 1
    if binary is not None:
        return Decomposed(sign, mantissa, exp10, _BINARY_SUFFIX[binary], "BinarySI")
    if exponent is not None:
        e = int(exponent[1:])
        if abs(e) > _INT32:
            msg = f"Invalid Kubernetes quantity {text[:60]!r}: the exponent does not fit in 32 bits."
            raise QuantityError(msg)
        return Decomposed(sign, mantissa, exp10 + e, 0, "DecimalExponent")
    return Decomposed(sign, mantissa, exp10 + _DECIMAL_SUFFIX[dec or ""], 0, "DecimalSI")


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _normalized(d: Decomposed) -> tuple[int, int, int]:
    """Return ``(sign, n, e)`` with value ``sign * n * 10**e`` after the API server's rounding.

    ``n * 10**e`` is the magnitude rounded up to a whole nano-unit, capped at 2**63-1 when the
    suffix was binary; ``e >= -9``.
    """
    n = d.mantissa * (1024**d.exp1024)
    e = d.exp10
    if n == 0:
        return 1, 0, 0
    if e < -9:
        shift = -9 - e
        # below one nano-unit rounds up to exactly 1n
        n = 1 if shift > len(str(n)) else _ceil_div(n, 10**shift)
        e = -9
    if d.fmt == "BinarySI" and e <= 19 and n * 10**max(e, 0) > _MAX_BINARY * 10**max(-e, 0):
        n, e = _MAX_BINARY, 0
    # strip trailing zeros so exponents stay small
    while n % 10 == 0:
        n //= 10
        e += 1
    return d.sign, n, e


def parse_quantity(text: str) -> Decimal:
    """Parse a Kubernetes quantity into an exact :class:`~decimal.Decimal`.

    Parameters
    ----------
    text
        A quantity such as ``"250m"``, ``"1.5"``, ``"512Mi"``, ``"1e3"``, ``"137505512n"``.

    Returns
    -------
    Decimal
        The value in base units (cores, bytes), rounded up to a whole nano-unit as the API
        server does. Never rounded by the decimal context.

    Raises
    ------
    QuantityError
        (a ``ValueError``) when the text is not a quantity; the message shows the grammar.

    Examples
    --------
    >>> parse_quantity("250m")
    Decimal('0.25')
    >>> parse_quantity("1.5Gi")
    Decimal('1610612736')
    >>> parse_quantity("107374182400m")
    Decimal('107374182.4')
    >>> parse_quantity("1e3")
    Decimal('1000')
    """
    sign, n, e = _normalized(decompose_quantity(text))
    if n == 0:
        return Decimal(0)
    if 0 <= e <= 30:
        return Decimal(sign * n * 10**e)
    return Decimal((0 if sign > 0 else 1, tuple(int(c) for c in str(n)), e))


def scaled_value(text: str, scale: int = 0) -> int:
    """Return the quantity in units of ``10**scale``, rounded up away from zero (Go semantics).

    ``scale=0`` is Go's ``Value()`` (bytes, whole cores); ``scale=-3`` is ``MilliValue()``;
    ``scale=-9`` is exact nano-units.

    Examples
    --------
    >>> scaled_value("137505512n", -3)   # kubectl prints CPU as MilliValue
    138
    >>> scaled_value("1842164Ki") // 2**20   # and memory as Value() / 2**20 Mi
    1798
    >>> scaled_value("107374182400m")
    107374183
    """
    m = _FAST_RE.fullmatch(text) if isinstance(text, str) else None
    if m is not None:
        digits, suffix = m.groups()
        if suffix in _FAST_MULT:
            sign, n, e = 1, min(int(digits) * _FAST_MULT[suffix], _MAX_BINARY), 0
        else:
            sign, n, e = 1, int(digits), _FAST_EXP10[suffix]
    else:
        sign, n, e = _normalized(decompose_quantity(text))
    shift = e - scale
    if shift > _MAX_INT_EXP10:
        msg = f"Quantity {text[:60]!r} is too large to express in units of 10^{scale}."
        raise QuantityError(msg)
    if shift >= 0:
        return int(sign * n * 10**shift)
    if -shift > len(str(n)) + 1:
        return sign * (1 if n else 0)
    return sign * _ceil_div(n, 10**-shift)


def nano_value(text: str) -> int:
    """Return the exact value in nano-units (nanocores for CPU).

    Examples
    --------
    >>> nano_value("250m")
    250000000
    """
    return scaled_value(text, -9)


# -- formatting --------------------------------------------------------------------------------


def _canonical_decimal(sign: int, n: int, e: int, fmt: str) -> str:
    """Go's ``AsCanonicalBytes`` + suffix: mantissa with the exponent a multiple of 3."""
    while n and n % 10 == 0:
        n //= 10
        e += 1
    r = e % 3
    if r:
        n *= 10**r
        e -= r
    number = str(sign * n)
    if fmt == "DecimalSI" and e in _DECIMAL_BY_EXP:
        return number + _DECIMAL_BY_EXP[e]
    return number if e == 0 else f"{number}e{e}"


def canonical_quantity(text: str) -> str:
    """Return the canonical form the API server writes for a quantity (Go ``Quantity.String()``).

    Examples
    --------
    >>> canonical_quantity("1.5")
    '1500m'
    >>> canonical_quantity("1.5Gi")
    '1536Mi'
    >>> canonical_quantity("1000Mi")
    '1000Mi'
    >>> canonical_quantity("0.5Ki")
    '512'
    >>> canonical_quantity("12e-1")
    '1200e-3'
    """
    d = decompose_quantity(text)
    sign, n, e = _normalized(d)
    if n == 0:
        return "0"
    fmt = d.fmt
    if fmt == "BinarySI":
        # Go: |q| < 1024 or not a whole number -> shown as DecimalSI, else base-1024 suffixes
        if e >= 0 and n * 10**e >= 1024:
            return _binary(sign * n * 10**e)
        fmt = "DecimalSI"
    return _canonical_decimal(sign, n, e, fmt)


def format_cpu_nanocores(nanocores: int) -> str:
    """Encode CPU usage the way metrics-server does: ``Quantity(nanocores, scale -9, DecimalSI)``.

    Examples
    --------
    >>> format_cpu_nanocores(137505512), format_cpu_nanocores(250_000_000)
    ('137505512n', '250m')
    >>> format_cpu_nanocores(2_000_000_000), format_cpu_nanocores(0)
    ('2', '0')
    """
    if nanocores == 0:
        return "0"
    return _canonical_decimal(1 if nanocores > 0 else -1, abs(int(nanocores)), -9, "DecimalSI")


def format_memory_bytes(num_bytes: int) -> str:
    """Encode a byte count the way metrics-server does: ``Quantity(bytes, BinarySI)``.

    Examples
    --------
    >>> format_memory_bytes(1842164 * 1024), format_memory_bytes(512 * 2**20)
    ('1842164Ki', '512Mi')
    >>> format_memory_bytes(123456789), format_memory_bytes(1000)
    ('123456789', '1k')
    """
    value = int(num_bytes)
    if abs(value) < 1024:
        return "0" if value == 0 else _canonical_decimal(1 if value > 0 else -1, abs(value), 0,
                                                         "DecimalSI")
    return _binary(value)


def _binary(value: int) -> str:
    sign = -1 if value < 0 else 1
    value = abs(value)
    k = 0
    while k < 6 and value % 1024 == 0:
        value //= 1024
        k += 1
    return f"{sign * value}{_BINARY_BY_EXP.get(k, '')}"


# -- Go durations --------------------------------------------------------------------------------

_GO_UNITS_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000,
                "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000}
_GO_DURATION_RE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_go_duration(text: str) -> float:
    """Parse a Go ``time.Duration`` string (``"15.013s"``, ``"1m0.5s"``, ``"500ms"``) to seconds.

    Examples
    --------
    >>> parse_go_duration("1m0.5s")
    60.5
    >>> parse_go_duration("0s")
    0.0
    """
    s = text.strip()
    sign = 1
    if s[:1] in "+-" and s:
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    if s == "0":
        return 0.0
    pos, total_ns = 0, Decimal(0)
    for m in _GO_DURATION_RE.finditer(s):
        if m.start() != pos:
            break
        total_ns += Decimal(m.group(1)) * _GO_UNITS_NS[m.group(2)]
        pos = m.end()
    if pos != len(s) or pos == 0:
        msg = (f"Invalid Go duration {text[:60]!r}: expected e.g. '15s', '1m0.5s', '500ms' "
               "(units ns, us, ms, s, m, h).")
        raise QuantityError(msg)
    return sign * float(total_ns / 1_000_000_000)


def _frac(value: int, digits: int) -> str:
    """``value / 10**digits`` with trailing fractional zeros removed."""
    whole, rest = divmod(value, 10**digits)
    if rest == 0:
        return str(whole)
    return f"{whole}.{str(rest).rjust(digits, '0').rstrip('0')}"


def format_go_duration(seconds: float) -> str:
    """Format seconds as Go's ``time.Duration.String()`` does (nanosecond resolution).

    Examples
    --------
    >>> format_go_duration(15.013), format_go_duration(60.5), format_go_duration(0.5)
    ('15.013s', '1m0.5s', '500ms')
    >>> format_go_duration(3723), format_go_duration(0)
    ('1h2m3s', '0s')
    """
    ns = round(seconds * 1_000_000_000)
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    if ns < 1_000:
        return f"{sign}{ns}ns"
    if ns < 1_000_000:
        return f"{sign}{_frac(ns, 3)}µs"
    if ns < 1_000_000_000:
        return f"{sign}{_frac(ns, 6)}ms"
    h, rest = divmod(ns, 3_600_000_000_000)
    m, rest = divmod(rest, 60_000_000_000)
    out = sign
    if h:
        out += f"{h}h"
    if h or m:
        out += f"{m}m"
    return out + f"{_frac(rest, 9)}s"
