"""BM25 over the chunks (bm25s), beside the dense vectors: exact words, names and numbers that an embedding blurs.

Chunks and queries go through one analyzer — citeqa's own word tokenizer, function words dropped, light
stemming — so "signed" finds "signing" and "2024" finds only 2024. The scores live in a folder of the index
generation (bm25s's own format, saved without pickle); document i of BM25 is chunk i of `chunk_ids`. Beside them
are the term counts the scores were made from, so that an update re-scores the chunks it keeps from those counts
instead of analyzing every chunk again (BM25's scores all change when any chunk does: each term's idf and the mean
length move).
"""

from __future__ import annotations

import json
from array import array
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from citeqa.ingest.words import content_terms

from .errors import IndexDamagedError

ANALYZER = "citeqa-words-3"  # the analyzer's name is recorded in the manifest: a change means a rebuild
K1, B, METHOD = 1.2, 0.75, "lucene"  # Lucene's BM25 with its usual constants
PARAMETERS = {"analyzer": ANALYZER, "method": METHOD, "k1": K1, "b": B}
_IDS_FILE = "chunk_ids.json"
_COUNTS_FILE = "counts.npy"  # each posting's term count, in the order of bm25s's score matrix
_LENGTHS_FILE = "lengths.npy"  # each chunk's number of terms
_ROWS_FILE, _INDPTR_FILE, _VOCABULARY_FILE = "indices.csc.index.npy", "indptr.csc.index.npy", "vocab.index.json"
MAX_COUNT = np.iinfo(np.uint16).max  # a term's count in one chunk, stored; chunks are a few hundred tokens


@dataclass(frozen=True, slots=True)
class Postings:
    """What BM25's scores are made of: for each term (by id), the rows of the chunks holding it and how often."""

    vocabulary: dict[str, int]
    indptr: np.ndarray  # term t's postings are [indptr[t], indptr[t + 1])
    rows: np.ndarray  # int32, by term and then by row
    counts: np.ndarray  # uint16, aligned with rows
    lengths: np.ndarray  # int32: each row's number of terms

    def consistent(self, chunks: int) -> bool:
        postings = len(self.rows)
        return (
            len(self.indptr) == len(self.vocabulary) + 1
            and int(self.indptr[-1]) == postings == len(self.counts)
            and len(self.lengths) == chunks
        )


def analyze(text: str) -> list[str]:
    return content_terms(text)  # terms(tokenize(text)), faster


