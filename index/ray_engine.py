"""`citeqa ingest --engine ray`: the same index as the local engine, with the reading and the embedding on Ray Data.

Files are read, extracted, split into sentences and chunked by a pure function over batches of files
(`map_batches` tasks); the chunks' texts are embedded by a pool of actors, each loading the model once and
embedding in the run's precision (`citeqa.precision`, resolved on each actor's machine: bf16 where its CPU computes
it); the driver then writes the index through the same `assemble` and `save_index` as the local engine (FAISS built
by the settings' factory, the store written as a new generation, CURRENT swapped last under the write lock). The
result equals a local ingest of the same files: same chunk ids and offsets, the same vectors to float tolerance.

The run builds the index anew from PATHS (like --rebuild): a cluster is for collections too large to re-read on one
machine, where the incremental bookkeeping of the local engine is not what costs. `ray` is the `scale` install extra.
"""

from __future__ import annotations

import logging
import pickle
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from citeqa.errors import CiteqaError
from citeqa.ingest.chunking import Chunk
from citeqa.ingest.documents import (
    MAX_FILE_BYTES,
    Document,
    list_files,
    nothing_readable,
    parse_document,
    read_bytes,
)
from citeqa.ingest.files import Skipped, SourceFile
from citeqa.ingest.formats import UnreadableFileError
from citeqa.ingest.sentences import Span
from citeqa.precision import PRECISIONS

from .build import assemble, chunk_documents, save_index
from .embedder import Embedder
from .manifest import IndexSettings
from .search import SearchIndex
from .stages import StageTimes
from .store import check_writable
from .update import IngestReport

FILES_PER_TASK = 8
CHUNKS_PER_BATCH = 64
RAY_HINT = "install the scale extra: pip install 'citeqa[scale]'"


def read_and_chunk(batch: dict[str, Any], settings: IndexSettings, max_bytes: int) -> dict[str, list[bytes]]:
    """Files in, one record per file out: (document, its sentences, its chunks, notes, None), or (None, [], [],
    notes, the reason it was skipped). Pure: the same files give the same records on any worker. Records travel
    pickled, so that Ray's columnar blocks carry them whole."""
    records: list[bytes] = []
    embedder = Embedder(settings.model)  # for `fits` only: its model is loaded once per worker process
    for path, source in zip(batch["path"], batch["source"], strict=True):
        file = SourceFile(Path(str(path)), str(source))
        notes: list[Skipped] = []
        try:
            document = parse_document(file, read_bytes(file, max_bytes), notes)
        except UnreadableFileError as exc:
            records.append(pickle.dumps((None, [], [], notes, Skipped(str(file.path), exc.reason, exc.kind))))
            continue
        sentences, chunks = chunk_documents([document], settings, embedder)
        records.append(pickle.dumps((document, sentences[document.source], chunks, notes, None)))
    return {"record": records}


class EmbedChunks:
    """A Ray actor: loads the embedding model once, then embeds batch after batch of chunk texts."""

    def __init__(self, model: str, precision: str = "auto") -> None:
        self.embedder = Embedder(model, precision=precision)
        self.embedder.encode_documents(["load the model now, once per actor"])

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        vectors = self.embedder.encode_documents([str(t) for t in batch["text"]])
        return {"row": batch["row"], "vector": vectors, "precision": np.full(len(vectors), self.embedder.precision)}


