"""PDF: the text layer of each page (pypdf, pure Python), pages joined by a blank line, each page's start kept.

A PDF that needs a password, has no text layer (a scan: OCR it first) or cannot be parsed is refused with a
message saying which. Owner-password-only PDFs (printable, not editable) open with the empty user password.

Memory stays bounded whatever the file: pypdf caps every decompressed stream (75 MB by default), and pages are
extracted one at a time against the text budget, so a bomb of many small pages that each expand is refused as
soon as its text passes the budget, not after all of it is held.
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Iterator

from . import Extracted, UnreadableFileError, text_budget, too_much_text

PAGE_BREAK = "\n\n"
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


def _page_texts(reader: object, budget: int, file_bytes: int) -> list[str]:
    texts: list[str] = []
    total = 0
    for page in reader.pages:  # type: ignore[attr-defined]
        texts.append(_page_text(page))
        total += len(texts[-1]) + len(PAGE_BREAK)
        if total > budget:
            raise too_much_text(total, file_bytes)
    return texts


def _page_text(page: object) -> str:
    text: str = page.extract_text()  # type: ignore[attr-defined]
    return text.replace("\x00", "").strip("\n")


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
