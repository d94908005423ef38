"""Incremental ingest: bring an index in step with a collection, embedding only what is new or changed.

Each file is read and its bytes hashed. A file whose checksum the index already records (same source, same
readers, same settings) is *unchanged*: nothing of it is read again, chunked or embedded. Other files are
extracted and chunked; a chunk whose exact text the index already holds takes its stored vector, so only
new text is embedded. Documents the paths no longer hold stay in the index unless `prune` is set.

A change of model, chunking or FAISS factory re-chunks every document the index keeps (vectors are still
reused for identical text under the same model). An index built from another origin (the bundled
interviews, another `eval --corpus` collection) is replaced, not merged into.

The whole run holds the index's write lock; the result is written as a new generation and CURRENT swapped
last, so a run killed at any moment leaves the previous index in use, and the next run does the work again.
When nothing changed, nothing is written.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from citeqa.ingest.chunking import Chunk, ChunkSettings
from citeqa.ingest.documents import MAX_FILE_BYTES, Document, list_files, nothing_readable, parse_document, read_bytes
from citeqa.ingest.files import Skipped, SourceFile
from citeqa.ingest.formats import READERS_VERSION, UnreadableFileError

from .build import DocumentProgress, assemble_table, check_model, chunk_documents, save_index
from .docstore import Record, digest_of
from .embedder import Embedder, Vectors
from .errors import IndexDamagedError, IndexMismatchError, IndexNotFoundError
from .legacy import load_legacy_index
from .lexical import PARAMETERS
from .manifest import FORMAT_VERSION, LEGACY_FORMAT, IndexSettings, Manifest
from .search import MANIFEST_FILE, SearchIndex, load_index
from .stages import StageTimes
from .store import check_writable, current_generation, locked, remove_unused_generations
from .views import ChunksView, ChunkTable, DocumentSet, Member, stack_rows

Progress = Callable[[int, int], None]  # (chunks embedded so far, chunks to embed)
Stage = Callable[[str], None]  # what a large run is doing now, for people: told at each step after chunking
LARGE_RUN_FILES = 1_000  # runs over this many files say what they do after embedding (minutes, for 20,000 files)
EMBED_BATCH = 256
COPY_ROWS = 8_192  # stored vectors copied into a new index at a time


@dataclass(frozen=True, slots=True)
class IngestReport:
    directory: Path
    documents: int  # documents in the index after the run
    chunks: int
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # unreadable this time: their earlier version stays
    skipped: list[Skipped] = field(default_factory=list)
    notes: list[Skipped] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)  # indexed, but PATHS no longer hold them (kept: no --prune)
    embedded: int = 0  # chunks embedded in this run
    reused: int = 0  # chunks whose stored vector was reused
    rebuilt: str = ""  # why every document was re-chunked, when it was
    written: bool = False  # whether a new generation was written (False: nothing changed)
    seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)  # seconds per stage (index.stages)
    precision: str = ""  # what this run embedded in (citeqa.precision); "": it embedded nothing


def resolve_settings(
    directory: Path,
    model: str | None = None,
    factory: str | None = None,
    max_tokens: int | None = None,
    overlap_tokens: int | None = None,
) -> IndexSettings:
    """The index's own settings (the defaults for a new index) with the given ones in their place."""
    base = IndexSettings()
    manifest = read_manifest(directory)
    if isinstance(manifest, Manifest):
        base = manifest.settings
    chunking = base.chunking
    if max_tokens is not None or overlap_tokens is not None:
        chunking = ChunkSettings(
            max_tokens=chunking.max_tokens if max_tokens is None else max_tokens,
            overlap_tokens=chunking.overlap_tokens if overlap_tokens is None else overlap_tokens,
            encoding=chunking.encoding,
        )
    return IndexSettings(
        model=model or base.model,
        factory=factory or base.factory,
        chunking=chunking,
    )


