"""Build an index from documents: sentences, chunks, embeddings, FAISS; then save it atomically."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ingest.chunking import Chunker
from ingest.documents import Document, Skipped, load_documents
from ingest.errors import CiteqaError
from ingest.sentences import split_sentences
from ingest.tokens import load_encoding

from .config import read_config
from .embedder import Embedder
from .errors import IndexMismatchError
from .lexical import PARAMETERS, LexicalIndex
from .manifest import IndexSettings, Manifest
from .search import CHUNKS_FILE, DOCUMENTS_FILE, LEXICAL_FOLDER, MANIFEST_FILE, VECTORS_FILE, SearchIndex, write_records
from .store import writing
from .vectors import build_vectors, write_vectors


@dataclass(frozen=True, slots=True)
class IngestReport:
    directory: Path
    documents: int
    chunks: int
    skipped: list[Skipped] = field(default_factory=list)
    seconds: float = 0.0


def build_index(
    documents: Sequence[Document], settings: IndexSettings, embedder: Embedder, origin: str = ""
) -> SearchIndex:
    """An in-memory index of `documents`, embedded with `embedder` (which must be the settings' model)."""
    if embedder.model_id != settings.model:
        raise IndexMismatchError(
            f"the embedder is {embedder.model_id!r} but the settings ask for {settings.model!r}",
            "use one model for both",
        )
    chunker = Chunker(settings.chunking, load_encoding(settings.chunking.encoding), fits=embedder.fits)
    sentences = {d.source: split_sentences(d.text) for d in documents}
    chunks = [c for d in documents for c in chunker.chunk(d, sentences[d.source])]
    ids = np.array([c.id for c in chunks], dtype=np.int64)
    if len(set(ids.tolist())) != len(chunks):
        raise CiteqaError("two chunks hash to the same id", "report this: it should not happen")
    vectors = build_vectors(embedder.encode_documents([c.text for c in chunks]), ids, settings.factory)
    lexical = LexicalIndex.build([c.text for c in chunks], ids.tolist())
    manifest = Manifest(
        settings=settings,
        dimension=embedder.dimension,
        documents={d.source: d.checksum for d in documents},
        chunks=len(chunks),
        origin=origin,
        lexical=dict(PARAMETERS),
    )
    return SearchIndex(manifest, documents, sentences, chunks, vectors, lexical=lexical)


def save_index(index: SearchIndex, directory: Path) -> None:
    """Write `index` as the new current generation of `directory`; the old one stays until this succeeds."""
    with writing(directory) as generation:
        write_records(
            generation / DOCUMENTS_FILE,
            (
                {
                    "source": d.source,
                    "title": d.title,
                    "date": d.date,
                    "checksum": d.checksum,
                    "sentences": [list(s) for s in index.sentences[d.source]],
                    "text": d.text,
                }
                for d in index.documents.values()
            ),
        )
        write_records(
            generation / CHUNKS_FILE,
            ({"id": c.id, "source": c.source, "start": c.start, "end": c.end} for c in index.chunks.values()),
        )
        write_vectors(index.vectors, generation / VECTORS_FILE)
        index.lexical.save(generation / LEXICAL_FOLDER)
        # The manifest goes last: a generation without one was never finished.
        (generation / MANIFEST_FILE).write_text(index.manifest.to_json(), encoding="utf-8")
    index.path = directory
    index.config = read_config(directory)


def ingest(
    paths: Sequence[str | Path],
    directory: Path,
    settings: IndexSettings,
    embedder: Embedder,
    origin: str = "",
) -> tuple[SearchIndex, IngestReport]:
    """Read `paths`, build their index and save it to `directory`."""
    began = time.perf_counter()
    loaded = load_documents(paths)
    index = build_index(loaded.documents, settings, embedder, origin)
    save_index(index, directory)
    report = IngestReport(
        directory=directory,
        documents=len(index.documents),
        chunks=len(index.chunks),
        skipped=loaded.skipped,
        seconds=time.perf_counter() - began,
    )
    return index, report