def ray_ingest(
    paths: Sequence[str | Path],
    directory: Path,
    settings: IndexSettings,
    address: str | None = None,
    actors: int = 1,
    max_bytes: int = MAX_FILE_BYTES,
    origin: str = "",
    follow_outside_links: bool = False,
    precision: str = "auto",
) -> tuple[SearchIndex, IngestReport]:
    """Build the index of `paths` at `directory` on Ray (a local Ray unless `address` names a cluster), its chunks
    embedded in `precision` (fp32, bf16 or auto: `citeqa.precision`, resolved on each actor)."""
    try:
        import ray
    except ImportError as exc:
        raise CiteqaError("--engine ray needs Ray, which is not installed", RAY_HINT) from exc
    if precision not in PRECISIONS:
        raise CiteqaError(f"unknown precision {precision!r}", f"use one of {', '.join(PRECISIONS)}")
    began = time.perf_counter()
    times = StageTimes()
    skipped: list[Skipped] = []
    files = list_files(paths, skipped, follow_outside_links)
    check_writable(directory)
    logging.getLogger("ray").setLevel(logging.WARNING)  # Ray Data's progress lines would bury citeqa's summary
    ray.data.DataContext.get_current().enable_progress_bars = False
    started_here = not ray.is_initialized()
    if started_here:
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise CiteqaError(f"cannot reach the Ray cluster at {address}: {exc}", "check --ray-address") from exc
    try:
        with times.stage("read and chunk"):
            documents, sentences, chunks, notes = _read(ray, files, settings, max_bytes, skipped)
        with times.stage("embed"):
            embeddings, used = _embed(ray, [c.text for c in chunks], settings.model, actors, precision)
    finally:
        if started_here:
            ray.shutdown()
    with times.stage("index"):
        index = assemble(documents, sentences, chunks, embeddings, settings, origin, used)
    with times.stage("write"):
        save_index(index, directory)
    report = IngestReport(
        directory=directory,
        documents=len(index.documents),
        chunks=len(index.chunks),
        added=sorted(index.documents),
        skipped=skipped,
        notes=notes,
        embedded=len(chunks),
        rebuilt="--engine ray builds the index anew",
        written=True,
        seconds=time.perf_counter() - began,
        stages=times.seconds,
        precision="+".join(used),
    )
    return index, report


def _read(
    ray: Any, files: Sequence[SourceFile], settings: IndexSettings, max_bytes: int, skipped: list[Skipped]
) -> tuple[list[Document], dict[str, list[Span]], list[Chunk], list[Skipped]]:
    rows = [{"path": str(f.path), "source": f.source} for f in files]
    parsed = ray.data.from_items(rows).map_batches(
        read_and_chunk,
        batch_size=FILES_PER_TASK,
        batch_format="numpy",
        fn_kwargs={"settings": settings, "max_bytes": max_bytes},
    )
    documents: list[Document] = []
    sentences: dict[str, list[Span]] = {}
    chunks: list[Chunk] = []
    notes: list[Skipped] = []
    for row in parsed.take_all():
        document, spans, pieces, noted, reason = pickle.loads(row["record"])
        notes += noted
        if document is None:
            skipped.append(reason)
            continue
        documents.append(document)
        sentences[document.source] = spans
        chunks += pieces
    if not documents:
        raise nothing_readable(skipped)
    # The local engine's order: documents by source, each one's chunks as the chunker made them.
    documents.sort(key=lambda d: d.source)
    order = {d.source: i for i, d in enumerate(documents)}
    chunks.sort(key=lambda c: (order[c.source], c.start))
    return documents, sentences, chunks, notes


def _embed(ray: Any, texts: list[str], model: str, actors: int, precision: str) -> tuple[np.ndarray, list[str]]:
    """The texts' vectors, row i = text i, and the precisions the actors embedded them in."""
    items = ray.data.from_items([{"row": i, "text": t} for i, t in enumerate(texts)])
    embedded = items.map_batches(
        EmbedChunks,
        batch_size=CHUNKS_PER_BATCH,
        batch_format="numpy",
        concurrency=actors,
        fn_constructor_kwargs={"model": model, "precision": precision},
    )
    out: np.ndarray | None = None
    used: set[str] = set()
    for batch in embedded.iter_batches(batch_size=None, batch_format="numpy"):
        vectors = np.asarray(batch["vector"], dtype=np.float32)
        if out is None:
            out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
        out[np.asarray(batch["row"], dtype=np.int64)] = vectors
        used.update(str(p) for p in batch["precision"])
    if out is None:
        raise CiteqaError("Ray returned no vectors", "see the Ray logs; try --engine local")
    return out, sorted(used)
