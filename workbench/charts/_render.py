"""Render altair charts as self-contained HTML that needs no network.

altair's ``default``/``html`` renderers load vega from a CDN, ``template="inline"`` breaks with
a second chart on a page, and the ``mimetype`` renderer fails papermill. The
``workbench`` renderer writes each chart as a ``<div>`` plus a function-scoped script that waits
for ``window.vegaEmbed``; the vega/vega-lite/vega-embed bundle from vl-convert is put on the
page once: by :func:`workbench.reports.export_html` in the ``<head>`` of a report, or by
:func:`bundle_html` in an interactive notebook.

The spec is embedded as JSON with every ``<``, ``>`` and ``&`` written as a ``\\u`` escape, so a
label value such as ``</script><script>alert(1)</script>`` stays data.
"""

from __future__ import annotations

import functools
import json
import math
import re
import uuid
from typing import Any

__all__ = ["RENDERER", "bundle_html", "chart_html", "enable_offline", "enable_renderer",
           "javascript_bundle", "safe_json", "script_safe"]

RENDERER = "workbench"

_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028",
            "\u2029": "\\u2029"}


def safe_json(obj: Any) -> str:
    """JSON that is safe inside a ``<script>`` element.

    A NaN or infinity (a gap in a series, a ratio over zero) becomes ``null``, which Vega draws
    as a missing value: JSON has no NaN, and a chart must not fail a whole report over one.

    Examples
    --------
    >>> safe_json({"a": "</script>"})
    '{"a": "\\\\u003c/script\\\\u003e"}'
    >>> safe_json({"values": [1.5, float("nan"), float("inf")]})
    '{"values": [1.5, null, null]}'
    """
    try:
        text = json.dumps(obj, allow_nan=False, default=str)
    except ValueError:
        text = json.dumps(_finite(obj), allow_nan=False, default=str)
    for ch, esc in _ESCAPES.items():
        text = text.replace(ch, esc)
    return text


def _finite(obj: Any) -> Any:
    """``obj`` with every non-finite float replaced by None (dicts, lists and tuples walked)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def script_safe(js: str) -> str:
    """Make JavaScript source safe to inline in a ``<script>`` element (no early ``</script>``).

    Only ``</script`` and ``<!--`` are rewritten (``<\\/script``, ``<\\!--``): both mean the same
    inside JS strings and regular expressions, and a blanket ``</`` rewrite would break regex
    literals such as ``/</g``.
    """
    js = re.sub(r"</(script)", r"<\\/\1", js, flags=re.IGNORECASE)
    return js.replace("<!--", "<\\!--")


@functools.cache
def javascript_bundle() -> str:
    """The vega + vega-lite + vega-embed bundle (about 1 MB) matching altair's Vega-Lite."""
    import altair as alt
    import vl_convert

    version = alt.SCHEMA_VERSION.lstrip("v").rsplit(".", 1)[0]
    bundle: str = vl_convert.javascript_bundle(vl_version=version)  # type: ignore[call-arg]
    return bundle


def bundle_html() -> str:
    """A ``<script>`` element holding the bundle (for interactive notebooks)."""
    return ('<script type="text/javascript">\n' + script_safe(javascript_bundle())
            + "\n</script>")


#: Channels with a scale: a temporal field there gets a UTC scale.
_SCALED = frozenset({"x", "y", "color", "fill", "stroke", "opacity", "size"})
#: Channels that format a temporal field as text: formatted in UTC.
_FORMATTED = frozenset({"tooltip", "text"})


def utc_spec(spec: Any) -> Any:
    """The Vega-Lite spec with every time shown in UTC, as the page's tables and titles are.

    Vega draws time scales, axis labels and tooltips in the browser's time zone; a reader in
    Berlin saw 16:00 on a chart beside "15:00 UTC" in the table above it. Temporal fields on
    scaled channels get ``scale.type = "utc"``, those in tooltips and text ``formatType =
    "utc"``; an explicit scale type or format type is kept.

    Examples
    --------
    >>> spec = {"mark": "line", "encoding": {
    ...     "x": {"field": "t", "type": "temporal"},
    ...     "tooltip": [{"field": "t", "type": "temporal", "format": "%H:%M"}]}}
    >>> out = utc_spec(spec)["encoding"]
    >>> out["x"]["scale"], out["tooltip"][0]["formatType"]
    ({'type': 'utc'}, 'utc')
    """
    if isinstance(spec, list):
        return [utc_spec(v) for v in spec]
    if not isinstance(spec, dict):
        return spec
    out = {k: utc_spec(v) for k, v in spec.items() if k != "encoding"}
    if isinstance(spec.get("encoding"), dict):
        enc = {}
        for channel, value in spec["encoding"].items():
            defs = value if isinstance(value, list) else [value]
            fixed = [_utc_channel(channel, d) for d in defs]
            enc[channel] = fixed if isinstance(value, list) else fixed[0]
        out["encoding"] = enc
    return out


