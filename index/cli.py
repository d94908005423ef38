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
@click.option("--chunk-tokens", type=int, default=160, show_default=True, help="Chunk size in tiktoken tokens.")
@click.option("--overlap-tokens", type=int, default=32, show_default=True, help="Tokens shared by neighbours.")
@click.option("--factory", default="IDMap2,Flat", show_default=True, help="FAISS index_factory string.")
@click.option("--model", default=None, help="sentence-transformers model name or folder (default: packaged MiniLM).")
def ingest_command(
    paths: tuple[Path, ...],
    index_dir: Path | None,
    chunk_tokens: int,
    overlap_tokens: int,
    factory: str,
    model: str | None,
) -> None:
    """Index .txt and .md files and folders (replacing what the index held)."""
    from ingest.chunking import ChunkSettings

    from .build import ingest
    from .embedder import PACKAGED_MODEL, Embedder
    from .manifest import IndexSettings

    settings = IndexSettings(
        model=model or PACKAGED_MODEL,
        factory=factory,
        chunking=ChunkSettings(max_tokens=chunk_tokens, overlap_tokens=overlap_tokens),
    )
    directory = index_dir or DEFAULT_INDEX
    _, report = ingest(list(paths), directory, settings, Embedder(settings.model))
    for skipped in report.skipped:
        click.echo(f"citeqa: warning: skipped {skipped.path}: {skipped.reason}", err=True)
    click.echo(
        f"Indexed {report.documents} document{'s' * (report.documents != 1)} ({report.chunks} chunks) "
        f"into {directory} in {report.seconds:.1f} s"
        + (f"; skipped {len(report.skipped)} file{'s' * (len(report.skipped) != 1)}" if report.skipped else "")
    )
