"""Report parameter validation: done before anything runs, strict about types.

papermill itself types ``-p`` values by guessing (``"false"`` stays a truthy string, ``007``
becomes 7) and only warns about unknown names. Here every value is checked against the
notebook's declared type; command-line text is converted by that declared type, so
``-p cluster=007`` stays ``"007"`` and ``-p interactive=maybe`` is an error.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .._errors import ReportParameterError, WorkbenchError
from .._time import parse_duration_ms, parse_time_ms
from ._registry import SECRET_NAME, ReportSpec

__all__ = ["load_params_file", "parse_cli_params", "validate_parameters"]

_BOOL_TEXT = {"true": True, "false": False}


def _accepted(spec: ReportSpec) -> str:
    return "; ".join(f"{p.name} ({p.type}, default {p.default!r})" for p in spec.parameters)


def _refuse_secret(name: str) -> None:
    if SECRET_NAME.search(name):
        msg = (f"Parameter {name!r} looks like a secret and is refused: parameters are written "
               "into the output notebook. Fix: name a connection profile instead (e.g. "
               "-p prometheus=prod, whose token comes from token_env/token_file), or set the "
               "secret in the environment of the run.")
        raise ReportParameterError(msg)


_URL_USERINFO = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#\s]*@")


def _refuse_credentials_in_url(name: str, value: Any) -> None:
    if isinstance(value, str) and _URL_USERINFO.match(value.strip()):
        msg = (f"Parameter {name!r} holds a URL with credentials (user:password@...), which would "
               "be written into the output notebook. Fix: use a connection profile whose secret "
               "comes from password_env/token_file, and pass its name.")
        raise ReportParameterError(msg)


def _check_type(spec: ReportSpec, name: str, value: Any) -> Any:
    p = spec.parameter(name)
    assert p is not None
    ok: bool
    if p.type == "bool":
        ok = isinstance(value, bool)
    elif p.type == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif p.type == "float":
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        value = float(value) if ok else value
    else:
        ok = isinstance(value, str)
    if not ok:
        hint = {"bool": "true or false (a boolean, not the string 'false')",
                "int": "a whole number", "float": "a finite number",
                "str": "a string (quote it in YAML)"}[p.type]
        msg = (f"Parameter {name!r} of report {spec.name!r} must be {hint}; got "
               f"{value!r} ({type(value).__name__}). Accepted parameters: {_accepted(spec)}.")
        raise ReportParameterError(msg)
    return value


#: Parameters whose meaning the name fixes, checked before a kernel starts (a bad value would
#: otherwise fail minutes later, inside the notebook): times, durations, shares and percentages.
_TIMES = frozenset({"start", "end"})
_DURATIONS = frozenset({"step", "interval", "eval_interval", "for_", "keep_firing_for",
                        "whatif_group_interval", "whatif_repeat_interval"})
_STEPS = frozenset({"step", "interval", "eval_interval"})
_RANGES: dict[str, tuple[float, float, str]] = {
    "percentile": (0.0, 100.0, "a percentile between 0 and 100, e.g. 95"),
    "buffer": (0.0, 10.0, "a share of at least 0, e.g. 0.15 for 15 percent"),
    "firing_share": (0.0, 1.0, "a share between 0 and 1, e.g. 0.5"),
    "pvc_threshold": (0.0, 1.0, "a used ratio between 0 and 1, e.g. 0.7"),
}


def _check_meaning(spec: ReportSpec, name: str, value: Any) -> None:
    """Refuse a value the notebook would reject later (``start=yesterday``, ``percentile=150``)."""
    where = f"Parameter {name!r} of report {spec.name!r}"
    if isinstance(value, str) and (name in _TIMES or (name in _DURATIONS and value.strip())):
        try:
            if name in _TIMES:
                parse_time_ms(value)
            elif parse_duration_ms(value) == 0 and name in _STEPS:
                msg = f"{where} must be a duration above zero, e.g. '1m'; got {value!r}."
                raise ReportParameterError(msg)
        except ReportParameterError:
            raise
        except WorkbenchError as exc:
            msg = f"{where}: {exc}"
            raise ReportParameterError(msg) from None
    lo_hi = _RANGES.get(name) or (
        (0.0, 100.0, "a percentage between 0 and 100") if name.endswith("_pct") else None)
    if lo_hi is None and isinstance(value, float) and value < 0 and (
            name.startswith(("cpu_", "memory_", "retention_")) or name.endswith(("_h", "_min"))):
        lo_hi = (0.0, math.inf, "a number of at least 0")
    if lo_hi is not None and isinstance(value, int | float) and not isinstance(value, bool) \
            and not lo_hi[0] <= value <= lo_hi[1]:
        msg = f"{where} must be {lo_hi[2]}; got {value!r}."
        raise ReportParameterError(msg)


def validate_parameters(spec: ReportSpec, values: Mapping[str, Any] | None) -> dict[str, Any]:
    """Check names and types against the notebook; return the values to inject.

    ``interactive`` is always ``False`` for a scheduled run (asking for True is an error).

    Examples
    --------
    >>> from workbench.reports._registry import Parameter, ReportSpec
    >>> spec = ReportSpec("r", None, "", (Parameter("n", "int", 3),
    ...                   Parameter("interactive", "bool", True)))
    >>> validate_parameters(spec, {"n": 5})
    {'n': 5, 'interactive': False}
    >>> validate_parameters(spec, {"interactive": "false"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    workbench._errors.ReportParameterError: Parameter 'interactive' ... must be true or false ...

    Well-known names are checked for meaning too (times, durations, percentiles):

    >>> spec = ReportSpec("r", None, "", (Parameter("start", "str", "now-7d"),
    ...                   Parameter("percentile", "float", 95.0)))
    >>> validate_parameters(spec, {"start": "yesterday"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    workbench._errors.ReportParameterError: Parameter 'start' of report 'r': Invalid time ...
    >>> validate_parameters(spec, {"percentile": 150.0})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    workbench._errors.ReportParameterError: Parameter 'percentile' ... between 0 and 100, ...
    """
    out: dict[str, Any] = {}
    for name, value in (values or {}).items():
        _refuse_secret(name)
        if spec.parameter(name) is None:
            msg = (f"Report {spec.name!r} has no parameter {name!r}. Accepted parameters: "
                   f"{_accepted(spec)}.")
            raise ReportParameterError(msg)
        out[name] = _check_type(spec, name, value)
        _refuse_credentials_in_url(name, out[name])
        _check_meaning(spec, name, out[name])
    if out.get("interactive") is True:
        msg = ("interactive=True is for JupyterLab; scheduled runs are static. Fix: drop "
               "-p interactive=... (runs always use False).")
        raise ReportParameterError(msg)
    out["interactive"] = False
    return out


def parse_cli_params(spec: ReportSpec, items: Iterable[str]) -> dict[str, Any]:
    """Turn ``key=value`` strings into typed values by the declared type of ``key``.

    Booleans accept ``true``/``false`` (any case), numbers Python's ``int``/``float`` syntax,
    strings are taken verbatim.
    """
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            msg = f"Parameter {item!r} must look like key=value (e.g. -p start=now-6h)."
            raise ReportParameterError(msg)
        name, text = item.split("=", 1)
        name = name.strip()
        _refuse_secret(name)
        p = spec.parameter(name)
        if p is None:
            msg = (f"Report {spec.name!r} has no parameter {name!r}. Accepted parameters: "
                   f"{_accepted(spec)}.")
            raise ReportParameterError(msg)
        try:
            if p.type == "bool":
                out[name] = _BOOL_TEXT[text.strip().lower()]
            elif p.type == "int":
                out[name] = int(text)
            elif p.type == "float":
                out[name] = float(text)
            else:
                out[name] = text
        except (KeyError, ValueError):
            want = {"bool": "true or false", "int": "a whole number", "float": "a number"}[p.type]
            msg = (f"Parameter {name!r} of report {spec.name!r} must be {want}; got {text!r}. "
                   f"Accepted parameters: {_accepted(spec)}.")
            raise ReportParameterError(msg) from None
    return out


def load_params_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping of parameters (values keep their YAML types and are checked later)."""
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text())
    except OSError as exc:
        msg = f"Cannot read the parameters file {path}: {exc.strerror}."
        raise ReportParameterError(msg) from None
    except yaml.YAMLError as exc:
        msg = f"The parameters file {path} is not valid YAML: {exc}."
        raise ReportParameterError(msg) from None
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        msg = f"The parameters file {path} must hold a mapping of name: value."
        raise ReportParameterError(msg)
    return data
