"""``import workbench.notebook``: altair charts render offline in this notebook.

One import at the top of an ad-hoc notebook enables the ``workbench`` theme and offline renderer
and puts the vega bundle on the page (see :func:`workbench.charts.enable_offline`): any altair
chart displayed afterwards renders in JupyterLab and in the notebook exported to HTML, with no
CDN. Re-running the import does nothing; call ``workbench.charts.enable_offline(again=True)``
after clearing the outputs.

Examples
--------
>>> import workbench.notebook  # doctest: +SKIP
>>> import altair as alt, polars as pl  # doctest: +SKIP
>>> alt.Chart(pl.DataFrame({"x": [1, 2]})).mark_bar().encode(x="x:Q")  # doctest: +SKIP
"""

from __future__ import annotations

from .charts import enable_offline

__all__ = ["enable_offline"]

enable_offline()
