"""A loaded index: documents, their sentences, chunks and vectors, searchable by query vectors.

A generation folder holds manifest.json, vectors.faiss, embeddings.npy, bm25/, members.json (its documents: source
and digest of each one's row in the document store beside the generations, `index.docstore`), chunks.npy (the
chunk table: id, document, start, end of each chunk, row i = row i of the vectors and of BM25). Generations
written before reader v2 also hold sentence_stems.json, which nothing reads any more.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from typing_extensions import TypedDict  # not typing's: pydantic reads it for the API schema on Python 3.11

from citeqa.ingest.chunking import Chunk
from citeqa.ingest.documents import Document
from citeqa.ingest.sentences import Span

from .config import IndexConfig, read_config
from .docstore import REBUILD, StoreReader
from .embedder import Vectors
from .errors import IndexDamagedError, IndexMismatchError
from .factory import EXACT, apply_search
from .integrity import verify
from .lexical import ANALYZER, LexicalIndex
from .manifest import FORMAT_VERSION, LEGACY_FORMAT, Manifest
from .store import current_generation
from .vectors import read_vectors, search_vectors
from .views import (
    CHUNKS_FILE,
    MEMBERS_FILE,
    ChunksView,
    ChunkTable,
    DocumentSet,
    DocumentsView,
    Member,
    SentencesView,
    read_members,
    read_table,
)

MANIFEST_FILE = "manifest.json"
VECTORS_FILE = "vectors.faiss"
LEXICAL_FOLDER = "bm25"
EMBEDDINGS_FILE = "embeddings.npy"  # the chunks' vectors as embedded, row i = row i of chunks.npy


class PassageRecord(TypedDict):
    """A retrieved passage in the answer contract."""

    source: str
    start: int
    """document_text[start:end] == text"""
    end: int
    score: float
    """cosine similarity of the passage to the question"""
    text: str


@dataclass(frozen=True, slots=True)
class Passage:
    """A retrieved chunk and its similarity to the question."""

    chunk: Chunk
    score: float

    def to_dict(self) -> PassageRecord:
        c = self.chunk
        return {
            "source": c.source,
            "start": c.start,
            "end": c.end,
            "score": round(self.score, 4),
            "text": c.text,
        }


class SearchIndex:
    """An index directory's generation: FAISS and BM25 in memory, documents and chunks read from the store when
    asked for (`documents`, `sentences` and `chunks` are read-only mappings). Read-only once built."""

    def __init__(
        self,
        manifest: Manifest,
        documents: Sequence[Document] | DocumentSet,
        sentences: Mapping[str, list[Span]] | None,
        chunks: Sequence[Chunk] | ChunkTable,
        vectors: Any,
        path: Path | None = None,
        config: IndexConfig | None = None,
        lexical: LexicalIndex | None = None,
        embeddings: Vectors | None = None,
    ) -> None:
        self.manifest = manifest
        if not isinstance(documents, DocumentSet):
            documents = DocumentSet.in_memory(documents, sentences or {})
        if not isinstance(chunks, ChunkTable):
            chunks = ChunkTable.of(chunks, list(documents.members))
        self.store = documents
        self.table = chunks
        self.documents: Mapping[str, Document] = DocumentsView(documents)
        self.sentences: Mapping[str, list[Span]] = SentencesView(documents)
        self.chunks: Mapping[int, Chunk] = ChunksView(chunks, documents)
        self.vectors = vectors
        self.path = path
        self.config = config or IndexConfig()
        self.lexical = lexical or LexicalIndex.build([c.text for c in self.chunks.values()], chunks.rows["id"].tolist())
        # Row i is the vector of the i-th chunk (in `chunks` order); a re-ingest reuses them for unchanged text.
        self.embeddings = embeddings
        self.unsaved_terms: dict[int, str] = {}  # chunk id -> BM25 terms analyzed for this index, stored on save

    def search(self, queries: Vectors, k: int) -> list[list[Passage]]:
        """The k best passages for each query vector, best first."""
        if not self.chunks:
            return [[] for _ in range(len(queries))]
        scores, ids = search_vectors(self.vectors, queries, k)
        return [
            [Passage(self.chunks[int(i)], float(s)) for s, i in zip(row_scores, row_ids, strict=True) if i >= 0]
            for row_scores, row_ids in zip(scores, ids, strict=True)
        ]


def load_index(directory: Path, searchable: bool = True) -> SearchIndex:
    """Open the current generation of an index directory, checking that its parts agree; documents stay in the
    store until asked for; FAISS's inverted lists and BM25's scores are mapped from their files, not read.
    `searchable=False` opens what an update of the index reuses, and no more: no BM25 scores (an update re-scores
    from the term counts), and FAISS, read into memory, only when its training can be reused (not for exact
    search); such an index cannot be searched."""
    generation = current_generation(directory)
    manifest = Manifest.from_json(_read_text(generation / MANIFEST_FILE))
    if manifest.format_version == LEGACY_FORMAT:
        raise IndexMismatchError(
            f"the index at {directory} keeps its documents in the JSONL files of format {LEGACY_FORMAT}, "
            f"which this citeqa no longer loads (it reads format {FORMAT_VERSION}: an SQLite store)",
            f"upgrade it in place, reusing its vectors, with: citeqa ingest PATH... --index {directory} "
            "(the paths it was built from)",
        )
    verify(generation, manifest.fingerprints)
    store_name, members = read_members(generation / MEMBERS_FILE)
    if {s for s, _ in members} != set(manifest.documents) or len(members) != len(manifest.documents):
        raise IndexDamagedError(f"the documents of the index at {directory} disagree with its manifest", _REBUILD)
    reader = StoreReader(directory / store_name)
    held = {s: Member(d, manifest.documents[s], manifest.files.get(s, "")) for s, d in members}
    documents = DocumentSet(held, reader)
    for source, _ in members[:1] + members[-1:]:
        documents.record(source)  # the first and last rows read and checked now: a replaced store is refused here
    table = ChunkTable(read_table(generation / CHUNKS_FILE, len(members)), [s for s, _ in members])
    vectors = None
    if searchable or manifest.vector_plan.factory != EXACT:
        vectors = read_vectors(generation / VECTORS_FILE, mapped=searchable)
        apply_search(vectors, manifest.vector_plan.search)
    embeddings = _read_embeddings(generation / EMBEDDINGS_FILE)
    if manifest.lexical.get("analyzer") != ANALYZER:
        raise IndexMismatchError(f"the BM25 index at {directory} was built with another word analyzer", _REBUILD)
    lexical = LexicalIndex.load(generation / LEXICAL_FOLDER, scores=searchable, mapped=searchable)
    counts = {len(table), manifest.chunks, len(lexical.chunk_ids), len(embeddings)}
    if vectors is not None:
        counts.add(vectors.ntotal)
    if len(counts) != 1:
        raise IndexDamagedError(f"the files of the index at {directory} disagree with its manifest", _REBUILD)
    dimension = vectors.d if vectors is not None else embeddings.shape[1]
    if dimension != manifest.dimension:
        raise IndexDamagedError(f"the vectors are {dimension}-d but the manifest says {manifest.dimension}-d", _REBUILD)
    config = read_config(directory)
    return SearchIndex(manifest, documents, None, table, vectors, directory, config, lexical, embeddings)


_REBUILD = REBUILD


def _read_embeddings(path: Path) -> Vectors:
    """The raw chunk vectors, mapped from disk (read only when a re-ingest reuses them)."""
    try:
        embeddings = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise IndexDamagedError(f"cannot read {path}", _REBUILD) from exc
    if embeddings.ndim != 2 or embeddings.dtype != np.float32:
        raise IndexDamagedError(f"{path} does not hold float32 vectors", _REBUILD)
    return embeddings  # type: ignore[no-any-return]


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise IndexDamagedError(f"cannot read {path}", _REBUILD) from exc
