"""BM25 over the chunks (bm25s), beside the dense vectors: exact words, names and numbers that an embedding blurs.

Chunks and queries go through one analyzer — citeqa's own word tokenizer, function words dropped, light
stemming — so "signed" finds "signing" and "2024" finds only 2024. The scores live in a folder of the index
generation (bm25s's own format, saved without pickle); document i of BM25 is chunk i of `chunk_ids`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from citeqa.ingest.words import content_terms

from .errors import IndexDamagedError

ANALYZER = "citeqa-words-3"  # the analyzer's name is recorded in the manifest: a change means a rebuild
PARAMETERS = {"analyzer": ANALYZER, "method": "lucene", "k1": 1.2, "b": 0.75}
_IDS_FILE = "chunk_ids.json"


def analyze(text: str) -> list[str]:
    return content_terms(text)  # terms(tokenize(text)), faster


class LexicalIndex:
    def __init__(self, bm25: object, chunk_ids: Sequence[int]) -> None:
        self._bm25 = bm25
        self.chunk_ids = np.asarray(chunk_ids, dtype=np.int64)

    @classmethod
    def build(cls, texts: Sequence[str], chunk_ids: Sequence[int]) -> LexicalIndex:
        import bm25s

        bm25 = bm25s.BM25(k1=PARAMETERS["k1"], b=PARAMETERS["b"], method=PARAMETERS["method"])
        # An empty chunk still needs a row, or BM25's documents would drift from the chunk ids.
        bm25.index([analyze(t) or [""] for t in texts], show_progress=False)
        return cls(bm25, chunk_ids)

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
    def load(cls, folder: Path) -> LexicalIndex:
        import bm25s

        try:
            bm25 = bm25s.BM25.load(str(folder), allow_pickle=False)
            ids = json.loads((folder / _IDS_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError) as exc:
            raise IndexDamagedError(
                f"cannot read the BM25 index in {folder} ({exc})", "rebuild it with citeqa ingest"
            ) from exc
        return cls(bm25, ids)
