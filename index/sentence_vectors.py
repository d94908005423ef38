"""Each sentence's vector, embedded once at ingest with the index's model and stored beside its document: the
answerer weighs how close a candidate sentence is to the question (`chat/evidence.py`, feature `dense`).

A document's vectors are a row of the store's `sentence_vectors` table, keyed by the document's digest and
`vectors_key(model)`: float16, little-endian, `dimension` values per sentence, in sentence order. They are written
and read a piece at a time (a passage's rows alone, when answering), so a long document never sits in memory
whole. Until they are saved, an ingest keeps them in a temporary file (`SpilledBlobs`). A row that is missing (an
index written before them, or one built from vectors of no real model), damaged, or of another shape is not used:
the answerer then holds the feature at its training mean, and the next ingest fills the rows in.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import IO

import numpy as np

from citeqa.ingest.sentences import Span

from .docstore import PIECE_BYTES, Pieces

DTYPE = np.dtype("<f2")  # half the bytes of float32; a cosine in float16 is good to ~1e-3, plenty for a feature
SENTENCES_PER_BATCH = 512  # sentences embedded at a time (bounded memory, whatever the documents' sizes)

Texts = Callable[[str], tuple[str, Sequence[Span]]]  # a document's text and sentences, by source


def vectors_key(model: str) -> str:
    """The analysis key of sentence vectors made by `model` (another model's rows are never used)."""
    return f"sentence vectors 2; {model}"  # 2: a table of their own, written a piece at a time


def encode_vectors(vectors: np.ndarray) -> bytes:
    return np.ascontiguousarray(vectors, dtype=DTYPE).tobytes()


def decode_vectors(blob: bytes, sentences: int, dimension: int) -> np.ndarray | None:
    """The vectors `blob` holds if it has one of `dimension` values per sentence; None when it does not fit."""
    if len(blob) != sentences * dimension * DTYPE.itemsize:
        return None
    vectors = np.frombuffer(blob, dtype=DTYPE).reshape(sentences, dimension).astype(np.float32)
    return vectors if np.isfinite(vectors).all() else None


def embed_sentences(
    sources: Sequence[str], texts: Texts, encode: Callable[[list[str]], np.ndarray]
) -> Iterator[tuple[str, np.ndarray]]:
    """(source, vectors) pieces, in DTYPE: each document's sentences' vectors in sentence order, in one or more
    consecutive pieces (one empty piece for a document without sentences), the documents in order. Sentences are
    embedded SENTENCES_PER_BATCH at a time across documents and read one at a time, so memory stays one batch,
    whatever the documents' sizes."""
    waiting: deque[_Waiting] = deque()  # documents whose sentences are not all embedded yet, oldest first
    stream = _sentences(sources, texts, waiting)
    while batch := list(islice(stream, SENTENCES_PER_BATCH)):
        yield from _pieces(waiting, np.asarray(encode(batch)))
    yield from _pieces(waiting, np.zeros((0, 0), dtype=DTYPE))  # documents without sentences, last


@dataclass(slots=True)
class _Waiting:
    source: str
    left: int  # its sentences not embedded yet


def _sentences(sources: Sequence[str], texts: Texts, waiting: deque[_Waiting]) -> Iterator[str]:
    for source in sources:
        text, spans = texts(source)
        waiting.append(_Waiting(source, len(spans)))
        for span in spans:
            yield text[span.start : span.end]


def _pieces(waiting: deque[_Waiting], vectors: np.ndarray) -> Iterator[tuple[str, np.ndarray]]:
    """A batch's vectors handed, in order, to the documents waiting for them."""
    used = 0
    while waiting and (used < len(vectors) or waiting[0].left == 0):
        first = waiting[0]
        take = min(first.left, len(vectors) - used)
        yield first.source, vectors[used : used + take].astype(DTYPE)
        used += take
        first.left -= take
        if first.left == 0:
            waiting.popleft()


class SpilledBlobs(Mapping[str, bytes]):
    """Blobs kept in an unnamed temporary file instead of memory: the sentence vectors an ingest embeds, until
    they are written to the store (or, for an index that stays in memory, read by the answerer). Thread-safe."""

    def __init__(self) -> None:
        self._file: IO[bytes] | None = None
        self._where: dict[str, tuple[int, int]] = {}  # key -> (offset, size)
        self._last = ""  # the key written last: the only one that may grow
        self._lock = threading.Lock()

    def append(self, key: str, vectors: np.ndarray) -> None:
        """Add `vectors` to the end of `key`'s blob, in their stored form (encode_vectors). A key's pieces must
        come together: appending to a key after another key was written is refused."""
        data = np.ascontiguousarray(vectors, dtype=DTYPE).data.cast("B")
        with self._lock:
            if key in self._where and key != self._last:
                raise ValueError(f"the pieces of {key!r} are not consecutive")
            offset, size = self._where.get(key, (self._end(), 0))
            self._write(data)
            self._where[key] = (offset, size + data.nbytes)
            self._last = key

    def __setitem__(self, key: str, blob: bytes) -> None:
        with self._lock:
            self._where[key] = (self._end(), len(blob))
            self._write(memoryview(blob))
            self._last = key

    def _end(self) -> int:
        if self._file is None:
            self._file = tempfile.TemporaryFile(prefix="citeqa-vectors-")  # noqa: SIM115 (closed with the set)
        return self._file.seek(0, os.SEEK_END)

    def _write(self, data: memoryview) -> None:
        assert self._file is not None
        self._file.seek(0, os.SEEK_END)
        self._file.write(data)

    def read(self, key: str, start: int = 0, stop: int | None = None) -> bytes:
        """Bytes start:stop of `key`'s blob."""
        with self._lock:
            offset, size = self._where[key]
            end = size if stop is None else min(stop, size)
            assert self._file is not None
            self._file.seek(offset + start)
            return self._file.read(max(end - start, 0))

    def pieces(self, key: str) -> Pieces:
        """`key`'s blob, to be stored a piece at a time."""
        size = self._where[key][1]

        def read() -> Iterator[bytes]:
            for start in range(0, size, PIECE_BYTES):
                yield self.read(key, start, start + PIECE_BYTES)

        return Pieces(size, read)

    def size(self, key: str) -> int:
        return self._where[key][1]

    def __getitem__(self, key: str) -> bytes:
        return self.read(key)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._where))

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, key: object) -> bool:
        return key in self._where
