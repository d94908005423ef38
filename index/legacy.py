"""Format 3 indexes (documents.jsonl and chunks.jsonl in each generation), read whole, only to upgrade them.

`citeqa ingest` over such an index reads it here once and writes it in the current format, reusing its vectors;
`load_index` refuses it with that command in its message.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from citeqa.ingest.chunking import Chunk
from citeqa.ingest.documents import Document
from citeqa.ingest.sentences import Span

from .config import read_config
from .docstore import REBUILD
from .errors import IndexDamagedError
from .factory import apply_search
from .integrity import verify
from .lexical import LexicalIndex
from .manifest import Manifest
from .search import EMBEDDINGS_FILE, LEXICAL_FOLDER, MANIFEST_FILE, VECTORS_FILE, SearchIndex, _read_embeddings
from .store import current_generation
from .vectors import read_vectors

DOCUMENTS_FILE = "documents.jsonl"
CHUNKS_FILE = "chunks.jsonl"


def load_legacy_index(directory: Path) -> SearchIndex:
    """The format 3 index at `directory`, whole in memory."""
    generation = current_generation(directory)
    manifest = Manifest.from_json(_read_text(generation / MANIFEST_FILE))
    verify(generation, manifest.fingerprints)
    try:
        documents, sentences, chunks = _read_store(generation)
    except (KeyError, TypeError, ValueError) as exc:
        raise IndexDamagedError(f"the chunk store of {directory} has a bad record ({exc})", REBUILD) from exc
    vectors = read_vectors(generation / VECTORS_FILE)
    apply_search(vectors, manifest.vector_plan.search)
    embeddings = _read_embeddings(generation / EMBEDDINGS_FILE)
    lexical = LexicalIndex.load(generation / LEXICAL_FOLDER)
    checksums = {d.source: d.checksum for d in documents}
    counts = {len(chunks), manifest.chunks, vectors.ntotal, len(lexical.chunk_ids), len(embeddings)}
    if checksums != manifest.documents or len(counts) != 1:
        raise IndexDamagedError(f"the files of the index at {directory} disagree with its manifest", REBUILD)
    return SearchIndex(
        manifest, documents, sentences, chunks, vectors, directory, read_config(directory), lexical, embeddings
    )


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
            raise IndexDamagedError(f"a chunk names an unknown document {record['source']!r}", REBUILD)
        start, end = record["start"], record["end"]
        chunks.append(Chunk(record["id"], doc.source, start, end, doc.text[start:end]))
    return documents, sentences, chunks


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise IndexDamagedError(f"cannot read {path}", REBUILD) from exc


def _read_jsonl(path: Path) -> Iterable[dict[str, Any]]:
    for number, line in enumerate(_read_text(path).split("\n"), 1):  # not splitlines(): U+2028 is text
        if not line:
            continue
        try:
            yield json.loads(line)
        except ValueError as exc:
            raise IndexDamagedError(f"{path} line {number} is not valid JSON", REBUILD) from exc


def write_legacy_records(path: Path, records: Iterable[dict[str, Any]]) -> None:
    """For tests: write a JSONL file as format 3 did."""
    with open(path, "w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
