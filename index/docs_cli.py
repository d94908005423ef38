"""`citeqa docs list` and `citeqa docs remove SOURCE...`: what an index holds, and taking documents out of it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from citeqa.options import index_option
from citeqa.paths import default_index
from citeqa.terminal import printable


@click.group("docs")
def docs_group() -> None:
    """List or remove the documents an index holds."""


@docs_group.command("list")
@index_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line instead of a table.")
def list_command(index_dir: Path | None, as_json: bool) -> None:
    """The indexed documents: source, pages, characters, chunks, title."""
    from .search import load_index

    index = load_index(index_dir or default_index())
    chunks: dict[str, int] = {}
    for chunk in index.chunks.values():
        chunks[chunk.source] = chunks.get(chunk.source, 0) + 1
    rows: list[dict[str, Any]] = [
        {
            "source": d.source,
            "title": d.title,
            "date": d.date,
            "pages": len(d.pages) or None,
            "chars": len(d.text),
            "chunks": chunks.get(d.source, 0),
            "checksum": d.checksum,
        }
        for d in index.documents.values()
    ]
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    width = max((len(printable(r["source"])) for r in rows), default=6)
    click.echo(f"{'source':<{width}}  {'pages':>5}  {'chars':>9}  {'chunks':>6}  title")
    for r in rows:
        pages = str(r["pages"]) if r["pages"] else "-"
        source, title = printable(r["source"]), printable(r["title"])
        click.echo(f"{source:<{width}}  {pages:>5}  {r['chars']:>9,}  {r['chunks']:>6}  {title}")
    click.echo(f"{len(rows)} document{'s' * (len(rows) != 1)}, {len(index.chunks)} chunks", err=True)


@docs_group.command("remove")
@click.argument("sources", nargs=-1, required=True)
@index_option
def remove_command(sources: tuple[str, ...], index_dir: Path | None) -> None:
    """Remove documents (by SOURCE, as `citeqa docs list` shows it) from the index; nothing is re-embedded."""
    from .update import remove_documents

    directory = index_dir or default_index()
    index = remove_documents(directory, list(sources))
    n = len(sources)
    click.echo(
        f"Removed {n} document{'s' * (n != 1)} from {directory}; "
        f"it holds {len(index.documents)} documents ({len(index.chunks)} chunks)"
    )
