"""What a generation holds, without reading it whole: its documents (by digest in the store) and its chunk table.

`SearchIndex.documents`, `.sentences` and `.chunks` are read-only mappings over these: a document is read from the
store when it is first asked for; a chunk is a row of the table (id, document, start, end) with its text sliced
from its document. An index built in memory holds its documents as `pending` records until it is saved.

`.sentence_words` gives each document's sentences' words (`index.analysis`) as stored at ingest, decoded when first
asked for and kept in a small cache; `DocumentSet.stem_counts` the index's sentence counts of stems, read from its
generation's file when it has one. `count_sentences` keeps those counts as an ingest adds and removes documents.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence, ValuesView
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from citeqa.ingest.chunking import Chunk
from citeqa.ingest.documents import Document
from citeqa.ingest.sentences import Span

from .analysis import ANALYSIS, Analysis, SentenceWords, StemCounts, analyze_sentences, decode, encode, words_of
from .docstore import REBUILD, Pieces, Record, StoreReader, digest_of
from .embedder import Vectors
from .errors import IndexDamagedError
from .lexical import analyze
from .sentence_vectors import DTYPE, SpilledBlobs, decode_vectors

V = TypeVar("V")

MEMBERS_FILE = "members.json"
SENTENCES_REMEMBERED = 1 << 16  # sentences' words kept decoded (a few kB each): a busy collection's working set
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
        self,
        members: dict[str, Member],
        reader: StoreReader | None = None,
        pending: dict[str, Record] | None = None,
        counts_file: Path | None = None,
    ) -> None:
        self.members = members
        self.reader = reader
        self.pending = pending or {}  # digest -> record, not in `reader`'s store (yet)
        self.counts_file = counts_file  # the generation's sentence counts, when it holds them
        self.counts: StemCounts | None = None  # read from `counts_file`, or counted
        self.unsaved_analysis: dict[str, bytes] = {}  # digest -> stored form of an analysis the store lacks
        self.unsaved_vectors = SpilledBlobs()  # digest -> sentence vectors the store lacks, on disk until saved
        self.vectors_key = ""  # the key of those vectors: vectors_key(the index's model); "": none made
        self._lock = threading.RLock()
        self._words: OrderedDict[str, tuple[list[SentenceWords], frozenset[str]]] = OrderedDict()
        self._words_held = 0  # sentences in `_words`

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

    def analysis(self, source: str) -> tuple[Analysis, bool]:
        """The analysis of `source`'s sentences, and whether it was stored (in the store, or to be written there):
        else its sentences were analyzed now."""
        digest = self.members[source].digest
        document, spans = self.record(source)
        blob = self.unsaved_analysis.get(digest)
        if blob is None and self.reader is not None:
            blob = self.reader.analysis(digest, ANALYSIS)
        found = decode(blob, len(spans)) if blob is not None else None
        if found is not None:
            return found, True
        return analyze_sentences(document.text, spans), False

    def sentence_vectors(self, source: str, dimension: int, first: int = 0, stop: int | None = None) -> Vectors | None:
        """Rows first:stop of `source`'s sentences' vectors (all of them by default), as embedded at ingest, read
        without the rest; None when the index keeps none for it (see index.sentence_vectors)."""
        if not self.vectors_key:
            return None
        digest = self.members[source].digest
        sentences = len(self.record(source)[1])
        stop = sentences if stop is None else stop
        if not 0 <= first <= stop <= sentences:
            raise IndexError(f"sentences {first}:{stop} of {source!r}, which has {sentences}")
        row = dimension * DTYPE.itemsize
        blob: bytes | None = None
        if digest in self.unsaved_vectors:
            if self.unsaved_vectors.size(digest) == sentences * row:
                blob = self.unsaved_vectors.read(digest, first * row, stop * row)
        elif self.reader is not None:
            blob = self.reader.vectors(digest, self.vectors_key, sentences * row, first * row, stop * row)
        return None if blob is None else decode_vectors(blob, stop - first, dimension)

    def words(self, source: str) -> list[SentenceWords]:
        """Each sentence's stems and pairs of them, in order; kept for the next question that reads `source`."""
        return self._analysed(source)[0]

    def stems(self, source: str) -> frozenset[str]:
        """The stems of the content words of the whole document: its sentences' and those between them."""
        return self._analysed(source)[1]

    def _analysed(self, source: str) -> tuple[list[SentenceWords], frozenset[str]]:
        digest = self.members[source].digest
        with self._lock:
            hit = self._words.get(digest)
            if hit is not None:
                self._words.move_to_end(digest)
                return hit
        words = [words_of(stems) for stems in self.analysis(source)[0]]
        document, spans = self.record(source)
        stems = set().union(*(w[0] for w in words))
        ends = [0, *(end for _, end in spans)]
        starts = [*(start for start, _ in spans), len(document.text)]
        for end, start in zip(ends, starts, strict=True):  # text outside the sentences (white space, mostly)
            if start > end and not document.text[end:start].isspace():
                stems.update(analyze(document.text[end:start]))
        found = (words, frozenset(stems))
        with self._lock:
            if digest not in self._words:
                self._words[digest] = found
                self._words_held += len(words)
            while self._words_held > SENTENCES_REMEMBERED and len(self._words) > 1:
                _, (old, _) = self._words.popitem(last=False)
                self._words_held -= len(old)
        return found

    def stored_counts(self) -> StemCounts | None:
        """The sentence counts of stems as counted at ingest; None for an index that keeps none."""
        with self._lock:
            if self.counts is None and self.counts_file is not None:
                self.counts = StemCounts.load(self.counts_file)
                self.counts_file = None
            return self.counts

    def stem_counts(self) -> StemCounts:
        """The sentence counts of stems: as stored, or (an index that keeps none) counted over every document."""
        with self._lock:
            counts = self.stored_counts()
            if counts is None:
                counts = StemCounts()
                for source in self.members:
                    counts.add(self.analysis(source)[0])
                self.counts = counts
            return counts


