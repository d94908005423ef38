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

from ingest.chunking import Chunk, ChunkSettings
from ingest.documents import MAX_FILE_BYTES, Document, list_files, nothing_readable, parse_document, read_bytes
from ingest.files import Skipped, SourceFile
from ingest.formats import READERS_VERSION, UnreadableFileError
from ingest.sentences import Span

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
        run = _Run(directory, settings, embedder, origin, skipped, rebuild)
        run.read(files, max_bytes)
        if prune:
            run.prune()
        if not run.needs_writing():
            return None, run.report(began, written=False)
        index = run.build(progress)
        save_index(index, directory, lock=False)
        return index, run.report(began, written=True, index=index)


class _Run:
    """The state of one ingest: what the index held, what the paths hold, what changes."""

    def __init__(
        self,
        directory: Path,
        settings: IndexSettings,
        embedder: Embedder,
        origin: str,
        skipped: list[Skipped],
        rebuild: bool = False,
    ) -> None:
        self.directory = directory
        self.settings = settings
        self.embedder = embedder
        self.origin = origin
        self.skipped = skipped
        self.notes: list[Skipped] = []
        found = read_manifest(directory)
        self.old = found if isinstance(found, Manifest) else None
        self.rebuilt = f"the index could not be updated ({found}): rebuilding it" if isinstance(found, str) else ""
        if self.old is not None and self.old.origin != origin:
            self.rebuilt = "the index held another collection: replacing it"
            self.old = None
        if self.old is not None and rebuild:
            self.rebuilt = "rebuilding the index from scratch"
            self.old = None
        # BM25 is rebuilt over all chunks on every write; an index made with another analyzer needs one.
        self.outdated = self.old is not None and self.old.lexical != PARAMETERS
        if self.outdated:
            self.rebuilt = "the index's word analyzer is outdated: rebuilding its BM25 index"
        if self.old is not None and self.old.settings != settings:
            self.rebuilt = "the settings changed (" + _settings_change(self.old.settings, settings) + "): "
            self.rebuilt += "re-chunking every document"
        self.same_settings = self.old is not None and self.old.settings == settings
        self.unchanged: dict[str, SourceFile] = {}  # files byte for byte what the index holds
        self.max_bytes = 0
        self.fresh: dict[str, Document] = {}  # sources read now, new or changed
        self.kept: list[str] = []
        self.removed: list[str] = []
        self.seen: set[str] = set()
        self.embedded = 0  # chunks embedded in this run
        self.reused = 0  # chunks that took a stored vector

    # -- reading the collection

    def read(self, files: Sequence[SourceFile], max_bytes: int) -> None:
        self.max_bytes = max_bytes
        old_files = self.old.files if self.old is not None else {}
        for file in files:
            self.seen.add(file.source)
            try:
                data = read_bytes(file, max_bytes)
                checksum = hashlib.sha256(data).hexdigest()
                if self.old is not None and old_files.get(file.source) == checksum and self._readers_match():
                    self.unchanged[file.source] = file
                    continue
                self.fresh[file.source] = parse_document(file, data, self.notes)
            except UnreadableFileError as exc:
                self.skipped.append(Skipped(str(file.path), exc.reason, exc.kind))
                if self.old is not None and file.source in self.old.documents:
                    self.kept.append(file.source)
        if not self.unchanged and not self.fresh:
            raise nothing_readable(self.skipped)

    def _read_unchanged_again(self) -> None:
        """The index cannot give back the unchanged documents after all: read their files like new ones."""
        for source, file in self.unchanged.items():
            try:
                self.fresh[source] = parse_document(file, read_bytes(file, self.max_bytes), self.notes)
            except UnreadableFileError as exc:
                self.skipped.append(Skipped(str(file.path), exc.reason, exc.kind))
        self.unchanged = {}

    def _readers_match(self) -> bool:
        return self.old is not None and self.old.readers == READERS_VERSION

    def prune(self) -> None:
        if self.old is not None:
            self.removed = sorted(s for s in self.old.documents if s not in self.seen)

    @property
    def added(self) -> list[str]:
        held = self.old.documents if self.old is not None else {}
        return sorted(s for s in self.fresh if s not in held)

    @property
    def changed(self) -> list[str]:
        """Read again and their text differs from the indexed one."""
        held = self.old.documents if self.old is not None else {}
        return sorted(s for s, d in self.fresh.items() if s in held and held[s] != d.checksum)

    def needs_writing(self) -> bool:
        if self.old is None or not self.same_settings or self.outdated or not self._readers_match():
            return True  # (new readers: one write records them, so the next run finds the files unchanged)
        held = self.old.files
        return bool(self.removed) or any(held.get(s) != d.file_checksum for s, d in self.fresh.items())

    # -- building the new index

    def build(self, progress: Progress | None) -> SearchIndex:
        old = self._load_old()
        documents: dict[str, Document] = {}
        sentences: dict[str, list[Span]] = {}
        chunks_of: dict[str, list[Chunk]] = {}
        if old is not None:
            for source, doc in old.documents.items():
                fresh = self.fresh.get(source)
                if source in self.removed or (fresh is not None and fresh.checksum != doc.checksum):
                    continue
                documents[source] = doc
                if self.same_settings:  # the same text cut the same way: its sentences and chunks stand
                    sentences[source] = old.sentences[source]
        documents.update(self.fresh)
        to_chunk = [d for s, d in sorted(documents.items()) if s not in sentences]
        if old is not None and self.same_settings:
            for chunk in old.chunks.values():
                if chunk.source in sentences:
                    chunks_of.setdefault(chunk.source, []).append(chunk)
        if to_chunk:
            new_sentences, new_chunks = chunk_documents(to_chunk, self.settings, self.embedder)
            sentences.update(new_sentences)
            for chunk in new_chunks:
                chunks_of.setdefault(chunk.source, []).append(chunk)
        ordered = [documents[s] for s in sorted(documents)]
        chunks = [c for d in ordered for c in chunks_of.get(d.source, [])]
        embeddings = self._embeddings(chunks, old, progress)
        return assemble(ordered, sentences, chunks, embeddings, self.settings, self.origin)

    def _load_old(self) -> SearchIndex | None:
        if self.old is None:
            return None
        try:
            return load_index(self.directory)
        except (IndexMismatchError, IndexDamagedError) as exc:
            self.rebuilt = f"the index could not be read ({exc.message}): rebuilding it"
            self.old = None
            self.same_settings = False
            self._read_unchanged_again()
            return None

    def _embeddings(self, chunks: Sequence[Chunk], old: SearchIndex | None, progress: Progress | None) -> Vectors:
        """The chunks' vectors: stored ones for text embedded before (same model), the rest embedded now."""
        stored: dict[str, int] = {}
        if old is not None and old.embeddings is not None and old.manifest.settings.model == self.settings.model:
            stored = {c.text: row for row, c in enumerate(old.chunks.values())}
        missing = [i for i, c in enumerate(chunks) if c.text not in stored]
        self.embedded, self.reused = len(missing), len(chunks) - len(missing)
        dimension = old.manifest.dimension if old is not None and stored else None
        fresh = self._encode([chunks[i].text for i in missing], progress)
        if dimension is None:
            dimension = fresh.shape[1] if len(fresh) else self.embedder.dimension
        out = np.zeros((len(chunks), dimension), dtype=np.float32)
        if missing:
            out[missing] = fresh
        if old is not None and old.embeddings is not None and stored:
            rows = [(i, stored[c.text]) for i, c in enumerate(chunks) if c.text in stored]
            if rows:
                mine, theirs = zip(*rows, strict=True)
                out[list(mine)] = np.asarray(old.embeddings)[list(theirs)]
        return out

    def _encode(self, texts: list[str], progress: Progress | None) -> Vectors:
        parts: list[Vectors] = []
        if progress is not None and texts:
            progress(0, len(texts))
        for start in range(0, len(texts), EMBED_BATCH):
            parts.append(self.embedder.encode_documents(texts[start : start + EMBED_BATCH]))
            if progress is not None:
                progress(min(start + EMBED_BATCH, len(texts)), len(texts))
        return np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)

    # -- the report

    def report(self, began: float, written: bool, index: SearchIndex | None = None) -> IngestReport:
        if index is not None:
            documents, chunks = len(index.documents), len(index.chunks)
        else:
            assert self.old is not None
            documents, chunks = len(self.old.documents), self.old.chunks
        fresh_unchanged = [s for s in self.fresh if s not in self.added and s not in self.changed]
        return IngestReport(
            directory=self.directory,
            documents=documents,
            chunks=chunks,
            added=self.added,
            changed=self.changed,
            unchanged=len(self.unchanged) + len(fresh_unchanged),
            removed=self.removed,
            kept=sorted(self.kept),
            skipped=self.skipped,
            notes=self.notes,
            embedded=self.embedded,
            reused=self.reused,
            rebuilt=self.rebuilt,
            written=written,
            seconds=time.perf_counter() - began,
        )


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
    from ingest.errors import CiteqaError

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
