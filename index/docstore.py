"""The document store: one SQLite file beside an index's generations, holding each document's text, title, date,
checksums, page starts and sentences, keyed by a digest of all of them.

    DIR/store-<stamp>.sqlite     table `documents`, one row per document version; WAL mode

Rows are content-addressed and never changed: an ingest appends the documents it read, in one transaction, to
the store the current generation uses, and the new generation lists the (source, digest) pairs it holds
(`members.json`). Nothing is parsed at start-up: a document is read, and its digest checked, when it is first
asked for, and kept in a small cache. Rows that neither the current nor the previous generation lists are
deleted after CURRENT is swapped (the previous one still serves readers that have not reloaded yet). An index
built anew (`--rebuild`, another collection, a damaged store) starts a new store file; the old one is removed
once no generation names it.

Beside the documents, each chunk's BM25 terms as the analyzer made them (`chunk_terms`, by chunk id, which is a
hash of the chunk's source, offset and text): an ingest analyzes only new chunks' text to rebuild BM25. A terms row
that does not match its checksum, or was made by another analyzer, is not used: the chunk is analyzed again.
Stores written before reader v2 also hold each document's sentence analysis (`sentence_words`) and sentence
vectors (`sentence_vectors`), which nothing reads any more: the next write into such a store drops both tables
(`collect_garbage`, after CURRENT is swapped), and until then they are only dead weight on disk.

A row whose bytes changed no longer matches its digest, a truncated file no longer matches its header, a missing
row is missing: each is refused with IndexDamagedError naming the fix.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import threading
import zlib
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from citeqa.ingest.documents import Document
from citeqa.ingest.sentences import Span

from .errors import IndexDamagedError

STORE_PREFIX = "store-"
STORE_SUFFIX = ".sqlite"
SCHEMA_VERSION = 1
REBUILD = "rebuild the index with citeqa ingest --rebuild PATH..."
CACHE_CHARS = 32_000_000  # documents kept decoded, by total characters (at least one is always kept)
TERMS_PAGE = 10_000  # chunks' terms read from the store at a time
_COLUMNS = "source, title, date, checksum, file_checksum, pages, sentences, text"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY,
    digest TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    title TEXT NOT NULL,
    date TEXT,
    checksum TEXT NOT NULL,
    file_checksum TEXT NOT NULL,
    pages BLOB NOT NULL,
    sentences BLOB NOT NULL,
    text TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chunk_terms (
    id INTEGER PRIMARY KEY,
    analyzer TEXT NOT NULL,
    words TEXT NOT NULL,
    checksum INTEGER NOT NULL
);
"""
# Tables of sentence analyses and vectors that stores written before reader v2 hold; nothing reads them.
RETIRED_TABLES = ("sentence_vectors", "sentence_words")

Record = tuple[Document, list[Span]]  # a document and its sentences
# What reading a store can raise: SQLite's errors, and a UnicodeDecodeError when flipped bytes reach the text of
# SQLite's own message (which Python decodes as UTF-8) or a text column.
STORE_ERRORS = (sqlite3.Error, UnicodeDecodeError)
_DAMAGE_CODES = frozenset({"SQLITE_CORRUPT", "SQLITE_NOTADB"})


def is_damage(exc: BaseException) -> bool:
    """Whether `exc`, raised by SQLite or while decoding what it gave, means the store's bytes are damaged."""
    if isinstance(exc, UnicodeDecodeError):
        return True
    return isinstance(exc, sqlite3.DatabaseError) and getattr(exc, "sqlite_errorname", "") in _DAMAGE_CODES


def damaged(path: Path, exc: BaseException) -> IndexDamagedError:
    """The message for a store whose bytes SQLite cannot make sense of."""
    detail = "bytes that are not text" if isinstance(exc, UnicodeDecodeError) else str(exc)
    return IndexDamagedError(f"the document store {path} is damaged ({detail})", REBUILD)


def is_store_file(name: str) -> bool:
    """A store file or one of SQLite's files beside it (-wal, -shm, -journal)."""
    return name.startswith(STORE_PREFIX) and STORE_SUFFIX in name


def _encode(document: Document, sentences: Sequence[Span]) -> tuple[str, bytes, bytes, str]:
    head = json.dumps(
        [document.source, document.title, document.date, document.checksum, document.file_checksum],
        ensure_ascii=False,
    )
    pages = np.asarray(document.pages, dtype="<i8").tobytes()
    spans = np.asarray([(s.start, s.end) for s in sentences], dtype="<i8").reshape(-1, 2).tobytes()
    return head, pages, spans, document.text


