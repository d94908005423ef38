"""Stage 1: files -> Document (text, metadata) -> sentences -> Chunk (token-sized, char offsets)."""

from .chunking import Chunk, Chunker, ChunkSettings, chunk_id
from .documents import SUPPORTED_SUFFIXES, Document, LoadResult, Skipped, load_documents, text_checksum
from .errors import CiteqaError, IngestError
from .sentences import Span, split_sentences
from .tokens import load_encoding

__all__ = [
    "SUPPORTED_SUFFIXES",
    "Chunk",
    "ChunkSettings",
    "Chunker",
    "CiteqaError",
    "Document",
    "IngestError",
    "LoadResult",
    "Skipped",
    "Span",
    "chunk_id",
    "load_documents",
    "load_encoding",
    "split_sentences",
    "text_checksum",
]