def count_sentences(documents: DocumentSet, previous: DocumentSet | None = None) -> None:
    """Count `documents`' sentences' stems: those of `previous` (the index they update) with the documents it held
    and they do not taken out and theirs it lacked added, when it kept counts; else all of them. An analysis the
    store lacks is made now and kept in `unsaved_analysis`, to be written with the documents."""
    base = previous.stored_counts() if previous is not None else None
    counts = None
    if previous is not None and base is not None:
        counts = base.copy()
        kept = {m.digest for m in documents.members.values()}
        try:
            for source, member in previous.members.items():
                if member.digest not in kept:
                    counts.remove(previous.analysis(source)[0])
        except (ValueError, IndexDamagedError):
            counts = None  # counts that do not hold what they should, or a removed document unreadable: count all
        held = {m.digest for m in previous.members.values()}
    if counts is None:
        counts, held = StemCounts(), set()
    for source, member in documents.members.items():
        if member.digest in held:
            continue
        analysis, stored = documents.analysis(source)
        counts.add(analysis)
        if not stored:
            blob = encode(analysis)
            if blob is not None:
                documents.unsaved_analysis[member.digest] = blob
    documents.counts = counts


def analysis_rows(documents: DocumentSet, store: Path) -> Iterator[tuple[str, bytes]]:
    """The sentence analyses to write into `store` with the documents: those it lacks."""
    held = documents.reader is not None and documents.reader.path.resolve() == store.resolve()
    for source, member in documents.members.items():
        blob = documents.unsaved_analysis.get(member.digest)
        if blob is None and not held:
            blob = encode(documents.analysis(source)[0])
        if blob is not None:
            yield member.digest, blob


def vector_rows(documents: DocumentSet, store: Path) -> Iterator[tuple[str, Pieces]]:
    """The sentence vectors to write into `store` with the documents: those embedded now, and, into a store other
    than the one the documents were read from, a copy of those they had there."""
    if not documents.vectors_key:
        return
    held = documents.reader is not None and documents.reader.path.resolve() == store.resolve()
    for member in documents.members.values():
        vectors: Pieces | None = None
        if member.digest in documents.unsaved_vectors:
            vectors = documents.unsaved_vectors.pieces(member.digest)
        elif not held and documents.reader is not None:
            vectors = documents.reader.vectors_pieces(member.digest, documents.vectors_key)
        if vectors is not None:
            yield member.digest, vectors


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


class SentenceWordsView(_BySource[list[SentenceWords]]):
    """Each document's sentences' stems and pairs, as stored at ingest (`index.analysis`)."""

    def __getitem__(self, source: str) -> list[SentenceWords]:
        return self._set.words(source)


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
