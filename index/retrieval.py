"""Retrieval: dense (FAISS), lexical (BM25) or both fused by reciprocal rank.

Each passage keeps the cosine similarity of its chunk to the question as its score, whichever list found it,
so that later stages (confidence, display) read one comparable number in every mode.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, get_args

import numpy as np

from .embedder import Vectors
from .search import Passage, SearchIndex

RetrievalMode = Literal["dense", "bm25", "hybrid"]
RETRIEVAL_MODES: tuple[str, ...] = get_args(RetrievalMode)
# Reciprocal-rank fusion: ranks matter, raw scores of two scales do not. Measured on COVID-QA (1380 questions),
# the answers' passages among the 5 returned: dense 0.63, BM25 0.74, fused with k=60 and equal weights 0.76;
# k=10 with the dense list at half weight ranks better before the answerer reranks (0.73 vs 0.70 at 5) but
# ends lower after it (0.75), so the textbook setting stays.
RRF_K = 60


def retrieve(
    index: SearchIndex, questions: Sequence[str], queries: Vectors, k: int, mode: RetrievalMode = "hybrid"
) -> list[list[Passage]]:
    """The k best passages for each question, best first."""
    dense = index.search(queries, k) if mode != "bm25" else [[] for _ in questions]
    lexical = index.lexical.search(questions, k) if mode != "dense" else [[] for _ in questions]
    results = []
    for query, by_vector, by_words in zip(queries, dense, lexical, strict=True):
        fused: dict[int, float] = {}
        for ranked in ([p.chunk.id for p in by_vector], [c for c, _ in by_words]):
            for rank, chunk_id in enumerate(ranked):
                fused[chunk_id] = fused.get(chunk_id, 0.0) + 1 / (RRF_K + rank + 1)
        best = sorted(fused, key=lambda chunk_id: -fused[chunk_id])[:k]
        similarity = {p.chunk.id: p.score for p in by_vector}
        missing = [chunk_id for chunk_id in best if chunk_id not in similarity]
        similarity.update(_similarities(index, query, missing))
        results.append([Passage(index.chunks[chunk_id], similarity[chunk_id]) for chunk_id in best])
    return results


def _similarities(index: SearchIndex, query: Vectors, chunk_ids: Sequence[int]) -> dict[int, float]:
    """Cosine of the query to chunks the dense search did not return (vectors are unit length)."""
    if not chunk_ids:
        return {}
    if index.embeddings is not None:  # the chunks' own vectors, by row (an IVF index cannot give them back)
        rows = index.table.rows_of(np.asarray(chunk_ids, dtype=np.int64))
        if (rows >= 0).all():
            stored = np.asarray(index.embeddings[rows], dtype=np.float32)
            return {chunk_id: float(s) for chunk_id, s in zip(chunk_ids, stored @ query, strict=True)}
    try:
        stored = np.stack([index.vectors.reconstruct(chunk_id) for chunk_id in chunk_ids])
    except RuntimeError:  # a FAISS index that cannot give its vectors back (e.g. IVF without a direct map)
        return dict.fromkeys(chunk_ids, 0.0)
    return {chunk_id: float(s) for chunk_id, s in zip(chunk_ids, stored @ query, strict=True)}
