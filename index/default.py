"""The default index: the bundled interviews, built on first use and rebuilt when they or the settings change."""

from __future__ import annotations

from pathlib import Path

from citeqa.ingest.documents import load_documents
from citeqa.paths import BUNDLED_CORPUS, default_index

from .build import build_index, save_index
from .corpus import is_current, recorded_origin
from .embedder import Embedder
from .errors import IndexDamagedError, IndexMismatchError, IndexNotFoundError
from .manifest import IndexSettings
from .search import SearchIndex, load_index

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
        if recorded_origin(directory) != BUNDLED:
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


def open_index(index_dir: Path | None, precision: str = "auto") -> tuple[SearchIndex, Embedder]:
    """The index a command answers from (`index_dir`, else the default one, built on first use) and an embedder of
    the model it was built with, computing in `precision` (fp32, bf16 or auto: `citeqa.precision`), each loaded once.
    The question's precision need not be the index's: vectors of either agree to a cosine of 0.9999 and more."""
    if index_dir is None:
        settings = IndexSettings()
        embedder = Embedder(settings.model, precision=precision)
        return open_or_build(default_index(), settings, embedder), embedder
    index = load_index(index_dir)
    return index, Embedder(index.manifest.settings.model, precision=precision)
