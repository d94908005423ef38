"""Real files of each format, made by the tests themselves: PDFs written by hand, .docx by python-docx."""

from __future__ import annotations

import io
import zlib
from collections.abc import Sequence
from pathlib import Path


def pdf_bytes(pages: Sequence[Sequence[str]], title: str | None = None, compress: bool = False) -> bytes:
    """A valid PDF whose page i shows the lines pages[i] in Helvetica (Latin-1 text), with a text layer;
    `compress`: its content streams deflated (FlateDecode), as most PDFs have them."""
    objects: dict[int, bytes] = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    }
    kids = []
    number = 4
    for lines in pages:
        shown = b" ".join(b"(" + _escape(line) + b") '" for line in lines)
        stream = b"BT /F1 11 Tf 72 740 Td 14 TL " + shown + b" ET"
        flate = b""
        if compress:
            stream, flate = zlib.compress(stream, 9), b" /Filter /FlateDecode"
        objects[number] = b"<< /Length %d%s >>\nstream\n" % (len(stream), flate) + stream + b"\nendstream"
        objects[number + 1] = (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % number
        )
        kids.append(number + 1)
        number += 2
    kid_refs = b" ".join(b"%d 0 R" % k for k in kids)
    objects[2] = b"<< /Type /Pages /Kids [" + kid_refs + b"] /Count %d >>" % len(kids)
    info = b""
    if title is not None:
        objects[number] = b"<< /Title (" + _escape(title) + b") >>"
        info = b" /Info %d 0 R" % number
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = {}
    for key in sorted(objects):
        offsets[key] = out.tell()
        out.write(b"%d 0 obj\n" % key + objects[key] + b"\nendobj\n")
    xref = out.tell()
    size = max(objects) + 1
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % size)
    for key in range(1, size):
        out.write(b"%010d 00000 n \n" % offsets[key])
    out.write(b"trailer\n<< /Size %d /Root 1 0 R" % size + info + b" >>\nstartxref\n%d\n%%%%EOF\n" % xref)
    return out.getvalue()


def _escape(text: str) -> bytes:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").encode("cp1252")


def encrypted_pdf_bytes(password: str = "secret") -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes([["A secret page."]]))))
    writer.encrypt(user_password=password, owner_password=password + "!", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def blank_pdf_bytes(pages: int = 2) -> bytes:
    """A PDF with pages but no text layer, as a scan without OCR looks to a text extractor."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(612, 792)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def write_docx(path: Path, paragraphs: Sequence[str], table: Sequence[Sequence[str]] = (), title: str = "") -> Path:
    """A .docx with a heading, the paragraphs, then a table (first row = header), written by python-docx."""
    import docx

    document = docx.Document()
    if title:
        document.core_properties.title = title
        document.add_heading(title, level=1)
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    document.add_paragraph("After the table, the report ends.")
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path
