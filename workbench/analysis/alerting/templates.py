"""Render the subset of Prometheus's alert templates that backtests need, as 2.42 renders them.

Templated rule *labels* are part of an alert's identity, so the backtester must expand them exactly;
annotations are only needed to write ``exp_annotations`` in ``promtool test rules`` files.

Supported actions (anything else raises :class:`~workbench.AlertRuleError` naming the action):

* ``{{ $labels.name }}``, ``{{ .Labels.name }}``, ``{{ index $labels "name" }}``,
  ``{{ $externalLabels.name }}``, ``{{ $value }}``, ``{{ .Value }}``, and ``{{- ... -}}`` trims;
* pipes into ``humanize``, ``humanize1024``, ``humanizePercentage``, ``humanizeDuration``,
  ``toUpper``, ``toLower``, ``title``, ``printf "<fmt>"`` with one ``%s``/``%v``/``%d``/``%.Nf``/
  ``%.Ng``/``%.Ne`` verb; ``printf "<fmt>" $value`` in call form too.

``$value`` prints like Go's ``%v`` for float64 (``1.234567e+06``); the humanize functions follow
``template/template.go``. The test suite renders every supported form through ``promtool`` too.

Examples
--------
>>> render("{{ $labels.instance }} at {{ $value | humanize }}", {"instance": "a"}, 1234567.0)
'a at 1.235M'
>>> render("{{ $value }}", {}, 1234567.0)
'1.234567e+06'
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from decimal import Decimal

from ..._errors import AlertRuleError

__all__ = ["go_float", "humanize", "is_templated", "render", "uses_value"]

_ACTION = re.compile(r"\{\{(-?)\s*(.*?)\s*(-?)\}\}", re.S)
_LABEL_REF = re.compile(r"^(?:\$labels|\.Labels|\$externalLabels|\.ExternalLabels)\.([A-Za-z_]\w*)$")
_INDEX_REF = re.compile(r'^index\s+(\$labels|\.Labels|\$externalLabels)\s+"([^"]*)"$')
_PRINTF = re.compile(r'^printf\s+"((?:[^"\\]|\\.)*)"(?:\s+(\S+))?$')
_VERB = re.compile(r"%(?:(\.\d+)?([fge])|([svd]))")


def is_templated(text: str) -> bool:
    """Whether ``text`` contains a template action."""
    return "{{" in text


def uses_value(text: str) -> bool:
    """Whether the template refers to the sample value (so it can change at every evaluation)."""
    return bool(re.search(r"\$value|\.Value\b", text))


def go_float(v: float) -> str:
    """Format a float64 like Go's ``%v`` (``strconv 'g'`` with the shortest digits).

    Examples
    --------
    >>> [go_float(x) for x in (0.9, 100000.0, 1e6, 1e-5, 2.0, float("inf"))]
    ['0.9', '100000', '1e+06', '1e-05', '2', '+Inf']
    """
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if v == 0:
        return "-0" if math.copysign(1.0, v) < 0 else "0"
    sign, digits, exp10 = Decimal(repr(float(v))).normalize().as_tuple()
    ds = "".join(map(str, digits))
    nd = len(ds)
    dp = nd + int(exp10)                      # decimal point position
    exp = dp - 1
    neg = "-" if sign else ""
    if exp < -4 or exp >= 6:
        mant = ds[0] + ("." + ds[1:] if nd > 1 else "")
        return f"{neg}{mant}e{'+' if exp >= 0 else '-'}{abs(exp):02d}"
    if dp <= 0:
        return f"{neg}0.{'0' * -dp}{ds}"
    if dp >= nd:
        return f"{neg}{ds}{'0' * (dp - nd)}"
    return f"{neg}{ds[:dp]}.{ds[dp:]}"


def _g4(v: float) -> str:
    """Go ``%.4g`` (Python's ``.4g`` agrees, including the exponent form; infinities differ)."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return format(v, ".4g")


def humanize(v: float) -> str:
    """Prometheus ``humanize``: SI prefixes, 4 significant digits (``1.235M``, ``900m``)."""
    if v == 0 or math.isnan(v) or math.isinf(v):
        return _g4(v)
    if abs(v) >= 1:
        prefix = ""
        for p in ("k", "M", "G", "T", "P", "E", "Z", "Y"):
            if abs(v) < 1000:
                break
            prefix = p
            v /= 1000
        return _g4(v) + prefix
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(v) >= 1:
            break
        prefix = p
        v *= 1000
    return _g4(v) + prefix


def _humanize1024(v: float) -> str:
    if abs(v) <= 1 or math.isnan(v) or math.isinf(v):
        return _g4(v)
    prefix = ""
    for p in ("ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"):
        if abs(v) < 1024:
            break
        prefix = p
        v /= 1024
    return _g4(v) + prefix


def _humanize_duration(v: float) -> str:
    if math.isnan(v) or math.isinf(v):
        return _g4(v)
    if v == 0:
        return _g4(v) + "s"
    if abs(v) >= 1:
        sign = "-" if v < 0 else ""
        v = abs(v)
        d = int(v) if v < 2**63 else -(2**63)      # Go's int64(v) overflows to MinInt64

        def quo(a: int, b: int) -> int:            # Go integer division truncates to zero
            return -(-a // b) if a < 0 else a // b

        def rem(a: int, b: int) -> int:
            return a - b * quo(a, b)

        seconds, minutes = rem(d, 60), rem(quo(d, 60), 60)
        hours, days = rem(quo(quo(d, 60), 60), 24), quo(quo(quo(d, 60), 60), 24)
        if days:
            return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
        if hours:
            return f"{sign}{hours}h {minutes}m {seconds}s"
        if minutes:
            return f"{sign}{minutes}m {seconds}s"
        return f"{sign}{_g4(v)}s"
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(v) >= 1:
            break
        prefix = p
        v *= 1000
    return f"{_g4(v)}{prefix}s"


def _title(s: str) -> str:
    return re.sub(r"(^|[^\w])(\w)", lambda m: m.group(1) + m.group(2).upper(), s)


_FUNCS: dict[str, Callable[[object], str]] = {
    "humanize": lambda x: humanize(_to_float(x)),
    "humanize1024": lambda x: _humanize1024(_to_float(x)),
    "humanizePercentage": lambda x: _g4(_to_float(x) * 100) + "%",
    "humanizeDuration": lambda x: _humanize_duration(_to_float(x)),
    "toUpper": lambda x: _to_str(x).upper(),
    "toLower": lambda x: _to_str(x).lower(),
    "title": lambda x: _title(_to_str(x)),
}


def _to_float(x: object) -> float:
    if isinstance(x, float):
        return x
    try:
        return float(str(x))
    except ValueError:
        msg = f"template function needs a number, got {x!r}."
        raise AlertRuleError(msg) from None


def _to_str(x: object) -> str:
    return go_float(x) if isinstance(x, float) else str(x)


def _printf(fmt: str, arg: object) -> str:
    fmt = fmt.encode().decode("unicode_escape")
    verbs = list(_VERB.finditer(fmt))
    if len(verbs) != 1:
        msg = (f"printf format {fmt!r} is not supported by the backtester (exactly one verb of "
               "%s %v %d %.Nf %.Ng %.Ne). Fix: simplify the template.")
        raise AlertRuleError(msg)
    m = verbs[0]
    if m.group(2) == "g" and not m.group(1):
        py = go_float(_to_float(arg))                  # Go's %g is shortest, like %v
    elif m.group(2):
        py = format(_to_float(arg), f"{m.group(1) or ''}{m.group(2)}")
    elif m.group(3) == "d":
        py = str(int(_to_float(arg)))
    else:
        py = _to_str(arg)
    return fmt[: m.start()] + py + fmt[m.end():]


def _operand(token: str, labels: Mapping[str, str], value: float,
             external: Mapping[str, str]) -> object:
    if token in ("$value", ".Value"):
        return value
    m = _LABEL_REF.match(token)
    if m:
        src = external if "xternal" in token else labels
        return src.get(m.group(1), "")
    m = _INDEX_REF.match(token)
    if m:
        src = external if "xternal" in m.group(1) else labels
        return src.get(m.group(2), "")
    if token.startswith('"') and token.endswith('"') and len(token) >= 2:
        return token[1:-1]
    msg = (f"template operand {token!r} is not supported by the backtester. Supported: "
           "$labels.x, .Labels.x, index $labels \"x\", $externalLabels.x, $value, .Value. "
           "Fix: simplify the label template, or backtest the rule without it.")
    raise AlertRuleError(msg)


def _eval_action(body: str, labels: Mapping[str, str], value: float,
                 external: Mapping[str, str]) -> str:
    stages = [s.strip() for s in body.split("|")]
    first = stages[0]
    m = _PRINTF.match(first)
    if m and m.group(2):
        cur: object = _printf(m.group(1), _operand(m.group(2), labels, value, external))
    else:
        cur = _operand(first, labels, value, external)
    for stage in stages[1:]:
        m = _PRINTF.match(stage)
        if m and not m.group(2):
            cur = _printf(m.group(1), cur)
        elif stage in _FUNCS:
            cur = _FUNCS[stage](cur)
        else:
            msg = (f"template function {stage!r} is not supported by the backtester "
                   f"(supported: {', '.join(sorted(_FUNCS))}, printf). Fix: simplify the template.")
            raise AlertRuleError(msg)
    return _to_str(cur)


def render(text: str, labels: Mapping[str, str], value: float,
           external_labels: Mapping[str, str] | None = None) -> str:
    """Expand a label or annotation template for one sample.

    Parameters
    ----------
    text
        The template (plain text is returned unchanged).
    labels
        The sample's labels (``$labels``), including ``__name__`` if the expression kept it.
    value
        The sample value (``$value``).
    external_labels
        ``$externalLabels``.
    """
    if "{{" not in text:
        return text
    ext = external_labels or {}
    out: list[str] = []
    pos = 0
    for m in _ACTION.finditer(text):
        chunk = text[pos: m.start()]
        if m.group(1):
            chunk = chunk.rstrip(" \t\r\n")
        out.append(chunk)
        out.append(_eval_action(m.group(2), labels, value, ext))
        pos = m.end()
        if m.group(3):
            while pos < len(text) and text[pos] in " \t\r\n":
                pos += 1
    out.append(text[pos:])
    return "".join(out)
