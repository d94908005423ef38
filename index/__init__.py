"""Stage 2: Chunk -> embeddings (sentence-transformers) -> FAISS + chunk store, saved as one index directory."""

from .build import build_index, save_index
from .config import IndexConfig, read_config, update_config
from .default import open_index, open_or_build
from .embedder import PACKAGED_MODEL, Embedder
from .errors import IndexBusyError, IndexDamagedError, IndexMismatchError, IndexNotFoundError
from .manifest import DEFAULT_FACTORY, FORMAT_VERSION, IndexSettings, Manifest
from .reload import IndexWatcher
from .search import Passage, SearchIndex, load_index
from .update import IngestReport, ingest

__all__ = [
    "DEFAULT_FACTORY",
    "FORMAT_VERSION",
    "PACKAGED_MODEL",
    "Embedder",
    "IndexBusyError",
    "IndexConfig",
    "IndexDamagedError",
    "IndexMismatchError",
    "IndexNotFoundError",
    "IndexSettings",
    "IndexWatcher",
    "IngestReport",
    "Manifest",
    "Passage",
    "SearchIndex",
    "build_index",
    "ingest",
    "load_index",
    "open_index",
    "open_or_build",
    "read_config",
    "save_index",
    "update_config",
]