def _utc_channel(channel: str, d: Any) -> Any:
    if not isinstance(d, dict):
        return d
    d = {k: utc_spec(v) if k == "condition" else v for k, v in d.items()}
    if d.get("type") != "temporal":
        return d
    if channel in _SCALED and "scale" in d and d["scale"] is None:   # no scale at all
        return d
    if channel in _SCALED:
        scale = d.get("scale") if isinstance(d.get("scale"), dict) else {}
        if "type" not in scale:
            d["scale"] = {**scale, "type": "utc"}
    elif channel in _FORMATTED and "formatType" not in d:
        d["formatType"] = "utc"
    return d


def chart_html(spec: dict[str, Any], *, embed_options: dict[str, Any] | None = None) -> str:
    """HTML for one chart: a div and a script that embeds it once ``vegaEmbed`` exists.

    Times are drawn in UTC (:func:`utc_spec`), whatever the browser's time zone."""
    spec = utc_spec(spec)
    div = "wb-chart-" + uuid.uuid4().hex[:12]
    opts = {"mode": "vega-lite", "actions": {"export": True, "source": False, "compiled": False,
                                             "editor": False}, **(embed_options or {})}
    return (
        f'<div id="{div}" class="workbench-chart"></div>\n'
        '<script type="text/javascript">\n(function () {\n'
        f"  var spec = {safe_json(spec)};\n"
        f"  var opt = {safe_json(opts)};\n"
        "  var tries = 0;\n"
        "  function show() {\n"
        "    if (window.vegaEmbed) {\n"
        f'      window.vegaEmbed("#{div}", spec, opt).catch(function (err) {{\n'
        f'        document.getElementById("{div}").textContent = "Chart error: " + err;\n'
        "      });\n"
        "    } else if (tries++ < 400) {\n"
        "      setTimeout(show, 25);\n"
        "    } else {\n"
        f'      document.getElementById("{div}").textContent = '
        '"Chart not rendered: the vega bundle is missing from this page.";\n'
        "    }\n"
        "  }\n"
        "  show();\n"
        "})();\n</script>"
    )


def _renderer(spec: dict[str, Any], **metadata: Any) -> dict[str, str]:
    title = spec.get("title")
    text = title.get("text") if isinstance(title, dict) else title
    return {"text/html": chart_html(spec, embed_options=metadata.get("embed_options")),
            "text/plain": f"<workbench chart: {text or spec.get('mark', 'composite')}>"}


def enable_renderer() -> None:
    """Register (once) and enable the ``workbench`` altair renderer."""
    import altair as alt

    if RENDERER not in alt.renderers.names():
        alt.renderers.register(RENDERER, _renderer)
    alt.renderers.enable(RENDERER)


_BUNDLE_SHOWN = False


def enable_offline(*, again: bool = False) -> None:
    """Make every altair chart of this notebook render offline: in JupyterLab and in the
    notebook exported as HTML (``jupyter nbconvert --to html``).

    Enables the ``workbench`` theme and renderer and, inside a notebook kernel, displays the vega
    bundle (about 1 MB, no network) once, as this cell's output: charts displayed after it find
    it on the page. Keep that output (clearing it and exporting leaves the charts without vega);
    ``again=True`` displays it once more (after clearing outputs). ``import workbench.notebook``
    calls this.

    Examples
    --------
    >>> enable_offline()  # outside a notebook kernel: renderer and theme only
    >>> import altair as alt
    >>> alt.renderers.active, alt.theme.active
    ('workbench', 'workbench')
    """
    global _BUNDLE_SHOWN
    from ._theme import enable_theme

    enable_theme()
    enable_renderer()
    if _BUNDLE_SHOWN and not again:
        return
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return
    shell = get_ipython()
    if shell is None or not getattr(shell, "kernel", None):
        return  # plain Python or a terminal IPython: nothing renders HTML
    from IPython.display import HTML, display

    display(HTML(bundle_html()))
    _BUNDLE_SHOWN = True
