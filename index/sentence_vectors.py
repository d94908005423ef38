"""Each sentence's vector, embedded once at ingest with the index's model and stored beside its document: the
answerer weighs how close a candidate sentence is to the question (`chat/evidence.py`, feature `dense`).

A document's vectors are a row of the store's analyses (`sentence_words`), keyed by the document's digest and
`vectors_key(model)`: float16, little-endian, `dimension` values per sentence, in sentence order. A row that is
missing (an index written before them, or one built from vectors of no real model), damaged, or of another shape
is not used: the answerer then holds the feature at its training mean, and the next ingest fills the rows in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np

from citeqa.ingest.sentences import Span

DTYPE = np.dtype("<f2")  # half the bytes of float32; a cosine in float16 is good to ~1e-3, plenty for a feature
SENTENCES_PER_BATCH = 512  # sentences embedded at a time (bounded memory, whatever the documents' sizes)

Texts = Callable[[str], tuple[str, Sequence[Span]]]  # a document's text and sentences, by source


def vectors_key(model: str) -> str:
    """The analysis key of sentence vectors made by `model` (another model's rows are never used)."""
    return f"sentence vectors 1; {model}"


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
) -> Iterator[tuple[str, bytes]]:
    """(source, stored vectors) of each document, its sentences embedded by `encode` SENTENCES_PER_BATCH at a time
    across documents, in order."""
    waiting: list[tuple[str, int]] = []  # documents whose sentences are queued, and how many each has
    queued: list[str] = []
    done: list[np.ndarray] = []
    for source in sources:
        text, spans = texts(source)
        waiting.append((source, len(spans)))
        queued += [text[s.start : s.end] for s in spans]
        while len(queued) >= SENTENCES_PER_BATCH:
            done.append(np.asarray(encode(queued[:SENTENCES_PER_BATCH]), dtype=np.float32))
            queued = queued[SENTENCES_PER_BATCH:]
            yield from _finished(waiting, done, final=False)
    if queued:
        done.append(np.asarray(encode(queued), dtype=np.float32))
    yield from _finished(waiting, done, final=True)


def _finished(waiting: list[tuple[str, int]], done: list[np.ndarray], final: bool) -> Iterator[tuple[str, bytes]]:
    """The queued documents whose sentences are all embedded, in order; `waiting` and `done` keep the rest."""
    ready = sum(len(d) for d in done)
    while waiting and (waiting[0][1] <= ready or final):
        source, count = waiting.pop(0)
        vectors = np.concatenate(done) if done else np.zeros((0, 0), dtype=np.float32)
        mine, rest = vectors[:count], vectors[count:]
        done[:] = [rest] if len(rest) else []
        ready -= count
        yield source, encode_vectors(mine.reshape(count, -1) if count else mine[:0])