def _digest(head: str, pages: bytes, spans: bytes, text: str) -> str:
    digest = hashlib.sha256()
    for part in (head.encode("utf-8"), pages, spans, text.encode("utf-8")):
        digest.update(len(part).to_bytes(8, "little"))
        digest.update(part)
    return digest.hexdigest()


def digest_of(document: Document, sentences: Sequence[Span]) -> str:
    """The key of a document's row: a sha256 of everything the row holds."""
    return _digest(*_encode(document, sentences))


def terms_checksum(chunk_id: int, analyzer: str, words: str) -> int:
    """A CRC of a terms row: finds a damaged row (they are a cache, so it is analyzed again), cheaply."""
    return zlib.crc32(f"{chunk_id}\x00{analyzer}\x00{words}".encode())


def write_records(
    path: Path, records: Iterable[Record], terms: Iterable[tuple[int, str]] = (), analyzer: str = ""
) -> list[str]:
    """Append `records` (those not held already) and chunks' BM25 `terms` ((chunk id, words joined by spaces), made
    by `analyzer`) to the store at `path`, created if new, in one transaction; the records' digests, in order.
    Committed durably (WAL, synchronous FULL) before it returns."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.executescript(_SCHEMA)
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        db.execute("BEGIN IMMEDIATE")
        digests = []
        for document, sentences in records:
            head, pages, spans, text = _encode(document, sentences)
            digest = _digest(head, pages, spans, text)
            db.execute(
                f"INSERT OR IGNORE INTO documents (digest, {_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (digest, document.source, document.title, document.date, document.checksum,
                 document.file_checksum, pages, spans, text),
            )  # fmt: skip
            digests.append(digest)
        db.executemany(
            "INSERT OR REPLACE INTO chunk_terms (id, analyzer, words, checksum) VALUES (?, ?, ?, ?)",
            ((i, analyzer, w, terms_checksum(i, analyzer, w)) for i, w in terms),
        )
        db.execute("COMMIT")
        return digests
    except BaseException as exc:
        with contextlib.suppress(*STORE_ERRORS):
            db.execute("ROLLBACK")
        if is_damage(exc):
            raise damaged(path, exc) from exc
        raise
    finally:
        db.close()


def collect_garbage(path: Path, keep: Iterable[str], keep_chunks: Iterable[int] = ()) -> int:
    """Delete the document rows whose digest is not in `keep`, the terms of chunks not in `keep_chunks` and the
    retired tables; how many documents were deleted. Best effort: a failure leaves garbage that the next ingest
    collects."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA synchronous=FULL")
        db.execute("CREATE TEMP TABLE keep (digest TEXT PRIMARY KEY) WITHOUT ROWID")
        db.execute("BEGIN IMMEDIATE")
        # Keys inserted sorted and once each (the two generations share most of them): appends to the B-trees.
        db.executemany("INSERT INTO temp.keep VALUES (?)", ((d,) for d in sorted(set(keep))))
        deleted = db.execute("DELETE FROM documents WHERE digest NOT IN (SELECT digest FROM temp.keep)").rowcount
        for table in RETIRED_TABLES:  # their pages go to SQLite's free list, reused by later writes
            db.execute(f"DROP TABLE IF EXISTS {table}")
        db.execute("CREATE TEMP TABLE chunks (id INTEGER PRIMARY KEY)")
        chunk_ids = np.unique(np.fromiter(keep_chunks, dtype=np.int64)).tolist()
        db.executemany("INSERT INTO temp.chunks VALUES (?)", ((i,) for i in chunk_ids))
        db.execute("DELETE FROM chunk_terms WHERE id NOT IN (SELECT id FROM temp.chunks)")
        db.execute("COMMIT")
        with contextlib.suppress(sqlite3.Error):
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return int(deleted)
    finally:
        db.close()


