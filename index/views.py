"""What a generation holds, without reading it whole: its documents (by digest in the store) and its chunk table.

`SearchIndex.documents`, `.sentences` and `.chunks` are read-only mappings over these: a document is read from the
store when it is first asked for; a chunk is a row of the table (id, document, start, end) with its text sliced
from its document. An index built in memory holds its documents as `pending` records until it is saved.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator, Mapping, Sequence, ValuesView
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from citeqa.ingest.chunking import Chunk
from citeqa.ingest.documents import Document
from citeqa.ingest.sentences import Span

from .docstore import REBUILD, Record, StoreReader, digest_of
from .errors import IndexDamagedError

V = TypeVar("V")

MEMBERS_FILE = "members.json"
CHUNKS_FILE = "chunks.npy"
CHUNK_DTYPE = np.dtype(
    [("id", "<i8"), ("document", "<i4"), ("start", "<i8"), ("end", "<i8"), ("text_hash", "<i8")]
)  # text_hash: the first 8 bytes of the text's blake2b, so a re-ingest finds stored vectors without reading texts


@dataclass(frozen=True, slots=True)
class Member:
    digest: str  # the key of its row in the store
    checksum: str  # sha256 of its text
    file_checksum: str


class DocumentSet:
    """The documents of one index, in order: rows of a store, or records held in memory until saved."""

    def __init__(
        self, members: dict[str, Member], reader: StoreReader | None = None, pending: dict[str, Record] | None = None
    ) -> None:
        self.members = members
        self.reader = reader
        self.pending = pending or {}  # digest -> record, not in `reader`'s store (yet)

    @classmethod
    def in_memory(cls, documents: Sequence[Document], sentences: Mapping[str, list[Span]]) -> DocumentSet:
        members: dict[str, Member] = {}
        pending: dict[str, Record] = {}
        for d in documents:
            spans = list(sentences[d.source])
            digest = digest_of(d, spans)
            members[d.source] = Member(digest, d.checksum, d.file_checksum)
            pending[digest] = (d, spans)
        return cls(members, None, pending)

    def record(self, source: str) -> Record:
        member = self.members[source]
        held = self.pending.get(member.digest)
        if held is not None:
            return held
        if self.reader is None:
            raise KeyError(source)
        return self.reader.record(member.digest, source)


class _BySource(Mapping[str, V]):
    """A read-only mapping from each document's source to something of it, read from the set when asked for."""

    def __init__(self, documents: DocumentSet) -> None:
        self._set = documents

    def __contains__(self, source: object) -> bool:
        return source in self._set.members

    def __iter__(self) -> Iterator[str]:
        return iter(self._set.members)

    def __len__(self) -> int:
        return len(self._set.members)


class DocumentsView(_BySource[Document]):
    def __getitem__(self, source: str) -> Document:
        return self._set.record(source)[0]

    def __repr__(self) -> str:
        return f"<{len(self)} documents>"


class SentencesView(_BySource[list[Span]]):
    def __getitem__(self, source: str) -> list[Span]:
        return self._set.record(source)[1]


