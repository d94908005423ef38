"""Render an eval run (metrics.json + outcomes.jsonl) as a self-contained HTML page and a Markdown summary.

`view` reads the run once into a typed view model; `html` and `markdown` lay it out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from citeqa.index.store import write_atomically

from . import html, markdown
from .view import ReportView, sort_outcomes

HTML_FILE = "report.html"
MARKDOWN_FILE = "report.md"

__all__ = [
    "HTML_FILE",
    "MARKDOWN_FILE",
    "ReportView",
    "render_html",
    "render_markdown",
    "sort_outcomes",
    "write_report",
]


def write_report(out_dir: Path, metrics: Mapping[str, Any], outcomes: Sequence[Mapping[str, Any]]) -> tuple[Path, Path]:
    """Write report.html and report.md into out_dir; each lands whole or not at all."""
    out_dir.mkdir(parents=True, exist_ok=True)
    view = ReportView.of(metrics, outcomes)
    html_path, md_path = out_dir / HTML_FILE, out_dir / MARKDOWN_FILE
    write_atomically(html_path, html.render(view))
    write_atomically(md_path, markdown.render(view))
    return html_path, md_path


def render_html(metrics: Mapping[str, Any], outcomes: Sequence[Mapping[str, Any]]) -> str:
    return html.render(ReportView.of(metrics, outcomes))


def render_markdown(metrics: Mapping[str, Any], outcomes: Sequence[Mapping[str, Any]]) -> str:
    return markdown.render(ReportView.of(metrics, outcomes))
