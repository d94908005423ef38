"""Stage 1: files -> Document (text, metadata) -> sentences -> Chunk (token-sized, char offsets)."""

from citeqa.errors import CiteqaError

from .chunking import Chunk, Chunker, ChunkSettings, chunk_id
from .documents import (
    MAX_FILE_BYTES,
    SUPPORTED_SUFFIXES,
    Document,
    LoadResult,
    list_files,
    load_documents,
    parse_document,
    read_bytes,
    text_checksum,
)
from .errors import IngestError
from .files import Skipped, SourceFile
from .formats import READERS_VERSION, UnreadableFileError
from .sentences import Span, split_sentences
from .tokens import load_encoding

__all__ = [
    "MAX_FILE_BYTES",
    "READERS_VERSION",
    "SUPPORTED_SUFFIXES",
    "Chunk",
    "ChunkSettings",
    "Chunker",
    "CiteqaError",
    "Document",
    "IngestError",
    "LoadResult",
    "Skipped",
    "SourceFile",
    "Span",
    "UnreadableFileError",
    "chunk_id",
    "list_files",
    "load_documents",
    "load_encoding",
    "parse_document",
    "read_bytes",
    "split_sentences",
    "text_checksum",
]
