"""The manifest: how an index was built, so that loading it can refuse what does not match."""

from __future__ import annotations

import datetime as dt
import json
import platform
from dataclasses import asdict, dataclass, field
from importlib import metadata
from typing import Any

from citeqa.errors import CiteqaError
from citeqa.ingest.chunking import ChunkSettings

from .embedder import PACKAGED_MODEL
from .errors import IndexDamagedError, IndexMismatchError
from .factory import AUTO, VectorIndexPlan, plan_vectors

FORMAT_VERSION = 4  # 2: a BM25 index beside the vectors; 3: raw embeddings, file checksums and pages kept;
# 4: documents in an SQLite store beside the generations, chunks in a binary table (index.docstore, index.views)
LEGACY_FORMAT = 3  # JSONL documents and chunks: read only by an ingest, to upgrade it (index.legacy)
DEFAULT_FACTORY = AUTO  # exact search for small collections, an IVF index for large ones (index/factory.py)


@dataclass(frozen=True, slots=True)
class IndexSettings:
    """Everything that decides what an index holds; validated on creation."""

    model: str = PACKAGED_MODEL
    factory: str = DEFAULT_FACTORY  # a FAISS index_factory string, over inner product on unit vectors
    chunking: ChunkSettings = field(default_factory=ChunkSettings)

    def __post_init__(self) -> None:
        if not self.model.strip():
            raise CiteqaError("the embedding model name is empty", f"use {PACKAGED_MODEL}")
        if not self.factory.strip():
            raise CiteqaError("the FAISS factory string is empty", f"use {DEFAULT_FACTORY}")


@dataclass(frozen=True, slots=True)
class Manifest:
    settings: IndexSettings
    dimension: int
    documents: dict[str, str]  # source -> sha256 of its text
    chunks: int
    files: dict[str, str] = field(default_factory=dict)  # source -> sha256 of the file's bytes it was read from
    readers: str = ""  # ingest.formats.READERS_VERSION: which extraction made the documents' text
    origin: str = ""  # "bundled" for the default index built from the shipped interviews
    lexical: dict[str, Any] = field(default_factory=dict)  # how the BM25 index was built (analyzer, k1, b)
    format_version: int = FORMAT_VERSION
    created_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    versions: dict[str, str] = field(default_factory=lambda: library_versions())
    vectors: VectorIndexPlan | None = None  # what was built for settings.factory (None: as the settings say)
    fingerprints: dict[str, dict[str, Any]] = field(default_factory=dict)  # each file's bytes and sha256
    # The precisions its chunk vectors were embedded in (`citeqa.precision`; vectors reused from an earlier index keep
    # theirs). Indexes written before this was recorded were all embedded in fp32.
    precisions: tuple[str, ...] = ("fp32",)

    @property
    def vector_plan(self) -> VectorIndexPlan:
        return self.vectors or plan_vectors(self.settings.factory, self.chunks)

    def to_json(self) -> str:
        data = {
            "format_version": self.format_version,
            "model": {"id": self.settings.model, "dimension": self.dimension, "precisions": list(self.precisions)},
            "chunking": asdict(self.settings.chunking),
            "faiss": {
                "factory": self.settings.factory,
                "built": self.vector_plan.factory,
                "search": self.vector_plan.search,
                "metric": "inner_product",
            },
            "lexical": self.lexical,
            "counts": {"documents": len(self.documents), "chunks": self.chunks},
            "documents": self.documents,
            "files": self.files,
            "readers": self.readers,
            "origin": self.origin,
            "created_at": self.created_at,
            "versions": self.versions,
            "fingerprints": self.fingerprints,
        }
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        try:
            data: dict[str, Any] = json.loads(text)
            version = data["format_version"]
        except (ValueError, KeyError, TypeError) as exc:
            raise IndexDamagedError("the index manifest is unreadable", "rebuild it with citeqa ingest") from exc
        if version not in (FORMAT_VERSION, LEGACY_FORMAT):
            raise IndexMismatchError(
                f"the index has format version {version}; this citeqa reads version {FORMAT_VERSION}",
                "rebuild it with citeqa ingest",
            )
        try:
            settings = IndexSettings(
                model=data["model"]["id"],
                factory=data["faiss"]["factory"],
                chunking=ChunkSettings(**data["chunking"]),
            )
            return cls(
                settings=settings,
                dimension=int(data["model"]["dimension"]),
                documents=dict(data["documents"]),
                chunks=int(data["counts"]["chunks"]),
                files=dict(data["files"]),
                readers=str(data["readers"]),
                origin=str(data.get("origin", "")),
                lexical=dict(data["lexical"]),
                format_version=version,
                created_at=str(data["created_at"]),
                versions=dict(data["versions"]),
                vectors=VectorIndexPlan(str(data["faiss"]["built"]), str(data["faiss"]["search"]))
                if "built" in data["faiss"]
                else None,
                fingerprints=dict(data.get("fingerprints", {})),
                precisions=tuple(str(p) for p in data["model"].get("precisions", ["fp32"])),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise IndexDamagedError(
                f"the index manifest is missing or has a bad field ({exc})", "rebuild it with citeqa ingest"
            ) from exc


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in ("citeqa", "faiss-cpu", "bm25s", "sentence-transformers", "torch", "tiktoken", "numpy"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions
