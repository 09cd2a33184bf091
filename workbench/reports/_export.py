"""Export an executed notebook to one self-contained HTML page that loads nothing from the network.

nbconvert's ``lab`` template, minus what it fetches from CDNs (require.js, MathJax, mermaid, the
widget manager), with code cells' inputs hidden, the injected-parameters cell dropped, the vega
bundle inlined once in ``<head>`` when the page has charts, and a status banner on top.
"""

from __future__ import annotations

import html
import os
import re
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["FIGURES_MIME", "atomic_write", "export_html", "status_banner"]

FIGURES_MIME = "application/vnd.workbench.figures+json"

_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block html_head_css -%}
<style type="text/css">
.workbench-banner { padding: 10px 16px; margin: 8px 0 16px; border-radius: 4px;
  font-family: var(--jp-ui-font-family, sans-serif); font-size: 14px; }
.workbench-banner.ok { background: #e6f4ea; border-left: 6px solid #4c9f70; }
.workbench-banner.failed, .workbench-banner.timeout { background: #fdecee;
  border-left: 6px solid #d1495b; }
.workbench-table td, .workbench-table th { border: 1px solid #d0d7de; padding: 2px 6px; }
.workbench-table caption { text-align: left; font-weight: bold; padding: 4px 0; }
</style>
{{ resources.workbench_head }}
{%- endblock html_head_css -%}
{%- block body_header -%}
{{ super() }}
{{ resources.workbench_banner }}
{%- endblock body_header -%}
"""


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path: str | Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory + rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; reports are meant to be served
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def status_banner(status: str, title: str, lines: list[str]) -> str:
    """The escaped banner shown at the top of a report page."""
    word = {"ok": "Report OK", "failed": "Report FAILED", "timeout": "Report FAILED (timeout)"}
    items = "".join(f"<div>{html.escape(x)}</div>" for x in lines)
    return (f'<div class="workbench-banner {html.escape(status)}" id="workbench-status" '
            f'data-status="{html.escape(status)}"><b>{html.escape(word.get(status, status))}'
            f"</b>: {inline_code(title)}{items}</div>")


def inline_code(text: str) -> str:
    """Escape ``text`` for HTML and show its Markdown `code` spans as ``<code>``.

    >>> inline_code("from `ALERTS` & <b>")
    'from <code>ALERTS</code> &amp; &lt;b&gt;'
    """
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def _has_charts(nb: Any) -> bool:
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            text = out.get("data", {}).get("text/html", "")
            if "workbench-chart" in ("".join(text) if isinstance(text, list) else text):
                return True
    return False


def export_html(nb: Any, *, title: str, banner: str = "") -> str:
    """Render an executed notebook node as the report page (inputs hidden, offline charts)."""
    import warnings

    from jinja2 import DictLoader
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    from ..charts import javascript_bundle, script_safe

    exporter = HTMLExporter(
        template_name="lab",
        extra_loaders=[DictLoader({"workbench_report.html.j2": _TEMPLATE})],
        template_file="workbench_report.html.j2",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )

    head = ""
    if _has_charts(nb):
        head = ('<script type="text/javascript">\n'
                + script_safe(javascript_bundle()) + "\n</script>")
    resources = {"metadata": {"name": title}, "workbench_head": head,
                 "workbench_banner": banner}
    nb = TagRemovePreprocessor(remove_cell_tags={"injected-parameters"}, enabled=True
                               ).preprocess(nb, {})[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "not able to be represented" for the figures output
        body, _ = exporter.from_notebook_node(nb, resources=resources)
    return body
