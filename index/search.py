"""A loaded index: documents, their sentences, chunks and vectors, searchable by query vectors."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from typing_extensions import TypedDict  # not typing's: pydantic reads it for the API schema on Python 3.11

from citeqa.ingest.chunking import Chunk
from citeqa.ingest.documents import Document
from citeqa.ingest.sentences import Span

from .config import IndexConfig, read_config
from .embedder import Vectors
from .errors import IndexDamagedError, IndexMismatchError
from .factory import apply_search
from .integrity import verify
from .lexical import ANALYZER, LexicalIndex
from .manifest import Manifest
from .store import current_generation
from .vectors import read_vectors, search_vectors

MANIFEST_FILE = "manifest.json"
VECTORS_FILE = "vectors.faiss"
DOCUMENTS_FILE = "documents.jsonl"
CHUNKS_FILE = "chunks.jsonl"
LEXICAL_FOLDER = "bm25"
EMBEDDINGS_FILE = "embeddings.npy"  # the chunks' vectors as embedded, row i = line i of chunks.jsonl


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
    """Everything an index directory holds, in memory. Read-only once built."""

    def __init__(
        self,
        manifest: Manifest,
        documents: Sequence[Document],
        sentences: dict[str, list[Span]],
        chunks: Sequence[Chunk],
        vectors: Any,
        path: Path | None = None,
        config: IndexConfig | None = None,
        lexical: LexicalIndex | None = None,
        embeddings: Vectors | None = None,
    ) -> None:
        self.manifest = manifest
        self.documents = {d.source: d for d in documents}
        self.sentences = sentences
        self.chunks = {c.id: c for c in chunks}
        self.vectors = vectors
        self.path = path
        self.config = config or IndexConfig()
        self.lexical = lexical or LexicalIndex.build([c.text for c in chunks], [c.id for c in chunks])
        # Row i is the vector of the i-th chunk (in `chunks` order); a re-ingest reuses them for unchanged text.
        self.embeddings = embeddings

    def search(self, queries: Vectors, k: int) -> list[list[Passage]]:
        """The k best passages for each query vector, best first."""
        if not self.chunks:
            return [[] for _ in range(len(queries))]
        scores, ids = search_vectors(self.vectors, queries, k)
        return [
            [Passage(self.chunks[int(i)], float(s)) for s, i in zip(row_scores, row_ids, strict=True) if i >= 0]
            for row_scores, row_ids in zip(scores, ids, strict=True)
        ]


def load_index(directory: Path) -> SearchIndex:
    """Load the current generation of an index directory, checking that its parts agree."""
    generation = current_generation(directory)
    manifest = Manifest.from_json(_read_text(generation / MANIFEST_FILE))
    verify(generation, manifest.fingerprints)
    try:
        documents, sentences, chunks = _read_store(generation)
    except (KeyError, TypeError, ValueError) as exc:
        raise IndexDamagedError(f"the chunk store of {directory} has a bad record ({exc})", _REBUILD) from exc
    vectors = read_vectors(generation / VECTORS_FILE)
    apply_search(vectors, manifest.vector_plan.search)
    embeddings = _read_embeddings(generation / EMBEDDINGS_FILE)
    if manifest.lexical.get("analyzer") != ANALYZER:
        raise IndexMismatchError(f"the BM25 index at {directory} was built with another word analyzer", _REBUILD)
    lexical = LexicalIndex.load(generation / LEXICAL_FOLDER)
    checksums = {d.source: d.checksum for d in documents}
    counts = {len(chunks), manifest.chunks, vectors.ntotal, len(lexical.chunk_ids), len(embeddings)}
    if checksums != manifest.documents or len(counts) != 1:
        raise IndexDamagedError(f"the files of the index at {directory} disagree with its manifest", _REBUILD)
    if vectors.d != manifest.dimension:
        raise IndexDamagedError(f"the vectors are {vectors.d}-d but the manifest says {manifest.dimension}-d", _REBUILD)
    config = read_config(directory)
    return SearchIndex(manifest, documents, sentences, chunks, vectors, directory, config, lexical, embeddings)


_REBUILD = "rebuild the index with citeqa ingest --rebuild PATH..."


def _read_store(generation: Path) -> tuple[list[Document], dict[str, list[Span]], list[Chunk]]:
    documents: list[Document] = []
    sentences: dict[str, list[Span]] = {}
    for record in _read_jsonl(generation / DOCUMENTS_FILE):
        documents.append(
            Document(
                record["source"],
                record["text"],
                record["title"],
                record["date"],
                record["checksum"],
                tuple(record["pages"]),
                record["file_checksum"],
            )
        )
        sentences[record["source"]] = [Span(s, e) for s, e in record["sentences"]]
    by_source = {d.source: d for d in documents}
    chunks: list[Chunk] = []
    for record in _read_jsonl(generation / CHUNKS_FILE):
        doc = by_source.get(record["source"])
        if doc is None:
            raise IndexDamagedError(f"a chunk names an unknown document {record['source']!r}", _REBUILD)
        start, end = record["start"], record["end"]
        chunks.append(Chunk(record["id"], doc.source, start, end, doc.text[start:end]))
    return documents, sentences, chunks


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


def _read_jsonl(path: Path) -> Iterable[dict[str, Any]]:
    for number, line in enumerate(_read_text(path).split("\n"), 1):  # not splitlines(): U+2028 is text
        if not line:
            continue
        try:
            yield json.loads(line)
        except ValueError as exc:
            raise IndexDamagedError(f"{path} line {number} is not valid JSON", _REBUILD) from exc


def write_records(path: Path, records: Iterable[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
