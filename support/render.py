"""Executed notebook -> self-contained HTML that needs no network (no CDN scripts, images embedded)."""

from __future__ import annotations

from support.paths import PACKAGE_DIR

TEMPLATES = PACKAGE_DIR / "templates"


def notebook_to_html(nb) -> str:
    """Render an executed ``NotebookNode`` with the project's offline template."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="offline", extra_template_basedirs=[str(TEMPLATES)])
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    body, _ = exporter.from_notebook_node(nb)
    return body

