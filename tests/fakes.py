"""Deterministic stand-ins for fast logic tests; the real model is tested beside them (tests marked `slow`)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from citeqa.index.embedder import Embedder, Vectors
from citeqa.ingest.words import stem, tokenize


class HashingEmbedder(Embedder):
    """Bag-of-stems vectors: each stem's hash picks a dimension and a sign. Texts sharing words point the same way,
    so retrieval is meaningful, and nothing is loaded. Reads any text whole (no word-piece limit)."""

    MODEL_ID = "citeqa-tests/hashing-64"

    def __init__(self, dimension: int = 64, precision: str = "fp32") -> None:
        super().__init__(self.MODEL_ID, precision=precision)  # its vectors are the same in any precision
        self._dimension = dimension

    @property
    def dimension(self) -> int:
        return self._dimension

    def fits(self, text: str) -> bool:
        return True

    def _encode(self, texts: Sequence[str]) -> Vectors:
        vectors = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in tokenize(text):
                digest = hashlib.blake2b(stem(token.text).encode("utf-8"), digest_size=8).digest()
                value = int.from_bytes(digest, "little")
                vectors[row, value % self._dimension] += 1.0 if value >> 63 else -1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return (vectors / np.where(norms == 0, 1.0, norms)).astype(np.float32)
