"""`citeqa ingest`: read files into an index."""

from __future__ import annotations

from pathlib import Path

import click

from citeqa.options import index_option, precision_option
from citeqa.paths import default_index
from citeqa.terminal import printable


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
@click.option(
    "--factory",
    default=None,
    help="FAISS index_factory string, or auto (exact search up to 50,000 chunks, then IVF). "
    "[default: the index's own; auto]",
)
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
@click.option(
    "--engine",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="ray: read, chunk and embed on Ray Data (the scale extra), building the index anew; see docs/scaling.md.",
)
@click.option(
    "--follow-outside-links",
    is_flag=True,
    help="Follow symlinks whose target is outside the folders given (skipped, with a warning each, by default). "
    "/proc, /sys and /dev are never read.",
)
@click.option("--ray-address", default=None, help="With --engine ray: the cluster to join (default: a local Ray).")
@click.option(
    "--actors", type=click.IntRange(1, 1024), default=1, show_default=True, help="With --engine ray: embedding actors."
)
@precision_option
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
    engine: str,
    follow_outside_links: bool,
    ray_address: str | None,
    actors: int,
    precision: str,
) -> None:
    """Index .txt, .md, .html, .pdf and .docx files and folders, updating what the index holds.

    Only new or changed files are read and embedded (files are compared by content checksum); unchanged
    ones are left as they are, and documents no longer under PATHS stay unless --prune is given. A settings
    option that differs from the index's own (chunking, --factory, --model) re-chunks every document.
    Unreadable files are skipped with a message each. The run is atomic: killed, it leaves the index as it was.
    New chunks are embedded in --precision (recorded in the index); vectors already held are kept, whatever
    precision made them.
    """
    from .update import ingest, resolve_settings

    directory = index_dir or default_index()
    settings = resolve_settings(directory, model, factory, chunk_tokens, overlap_tokens)

    def progress(done: int, total: int) -> None:
        click.echo(f"citeqa: embedded {done}/{total} chunks", err=True)

    def chunking(source: str, share: float) -> None:
        click.echo(f"citeqa: chunking {printable(source)}: {share:.0%}", err=True)

    def stage(doing: str) -> None:
        click.echo(f"citeqa: {printable(doing)}", err=True)

    max_bytes = int(max_file_mb * 1024 * 1024)
    if engine == "ray":
        from .ray_engine import ray_ingest

        _, report = ray_ingest(
            list(paths),
            directory,
            settings,
            ray_address,
            actors,
            max_bytes,
            follow_outside_links=follow_outside_links,
            precision=precision,
        )
    else:
        _, report = ingest(
            list(paths),
            directory,
            settings,
            prune=prune,
            max_bytes=max_bytes,
            progress=progress,
            rebuild=rebuild,
            chunking=chunking,
            follow_outside_links=follow_outside_links,
            stages=stage,
            precision=precision,
        )
    from .summary import print_report

    print_report(report)
