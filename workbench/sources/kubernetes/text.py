"""``kubectl top``'s text tables, byte for byte (Go tabwriter as kubectl configures it). Pure."""



from __future__ import annotations

import polars as pl

from .decode import _NANO

__all__ = ["render_top_nodes", "render_top_pods"]






# -- kubectl rendering (pure) -----------------------------------------------------------------------


def _tabwriter(rows: list[list[str]]) -> str:
    """Go text/tabwriter as kubectl configures it (min width 6, padding 3).

    kubectl terminates every cell with a tab, so the last column is padded too: lines end in
    blanks, exactly as ``kubectl top`` prints them.
    """
    if not rows:
        return ""
    widths = [0] * max(len(r) for r in rows)
    for r in rows:
        for i, cell in enumerate(r):
            widths[i] = max(widths[i], len(cell))
    widths = [max(w + 3, 6) for w in widths]
    return "".join(
        "".join(cell.ljust(widths[i]) for i, cell in enumerate(r)) + "\n" for r in rows)


def _cpu_cell(cores: float | None) -> str:
    if cores is None:
        return "<unknown>"
    nanos = round(cores * _NANO)  # exact: cores came from whole nanocores
    return f"{-(-nanos // 1_000_000)}m"


def _mem_cell(num_bytes: int | None) -> str:
    return "<unknown>" if num_bytes is None else f"{num_bytes // 2**20}Mi"


def render_top_nodes(frame: pl.DataFrame, *, no_headers: bool = False) -> str:
    """Render a :meth:`MetricsServer.top_nodes` frame as ``kubectl top node`` prints it.

    Examples
    --------
    >>> import polars as pl
    >>> f = pl.DataFrame({"node": ["n1"], "cpu_cores": [0.1375], "cpu_percent": [3],
    ...                   "memory_bytes": [1886375936], "memory_percent": [11]})
    >>> print(render_top_nodes(f), end="")  # doctest: +NORMALIZE_WHITESPACE
    NAME   CPU(cores)   CPU(%)   MEMORY(bytes)   MEMORY(%)
    n1     138m         3%       1798Mi          11%
    """
    rows = [] if no_headers else [["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]]
    for r in frame.iter_rows(named=True):
        if r["cpu_cores"] is None:
            rows.append([r["node"]] + ["<unknown>"] * 4)
            continue
        pct = [("" if p is None else f"{p}%") for p in (r["cpu_percent"], r["memory_percent"])]
        rows.append([r["node"], _cpu_cell(r["cpu_cores"]), pct[0], _mem_cell(r["memory_bytes"]),
                     pct[1]])
    return _tabwriter(rows)


def render_top_pods(frame: pl.DataFrame, *, no_headers: bool = False,
                    all_namespaces: bool | None = None) -> str:
    """Render a :meth:`MetricsServer.top_pods` frame as ``kubectl top pod [-A] [--containers]``.

    The NAMESPACE column appears when the frame spans several namespaces (or when
    ``all_namespaces`` says so); with a ``container`` column the layout is ``POD NAME ...``.
    """
    if frame.height == 0:  # kubectl prints nothing (and "No resources found" on stderr)
        return ""
    if all_namespaces is None:
        all_namespaces = frame["namespace"].n_unique() > 1
    containers = "container" in frame.columns
    header = (["NAMESPACE"] if all_namespaces else []) + (["POD"] if containers else []) + [
        "NAME", "CPU(cores)", "MEMORY(bytes)"]
    rows = [] if no_headers else [header]
    for r in frame.iter_rows(named=True):
        rows.append(([r["namespace"]] if all_namespaces else [])
                    + ([r["pod"], r["container"]] if containers else [r["pod"]])
                    + [_cpu_cell(r["cpu_cores"]), _mem_cell(r["memory_bytes"])])
    return _tabwriter(rows)
