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
from citeqa.ingest.sentences import Span

from .build import assemble, check_model, chunk_documents, save_index
from .embedder import Embedder, Vectors
from .errors import IndexDamagedError, IndexMismatchError, IndexNotFoundError
from .lexical import PARAMETERS
from .manifest import IndexSettings, Manifest
from .search import MANIFEST_FILE, SearchIndex, load_index
from .store import check_writable, current_generation, locked, remove_unused_generations

Progress = Callable[[int, int], None]  # (chunks embedded so far, chunks to embed)
EMBED_BATCH = 256


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
    embedded: int = 0  # chunks embedded in this run
    reused: int = 0  # chunks whose stored vector was reused
    rebuilt: str = ""  # why every document was re-chunked, when it was
    written: bool = False  # whether a new generation was written (False: nothing changed)
    seconds: float = 0.0


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
) -> tuple[SearchIndex | None, IngestReport]:
    """Bring the index at `directory` in step with `paths`; the index (None when nothing changed) and a report.

    `rebuild` ignores what the index holds: `paths` are read, chunked and embedded as for a new index.
    """
    began = time.perf_counter()
    settings = settings or resolve_settings(directory)
    embedder = embedder or Embedder(settings.model)
    check_model(embedder, settings)
    skipped: list[Skipped] = []
    files = list_files(paths, skipped)
    check_writable(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with locked(directory):
        remove_unused_generations(directory)  # what a killed writer left
        plan = plan_ingest(directory, files, settings, origin, skipped, max_bytes, prune=prune, rebuild=rebuild)
        if not plan.needs_writing:
            return None, plan.report(began)
        index, applied = apply_plan(plan, embedder, progress)
        save_index(index, directory, lock=False)
        return index, applied.report(began, index)


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
        # BM25 is rebuilt over all chunks on every write; an index made with another analyzer needs one.
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
        self, began: float, index: SearchIndex | None = None, embedded: int = 0, reused: int = 0
    ) -> IngestReport:
        """The run's report: of the new `index`, or with none, of a run that wrote nothing."""
        if index is not None:
            documents, chunks = len(index.documents), len(index.chunks)
        else:
            assert self.old is not None  # nothing to write means the index holds it all already
            documents, chunks = len(self.old.documents), self.old.chunks
        added, changed = self.added, self.changed
        fresh_unchanged = [s for s in self.fresh if s not in added and s not in changed]
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
            embedded=embedded,
            reused=reused,
            rebuilt="; ".join(self.reasons),
            written=index is not None,
            seconds=time.perf_counter() - began,
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
    if prune and old is not None:
        plan.removed = sorted(s for s in old.documents if s not in seen)
    return plan


@dataclass(frozen=True, slots=True)
class Applied:
    """What carrying out a plan took."""

    plan: IngestPlan
    embedded: int  # chunks embedded in this run
    reused: int  # chunks that took a stored vector

    def report(self, began: float, index: SearchIndex) -> IngestReport:
        return self.plan.report(began, index, self.embedded, self.reused)


def apply_plan(plan: IngestPlan, embedder: Embedder, progress: Progress | None = None) -> tuple[SearchIndex, Applied]:
    """The new index the plan describes (not yet saved): kept documents with their sentences, chunks and vectors,
    read ones chunked, and only text never embedded before embedded."""
    old = _load_old(plan)
    same_settings = plan.same_settings
    documents: dict[str, Document] = {}
    sentences: dict[str, list[Span]] = {}
    chunks_of: dict[str, list[Chunk]] = {}
    if old is not None:
        for source, doc in old.documents.items():
            fresh = plan.fresh.get(source)
            if source in plan.removed or (fresh is not None and fresh.checksum != doc.checksum):
                continue
            documents[source] = doc
            if same_settings:  # the same text cut the same way: its sentences and chunks stand
                sentences[source] = old.sentences[source]
    documents.update(plan.fresh)
    to_chunk = [d for s, d in sorted(documents.items()) if s not in sentences]
    if old is not None and same_settings:
        for chunk in old.chunks.values():
            if chunk.source in sentences:
                chunks_of.setdefault(chunk.source, []).append(chunk)
    if to_chunk:
        new_sentences, new_chunks = chunk_documents(to_chunk, plan.settings, embedder)
        sentences.update(new_sentences)
        for chunk in new_chunks:
            chunks_of.setdefault(chunk.source, []).append(chunk)
    ordered = [documents[s] for s in sorted(documents)]
    chunks = [c for d in ordered for c in chunks_of.get(d.source, [])]
    embeddings, embedded = _embeddings(chunks, old, plan.settings, embedder, progress)
    index = assemble(ordered, sentences, chunks, embeddings, plan.settings, plan.origin)
    return index, Applied(plan, embedded, len(chunks) - embedded)


def _load_old(plan: IngestPlan) -> SearchIndex | None:
    if plan.old is None:
        return None
    try:
        return load_index(plan.directory)
    except (IndexMismatchError, IndexDamagedError) as exc:
        plan.without_old(f"the index could not be read ({exc.message}): rebuilding it")
        return None


def _embeddings(
    chunks: Sequence[Chunk],
    old: SearchIndex | None,
    settings: IndexSettings,
    embedder: Embedder,
    progress: Progress | None,
) -> tuple[Vectors, int]:
    """The chunks' vectors, stored ones for text embedded before (same model) and the rest embedded now; and how
    many were embedded."""
    stored: dict[str, int] = {}
    if old is not None and old.embeddings is not None and old.manifest.settings.model == settings.model:
        stored = {c.text: row for row, c in enumerate(old.chunks.values())}
    missing = [i for i, c in enumerate(chunks) if c.text not in stored]
    dimension = old.manifest.dimension if old is not None and stored else None
    fresh = _encode(embedder, [chunks[i].text for i in missing], progress)
    if dimension is None:
        dimension = fresh.shape[1] if len(fresh) else embedder.dimension
    out = np.zeros((len(chunks), dimension), dtype=np.float32)
    if missing:
        out[missing] = fresh
    if old is not None and old.embeddings is not None and stored:
        rows = [(i, stored[c.text]) for i, c in enumerate(chunks) if c.text in stored]
        if rows:
            mine, theirs = zip(*rows, strict=True)
            out[list(mine)] = np.asarray(old.embeddings)[list(theirs)]
    return out, len(missing)


def _encode(embedder: Embedder, texts: list[str], progress: Progress | None) -> Vectors:
    parts: list[Vectors] = []
    if progress is not None and texts:
        progress(0, len(texts))
    for start in range(0, len(texts), EMBED_BATCH):
        parts.append(embedder.encode_documents(texts[start : start + EMBED_BATCH]))
        if progress is not None:
            progress(min(start + EMBED_BATCH, len(texts)), len(texts))
    return np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)


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
        index = load_index(directory)
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
        documents = [d for s, d in index.documents.items() if s not in gone]
        rows = [i for i, c in enumerate(index.chunks.values()) if c.source not in gone]
        chunks = [c for c in index.chunks.values() if c.source not in gone]
        assert index.embeddings is not None  # a loaded index always has them
        embeddings = np.asarray(index.embeddings)[rows]
        sentences = {d.source: index.sentences[d.source] for d in documents}
        updated = assemble(documents, sentences, chunks, embeddings, index.manifest.settings, index.manifest.origin)
        save_index(updated, directory, lock=False)
        return updated
