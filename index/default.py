"""The default index: the bundled interviews, built on first use and rebuilt when they or the settings change."""

from __future__ import annotations

import json
from pathlib import Path

from ingest.documents import load_documents

from .build import build_index, save_index
from .corpus import is_current
from .embedder import Embedder
from .errors import IndexDamagedError, IndexMismatchError, IndexNotFoundError
from .manifest import IndexSettings
from .search import MANIFEST_FILE, SearchIndex, load_index
from .store import current_generation

BUNDLED_CORPUS = Path(__file__).resolve().parent.parent / "data" / "interviews"
BUNDLED = "bundled"


def open_or_build(
    directory: Path, settings: IndexSettings, embedder: Embedder, corpus: Path = BUNDLED_CORPUS
) -> SearchIndex:
    """The index at `directory`; if there is none, or it is a stale build of `corpus`, (re)build it from `corpus`.

    An index that a user ingested there is opened as it is: it is never replaced behind their back.
    """
    try:
        index = load_index(directory)
    except IndexNotFoundError:
        return _build(directory, settings, embedder, corpus)
    except (IndexMismatchError, IndexDamagedError):
        if _origin(directory) != BUNDLED:
            raise
        return _build(directory, settings, embedder, corpus)
    if index.manifest.origin == BUNDLED and not _is_current(index, settings, corpus):
        return _build(directory, settings, embedder, corpus)
    return index


def _build(directory: Path, settings: IndexSettings, embedder: Embedder, corpus: Path) -> SearchIndex:
    index = build_index(load_documents([corpus]).documents, settings, embedder, origin=BUNDLED)
    save_index(index, directory)
    return index


def _is_current(index: SearchIndex, settings: IndexSettings, corpus: Path) -> bool:
    return is_current(index, settings, load_documents([corpus]).documents)


def _origin(directory: Path) -> str:
    try:
        data = json.loads((current_generation(directory) / MANIFEST_FILE).read_text(encoding="utf-8"))
        return str(data.get("origin", ""))
    except (OSError, ValueError, AttributeError, IndexNotFoundError, IndexDamagedError):
        return ""
