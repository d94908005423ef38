"""BM25 over the chunks (bm25s), beside the dense vectors: exact words, names and numbers that an embedding blurs.

Chunks and queries go through one analyzer — citeqa's own word tokenizer, function words dropped, light
stemming — so "signed" finds "signing" and "2024" finds only 2024. The scores live in a folder of the index
generation (bm25s's own format, saved without pickle); document i of BM25 is chunk i of `chunk_ids`.
"""

from __future__ import annotations

import json
from array import array
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from citeqa.ingest.words import content_terms

from .errors import IndexDamagedError

ANALYZER = "citeqa-words-3"  # the analyzer's name is recorded in the manifest: a change means a rebuild
K1, B, METHOD = 1.2, 0.75, "lucene"  # Lucene's BM25 with its usual constants
PARAMETERS = {"analyzer": ANALYZER, "method": METHOD, "k1": K1, "b": B}
_IDS_FILE = "chunk_ids.json"


def analyze(text: str) -> list[str]:
    return content_terms(text)  # terms(tokenize(text)), faster


class LexicalIndex:
    def __init__(self, bm25: object, chunk_ids: Sequence[int]) -> None:
        self._bm25 = bm25
        self.chunk_ids = np.asarray(chunk_ids, dtype=np.int64)

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

    def save(self, folder: Path) -> None:
        folder.mkdir()
        self._bm25.save(str(folder), allow_pickle=False)  # type: ignore[attr-defined]
        (folder / _IDS_FILE).write_text(json.dumps(self.chunk_ids.tolist()), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, scores: bool = True) -> LexicalIndex:
        """The BM25 index saved in `folder`; with `scores=False` only its chunk ids (it cannot be searched)."""
        import bm25s

        try:
            bm25 = bm25s.BM25.load(str(folder), allow_pickle=False) if scores else None
            ids = json.loads((folder / _IDS_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError) as exc:
            raise IndexDamagedError(
                f"cannot read the BM25 index in {folder} ({exc})", "rebuild it with citeqa ingest"
            ) from exc
        return cls(bm25, ids)


class LexicalBuilder:
    """Builds bm25s's score matrix one chunk at a time, holding each chunk's distinct terms as integers.

    bm25s's own `index` wants every chunk's terms as lists of strings at once (about 7 KB per chunk: gigabytes at
    a million chunks) and counts them in Python; this keeps 8 bytes per distinct term of a chunk and scores them
    with numpy. The scores are bm25s's (Lucene's BM25: idf = ln(1 + (N - df + 0.5) / (df + 0.5)), term part
    tf / (tf + k1 (1 - b + b len / avg len))), in its format, so bm25s loads and queries them.
    """

    def __init__(self) -> None:
        self.vocabulary: dict[str, int] = {}
        self._rows = array("i")  # per distinct (chunk, term): the chunk's row, the term's id, its count
        self._terms = array("i")
        self._counts = array("f")
        self._length_rows = array("i")  # per chunk: its row and how many terms it has
        self._lengths = array("i")

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
        given = np.frombuffer(self._length_rows, dtype=np.int32)
        if len(given) != n or not np.array_equal(np.sort(given), np.arange(n)):
            raise ValueError(f"BM25 was given {len(given)} chunks' terms for {n} chunks")
        self.vocabulary.setdefault("", len(self.vocabulary))  # bm25s's token for "no term" (its create_empty_token)
        rows = np.frombuffer(self._rows, dtype=np.int32)
        terms = np.frombuffer(self._terms, dtype=np.int32)
        counts = np.frombuffer(self._counts, dtype=np.float32)
        lengths = np.zeros(n, dtype=np.float64)
        lengths[given] = np.frombuffer(self._lengths, dtype=np.int32)
        frequencies = np.bincount(terms, minlength=len(self.vocabulary))
        idf = np.log1p((n - frequencies + 0.5) / (frequencies + 0.5)).astype(np.float32)
        norm = (K1 * ((1 - B) + B * lengths / (lengths.mean() if n else 1.0))).astype(np.float32)
        data = idf[terms] * (counts / (norm[rows] + counts))
        order = np.lexsort((rows, terms))  # by term, then by chunk: compressed sparse columns
        indptr = np.concatenate([[0], np.cumsum(frequencies)]).astype(np.int32)
        bm25 = bm25s.BM25(k1=K1, b=B, method=METHOD)
        bm25.scores = {"data": data[order], "indices": rows[order].copy(), "indptr": indptr, "num_docs": n}
        bm25.vocab_dict = self.vocabulary
        bm25.unique_token_ids_set = set(self.vocabulary.values())
        bm25.nonoccurrence_array = None  # only BM25L and BM25+ have one
        return LexicalIndex(bm25, chunk_ids)
