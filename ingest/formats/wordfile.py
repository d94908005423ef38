"""Word .docx (python-docx): paragraphs and tables in body order; a table row is a line, cells split by a tab.

Headers, footers, comments and text boxes are left out. A .docx has no fixed pages (Word lays them out
when it shows the file), so its citations carry no page.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

from . import Extracted, UnreadableFileError


def read(data: bytes) -> Extracted:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    if not data.strip():
        raise UnreadableFileError("empty", "empty (no bytes)")
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
