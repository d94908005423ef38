"""PDF: the text layer of each page (pypdf, pure Python), pages joined by a blank line, each page's start kept.

A PDF that needs a password, has no text layer (a scan: OCR it first) or cannot be parsed is refused with a
message saying which. Owner-password-only PDFs (printable, not editable) open with the empty user password.

Memory and time stay bounded whatever the file: pypdf caps every decompressed stream (75 MB by default), and pages
are extracted one at a time against the file's text budget. A page is charged for its drawing instructions before
any is parsed (its content streams and the forms it draws, `CONTENT_BYTES_PER_CHAR` bytes for a character), so a
page that inflates to megabytes of operators, with text or without, or thousands of pages sharing one such stream,
is refused at the first page that passes the budget; and its text is counted while it is extracted, so a page whose
text passes what is left stops there, not after all of it is held.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
from collections.abc import Iterator

from . import Extracted, UnreadableFileError, text_budget, too_much_text

PAGE_BREAK = "\n\n"
# What a page's operators cost against the text budget: a byte of them as much as a character of text (parsing them
# is most of what extracting costs: pypdf parses under 1 MB a second here). Honest pages hold a couple of bytes of
# operators per character they show, and compress several times: a budget of 20 characters a file byte covers both.
CONTENT_BYTES_PER_CHAR = 1
# Operators that show text, or draw a form that may: a page whose streams hold none is not parsed at all (pypdf does
# the same unless asked to watch the extraction, as `_page_text` does).
_MAY_SHOW_TEXT = re.compile(rb"T[jJ]|['\"]|Do")
_NEEDS_PASSWORD = "an encrypted PDF that needs a password; save a copy without one"


def read(data: bytes) -> Extracted:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, PdfReadError

    if not data.strip():
        raise UnreadableFileError("empty", "empty (no bytes)")
    with _quiet():
        try:
            reader = PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted and not _opens_without_password(reader):
                raise UnreadableFileError(
                    "encrypted", "an encrypted PDF that needs a password; save a copy without one"
                )
            texts = _page_texts(reader, text_budget(len(data)), len(data))
            title = _title(reader)
        except UnreadableFileError:
            raise
        except FileNotDecryptedError as exc:
            raise UnreadableFileError(
                "encrypted", "an encrypted PDF that needs a password; save a copy without one"
            ) from exc
        except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError) as exc:
            raise UnreadableFileError("corrupt", f"not a readable PDF ({_first_line(exc)})") from exc
    if not any(t.strip() for t in texts):
        raise UnreadableFileError("no text", "a PDF with no text layer (scanned pages?); run OCR on it first")
    pages: list[int] = []
    text = ""
    for number, page_text in enumerate(texts):
        if number:
            text += PAGE_BREAK
        pages.append(len(text))
        text += page_text
    return Extracted(text + "\n", tuple(pages), title=title)


class _OverBudgetError(Exception):
    """Raised from inside pypdf's extraction when a page's text passes what is left of the budget."""


def _page_texts(reader: object, budget: int, file_bytes: int) -> list[str]:
    texts: list[str] = []
    spent = 0
    for number, page in enumerate(reader.pages, start=1):  # type: ignore[attr-defined]
        operators, shows_text = drawing(page)
        spent += operators // CONTENT_BYTES_PER_CHAR  # before a single operator is parsed
        if spent > budget:
            raise _too_much_drawing(number, budget)
        try:
            texts.append(_page_text(page, budget - spent) if shows_text else "")
        except _OverBudgetError:
            raise too_much_text(budget + 1, file_bytes) from None
        spent += len(texts[-1]) + len(PAGE_BREAK)
        if spent > budget:
            raise too_much_text(spent, file_bytes)
    return texts


def _page_text(page: object, allowance: int) -> str:
    shown = 0

    def count(text: str, *_: object) -> None:
        nonlocal shown
        shown += len(text)
        if shown > allowance:
            raise _OverBudgetError

    text: str = page.extract_text(visitor_text=count)  # type: ignore[attr-defined]
    return text.replace("\x00", "").strip("\n")


def drawing(page: object) -> tuple[int, bool]:
    """The bytes of drawing instructions extracting `page`'s text parses (its content streams, and those of the
    forms it may draw, each once, nested ones too: decompressed, each at most pypdf's cap; images are not read),
    and whether any of them may show text."""
    from pypdf.generic import ArrayObject, DictionaryObject, StreamObject

    total = 0
    shows_text = False

    def add(stream: StreamObject) -> None:
        nonlocal total, shows_text
        data = stream.get_data()
        total += len(data)
        shows_text = shows_text or _MAY_SHOW_TEXT.search(data) is not None

    contents = page.get("/Contents")  # type: ignore[attr-defined]
    contents = contents.get_object() if contents is not None else None
    streams = list(contents) if isinstance(contents, ArrayObject) else [contents]
    for stream in streams:
        stream = stream.get_object() if stream is not None else None
        if isinstance(stream, StreamObject):
            add(stream)
    seen: set[int] = set()
    pending = [page.get("/Resources")]  # type: ignore[attr-defined]
    while pending:
        resources = pending.pop()
        resources = resources.get_object() if resources is not None else None
        if not isinstance(resources, DictionaryObject):
            continue
        drawn = resources.get("/XObject")
        drawn = drawn.get_object() if drawn is not None else None
        if not isinstance(drawn, DictionaryObject):
            continue
        for reference in drawn.values():
            form = reference.get_object()
            if id(form) in seen or not isinstance(form, StreamObject) or form.get("/Subtype") != "/Form":
                continue
            seen.add(id(form))
            add(form)
            pending.append(form.get("/Resources"))
    return total, shows_text


def _too_much_drawing(page: int, budget: int) -> UnreadableFileError:
    return UnreadableFileError(
        "too much text",
        f"page {page} takes its drawing instructions and text over the limit of {budget:,} characters for a file "
        "of this size (an expansion bomb?); split the file",
    )


def _opens_without_password(reader: object) -> bool:
    try:
        return bool(reader.decrypt(""))  # type: ignore[attr-defined]
    except Exception:
        return False


def _title(reader: object) -> str | None:
    try:
        meta = reader.metadata  # type: ignore[attr-defined]
        title = meta.title if meta is not None else None
    except Exception:
        return None
    return str(title).strip() or None if title else None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:160] if text else type(exc).__name__


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """pypdf logs every oddity it repairs; a summary line per refused file says enough."""
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.ERROR + 10)
    try:
        yield
    finally:
        logger.setLevel(level)