def read_manifest(directory: Path) -> Manifest | str | None:
    """The manifest of the current generation; None when there is no index; a reason when it is unusable."""
    try:
        generation = current_generation(directory)
        return Manifest.from_json((generation / MANIFEST_FILE).read_text(encoding="utf-8"))
    except IndexNotFoundError:
        return None
    except (IndexMismatchError, IndexDamagedError) as exc:
        return exc.message
    except (OSError, UnicodeDecodeError) as exc:
        return f"its manifest cannot be read ({exc})"


def ingest(
    paths: Sequence[str | Path],
    directory: Path,
    settings: IndexSettings | None = None,
    embedder: Embedder | None = None,
    origin: str = "",
    prune: bool = False,
    max_bytes: int = MAX_FILE_BYTES,
    progress: Progress | None = None,
    rebuild: bool = False,
    chunking: DocumentProgress | None = None,
    follow_outside_links: bool = False,
    stages: Stage | None = None,
    precision: str = "auto",
) -> tuple[SearchIndex | None, IngestReport]:
    """Bring the index at `directory` in step with `paths`; the index (None when nothing changed) and a report.

    `rebuild` ignores what the index holds: `paths` are read, chunked and embedded as for a new index. `progress`
    hears how many chunks are embedded, `chunking` how far each long document's chunking has got.
    `follow_outside_links` follows symlinks out of the folders given (see `ingest.files`). `stages` hears, in a
    run of more than LARGE_RUN_FILES files, each step after the chunks are embedded. `precision`: the embedder's
    when none is given (fp32, bf16 or auto; `citeqa.precision`).
    """
    began = time.perf_counter()
    times = StageTimes()
    settings = settings or resolve_settings(directory)
    embedder = embedder or Embedder(settings.model, precision=precision)
    check_model(embedder, settings)  # before any file is read
    skipped: list[Skipped] = []
    files = list_files(paths, skipped, follow_outside_links)
    check_writable(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with locked(directory):
        remove_unused_generations(directory)  # what a killed writer left
        with times.stage("read"):
            plan = plan_ingest(directory, files, settings, origin, skipped, max_bytes, prune=prune, rebuild=rebuild)
        if not plan.needs_writing:
            return None, plan.report(began)
        large = len(plan.fresh) + len(plan.unchanged) > LARGE_RUN_FILES
        told = stages if stages is not None and large else None
        index, applied = apply_plan(plan, embedder, progress, chunking, told, times)
        if told is not None:
            told(f"writing {len(index.documents):,} documents and {len(index.chunks):,} chunks to {directory}")
        with times.stage("write"):
            save_index(index, directory, lock=False)
        return index, applied.report(began, index, times)


@dataclass(slots=True)
class IngestPlan:
    """What an ingest will do, decided before anything is embedded or written: from the index's manifest, the
    settings and the files as read now."""

    directory: Path
    settings: IndexSettings
    origin: str
    old: Manifest | None  # what the index holds, when it is kept and updated (None: built anew)
    reasons: list[str]  # why every document is re-chunked or the index replaced, each cause in the order found
    max_bytes: int
    unchanged: dict[str, SourceFile] = field(default_factory=dict)  # files byte for byte what the index holds
    fresh: dict[str, Document] = field(default_factory=dict)  # sources read now, new or changed
    kept: list[str] = field(default_factory=list)  # unreadable now: their indexed version stays
    removed: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)  # not under PATHS any more, kept for want of --prune
    skipped: list[Skipped] = field(default_factory=list)
    notes: list[Skipped] = field(default_factory=list)

    @property
    def same_settings(self) -> bool:
        """The same text is cut the same way: kept documents keep their sentences and chunks."""
        return self.old is not None and self.old.settings == self.settings

    @property
    def readers_match(self) -> bool:
        return self.old is not None and self.old.readers == READERS_VERSION

    @property
    def lexical_outdated(self) -> bool:
        # BM25 is re-scored over all chunks on every write; an index made with another analyzer is analyzed anew.
        return self.old is not None and self.old.lexical != PARAMETERS

    @property
    def added(self) -> list[str]:
        held = self.old.documents if self.old is not None else {}
        return sorted(s for s in self.fresh if s not in held)

    @property
    def changed(self) -> list[str]:
        """Read again and their text differs from the indexed one."""
        held = self.old.documents if self.old is not None else {}
        return sorted(s for s, d in self.fresh.items() if s in held and held[s] != d.checksum)

    @property
    def needs_writing(self) -> bool:
        if self.old is None or not self.same_settings or self.lexical_outdated or not self.readers_match:
            return True  # (new readers: one write records them, so the next run finds the files unchanged)
        if self.old.format_version != FORMAT_VERSION:
            return True  # an older format: upgraded by writing it anew, its vectors reused
        held = self.old.files
        return bool(self.removed) or any(held.get(s) != d.file_checksum for s, d in self.fresh.items())

    def without_old(self, reason: str) -> None:
        """The index cannot give back what it holds after all: build anew, reading the unchanged files too."""
        self.reasons.append(reason)
        self.old = None
        for source, file in self.unchanged.items():
            try:
                self.fresh[source] = parse_document(file, read_bytes(file, self.max_bytes), self.notes)
            except UnreadableFileError as exc:
                self.skipped.append(Skipped(str(file.path), exc.reason, exc.kind))
        self.unchanged = {}

    def report(
        self,
        began: float,
        index: SearchIndex | None = None,
        embedded: int = 0,
        reused: int = 0,
        times: StageTimes | None = None,
        precision: str = "",
    ) -> IngestReport:
        """The run's report: of the new `index`, or with none, of a run that wrote nothing."""
        if index is not None:
            documents, chunks = len(index.documents), len(index.chunks)
        else:
            assert self.old is not None  # nothing to write means the index holds it all already
            documents, chunks = len(self.old.documents), self.old.chunks
        added, changed = self.added, self.changed
        new_text = {*added, *changed}  # a set: the report is linear in the number of files
        fresh_unchanged = [s for s in self.fresh if s not in new_text]
        return IngestReport(
            directory=self.directory,
            documents=documents,
            chunks=chunks,
            added=added,
            changed=changed,
            unchanged=len(self.unchanged) + len(fresh_unchanged),
            removed=self.removed,
            kept=sorted(self.kept),
            skipped=self.skipped,
            notes=self.notes,
            gone=self.gone,
            embedded=embedded,
            reused=reused,
            rebuilt="; ".join(self.reasons),
            written=index is not None,
            seconds=time.perf_counter() - began,
            stages=dict(times.seconds) if times is not None else {},
            precision=precision,
        )