class StoreReader:
    """Reads rows of one store by digest, checked and cached; one connection, shared by threads under a lock."""

    def __init__(self, path: Path, cache_chars: int = CACHE_CHARS) -> None:
        self.path = path
        check_file(path)
        try:
            try:
                self._db, version = _open(path, "mode=ro")
            except sqlite3.OperationalError:  # a read-only folder where SQLite cannot make its WAL index: no writer
                self._db, version = _open(path, "mode=ro&immutable=1")
        except STORE_ERRORS as exc:
            raise damaged(path, exc) from exc
        if version != SCHEMA_VERSION:
            raise IndexDamagedError(f"the document store {path} has schema {version}, not {SCHEMA_VERSION}", REBUILD)
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, Record] = OrderedDict()
        self._cached_chars = 0
        self._cache_chars = cache_chars

    def record(self, digest: str, source: str) -> Record:
        """The document `source` whose row has `digest`, and its sentences."""
        with self._lock:
            hit = self._cache.get(digest)
            if hit is not None:
                self._cache.move_to_end(digest)
                return hit
            try:
                row = self._db.execute(f"SELECT {_COLUMNS} FROM documents WHERE digest = ?", (digest,)).fetchone()
            except STORE_ERRORS as exc:
                raise damaged(self.path, exc) from exc
            if row is None:
                raise IndexDamagedError(f"the document store {self.path} has lost the text of {source!r}", REBUILD)
            record = _decode(row, digest, self.path)
            self._cache[digest] = record
            self._cached_chars += len(record[0].text)
            while self._cached_chars > self._cache_chars and len(self._cache) > 1:
                _, (old, _) = self._cache.popitem(last=False)
                self._cached_chars -= len(old.text)
            return record

    def terms(self, analyzer: str) -> Iterator[tuple[int, list[str]]]:
        """Every chunk's stored BM25 terms made by `analyzer`, checksums matching, by chunk id, a page at a time
        (the store may hold chunks of other generations too). A page that cannot be read ends the stream: the
        terms are a cache, and what is not found is analyzed again."""
        after = -(2**63)
        while True:
            with self._lock:
                try:
                    page = self._db.execute(
                        "SELECT id, words, checksum FROM chunk_terms WHERE analyzer = ? AND id > ? ORDER BY id LIMIT ?",
                        (analyzer, after, TERMS_PAGE),
                    ).fetchall()
                except STORE_ERRORS:
                    return
            for chunk_id, words, checksum in page:
                if terms_checksum(chunk_id, analyzer, words) == checksum:
                    yield chunk_id, words.split(" ") if words else []
            if len(page) < TERMS_PAGE:
                return
            after = page[-1][0]

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _open(path: Path, mode: str) -> tuple[sqlite3.Connection, int]:
    db = sqlite3.connect(f"{path.resolve().as_uri()}?{mode}", uri=True, check_same_thread=False)
    try:
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        db.execute("SELECT count(*) FROM (SELECT 1 FROM documents LIMIT 1)").fetchone()
    except STORE_ERRORS:
        db.close()
        raise
    return db, version


def _decode(row: tuple[object, ...], digest: str, path: Path) -> Record:
    source, title, date, checksum, file_checksum, pages, spans, text = row
    damaged = IndexDamagedError(
        f"the document store {path} is damaged (the record of {source!r} changed since it was written)", REBUILD
    )
    if not (isinstance(pages, bytes) and isinstance(spans, bytes) and isinstance(text, str)):
        raise damaged
    head = json.dumps([source, title, date, checksum, file_checksum], ensure_ascii=False)
    if _digest(head, pages, spans, text) != digest or len(pages) % 8 or len(spans) % 16:
        raise damaged
    try:
        document = Document(
            str(source),
            text,
            str(title),
            None if date is None else str(date),
            str(checksum),
            tuple(np.frombuffer(pages, dtype="<i8").tolist()),
            str(file_checksum),
        )
    except ValueError as exc:
        raise damaged from exc
    sentences = [Span(start, end) for start, end in np.frombuffer(spans, dtype="<i8").reshape(-1, 2).tolist()]
    return document, sentences


_MAGIC = b"SQLite format 3\x00"


def check_file(path: Path) -> None:
    """Refuse a store that is missing, not SQLite, or shorter than its header says (truncated): cheap, no rows read."""
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            header = f.read(100)
    except OSError as exc:
        raise IndexDamagedError(f"the document store {path} cannot be read ({exc.strerror or exc})", REBUILD) from exc
    if len(header) < 100 or not header.startswith(_MAGIC):
        raise IndexDamagedError(f"the document store {path} is damaged (not a SQLite database)", REBUILD)
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    valid = header[24:28] == header[92:96]  # the header's page count is only kept when these agree
    if page_size < 512 or size % page_size or (valid and size < pages * page_size):
        raise IndexDamagedError(
            f"the document store {path} is damaged ({size:,} bytes, shorter than its header says)", REBUILD
        )
