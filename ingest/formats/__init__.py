"""One small reader per file format: bytes in, the document's text (with page starts where it has pages) out.

What each format's `document_text` is:

- `.txt`: the file decoded (UTF-8, else a detected encoding), unchanged: no newline or space normalisation.
- `.md`: the Markdown rendered to plain text (headings, emphasis, links, code marks, tables' pipes dropped;
  see `mdtext`), so no Markdown syntax is ever quoted; offsets index that text.
- `.html`/`.htm`: the page's main text (no scripts, styles, navigation, headers, footers), a line per block.
- `.pdf`: the text layer of each page, pages separated by a blank line; `pages` holds where each page starts.
- `.docx`: the paragraphs and tables' rows (cells separated by a tab) in body order, a blank line between.

A reader raises `UnreadableFileError` with a short kind and a message for people when the file cannot give text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# Bump when a reader's output changes: indexes built with an older one re-extract their files (vectors of
# unchanged text are still reused).
READERS_VERSION = "4"  # 4: the linear Markdown and HTML readers (equal backtick runs; unclosed tag starts are text)


@dataclass(frozen=True, slots=True)
class Extracted:
    text: str
    pages: tuple[int, ...] = ()  # start offset of each page in `text`; empty when the format has no pages
    title: str | None = None  # a title the file itself states (HTML <title>, document properties)
    note: str = ""  # something a person should know about how the text was read (e.g. its encoding)


class UnreadableFileError(Exception):
    """The file holds no text citeqa can read; `kind` groups such files in the ingest summary."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


Reader = Callable[[bytes], Extracted]

# What a reader may extract: text is never much longer than the file that holds it, except when the file is
# compressed (a .docx, a PDF's streams) and then rarely 20 times; and never more than the chunker should meet.
TEXT_PER_BYTE = 20
MAX_TEXT_CHARS = 200_000_000


def text_budget(file_bytes: int) -> int:
    """The most characters of text a file of this size may give."""
    return min(TEXT_PER_BYTE * file_bytes, MAX_TEXT_CHARS)


def too_much_text(chars: int, file_bytes: int) -> UnreadableFileError:
    """The refusal of an expansion bomb: text no honest file of this size holds."""
    return UnreadableFileError(
        "too much text",
        f"extracts to {chars:,} characters from {file_bytes:,} bytes, over the limit of "
        f"{text_budget(file_bytes):,}; split the file",
    )


def reader_for(suffix: str) -> Reader | None:
    """The reader of files ending in `suffix` (lower-case, with its dot); None when citeqa cannot read them."""
    from . import mdtext, pdfpages, plain, webpage, wordfile

    readers: dict[str, Reader] = {
        ".txt": plain.read,
        ".md": mdtext.read,
        ".markdown": mdtext.read,
        ".html": webpage.read,
        ".htm": webpage.read,
        ".pdf": pdfpages.read,
        ".docx": wordfile.read,
    }
    return readers.get(suffix)


SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx")