def plan_ingest(
    directory: Path,
    files: Sequence[SourceFile],
    settings: IndexSettings,
    origin: str,
    skipped: list[Skipped],
    max_bytes: int,
    prune: bool = False,
    rebuild: bool = False,
) -> IngestPlan:
    """Decide what an ingest does: which files are unchanged (by checksum), which are read, what is removed, and
    whether the index is updated or built anew, and why. Reads the files; writes nothing."""
    found = read_manifest(directory)
    old = found if isinstance(found, Manifest) else None
    reasons = [f"the index could not be updated ({found}): rebuilding it"] if isinstance(found, str) else []
    if old is not None and old.origin != origin:
        reasons.append("the index held another collection: replacing it")
        old = None
    if old is not None and rebuild:
        reasons.append("rebuilding the index from scratch")
        old = None
    if old is not None and old.lexical != PARAMETERS:
        reasons.append("the index's word analyzer is outdated: rebuilding its BM25 index")
    if old is not None and old.format_version == LEGACY_FORMAT:
        reasons.append(
            f"upgrading the index from format {LEGACY_FORMAT} (JSONL documents) to format {FORMAT_VERSION} "
            "(an SQLite document store): its chunks and vectors are kept"
        )
    if old is not None and old.settings != settings:
        reasons.append(f"the settings changed ({_settings_change(old.settings, settings)}): re-chunking every document")
    plan = IngestPlan(directory, settings, origin, old, reasons, max_bytes, skipped=skipped)
    seen = set()
    for file in files:
        seen.add(file.source)
        try:
            data = read_bytes(file, max_bytes)
            checksum = hashlib.sha256(data).hexdigest()
            if old is not None and old.files.get(file.source) == checksum and plan.readers_match:
                plan.unchanged[file.source] = file
                continue
            plan.fresh[file.source] = parse_document(file, data, plan.notes)
        except UnreadableFileError as exc:
            skipped.append(Skipped(str(file.path), exc.reason, exc.kind))
            if old is not None and file.source in old.documents:
                plan.kept.append(file.source)
    if not plan.unchanged and not plan.fresh:
        raise nothing_readable(skipped)
    if old is not None:
        absent = sorted(s for s in old.documents if s not in seen)
        if prune:
            plan.removed = absent
        else:
            plan.gone = absent
    return plan


