"""Build an index from documents: sentences, chunks, embeddings, FAISS, BM25; then save it atomically."""

from __future__ import annotations

import contextlib
import functools
import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from citeqa.errors import CiteqaError
from citeqa.ingest.chunking import Chunk, Chunker
from citeqa.ingest.documents import Document
from citeqa.ingest.formats import READERS_VERSION
from citeqa.ingest.sentences import Span, split_sentences
from citeqa.ingest.tokens import load_encoding

from .config import read_config
from .docstore import STORE_ERRORS, STORE_PREFIX, STORE_SUFFIX, collect_garbage, write_records
from .embedder import Embedder, Vectors
from .errors import IndexMismatchError
from .factory import EXACT, apply_search, plan_vectors
from .integrity import fingerprint_written
from .lexical import ANALYZER, PARAMETERS, LexicalBuilder, LexicalIndex, analyze
from .manifest import IndexSettings, Manifest
from .search import EMBEDDINGS_FILE, LEXICAL_FOLDER, MANIFEST_FILE, VECTORS_FILE, SearchIndex
from .store import GENERATION_PREFIX, current_generation, writing
from .vectors import Lists, build_vectors, ivf_lists, write_vectors
from .views import (
    CHUNKS_FILE,
    MEMBERS_FILE,
    ChunksView,
    ChunkTable,
    DocumentSet,
    read_members,
    write_members,
)


def build_index(
    documents: Sequence[Document], settings: IndexSettings, embedder: Embedder, origin: str = ""
) -> SearchIndex:
    """An in-memory index of `documents`, embedded with `embedder` (which must be the settings' model)."""
    check_model(embedder, settings)
    sentences, chunks = chunk_documents(documents, settings, embedder)
    embeddings = embedder.encode_documents([c.text for c in chunks])
    return assemble(documents, sentences, chunks, embeddings, settings, origin, (embedder.precision,))


def check_model(embedder: Embedder, settings: IndexSettings) -> None:
    """Refuse an embedder of another model than the settings', or asked for a precision this CPU lacks."""
    embedder.check_precision()
    if embedder.model_id != settings.model:
        raise IndexMismatchError(
            f"the embedder is {embedder.model_id!r} but the settings ask for {settings.model!r}",
            "use one model for both",
        )


DocumentProgress = Callable[[str, float], None]  # (a long document's source, the share of it chunked so far)


def chunk_documents(
    documents: Sequence[Document],
    settings: IndexSettings,
    embedder: Embedder,
    progress: DocumentProgress | None = None,
) -> tuple[dict[str, list[Span]], list[Chunk]]:
    """The sentences and chunks of each document (chunks no longer than the model reads)."""
    chunker = Chunker(settings.chunking, load_encoding(settings.chunking.encoding), fits=embedder.fits)
    sentences = {d.source: split_sentences(d.text) for d in documents}
    chunks = []
    for document in documents:
        reported = functools.partial(progress, document.source) if progress is not None else None
        chunks.extend(chunker.chunk(document, sentences[document.source], reported))
    return sentences, chunks


def assemble(
    documents: Sequence[Document],
    sentences: dict[str, list[Span]],
    chunks: Sequence[Chunk],
    embeddings: Vectors,
    settings: IndexSettings,
    origin: str = "",
    precisions: Sequence[str] = ("fp32",),
) -> SearchIndex:
    """The index of these documents from their chunks and the chunks' vectors (row i = chunk i), embedded in
    `precisions`."""
    held = DocumentSet.in_memory(documents, sentences)
    table = ChunkTable.of(chunks, list(held.members))
    texts = [c.text for c in chunks]
    return assemble_table(held, table, embeddings, settings, origin, texts=texts, precisions=precisions)


def assemble_table(
    documents: DocumentSet,
    table: ChunkTable,
    embeddings: Vectors,
    settings: IndexSettings,
    origin: str = "",
    texts: Sequence[str] | None = None,
    previous: SearchIndex | None = None,
    precisions: Sequence[str] = ("fp32",),
) -> SearchIndex:
    """The index of a document set and its chunk table (row i = vector i). `texts`: the chunks' texts when known,
    else they are read from the documents for the chunks BM25 has no terms of. `previous`: the index this one
    updates; its BM25 term counts are kept for the chunks it keeps, and its FAISS training and inverted lists are
    reused when the same factory is built over vectors of the same model. `precisions`: those the vectors were
    embedded in, for the manifest."""
    ids = table.rows["id"]
    if len(np.unique(ids)) != len(ids):
        raise CiteqaError("two chunks hash to the same id", "report this: it should not happen")
    if len(embeddings) != len(table):
        raise CiteqaError("the chunks and their vectors differ in number", "report this: it should not happen")
    embeddings = np.ascontiguousarray(embeddings, dtype=np.float32)
    plan = plan_vectors(settings.factory, len(table))
    trained, lists = None, None
    if previous is not None and _same_space(previous.manifest, settings, int(embeddings.shape[1]), plan.factory):
        trained = previous.vectors
        lists = _kept_lists(previous, table)
    vectors = build_vectors(embeddings, ids.astype(np.int64), plan.factory, trained, lists)
    apply_search(vectors, plan.search)
    lexical, fresh = _lexical(documents, table, texts, previous)
    manifest = Manifest(
        settings=settings,
        dimension=int(embeddings.shape[1]),
        documents={s: m.checksum for s, m in documents.members.items()},
        chunks=len(table),
        files={s: m.file_checksum for s, m in documents.members.items() if m.file_checksum},
        readers=READERS_VERSION,
        origin=origin,
        lexical=dict(PARAMETERS),
        vectors=plan,
        precisions=tuple(sorted(set(precisions))),
    )
    index = SearchIndex(manifest, documents, None, table, vectors, lexical=lexical, embeddings=embeddings)
    index.unsaved_terms = fresh
    return index


