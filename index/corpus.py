"""An index of a collection, made on demand: in memory, or kept in a folder while the collection is unchanged."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from ingest.documents import Document, LoadResult, load_documents
from ingest.errors import CiteqaError

from .build import build_index, save_index
from .embedder import Embedder
from .errors import IndexDamagedError, IndexMismatchError, IndexNotFoundError
from .manifest import IndexSettings
from .search import MANIFEST_FILE, SearchIndex, load_index
from .store import current_generation


def index_corpus(
    corpus: Path, settings: IndexSettings, embedder: Embedder, directory: Path | None = None
) -> tuple[SearchIndex, LoadResult]:
    """The index of `corpus` (built now, or reused from `directory` when it is current) and what was read."""
    loaded = load_documents([corpus])
    origin = f"corpus:{corpus.resolve()}"
    if directory is None:
        return build_index(loaded.documents, settings, embedder, origin), loaded
    try:
        existing: SearchIndex | None = load_index(directory)
    except IndexNotFoundError:
        existing = None
    except (IndexMismatchError, IndexDamagedError):
        if recorded_origin(directory) != origin:
            raise
        existing = None  # this collection's own index, of an older format or broken: build it again
    if existing is not None:
        if existing.manifest.origin != origin:
            raise CiteqaError(
                f"the index at {directory} was not built from {corpus}; refusing to replace it",
                "give --index a new folder for this collection, or leave --index out to index in memory",
            )
        if is_current(existing, settings, loaded.documents):
            return existing, loaded
    index = build_index(loaded.documents, settings, embedder, origin)
    save_index(index, directory)
    return index, loaded


def is_current(index: SearchIndex, settings: IndexSettings, documents: Sequence[Document]) -> bool:
    """The index was built with these settings from exactly these documents."""
    return index.manifest.settings == settings and index.manifest.documents == {d.source: d.checksum for d in documents}


def recorded_origin(directory: Path) -> str:
    """What the index at `directory` says it was built from, read even when it cannot be loaded; "" if unknown."""
    try:
        data = json.loads((current_generation(directory) / MANIFEST_FILE).read_text(encoding="utf-8"))
        return str(data.get("origin", ""))
    except (OSError, ValueError, AttributeError, IndexNotFoundError, IndexDamagedError):
        return ""
