"""Build an index from documents: sentences, chunks, embeddings, FAISS, BM25; then save it atomically."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from citeqa.errors import CiteqaError
from citeqa.ingest.chunking import Chunk, Chunker
from citeqa.ingest.documents import Document
from citeqa.ingest.formats import READERS_VERSION
from citeqa.ingest.sentences import Span, split_sentences
from citeqa.ingest.tokens import load_encoding

from .config import read_config
from .embedder import Embedder, Vectors
from .errors import IndexMismatchError
from .factory import apply_search, plan_vectors
from .integrity import fingerprints
from .lexical import PARAMETERS, LexicalIndex
from .manifest import IndexSettings, Manifest
from .search import (
    CHUNKS_FILE,
    DOCUMENTS_FILE,
    EMBEDDINGS_FILE,
    LEXICAL_FOLDER,
    MANIFEST_FILE,
    VECTORS_FILE,
    SearchIndex,
    write_records,
)
from .store import writing
from .vectors import build_vectors, write_vectors


def build_index(
    documents: Sequence[Document], settings: IndexSettings, embedder: Embedder, origin: str = ""
) -> SearchIndex:
    """An in-memory index of `documents`, embedded with `embedder` (which must be the settings' model)."""
    check_model(embedder, settings)
    sentences, chunks = chunk_documents(documents, settings, embedder)
    embeddings = embedder.encode_documents([c.text for c in chunks])
    return assemble(documents, sentences, chunks, embeddings, settings, origin)


def check_model(embedder: Embedder, settings: IndexSettings) -> None:
    if embedder.model_id != settings.model:
        raise IndexMismatchError(
            f"the embedder is {embedder.model_id!r} but the settings ask for {settings.model!r}",
            "use one model for both",
        )


def chunk_documents(
    documents: Sequence[Document], settings: IndexSettings, embedder: Embedder
) -> tuple[dict[str, list[Span]], list[Chunk]]:
    """The sentences and chunks of each document (chunks no longer than the model reads)."""
    chunker = Chunker(settings.chunking, load_encoding(settings.chunking.encoding), fits=embedder.fits)
    sentences = {d.source: split_sentences(d.text) for d in documents}
    chunks = [c for d in documents for c in chunker.chunk(d, sentences[d.source])]
    return sentences, chunks


def assemble(
    documents: Sequence[Document],
    sentences: dict[str, list[Span]],
    chunks: Sequence[Chunk],
    embeddings: Vectors,
    settings: IndexSettings,
    origin: str = "",
) -> SearchIndex:
    """The index of these documents from their chunks and the chunks' vectors (row i = chunk i)."""
    ids = np.array([c.id for c in chunks], dtype=np.int64)
    if len(set(ids.tolist())) != len(chunks):
        raise CiteqaError("two chunks hash to the same id", "report this: it should not happen")
    if len(embeddings) != len(chunks):
        raise CiteqaError("the chunks and their vectors differ in number", "report this: it should not happen")
    embeddings = np.ascontiguousarray(embeddings, dtype=np.float32)
    plan = plan_vectors(settings.factory, len(chunks))
    vectors = build_vectors(embeddings, ids, plan.factory)
    apply_search(vectors, plan.search)
    lexical = LexicalIndex.build([c.text for c in chunks], ids.tolist())
    manifest = Manifest(
        settings=settings,
        dimension=int(embeddings.shape[1]),
        documents={d.source: d.checksum for d in documents},
        chunks=len(chunks),
        files={d.source: d.file_checksum for d in documents if d.file_checksum},
        readers=READERS_VERSION,
        origin=origin,
        lexical=dict(PARAMETERS),
        vectors=plan,
    )
    return SearchIndex(manifest, documents, sentences, chunks, vectors, lexical=lexical, embeddings=embeddings)


def save_index(index: SearchIndex, directory: Path, lock: bool = True) -> None:
    """Write `index` as the new current generation of `directory`; the old one stays until this succeeds.

    `lock=False` when the caller already holds the index's write lock.
    """
    if index.embeddings is None:
        raise CiteqaError("this index keeps no chunk vectors to save", "build it with build_index")
    with writing(directory, lock=lock) as generation:
        write_records(
            generation / DOCUMENTS_FILE,
            (
                {
                    "source": d.source,
                    "title": d.title,
                    "date": d.date,
                    "checksum": d.checksum,
                    "file_checksum": d.file_checksum,
                    "pages": list(d.pages),
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
        np.save(generation / EMBEDDINGS_FILE, np.asarray(index.embeddings, dtype=np.float32), allow_pickle=False)
        write_vectors(index.vectors, generation / VECTORS_FILE)
        index.lexical.save(generation / LEXICAL_FOLDER)
        # The manifest goes last: a generation without one was never finished. It fingerprints every file, so
        # that one truncated, grown or edited afterwards (a failed copy, garbage, a hand edit) is refused on load.
        index.manifest = replace(index.manifest, fingerprints=fingerprints(generation))
        (generation / MANIFEST_FILE).write_text(index.manifest.to_json(), encoding="utf-8")
    index.path = directory
    index.config = read_config(directory)