class LexicalIndex:
    def __init__(
        self, bm25: object, chunk_ids: Sequence[int], postings: Postings | None = None, folder: Path | None = None
    ) -> None:
        self._bm25 = bm25
        self.chunk_ids = np.asarray(chunk_ids, dtype=np.int64)
        self._postings = postings  # kept when built, to be saved; read from `folder` when asked for
        self._folder = folder

    @classmethod
    def build(cls, texts: Sequence[str], chunk_ids: Sequence[int]) -> LexicalIndex:
        builder = LexicalBuilder()
        for row, text in enumerate(texts):
            builder.add(row, analyze(text))
        return builder.finish(chunk_ids)

    def search(self, queries: Sequence[str], k: int) -> list[list[tuple[int, float]]]:
        """(chunk id, BM25 score) of the best k chunks for each query, best first; chunks scoring 0 left out."""
        n = len(self.chunk_ids)
        results: list[list[tuple[int, float]]] = []
        for query in queries:
            words = analyze(query)
            if not n or not words:
                results.append([])
                continue
            scores = np.asarray(self._bm25.get_scores(words))  # type: ignore[attr-defined]
            top = np.argsort(-scores, kind="stable")[: min(k, n)]
            results.append([(int(self.chunk_ids[i]), float(scores[i])) for i in top if scores[i] > 0])
        return results

    def vocabulary(self) -> list[str]:
        """Every term the index holds (analysed: lower case, lightly stemmed)."""
        return list(getattr(self._bm25, "vocab_dict", {}) or {})

    def postings(self) -> Postings | None:
        """The term counts behind the scores; None for an index saved without them (before citeqa kept them) or
        with files that disagree (an update then analyzes every chunk again)."""
        if self._postings is None and self._folder is not None:
            self._postings = _read_postings(self._folder, len(self.chunk_ids))
        return self._postings

    def save(self, folder: Path) -> None:
        folder.mkdir()
        self._bm25.save(str(folder), allow_pickle=False)  # type: ignore[attr-defined]
        (folder / _IDS_FILE).write_text(json.dumps(self.chunk_ids.tolist()), encoding="utf-8")
        if self._postings is not None:
            np.save(folder / _COUNTS_FILE, self._postings.counts, allow_pickle=False)
            np.save(folder / _LENGTHS_FILE, self._postings.lengths, allow_pickle=False)

    @classmethod
    def load(cls, folder: Path, scores: bool = True, mapped: bool = False) -> LexicalIndex:
        """The BM25 index saved in `folder`; with `scores=False` only its chunk ids (it cannot be searched).
        `mapped`: the score matrix is mapped from its files, not read (a million chunks: 0.1 s instead of 1.5 s)."""
        import bm25s

        try:
            bm25 = bm25s.BM25.load(str(folder), allow_pickle=False, mmap=mapped) if scores else None
            ids = json.loads((folder / _IDS_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError) as exc:
            raise IndexDamagedError(
                f"cannot read the BM25 index in {folder} ({exc})", "rebuild it with citeqa ingest"
            ) from exc
        return cls(bm25, ids, folder=folder)


def _read_postings(folder: Path, chunks: int) -> Postings | None:
    try:
        vocabulary = json.loads((folder / _VOCABULARY_FILE).read_text(encoding="utf-8"))
        postings = Postings(
            vocabulary=vocabulary,
            indptr=np.load(folder / _INDPTR_FILE, allow_pickle=False),
            rows=np.load(folder / _ROWS_FILE, mmap_mode="r", allow_pickle=False),
            counts=np.load(folder / _COUNTS_FILE, mmap_mode="r", allow_pickle=False),
            lengths=np.load(folder / _LENGTHS_FILE, allow_pickle=False),
        )
    except (OSError, ValueError):
        return None
    return postings if isinstance(vocabulary, dict) and postings.consistent(chunks) else None


class LexicalBuilder:
    """Builds bm25s's score matrix one chunk at a time, holding each chunk's distinct terms as integers.

    bm25s's own `index` wants every chunk's terms as lists of strings at once (about 7 KB per chunk: gigabytes at
    a million chunks) and counts them in Python; this keeps 8 bytes per distinct term of a chunk and scores them
    with numpy. The scores are bm25s's (Lucene's BM25: idf = ln(1 + (N - df + 0.5) / (df + 0.5)), term part
    tf / (tf + k1 (1 - b + b len / avg len))), in its format, so bm25s loads and queries them. An update starts
    from the postings of the index it updates (`carry`), so only its new chunks are analyzed.
    """

    def __init__(self) -> None:
        self.vocabulary: dict[str, int] = {}
        self._rows = array("i")  # per distinct (chunk, term): the chunk's row, the term's id, its count
        self._terms = array("i")
        self._counts = array("f")
        self._length_rows = array("i")  # per chunk: its row and how many terms it has
        self._lengths = array("i")
        self._carried: list[np.ndarray] = []  # rows, terms, counts, length rows, lengths taken over by `carry`

    def carry(self, postings: Postings, new_rows: np.ndarray) -> np.ndarray:
        """Take over the postings of the chunks that stay: old row r becomes `new_rows[r]` (-1: the chunk is gone).
        The new rows so filled are returned; the others must be added. Called first, before any `add`."""
        if self.vocabulary or self._carried or len(self._length_rows):
            raise ValueError("carry comes before any chunk is added")
        self.vocabulary = dict(postings.vocabulary)
        new_rows = new_rows.astype(np.int32)
        frequencies = np.diff(postings.indptr)
        moved = new_rows[np.asarray(postings.rows)]
        kept = moved >= 0
        old_rows = np.flatnonzero(new_rows >= 0)
        self._carried = [
            moved[kept],
            np.repeat(np.arange(len(frequencies), dtype=np.int32), frequencies)[kept],
            np.asarray(postings.counts)[kept].astype(np.float32),
            new_rows[old_rows],
            postings.lengths[old_rows].astype(np.int32),
        ]
        return self._carried[3]

    def add(self, row: int, words: Sequence[str]) -> None:
        """The analyzed terms of the chunk in `row`; rows may come in any order, each once."""
        # An empty chunk still needs a row, or BM25's documents would drift from the chunk ids.
        counted = Counter(words or [""])
        ids = [self.vocabulary.setdefault(word, len(self.vocabulary)) for word in counted]
        self._rows.extend([row] * len(ids))
        self._terms.extend(ids)
        self._counts.extend(counted.values())
        self._length_rows.append(row)
        self._lengths.append(len(words) or 1)

    def finish(self, chunk_ids: Sequence[int]) -> LexicalIndex:
        """The index over the chunks added, row i being chunk_ids[i]; every row must have been added once."""
        import bm25s

        n = len(chunk_ids)
        carried, self._carried = self._carried or [np.zeros(0, dtype=np.int32)] * 5, []
        given = _joined(carried[3], self._length_rows, np.int32)
        if len(given) != n or not np.array_equal(np.sort(given), np.arange(n)):
            raise ValueError(f"BM25 was given {len(given)} chunks' terms for {n} chunks")
        self.vocabulary.setdefault("", len(self.vocabulary))  # bm25s's token for "no term" (its create_empty_token)
        lengths = np.zeros(n, dtype=np.int32)
        lengths[given] = _joined(carried[4], self._lengths, np.int32)
        rows = _joined(carried[0], self._rows, np.int32)
        counts = _joined(carried[2], self._counts, np.float32)
        terms, frequencies = self._drop_unused_terms(_joined(carried[1], self._terms, np.int32))
        del carried
        idf = np.log1p((n - frequencies + 0.5) / (frequencies + 0.5)).astype(np.float32)
        norm = (K1 * ((1 - B) + B * lengths / (lengths.mean() if n else 1.0))).astype(np.float32)
        data = idf[terms] * (counts / (norm[rows] + counts))
        # By term, then by chunk (compressed sparse columns). One int64 key sorted stably is 1.1-4.5x faster than a
        # lexsort of the two, the most when an update's carried postings are already in order (timsort's runs).
        key = terms.astype(np.int64)
        del terms
        self._terms = array("i")  # (what `terms` viewed: freed before the sort, which needs the most memory)
        key <<= 32
        key |= rows
        order = np.argsort(key, kind="stable")
        del key
        stored = np.minimum(counts[order], MAX_COUNT).astype(np.uint16)
        del counts
        self._counts = array("f")
        indptr = np.concatenate([[0], np.cumsum(frequencies)]).astype(np.int32)
        bm25 = bm25s.BM25(k1=K1, b=B, method=METHOD)
        bm25.scores = {"data": data[order], "indices": rows[order], "indptr": indptr, "num_docs": n}
        bm25.vocab_dict = self.vocabulary
        bm25.unique_token_ids_set = set(self.vocabulary.values())
        bm25.nonoccurrence_array = None  # only BM25L and BM25+ have one
        postings = Postings(self.vocabulary, indptr, bm25.scores["indices"], stored, lengths)
        return LexicalIndex(bm25, chunk_ids, postings)

    def _drop_unused_terms(self, terms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Terms renumbered without those no chunk holds any more (an update's removed chunks held them), and each
        term's number of chunks. bm25s's empty token stays."""
        frequencies = np.bincount(terms, minlength=len(self.vocabulary))
        used = frequencies > 0
        used[self.vocabulary[""]] = True
        if used.all():
            return terms, frequencies
        renumbered = (np.cumsum(used) - 1).astype(np.int32)
        self.vocabulary = {word: int(renumbered[i]) for word, i in self.vocabulary.items() if used[i]}
        return renumbered[terms], frequencies[used]


def _joined(carried: np.ndarray, added: array, dtype: type) -> np.ndarray:  # type: ignore[type-arg]
    """What `carry` took over followed by what `add` added; no copy when one of them is empty."""
    fresh: np.ndarray = np.frombuffer(added, dtype=dtype) if len(added) else np.zeros(0, dtype=dtype)
    if not len(carried):
        return fresh
    return (
        np.concatenate([carried, fresh]).astype(dtype, copy=False) if len(fresh) else carried.astype(dtype, copy=False)
    )
