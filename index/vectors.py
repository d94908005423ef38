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
Lists = npt.NDArray[np.int64]  # an IVF inverted list's number per vector


def build_vectors(vectors: Vectors, ids: Ids, factory: str, trained: Any = None, lists: Lists | None = None) -> Any:
    """A FAISS index holding `vectors` under `ids`; any factory string, wrapped in an id map if it lacks one.

    `trained`: an index of the same factory and dimension whose training (an IVF's coarse centroids) is reused
    instead of training again, as an update of a collection does: it is copied and emptied, then filled.
    `lists`: with `trained`, the inverted list each vector was in there (-1: a new vector), from `ivf_lists`: a
    vector the update keeps goes back into its list without being compared with every centroid again (at a
    million chunks that comparison is most of an update's FAISS time). The index is the same as one filled anew.
    """
    import faiss

    spec = factory if factory.startswith("IDMap") else f"IDMap2,{factory}"
    try:
        index = _emptied_copy(trained) if trained is not None and trained.d == vectors.shape[1] else None
        if index is None:
            index = faiss.index_factory(vectors.shape[1], spec, faiss.METRIC_INNER_PRODUCT)
            lists = None
        if not index.is_trained:
            index.train(vectors)
        inner = _ivf_under_id_map(index)
        if lists is not None and inner is not None:
            _add_preassigned(index, inner, vectors, ids, lists)
        else:
            index.add_with_ids(vectors, ids)
    except RuntimeError as exc:
        raise CiteqaError(
            f"FAISS cannot build {factory!r} over {len(vectors)} vectors: {str(exc).splitlines()[-1]}",
            "use the default IDMap2,Flat, or a factory whose training needs fewer vectors",
        ) from exc
    return index


def _emptied_copy(trained: Any) -> Any:
    """A trained index's empty copy; None when it has no training or cannot be copied (its inverted lists are
    mapped from a file: load it with load_index(searchable=False) to reuse it)."""
    import faiss

    if not trained.is_trained:
        return None
    try:
        index = faiss.clone_index(trained)
    except RuntimeError:
        return None
    index.reset()
    return index


def ivf_lists(index: Any, ids: Ids) -> Lists | None:
    """The inverted list of each of `ids`, in their order, when `index` is an id map over an IVF index (as
    build_vectors makes) holding exactly `ids` in that order; None for any other index."""
    import faiss

    inner = _ivf_under_id_map(index)
    if inner is None or not np.array_equal(faiss.vector_to_array(index.id_map), ids):
        return None
    lists = np.full(len(ids), -1, dtype=np.int64)
    for number in range(inner.nlist):
        size = inner.invlists.list_size(number)
        if size:  # the sub-index numbers its vectors in the order they were added: the id map's positions
            positions = faiss.rev_swig_ptr(inner.invlists.get_ids(number), size)
            if positions.min() < 0 or positions.max() >= len(ids):
                return None
            lists[positions] = number
    return lists if (lists >= 0).all() else None


def _ivf_under_id_map(index: Any) -> Any:
    """The IVF index inside an IDMap2 whose inverted lists are plain arrays; None for any other index."""
    import faiss

    if not isinstance(index, faiss.IndexIDMap2):
        return None
    inner = faiss.downcast_index(index.index)
    if not isinstance(inner, faiss.IndexIVF):
        return None
    plain = inner.invlists is not None and isinstance(
        faiss.downcast_InvertedLists(inner.invlists), faiss.ArrayInvertedLists
    )
    return inner if plain else None


def _add_preassigned(index: Any, inner: Any, vectors: Vectors, ids: Ids, lists: Lists) -> None:
    """Fill an empty id map over an IVF index as add_with_ids does, assigning only the vectors of list -1."""
    import faiss
    from faiss.contrib.ivf_tools import add_preassigned

    lists = np.array(lists, dtype=np.int64)
    new = np.flatnonzero(lists < 0)
    if len(new):
        lists[new] = inner.quantizer.assign(np.ascontiguousarray(vectors[new]), 1).ravel()
    add_preassigned(inner, np.ascontiguousarray(vectors), lists)  # type: ignore[no-untyped-call]  # numbered 0..n-1, as add_with_ids would
    faiss.copy_array_to_vector(np.ascontiguousarray(ids, dtype=np.int64), index.id_map)
    index.ntotal = inner.ntotal
    index.construct_rev_map()


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


def read_vectors(path: Path, mapped: bool = False) -> Any:
    """The FAISS index in `path`; `mapped`: an IVF index's inverted lists are mapped from the file, not read (a
    million chunks: 0.6 s and 56 MB instead of 1.6 s and 1.5 GB; pages are read as searches touch them). A mapped
    index can be searched but not copied, so an update reads the file instead."""
    import faiss

    try:
        return faiss.read_index(str(path), faiss.IO_FLAG_MMAP if mapped else 0)
    except RuntimeError as exc:
        raise IndexDamagedError(f"the FAISS file {path} is unreadable", "rebuild the index with citeqa ingest") from exc
