"""The report registry: every ``notebooks/*.ipynb`` with a ``parameters`` cell is a report.

A notebook declares its parameters in the cell tagged ``parameters``, one per line, typed by an
annotation (or by the default's type) and documented by a trailing comment::

    prometheus: str = "demo"  # Prometheus URL or profile name (never a token)
    start: str = "now-24h"    # window start
    cpu_util: float = 0.90    # CPU utilisation threshold
    interactive: bool = True  # widgets in JupyterLab; scheduled runs pass False

The description is the first markdown cell's first heading or paragraph.
"""

from __future__ import annotations

import ast
import io
import json
import re
import tokenize
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from .._errors import ReportError, ReportNotFoundError

__all__ = ["SECRET_NAME", "Parameter", "ReportSpec", "default_notebooks_dir", "get_report",
           "list_reports", "read_spec"]

#: Parameter names refused everywhere: secrets never travel as parameters.
SECRET_NAME = re.compile(r"token|passw|secret|authori[sz]ation|api[_-]?key|credential|bearer",
                         re.IGNORECASE)
TYPES: dict[str, type] = {"bool": bool, "int": int, "float": float, "str": str}


@dataclass(frozen=True)
class Parameter:
    """One declared report parameter."""

    name: str
    type: str
    default: Any
    help: str = ""


@dataclass(frozen=True)
class ReportSpec:
    """A report: its notebook, description and declared parameters (in declaration order)."""

    name: str
    path: Path
    description: str
    parameters: tuple[Parameter, ...]

    def parameter(self, name: str) -> Parameter | None:
        """The declared parameter called ``name``, or None."""
        return next((p for p in self.parameters if p.name == name), None)

    def defaults(self) -> dict[str, Any]:
        """Declared defaults by name."""
        return {p.name: p.default for p in self.parameters}


def default_notebooks_dir() -> Path:
    """The report notebooks shipped with the package (``workbench/notebooks``).

    In a source checkout that is a link to the top-level ``notebooks/`` (one copy of each
    notebook); the wheel carries the files themselves, so an installed package finds its reports
    wherever it lives.
    """
    return Path(str(resources.files("workbench") / "notebooks"))


def _comments(source: str) -> dict[int, str]:
    out: dict[int, str] = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                out[tok.start[0]] = tok.string.lstrip("#").strip()
    except (tokenize.TokenError, IndentationError):
        pass
    return out


def _parse_parameters(source: str, where: str) -> tuple[Parameter, ...]:
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        msg = f"The parameters cell of {where} is not valid Python ({exc.msg}, line {exc.lineno})."
        raise ReportError(msg) from None
    comments = _comments(source)
    params: list[Parameter] = []
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
            name, annotation, value = node.target.id, ast.unparse(node.annotation), node.value
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(
                node.targets[0], ast.Name):
            name, annotation, value = node.targets[0].id, "", node.value
        else:
            msg = (f"The parameters cell of {where} may only hold `name: type = literal` lines; "
                   f"line {node.lineno} is {ast.unparse(node)!r}.")
            raise ReportError(msg)
        try:
            default = ast.literal_eval(value)
        except ValueError:
            msg = f"Parameter {name!r} of {where} needs a literal default, not {ast.unparse(value)}."
            raise ReportError(msg) from None
        type_name = annotation or type(default).__name__
        if type_name not in TYPES:
            msg = (f"Parameter {name!r} of {where} has type {type_name!r}; report parameters are "
                   f"one of {', '.join(TYPES)}.")
            raise ReportError(msg)
        if SECRET_NAME.search(name):
            msg = (f"Parameter {name!r} of {where} looks like a secret. Secrets never travel as "
                   "parameters (they would be written into the notebook): read them from the "
                   "environment or a profile inside workbench instead.")
            raise ReportError(msg)
        params.append(Parameter(name, type_name, default, comments.get(node.lineno, "")))
    return tuple(params)


@dataclass(frozen=True)
class _Cell:
    cell_type: str
    source: str
    metadata: dict[str, Any]


def _text(source: str | list[str]) -> str:
    return source if isinstance(source, str) else "".join(source)


def read_spec(path: str | Path) -> ReportSpec:
    """Read one notebook's description and parameters (no kernel, no papermill).

    The notebook is read as plain JSON: importing nbformat costs seconds (its JSON-schema
    validator compiles grammars at import), and ``report list`` only needs the cells' text.
    """
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        cells_raw = raw["cells"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        msg = f"{path} is not a readable notebook ({exc}). Fix: save it again from JupyterLab."
        raise ReportError(msg) from None
    nb_cells = [_Cell(c.get("cell_type", ""), _text(c.get("source", "")),
                      c.get("metadata") or {}) for c in cells_raw]
    cells = [c for c in nb_cells if "parameters" in (c.metadata.get("tags") or [])]
    if len(cells) != 1:
        msg = (f"{path} must have exactly one cell tagged 'parameters' (found {len(cells)}). Fix: "
               "tag the cell that sets the defaults.")
        raise ReportError(msg)
    params = _parse_parameters(cells[0].source, str(path))
    if not any(p.name == "interactive" and p.type == "bool" for p in params):
        msg = (f"{path} has no `interactive: bool` parameter. Every report notebook needs one: "
               "scheduled runs pass False and expect static output.")
        raise ReportError(msg)
    description = ""
    for c in nb_cells:
        if c.cell_type == "markdown":
            text = c.source.strip().splitlines()
            description = text[0].lstrip("#").strip() if text else ""
            rest = [t.strip() for t in text[1:] if t.strip() and not t.startswith("#")]
            if rest:
                first = rest[0].split(". ")[0].rstrip(".")
                description = f"{description}: {first}" if description else first
            break
    return ReportSpec(path.stem, path, description, params)


def list_reports(notebooks_dir: str | Path | None = None) -> list[ReportSpec]:
    """Every report in ``notebooks_dir`` (default :func:`default_notebooks_dir`), by name."""
    root = Path(notebooks_dir) if notebooks_dir is not None else default_notebooks_dir()
    if not root.is_dir():
        msg = (f"The notebooks directory {root} does not exist. Fix: run from a checkout of the "
               "project or pass --notebooks DIR.")
        raise ReportError(msg)
    return [read_spec(p) for p in sorted(root.glob("*.ipynb")) if not p.name.startswith(".")]


def get_report(name: str, notebooks_dir: str | Path | None = None) -> ReportSpec:
    """The report called ``name``; the error lists the known names."""
    root = Path(notebooks_dir) if notebooks_dir is not None else default_notebooks_dir()
    path = root / f"{name}.ipynb"
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", name) or not path.is_file():
        known = ", ".join(sorted(p.stem for p in root.glob("*.ipynb"))) or "none"
        msg = f"No report named {name!r} in {root} (known: {known})."
        raise ReportNotFoundError(msg)
    return read_spec(path)