def text_hash(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little", signed=True)


class ChunkTable:
    """Row i: the i-th chunk (and the i-th row of the vectors and of BM25); `sources[row.document]` its document."""

    def __init__(self, rows: np.ndarray, sources: Sequence[str]) -> None:
        self.rows = rows
        self.sources = list(sources)
        self._lock = threading.Lock()
        self._by_id: tuple[np.ndarray, np.ndarray] | None = None  # (row order by id, the ids so sorted), when needed

    @classmethod
    def of(cls, chunks: Sequence[Chunk], sources: Sequence[str]) -> ChunkTable:
        position = {s: i for i, s in enumerate(sources)}
        rows = np.empty(len(chunks), dtype=CHUNK_DTYPE)
        for i, c in enumerate(chunks):
            rows[i] = (c.id, position[c.source], c.start, c.end, text_hash(c.text))
        return cls(rows, sources)

    def rows_by_source(self) -> dict[str, np.ndarray]:
        """The row numbers of each document's chunks, in row order."""
        documents = self.rows["document"]
        if np.all(documents[:-1] <= documents[1:]):  # as saved: each document's chunks together, in order
            order = np.arange(len(documents))
        else:
            order = np.argsort(documents, kind="stable")
        bounds = np.searchsorted(documents[order], np.arange(len(self.sources) + 1))
        return {s: order[bounds[i] : bounds[i + 1]] for i, s in enumerate(self.sources)}

    def row_of(self, chunk_id: int) -> int | None:
        order, ids = self._sorted_ids()
        at = int(np.searchsorted(ids, chunk_id))
        if at < len(ids) and ids[at] == chunk_id:
            return int(order[at])
        return None

    def rows_of(self, chunk_ids: np.ndarray) -> np.ndarray:
        """The row of each chunk id; -1 for an id the table does not hold."""
        order, ids = self._sorted_ids()
        if not len(ids):
            return np.full(len(chunk_ids), -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(ids, chunk_ids), len(ids) - 1)
        return np.where(ids[at] == chunk_ids, order[at], -1)

    def _sorted_ids(self) -> tuple[np.ndarray, np.ndarray]:
        if self._by_id is None:
            with self._lock:
                if self._by_id is None:
                    order = np.argsort(self.rows["id"], kind="stable")
                    self._by_id = (order, self.rows["id"][order])
        return self._by_id

    def __len__(self) -> int:
        return len(self.rows)


class ChunksView(Mapping[int, Chunk]):
    """Chunks by id, in row order; each one's text sliced from its document when asked for."""

    def __init__(self, table: ChunkTable, documents: DocumentSet) -> None:
        self._table = table
        self._set = documents

    def at(self, row: int) -> Chunk:
        r = self._table.rows[row]
        source = self._table.sources[int(r["document"])]
        start, end = int(r["start"]), int(r["end"])
        return Chunk(int(r["id"]), source, start, end, self._set.record(source)[0].text[start:end])

    def __getitem__(self, chunk_id: int) -> Chunk:
        row = self._table.row_of(chunk_id) if isinstance(chunk_id, (int, np.integer)) else None
        if row is None:
            raise KeyError(chunk_id)
        return self.at(row)

    def __contains__(self, chunk_id: object) -> bool:
        return isinstance(chunk_id, (int, np.integer)) and self._table.row_of(int(chunk_id)) is not None

    def __iter__(self) -> Iterator[int]:
        return iter(self._table.rows["id"].tolist())

    def __len__(self) -> int:
        return len(self._table)

    def values(self) -> ValuesView[Chunk]:
        return _RowValues(self)

    def __repr__(self) -> str:
        return f"<{len(self)} chunks>"


class _RowValues(ValuesView[Chunk]):
    _mapping: ChunksView

    def __iter__(self) -> Iterator[Chunk]:
        view = self._mapping
        for row in range(len(view)):
            yield view.at(row)


def stack_rows(parts: Sequence[tuple[str, np.ndarray]], sources: Sequence[str]) -> np.ndarray:
    """One table of the given rows (each part: its document's source and its rows), renumbered to `sources`."""
    position = {s: i for i, s in enumerate(sources)}
    rows = np.concatenate([r for _, r in parts]) if parts else np.empty(0, dtype=CHUNK_DTYPE)
    rows["document"] = np.repeat([position[s] for s, _ in parts], [len(r) for _, r in parts]).astype(np.int32)
    return rows


def write_members(path: Path, store: str, documents: DocumentSet) -> None:
    data = {"store": store, "documents": [[s, m.digest] for s, m in documents.members.items()]}
    path.write_text(json.dumps(data, ensure_ascii=False) + "\n", encoding="utf-8")


def read_members(path: Path) -> tuple[str, list[tuple[str, str]]]:
    """(store file name, [(source, digest)...]) of a generation."""
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        store = str(data["store"])
        members = [(str(s), str(d)) for s, d in data["documents"]]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise IndexDamagedError(f"{path} cannot be read ({exc})", REBUILD) from exc
    if "/" in store or not store.endswith(".sqlite"):
        raise IndexDamagedError(f"{path} names no document store", REBUILD)
    return store, members


def read_table(path: Path, documents: int) -> np.ndarray:
    try:
        rows: np.ndarray = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise IndexDamagedError(f"cannot read {path}", REBUILD) from exc
    if rows.dtype != CHUNK_DTYPE or rows.ndim != 1:
        raise IndexDamagedError(f"{path} does not hold a chunk table", REBUILD)
    if len(rows) and (rows["document"].min() < 0 or rows["document"].max() >= documents):
        raise IndexDamagedError(f"{path} names documents the index does not hold", REBUILD)
    if np.any(rows["end"] < rows["start"]):
        raise IndexDamagedError(f"{path} holds a chunk that ends before it starts", REBUILD)
    return rows
