"""FAISS over unit vectors with inner product: build, search, save and load."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from citeqa.errors import CiteqaError

from .embedder import Vectors
from .errors import IndexDamagedError

Ids = npt.NDArray[np.int64]


def build_vectors(vectors: Vectors, ids: Ids, factory: str, trained: Any = None) -> Any:
    """A FAISS index holding `vectors` under `ids`; any factory string, wrapped in an id map if it lacks one.

    `trained`: an index of the same factory and dimension whose training (an IVF's coarse centroids) is reused
    instead of training again, as an update of a collection does: it is copied and emptied, then filled.
    """
    import faiss

    spec = factory if factory.startswith("IDMap") else f"IDMap2,{factory}"
    try:
        if trained is not None and trained.d == vectors.shape[1] and trained.is_trained:
            index = faiss.clone_index(trained)
            index.reset()
        else:
            index = faiss.index_factory(vectors.shape[1], spec, faiss.METRIC_INNER_PRODUCT)
        if not index.is_trained:
            index.train(vectors)
        index.add_with_ids(vectors, ids)
    except RuntimeError as exc:
        raise CiteqaError(
            f"FAISS cannot build {factory!r} over {len(vectors)} vectors: {str(exc).splitlines()[-1]}",
            "use the default IDMap2,Flat, or a factory whose training needs fewer vectors",
        ) from exc
    return index


def search_vectors(index: Any, queries: Vectors, k: int) -> tuple[npt.NDArray[np.float32], Ids]:
    """Scores and ids of the k nearest vectors for each query; missing neighbours have id -1."""
    k = max(1, min(k, int(index.ntotal) or 1))
    scores, ids = index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
    return scores, ids


def write_vectors(index: Any, path: Path) -> None:
    import faiss

    try:
        faiss.write_index(index, str(path))
    except RuntimeError as exc:  # FAISS reports a failed write (a full disk) as a RuntimeError
        raise OSError(errno.EIO, f"FAISS could not write the index ({str(exc).splitlines()[-1]})", str(path)) from exc


def read_vectors(path: Path) -> Any:
    import faiss

    try:
        return faiss.read_index(str(path))
    except RuntimeError as exc:
        raise IndexDamagedError(f"the FAISS file {path} is unreadable", "rebuild the index with citeqa ingest") from exc