@dataclass(frozen=True, slots=True)
class Applied:
    """What carrying out a plan took."""

    plan: IngestPlan
    embedded: int  # chunks embedded in this run
    reused: int  # chunks that took a stored vector
    precision: str  # what they were embedded in; "": none was

    def report(self, began: float, index: SearchIndex, times: StageTimes | None = None) -> IngestReport:
        return self.plan.report(began, index, self.embedded, self.reused, times, self.precision)


def apply_plan(
    plan: IngestPlan,
    embedder: Embedder,
    progress: Progress | None = None,
    chunking: DocumentProgress | None = None,
    stages: Stage | None = None,
    times: StageTimes | None = None,
) -> tuple[SearchIndex, Applied]:
    """The new index the plan describes (not yet saved): kept documents with their sentences, chunks and vectors,
    read ones chunked, and only text never embedded before embedded. Kept documents stay rows of the store: their
    text is read only when BM25 has neither their chunks' term counts nor their stored terms. `times` hears how
    long each stage took."""
    times = times or StageTimes()
    with times.stage("read"):
        old = _load_old(plan)
    try:
        return _apply(plan, old, embedder, progress, chunking, stages, times)
    except IndexDamagedError as exc:
        if old is None:
            raise
        plan.without_old(f"the index could not be read ({exc.message}): rebuilding it")
        return _apply(plan, None, embedder, progress, chunking, stages, times)