def _kept_lists(previous: SearchIndex, table: ChunkTable) -> Lists | None:
    """For each row of `table`, the IVF list its chunk is in in the index it updates; -1 for a new chunk."""
    held = ivf_lists(previous.vectors, previous.table.rows["id"])
    if held is None:
        return None
    rows = table.rows_of(previous.table.rows["id"])
    lists = np.full(len(table), -1, dtype=np.int64)
    lists[rows[rows >= 0]] = held[rows >= 0]
    return lists


def _same_space(previous: Manifest, settings: IndexSettings, dimension: int, factory: str) -> bool:
    """The previous index was trained for the same factory over vectors of the same model (exact search has no
    training to reuse)."""
    same_vectors = previous.settings.model == settings.model and previous.dimension == dimension
    return same_vectors and previous.vector_plan.factory == factory != EXACT


def _lexical(
    documents: DocumentSet, table: ChunkTable, texts: Sequence[str] | None, previous: SearchIndex | None = None
) -> tuple[LexicalIndex, dict[int, str]]:
    """BM25 over the table's chunks, from each chunk's terms: the term counts of the index this one updates for the
    chunks it keeps; else stored ones for chunks the store has analyzed (read a page at a time); the rest analyzed
    now (returned too, by chunk id, to be stored)."""
    ids = table.rows["id"]
    builder = LexicalBuilder()
    done = np.zeros(len(table), dtype=bool)
    postings = previous.lexical.postings() if previous is not None and previous.manifest.lexical == PARAMETERS else None
    if postings is not None:
        assert previous is not None
        done[builder.carry(postings, table.rows_of(previous.lexical.chunk_ids))] = True
    elif documents.reader is not None and texts is None:
        for chunk_id, words in documents.reader.terms(ANALYZER):
            row = table.row_of(chunk_id)
            if row is not None and not done[row]:
                builder.add(row, words)
                done[row] = True
    chunks = ChunksView(table, documents)
    fresh: dict[int, str] = {}
    for row in np.flatnonzero(~done).tolist():
        found = analyze(texts[row] if texts is not None else chunks.at(row).text)
        fresh[int(ids[row])] = " ".join(found)
        builder.add(row, found)
    return builder.finish(ids.tolist()), fresh


def save_index(index: SearchIndex, directory: Path, lock: bool = True) -> None:
    """Write `index` as the new current generation of `directory`; the old one stays until this succeeds.

    Its documents go to the store the current generation uses when `index` was read from it (only those not held
    yet are written), else to a new store. `lock=False` when the caller already holds the index's write lock.
    """
    if index.embeddings is None:
        raise CiteqaError("this index keeps no chunk vectors to save", "build it with build_index")
    with writing(directory, lock=lock) as generation:
        store, previous, previous_chunks = _target_store(index, directory, generation)
        terms = index.unsaved_terms.items()
        write_records(directory / store, _unsaved(index.store, directory / store), terms, ANALYZER)
        write_members(generation / MEMBERS_FILE, store, index.store)
        np.save(generation / CHUNKS_FILE, index.table.rows, allow_pickle=False)
        np.save(generation / EMBEDDINGS_FILE, np.asarray(index.embeddings, dtype=np.float32), allow_pickle=False)
        write_vectors(index.vectors, generation / VECTORS_FILE)
        index.lexical.save(generation / LEXICAL_FOLDER)
        # The manifest goes last: a generation without one was never finished. It fingerprints every file, so
        # that one truncated, grown or edited afterwards (a failed copy, garbage, a hand edit) is refused on load.
        index.manifest = replace(index.manifest, fingerprints=fingerprint_written(generation))
        (generation / MANIFEST_FILE).write_text(index.manifest.to_json(), encoding="utf-8")
    # CURRENT now names the new generation. Rows no generation since the previous one lists are garbage; the
    # previous one's stay for a server that has not loaded the new generation yet.
    with contextlib.suppress(*STORE_ERRORS, OSError):
        digests = [m.digest for m in index.store.members.values()] + previous
        chunk_ids = itertools.chain(index.table.rows["id"].tolist(), previous_chunks)
        collect_garbage(directory / store, digests, chunk_ids)
    index.path = directory
    index.config = read_config(directory)


def _target_store(index: SearchIndex, directory: Path, generation: Path) -> tuple[str, list[str], list[int]]:
    """The store file to write into, and the digests and chunk ids the generation in use lists (kept until the next
    write, for servers that have not loaded the new one yet)."""
    fresh: tuple[str, list[str], list[int]] = (
        STORE_PREFIX + generation.name.removeprefix(GENERATION_PREFIX) + STORE_SUFFIX,
        [],
        [],
    )
    reader = index.store.reader
    if reader is None:  # an index built anew (--rebuild, a damaged one): nothing of the one it replaces is read
        return fresh
    try:
        current = current_generation(directory)
        store, members = read_members(current / MEMBERS_FILE)
        chunks = np.load(current / CHUNKS_FILE, allow_pickle=False)["id"].tolist()
    except Exception:  # damaged in any way (numpy's header parser raises tokenize errors): write a new store
        return fresh
    if store and reader.path.resolve() == (directory / store).resolve():
        return store, [d for _, d in members], chunks
    return fresh


def _unsaved(documents: DocumentSet, store: Path) -> Iterator[tuple[Document, list[Span]]]:
    """The records `store` does not hold yet: all of them, unless the documents were read from it."""
    held = documents.reader is not None and documents.reader.path.resolve() == store.resolve()
    for source, member in documents.members.items():
        if held and member.digest not in documents.pending:
            continue
        yield documents.record(source)
