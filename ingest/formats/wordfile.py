"""Word .docx (python-docx): paragraphs and tables in body order; a table row is a line, cells split by a tab.

Headers, footers, comments and text boxes are left out. A .docx has no fixed pages (Word lays them out
when it shows the file), so its citations carry no page.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

from . import Extracted, UnreadableFileError

# What a .docx may expand to. Parsing takes about twice the expanded XML in memory, so a 2 MB zip bomb that
# expands to 2 GB would need 4 GB; real documents expand to a few MB (a 300-page report: ~10 MB).
MAX_EXPANDED_BYTES = 200 * 1024 * 1024


def read(data: bytes) -> Extracted:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    if not data.strip():
        raise UnreadableFileError("empty", "empty (no bytes)")
    _check_expansion(data)
    try:
        document = docx.Document(io.BytesIO(data))
        blocks = list(_blocks(document))
        title = (document.core_properties.title or "").strip() or None
    except (zipfile.BadZipFile, PackageNotFoundError) as exc:
        raise UnreadableFileError(
            "corrupt", "not a readable .docx (not a Word zip package; an old .doc or encrypted?)"
        ) from exc
    except (KeyError, ValueError, AttributeError, TypeError) as exc:
        raise UnreadableFileError("corrupt", f"not a readable .docx ({exc})") from exc
    text = "\n\n".join(b for b in blocks if b.strip())
    if not text.strip():
        raise UnreadableFileError("no text", "a Word file with no text")
    return Extracted(text + "\n", title=title)


def _check_expansion(data: bytes) -> None:
    """Refuse a package whose members would expand past MAX_EXPANDED_BYTES, before anything is inflated. The sizes
    are the zip's own; Python's zipfile never inflates a member past its declared size, so they bound memory."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            expanded = sum(info.file_size for info in package.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return  # not a zip at all: python-docx says so, in its own words
    if expanded > MAX_EXPANDED_BYTES:
        raise UnreadableFileError(
            "too large",
            f"a .docx that expands to {expanded / 2**20:,.0f} MB, over the {MAX_EXPANDED_BYTES // 2**20} MB limit "
            "(a zip bomb?); save it in parts",
        )


def _blocks(container: Any) -> Any:
    from docx.table import Table

    for item in container.iter_inner_content():
        if isinstance(item, Table):
            yield "\n".join(_rows(item))
        else:
            yield item.text.strip()


def _rows(table: Any) -> list[str]:
    rows = []
    for row in table.rows:
        cells: list[str] = []
        seen: set[int] = set()
        for cell in row.cells:
            if id(cell._tc) in seen:  # a merged cell is listed once per grid column it spans
                continue
            seen.add(id(cell._tc))
            parts = [" ".join(p.split()) for p in _blocks(cell)]
            cells.append(" ".join(p for p in parts if p))
        if any(cells):
            rows.append("\t".join(cells))
    return rows