def _apply(
    plan: IngestPlan,
    old: SearchIndex | None,
    embedder: Embedder,
    progress: Progress | None,
    chunking: DocumentProgress | None = None,
    stages: Stage | None = None,
    times: StageTimes | None = None,
) -> tuple[SearchIndex, Applied]:
    times = times or StageTimes()
    same_settings = plan.same_settings
    members: dict[str, Member] = {}
    pending: dict[str, Record] = {}
    kept_rows: dict[str, np.ndarray] = {}  # source -> its rows in the old table: chunks and vectors kept as they are
    to_chunk: list[Document] = []
    old_rows = old.table.rows_by_source() if old is not None else {}
    if old is not None:
        for source, member in old.store.members.items():
            if source in plan.removed or source in plan.fresh:
                continue
            members[source] = member
            if member.digest in old.store.pending:  # an old index read whole (format 3): its records in memory
                pending[member.digest] = old.store.pending[member.digest]
            if same_settings:  # the same text cut the same way: its sentences and chunks stand
                kept_rows[source] = old_rows[source]
            else:
                to_chunk.append(old.documents[source])
    for source, document in plan.fresh.items():
        prior = old.store.members.get(source) if old is not None else None
        if old is not None and same_settings and prior is not None and prior.checksum == document.checksum:
            spans = old.sentences[source]  # read again, the same text: new metadata, the same sentences and chunks
            kept_rows[source] = old_rows[source]
            members[source] = Member(digest_of(document, spans), document.checksum, document.file_checksum)
            pending[members[source].digest] = (document, spans)
        else:
            to_chunk.append(document)
    chunks_of: dict[str, list[Chunk]] = {}
    if to_chunk:
        ordered = sorted(to_chunk, key=lambda d: d.source)
        loaded = embedder.load_seconds
        with times.stage("chunk"):
            new_sentences, new_chunks = chunk_documents(ordered, plan.settings, embedder, chunking)
        times.move("chunk", "load model", embedder.load_seconds - loaded)  # chunking loads the model's tokenizer
        for chunk in new_chunks:
            chunks_of.setdefault(chunk.source, []).append(chunk)
        for document in to_chunk:
            spans = new_sentences[document.source]
            members[document.source] = Member(digest_of(document, spans), document.checksum, document.file_checksum)
            pending[members[document.source].digest] = (document, spans)
    sources = sorted(members)
    held = DocumentSet({s: members[s] for s in sources}, old.store.reader if old is not None else None, pending)
    fresh_table = ChunkTable.of([c for s in sources for c in chunks_of.get(s, [])], sources)
    fresh_rows = fresh_table.rows_by_source()
    parts = []
    for source in sources:
        if source in kept_rows:
            assert old is not None
            parts.append((source, old.table.rows[kept_rows[source]]))
        else:
            parts.append((source, fresh_table.rows[fresh_rows[source]]))
    table = ChunkTable(stack_rows(parts, sources), sources)
    with times.stage("embed"):
        embeddings, embedded = _embeddings(table, kept_rows, held, old, plan.settings, embedder, progress)
    if stages is not None:
        stages(f"building the vector (FAISS) and word (BM25) indexes of {len(table):,} chunks")
    reused = len(table) - embedded
    precisions = _precisions(old.manifest if old is not None and reused else None, embedder, embedded)
    with times.stage("index"):
        index = assemble_table(held, table, embeddings, plan.settings, plan.origin, previous=old, precisions=precisions)
    return index, Applied(plan, embedded, reused, embedder.precision if embedded else "")


def _precisions(reused_from: Manifest | None, embedder: Embedder, embedded: int) -> list[str]:
    """The precisions of an index's vectors: those of the index its reused vectors came from, and this run's."""
    found = list(reused_from.precisions) if reused_from is not None else []
    if embedded or not found:
        found.append(embedder.precision)
    return found


def _load_old(plan: IngestPlan) -> SearchIndex | None:
    if plan.old is None:
        return None
    try:
        if plan.old.format_version == LEGACY_FORMAT:
            return load_legacy_index(plan.directory)
        return load_index(plan.directory, searchable=False)  # the parts an update reuses
    except (IndexMismatchError, IndexDamagedError) as exc:
        plan.without_old(f"the index could not be read ({exc.message}): rebuilding it")
        return None


