"""Kubernetes quantities and Go durations: grammar, exact values, Go rounding and canonical form.

The property tests compare against a reference decomposition written independently here with
``fractions.Fraction`` (value = sign * digits * 10**-len(fraction) * multiplier, rounded away from
zero to a nano-unit, binary suffixes capped at 2**63-1, as apimachinery's ParseQuantity does),
and against ``kubernetes.utils.parse_quantity`` where that helper is exact.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from workbench import QuantityError, parse_quantity
from workbench._quantity import (
    canonical_quantity,
    decompose_quantity,
    format_cpu_nanocores,
    format_go_duration,
    format_memory_bytes,
    nano_value,
    parse_go_duration,
    scaled_value,
)

MULTIPLIER = {
    "n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000), "": Fraction(1),
    "k": Fraction(10**3), "M": Fraction(10**6), "G": Fraction(10**9), "T": Fraction(10**12),
    "P": Fraction(10**15), "E": Fraction(10**18),
    "Ki": Fraction(2**10), "Mi": Fraction(2**20), "Gi": Fraction(2**30), "Ti": Fraction(2**40),
    "Pi": Fraction(2**50), "Ei": Fraction(2**60),
}
NANO = Fraction(1, 10**9)


def reference(sign: str, whole: str, frac: str, suffix: str) -> Fraction:
    """The value apimachinery stores for ``sign whole . frac suffix``."""
    digits = (whole or "0") + frac
    value = Fraction(int(digits), 10 ** len(frac))
    if suffix[:1] in ("e", "E") and suffix not in MULTIPLIER:
        value *= Fraction(10) ** int(suffix[1:])
    else:
        value *= MULTIPLIER[suffix]
    nanos = math.ceil(value / NANO)  # value >= 0 here; round up to a whole nano-unit
    value = nanos * NANO
    if suffix.endswith("i") and value > 2**63 - 1:
        value = Fraction(2**63 - 1)
    return -value if sign == "-" else value


def ceil_away(x: Fraction) -> int:
    return math.ceil(x) if x >= 0 else -math.ceil(-x)


numbers = st.tuples(
    st.sampled_from(["", "+", "-"]),
    st.text("0123456789", min_size=0, max_size=12),
    st.one_of(st.none(), st.text("0123456789", min_size=0, max_size=12)),
).filter(lambda t: t[1] != "" or (t[2] is not None and t[2] != ""))
suffixes = st.one_of(
    st.sampled_from(list(MULTIPLIER)),
    st.builds(lambda e, s, n: f"{e}{s}{n}", st.sampled_from("eE"), st.sampled_from(["", "+", "-"]),
              st.integers(0, 25)),
)


def spell(sign: str, whole: str, frac: str | None, suffix: str) -> str:
    return f"{sign}{whole}{'' if frac is None else '.' + frac}{suffix}"


@given(numbers, suffixes)
@example(("", "107374182400", None), "m")  # memory with an m suffix: 0.1 GiB
@example(("", "1", None), "E")  # E alone is exa
@example(("", "12", None), "E-1")  # E followed by digits is an exponent
@example(("", "0", "1"), "n")  # below a nano-unit rounds up to 1n
@example(("-", "0", "1"), "n")  # ... away from zero
@example(("", "16", None), "Ei")  # capped at 2**63-1
@example(("", "", "5"), "Ki")  # .5Ki
@example(("", "5", ""), "")  # "5."
def test_parse_matches_reference_decomposition(num: tuple[str, str, str | None],
                                               suffix: str) -> None:
    sign, whole, frac = num
    text = spell(sign, whole, frac, suffix)
    expected = reference(sign, whole, frac or "", suffix.replace("+", ""))
    got = parse_quantity(text)
    assert isinstance(got, Decimal)
    assert Fraction(got) == expected, text
    # Go's Value()/MilliValue()/ScaledValue(-9): the exact value rounded up away from zero
    assert scaled_value(text) == ceil_away(expected)
    assert scaled_value(text, -3) == ceil_away(expected * 1000)
    assert nano_value(text) == ceil_away(expected * 10**9)


@given(numbers, suffixes)
def test_canonical_form_round_trips(num: tuple[str, str, str | None], suffix: str) -> None:
    text = spell(*num, suffix)
    canon = canonical_quantity(text)
    assert parse_quantity(canon) == parse_quantity(text)
    assert canonical_quantity(canon) == canon  # canonical is a fixed point
    d = decompose_quantity(canon)
    assert d.exp10 % 3 == 0 or d.fmt == "BinarySI"  # exponents in steps of three


@given(st.sampled_from(["", "k", "M", "G", "m", "u", "n", "Ki", "Mi", "Gi", "Ti"]),
       st.integers(0, 10**12), st.text("0123456789", max_size=3))
def test_agrees_with_kubernetes_utils_where_it_is_exact(suffix: str, whole: int, frac: str) -> None:
    from kubernetes.utils import parse_quantity as k8s_parse

    text = f"{whole}.{frac}{suffix}" if frac else f"{whole}{suffix}"
    ours = Fraction(parse_quantity(text))
    theirs = Fraction(k8s_parse(text))
    exact = theirs == 0 or (NANO <= theirs <= 2**63 - 1 and (theirs / NANO).denominator == 1)
    assume(exact)  # kubernetes.utils neither rounds to nano-units nor caps binary values
    assert ours == theirs, text


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("250m", Decimal("0.25")),
        ("1.5", Decimal("1.5")),
        ("137505512n", Decimal("0.137505512")),
        ("123456u", Decimal("0.123456")),
        ("1842164Ki", Decimal(1842164 * 1024)),
        ("512Mi", Decimal(512 * 2**20)),
        ("1.5Gi", Decimal(1610612736)),
        ("107374182400m", Decimal("107374182.4")),  # kube-capacity issue #66 style
        ("1e3", Decimal(1000)),
        ("12E-1", Decimal("1.2")),
        ("1E", Decimal(10**18)),
        ("+1k", Decimal(1000)),
        ("-2", Decimal(-2)),
        (".5", Decimal("0.5")),
        ("5.", Decimal(5)),
        ("1.G", Decimal(10**9)),
        ("0.1n", Decimal("1e-9")),
        ("8Ei", Decimal(2**63 - 1)),
        ("1e999999", Decimal("1e999999")),  # exact, never expanded or context-rounded
    ],
)
def test_hand_cases(text: str, value: Decimal) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize(
    "text", ["", " ", "1K", "1ki", "1mi", "1KiB", "1.5.3", "e3", "1e", "1e3.5", "Ki", "1 Ki",
             "--1", "1Ee3", "0x10", "1,5", "∞", "1e9999999999"],
)
def test_invalid_quantities_are_refused_with_the_grammar(text: str) -> None:
    with pytest.raises(QuantityError) as info:
        parse_quantity(text)
    assert isinstance(info.value, ValueError)
    assert "Ki Mi Gi" in str(info.value) or "32 bits" in str(info.value)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [  # Go Quantity.String(): the largest exponent that keeps the mantissa whole
        ("1.5", "1500m"), ("0.1", "100m"), ("1000", "1k"), ("1500000", "1500k"),
        ("1.5Gi", "1536Mi"), ("0.5Gi", "512Mi"), ("1024", "1024"), ("1024Ki", "1Mi"),
        ("0.5Ki", "512"), ("1.5Ki", "1536"), ("1e3", "1e3"), ("12e-1", "1200e-3"),
        ("107374182400m", "107374182400m"), ("0", "0"), ("0Mi", "0"), ("-1.5", "-1500m"),
        ("2000000000n", "2"), ("1E", "1E"),
    ],
)
def test_canonical_hand_cases(text: str, canonical: str) -> None:
    assert canonical_quantity(text) == canonical


@pytest.mark.parametrize(
    ("nanos", "text"),
    [(137505512, "137505512n"), (123456000, "123456u"), (250_000_000, "250m"),
     (2_000_000_000, "2"), (0, "0"), (1_500_000_000, "1500m"), (1_000_000_000_000, "1k")],
)
def test_cpu_encoding_like_metrics_server(nanos: int, text: str) -> None:
    assert format_cpu_nanocores(nanos) == text
    assert nano_value(text) == nanos


@pytest.mark.parametrize(
    ("num_bytes", "text"),
    [(1842164 * 1024, "1842164Ki"), (512 * 2**20, "512Mi"), (123456789, "123456789"),
     (1000, "1k"), (512, "512"), (0, "0"), (3 * 2**30, "3Gi")],
)
def test_memory_encoding_like_metrics_server(num_bytes: int, text: str) -> None:
    assert format_memory_bytes(num_bytes) == text
    assert scaled_value(text) == num_bytes


@given(st.integers(0, 10**15))
def test_usage_encodings_round_trip(n: int) -> None:
    assert nano_value(format_cpu_nanocores(n)) == n
    assert scaled_value(format_memory_bytes(n)) == n


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(15.013, "15.013s"), (60.5, "1m0.5s"), (0.5, "500ms"), (3723, "1h2m3s"), (0, "0s"),
     (1.5e-6, "1.5µs"), (3e-9, "3ns"), (90, "1m30s")],
)
def test_go_durations(seconds: float, text: str) -> None:
    assert format_go_duration(seconds) == text
    assert parse_go_duration(text) == pytest.approx(seconds, abs=1e-12)


@given(st.integers(0, 10**14))
def test_go_duration_round_trip(ns: int) -> None:
    assert round(parse_go_duration(format_go_duration(ns / 1e9)) * 1e9) == ns


@pytest.mark.parametrize("text", ["", "15", "1x", "s", "1.2.3s"])
def test_bad_go_durations(text: str) -> None:
    with pytest.raises(QuantityError):
        parse_go_duration(text)
