"""Helpers called from inside report notebooks: chart setup and key figures for the index."""

from __future__ import annotations

from typing import Any

from ._export import FIGURES_MIME

__all__ = ["record", "setup"]


def setup(interactive: bool) -> None:
    """Enable the ``workbench`` theme and offline renderer for this kernel.

    In an interactive session (JupyterLab) the vega bundle is displayed once so later charts
    render without network; scheduled runs get it in the exported page's ``<head>`` instead.
    altair's 5,000-row guard stays on: chart builders aggregate before charting.
    """
    from ..charts import bundle_html, enable_renderer, enable_theme

    enable_theme()
    enable_renderer()
    if interactive:
        from IPython.display import HTML, display

        display(HTML(bundle_html()))


def record(**figures: Any) -> None:
    """Publish key figures (plain JSON values) for the reports index.

    Examples
    --------
    >>> record(nodes=3, flagged_nodes=1)  # doctest: +SKIP
    """
    from IPython.display import display

    clean = {k: (v if isinstance(v, int | float | str | bool) or v is None else str(v))
             for k, v in figures.items()}
    display({FIGURES_MIME: clean}, raw=True)