def _embeddings(
    table: ChunkTable,
    kept_rows: dict[str, np.ndarray],
    documents: DocumentSet,
    old: SearchIndex | None,
    settings: IndexSettings,
    embedder: Embedder,
    progress: Progress | None,
) -> tuple[Vectors, int]:
    """The chunks' vectors: kept chunks' own, stored ones for text embedded before (same model, found by the text's
    hash, no text read) and the rest embedded now; and how many were embedded."""
    reuse = old is not None and old.embeddings is not None and old.manifest.settings.model == settings.model
    source_rows: list[int] = []  # (row in the new table, row in the old one) of every vector reused
    target_rows: list[int] = []
    if reuse:
        by_source = table.rows_by_source()
        for source, rows in kept_rows.items():  # a kept document's rows were copied in their order
            target_rows += by_source[source].tolist()
            source_rows += rows.tolist()
    filled = np.zeros(len(table), dtype=bool)
    filled[target_rows] = True
    unfilled = np.flatnonzero(~filled)
    missing = unfilled.tolist()
    stored = old.table.rows["text_hash"] if reuse and old is not None else np.zeros(0, dtype=np.int64)
    if len(unfilled) and len(stored):  # the same text under the same model: its stored vector (any row holding it)
        by_hash = np.argsort(stored, kind="stable")
        hashes = stored[by_hash]
        wanted = table.rows["text_hash"][unfilled]
        at = np.minimum(np.searchsorted(hashes, wanted), len(hashes) - 1)
        found = hashes[at] == wanted
        target_rows += unfilled[found].tolist()
        source_rows += by_hash[at[found]].tolist()
        missing = unfilled[~found].tolist()
    dimension = old.manifest.dimension if old is not None and target_rows else None
    if dimension is None:
        dimension = embedder.dimension
    out = np.zeros((len(table), dimension), dtype=np.float32)
    _encode_into(out, missing, ChunksView(table, documents), embedder, progress)
    if target_rows:
        assert old is not None and old.embeddings is not None
        order = np.argsort(source_rows, kind="stable")  # read the stored vectors in file order
        targets, sources = np.asarray(target_rows)[order], np.asarray(source_rows)[order]
        for start in range(0, len(order), COPY_ROWS):  # a slice at a time: no second copy of every vector
            part = slice(start, start + COPY_ROWS)
            out[targets[part]] = np.asarray(old.embeddings)[sources[part]]
    return out, len(missing)


def _encode_into(
    out: Vectors, rows: list[int], chunks: ChunksView, embedder: Embedder, progress: Progress | None
) -> None:
    """Embed the chunks of `rows` into those rows of `out`, a batch at a time (texts read per batch)."""
    if progress is not None and rows:
        progress(0, len(rows))
    for start in range(0, len(rows), EMBED_BATCH):
        batch = rows[start : start + EMBED_BATCH]
        out[batch] = embedder.encode_documents([chunks.at(row).text for row in batch])
        if progress is not None:
            progress(start + len(batch), len(rows))


def _settings_change(old: IndexSettings, new: IndexSettings) -> str:
    changes = []
    for name, before, after in (
        ("model", old.model, new.model),
        ("factory", old.factory, new.factory),
        ("chunk tokens", old.chunking.max_tokens, new.chunking.max_tokens),
        ("overlap tokens", old.chunking.overlap_tokens, new.chunking.overlap_tokens),
        ("encoding", old.chunking.encoding, new.chunking.encoding),
    ):
        if before != after:
            changes.append(f"{name} {before} -> {after}")
    return ", ".join(changes)


def remove_documents(directory: Path, sources: Sequence[str]) -> SearchIndex:
    """Drop `sources` from the index at `directory` (nothing is embedded) and write the result atomically."""
    from citeqa.errors import CiteqaError

    with locked(directory):
        index = load_index(directory, searchable=False)  # what the update reuses
        unknown = [s for s in sources if s not in index.documents]
        if unknown:
            raise CiteqaError(
                f"the index holds no document {unknown[0]!r}", "see the sources it holds with: citeqa docs list"
            )
        if len(set(sources)) >= len(index.documents):
            raise CiteqaError(
                "that would leave the index empty", "delete the index folder instead, or ingest other documents first"
            )
        gone = set(sources)
        kept = [s for s in index.store.members if s not in gone]
        by_source = index.table.rows_by_source()
        rows = np.concatenate([by_source[s] for s in kept])
        table = ChunkTable(stack_rows([(s, index.table.rows[by_source[s]]) for s in kept], kept), kept)
        assert index.embeddings is not None  # a loaded index always has them
        embeddings = np.asarray(index.embeddings)[rows]
        documents = DocumentSet({s: index.store.members[s] for s in kept}, index.store.reader)
        old = index.manifest
        updated = assemble_table(
            documents, table, embeddings, old.settings, old.origin, previous=index, precisions=old.precisions
        )
        save_index(updated, directory, lock=False)
        return updated
