"""An index of a collection, made on demand: in memory, or kept in a folder while the collection is unchanged."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from citeqa.errors import CiteqaError
from citeqa.ingest.documents import Document, LoadResult, load_documents

from .build import build_index
from .embedder import Embedder
from .errors import IndexDamagedError, IndexNotFoundError
from .manifest import IndexSettings
from .search import MANIFEST_FILE, SearchIndex, load_index
from .store import current_generation
from .update import ingest, read_manifest


def index_corpus(
    corpus: Path, settings: IndexSettings, embedder: Embedder, directory: Path | None = None
) -> tuple[SearchIndex, LoadResult]:
    """The index of `corpus` (built now, or kept up to date in `directory`) and what was read.

    In a folder, the collection's own index is updated like `citeqa ingest --prune` does: unchanged files are
    not read again and only new text is embedded; one of an older format is rebuilt.
    """
    origin = f"corpus:{corpus.resolve()}"
    if directory is None:
        loaded = load_documents([corpus])
        return build_index(loaded.documents, settings, embedder, origin), loaded
    held = recorded_origin(directory)
    if held != origin and read_manifest(directory) is not None:
        raise CiteqaError(
            f"the index at {directory} was not built from {corpus}; refusing to replace it",
            "give --index a new folder for this collection, or leave --index out to index in memory",
        )
    index, report = ingest([corpus], directory, settings, embedder, origin=origin, prune=True)
    if index is None:
        index = load_index(directory)
    return index, LoadResult(list(index.documents.values()), report.skipped, report.notes)


def is_current(index: SearchIndex, settings: IndexSettings, documents: Sequence[Document]) -> bool:
    """The index was built with these settings from exactly these documents."""
    held = {d.source: d.checksum for d in documents}
    return index.manifest.settings == settings and index.manifest.documents == held


def recorded_origin(directory: Path) -> str:
    """What the index at `directory` says it was built from, read even when it cannot be loaded; "" if unknown."""
    try:
        data = json.loads((current_generation(directory) / MANIFEST_FILE).read_text(encoding="utf-8"))
        return str(data.get("origin", ""))
    except (OSError, ValueError, AttributeError, IndexNotFoundError, IndexDamagedError):
        return ""
