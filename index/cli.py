"""`citeqa ingest`, and the --index option every command that reads an index shares."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from .embedder import Embedder
    from .search import SearchIndex

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_INDEX = Path.home() / ".local" / "share" / "citeqa" / "index"


def index_option(function: F) -> F:
    """--index DIR (or CITEQA_INDEX); absent, the default index of the bundled interviews."""
    return click.option(
        "--index",
        "index_dir",
        type=click.Path(path_type=Path, file_okay=False),
        envvar="CITEQA_INDEX",
        default=None,
        help=f"Index folder. Default: {DEFAULT_INDEX}, built from the bundled interviews on first use.",
    )(function)


def open_index(index_dir: Path | None) -> tuple[SearchIndex, Embedder]:
    """The index to answer from and the embedder it was built with, each loaded once."""
    from .default import open_or_build
    from .embedder import Embedder
    from .manifest import IndexSettings
    from .search import load_index

    if index_dir is None:
        settings = IndexSettings()
        embedder = Embedder(settings.model)
        return open_or_build(DEFAULT_INDEX, settings, embedder), embedder
    index = load_index(index_dir)
    return index, Embedder(index.manifest.settings.model)


@click.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@index_option
@click.option("--prune", is_flag=True, help="Remove indexed documents that PATHS no longer hold.")
@click.option("--rebuild", is_flag=True, help="Ignore what the index holds: read and embed PATHS from scratch.")
@click.option(
    "--chunk-tokens", type=int, default=None, help="Chunk size in tiktoken tokens. [default: the index's own; 256]"
)
@click.option(
    "--overlap-tokens", type=int, default=None, help="Tokens shared by neighbours. [default: the index's own; 32]"
)
@click.option("--factory", default=None, help="FAISS index_factory string. [default: the index's own; IDMap2,Flat]")
@click.option(
    "--model",
    default=None,
    help="sentence-transformers model name or folder. [default: the index's own; the packaged MiniLM]",
)
@click.option(
    "--max-file-mb",
    type=click.FloatRange(min=0, min_open=True),
    default=50,
    show_default=True,
    help="Skip files larger than this.",
)
def ingest_command(
    paths: tuple[Path, ...],
    index_dir: Path | None,
    prune: bool,
    rebuild: bool,
    chunk_tokens: int | None,
    overlap_tokens: int | None,
    factory: str | None,
    model: str | None,
    max_file_mb: float,
) -> None:
    """Index .txt, .md, .html, .pdf and .docx files and folders, updating what the index holds.

    Only new or changed files are read and embedded (files are compared by content checksum); unchanged
    ones are left as they are, and documents no longer under PATHS stay unless --prune is given. A settings
    option that differs from the index's own (chunking, --factory, --model) re-chunks every document.
    Unreadable files are skipped with a message each. The run is atomic: killed, it leaves the index as it was.
    """
    from .update import ingest, resolve_settings

    directory = index_dir or DEFAULT_INDEX
    settings = resolve_settings(directory, model, factory, chunk_tokens, overlap_tokens)

    def progress(done: int, total: int) -> None:
        click.echo(f"citeqa: embedded {done}/{total} chunks", err=True)

    max_bytes = int(max_file_mb * 1024 * 1024)
    _, report = ingest(
        list(paths), directory, settings, prune=prune, max_bytes=max_bytes, progress=progress, rebuild=rebuild
    )
    from .summary import print_report

    print_report(report)
