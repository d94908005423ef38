"""Files that cannot be read are skipped, each with its own message; the rest of the folder is still ingested."""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import CliRun
from filemakers import blank_pdf_bytes, encrypted_pdf_bytes, pdf_bytes

from citeqa.ingest import LoadResult, load_documents
from citeqa.ingest.formats import UnreadableFileError
from citeqa.ingest.formats.pdfpages import read as read_pdf


@pytest.fixture
def messy(tmp_path: Path) -> Path:
    folder = tmp_path / "messy"
    (folder / "sub").mkdir(parents=True)
    (folder / "good.txt").write_text("The depot opened in 1998. It employs 45 drivers.\n")
    (folder / "report.pdf").write_bytes(pdf_bytes([["The bridge was repaired in 2019."]]))
    (folder / "corrupt.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R >>\ngarbage")
    (folder / "locked.pdf").write_bytes(encrypted_pdf_bytes())
    (folder / "scan.pdf").write_bytes(blank_pdf_bytes())
    (folder / "empty.txt").write_bytes(b"")
    (folder / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01")
    (folder / "broken.docx").write_bytes(b"PK\x03\x04 not really a zip")
    (folder / "latin.txt").write_bytes("Le musée a ouvert en 1987 près de la gare, à côté du café.".encode("cp1252"))
    (folder / "huge.txt").write_text("Too big to read. " * 80_000)  # 1.3 MB
    (folder / "table.xlsx").write_bytes(b"PK\x03\x04")
    os.symlink("..", folder / "sub" / "parent")  # leads back up: a loop
    os.symlink("nowhere.txt", folder / "dangling.txt")
    return folder


EXPECTED = {
    "corrupt.pdf": "not a readable PDF",
    "locked.pdf": "an encrypted PDF that needs a password",
    "scan.pdf": "a PDF with no text layer",
    "empty.txt": "empty",
    "photo.txt": "binary content, not text",
    "broken.docx": "not a readable .docx",
    "huge.txt": "too large: 1.3 MB, over the 1 MB limit (raise it with --max-file-mb)",
    "table.xlsx": "unsupported file type .xlsx",
    "parent": "a symlink loop",
    "dangling.txt": "a broken symlink",
}


@pytest.mark.slow
def test_every_bad_file_gets_its_own_message_and_the_rest_is_ingested(messy: Path, tmp_path: Path, cli: CliRun) -> None:
    code, out, err = cli("ingest", str(messy), "--index", str(tmp_path / "idx"), "--max-file-mb", "1")
    assert code == 0, err
    warnings = [line for line in err.splitlines() if "warning: skipped" in line]
    assert len(warnings) == len(EXPECTED)
    for name, message in EXPECTED.items():
        assert any(f"{name}: {message}" in line for line in warnings), name
    assert "note: " in err and "latin.txt: not UTF-8: decoded as cp1252" in err
    assert "Indexed 3 documents" in out and "3 new" in out
    assert "skipped 10 files (" in out
    for count_kind in ("2 corrupt", "1 encrypted", "1 no text", "1 empty", "1 binary", "1 broken link"):
        assert count_kind in out
    for count_kind in ("1 too large", "1 unsupported", "1 symlink loop"):
        assert count_kind in out


def test_the_size_limit_is_a_setting(messy: Path) -> None:
    assert "huge.txt" in {Path(s.path).name for s in load_documents([messy], max_bytes=1024 * 1024).skipped}
    assert "huge.txt" in {d.source for d in load_documents([messy]).documents}  # 50 MB by default


def test_a_pdf_locked_only_against_editing_opens_without_a_password() -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes([["Printable but not editable."]]))))
    writer.encrypt(user_password="", owner_password="owner", algorithm="RC4-128")
    data = io.BytesIO()
    writer.write(data)
    assert read_pdf(data.getvalue()).text == "Printable but not editable.\n"


def test_utf16_with_a_bom_is_decoded() -> None:
    from citeqa.ingest.formats.plain import decode

    assert decode("Grüße aus Köln.".encode("utf-16")) == ("Grüße aus Köln.", "decoded as UTF-16")


@pytest.mark.parametrize(
    "data", [b"", b"%PDF-1.4\n%%EOF", b"not a pdf at all", pdf_bytes([["x"]])[:200], b"%PDF-1.4\n" + b"\xff" * 500]
)
def test_broken_pdfs_are_refused_with_a_reason_never_a_crash(data: bytes) -> None:
    with pytest.raises(UnreadableFileError) as refused:
        read_pdf(data)
    assert refused.value.kind in ("empty", "corrupt", "no text") and refused.value.reason


def test_a_folder_of_only_bad_files_is_an_error_naming_them(tmp_path: Path, cli: CliRun) -> None:
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "scan.pdf").write_bytes(blank_pdf_bytes())
    code, _, err = cli("ingest", str(tmp_path / "bad"), "--index", str(tmp_path / "idx"))
    assert code == 1 and "no readable" in err and "scan.pdf: a PDF with no text layer" in err
    assert not (tmp_path / "idx" / "CURRENT").exists()


def test_a_reader_that_trips_skips_the_file_and_the_run_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import citeqa.ingest.formats.webpage as webpage

    def trip(data: bytes) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(webpage, "read", trip)
    (tmp_path / "deep.html").write_text("<div>" * 10)
    (tmp_path / "fine.txt").write_text("Fine text.")
    result = load_documents([tmp_path])
    assert [d.source for d in result.documents] == ["fine.txt"]
    (skipped,) = result.skipped
    assert skipped.kind == "unreadable" and "could not be read (RecursionError: maximum recursion" in skipped.reason


def _finishes(work: Callable[[], object], seconds: float = 30) -> object:
    """`work()`'s result; fails (instead of hanging the suite) if it is still running after `seconds`."""
    result: list[object] = []
    thread = threading.Thread(target=lambda: result.append(work()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "still running: a device or a pipe was read"
    return result[0]


def test_devices_and_pipes_are_skipped_never_read(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "notes.txt").write_text("The harbour opened in 1990.\n", encoding="utf-8")
    (folder / "zero.txt").symlink_to("/dev/zero")  # endless bytes behind a plain name
    os.mkfifo(folder / "pipe.txt")  # opening it would wait for a writer forever
    loaded = _finishes(lambda: load_documents([folder]))
    assert isinstance(loaded, LoadResult) and [d.source for d in loaded.documents] == ["notes.txt"]
    reasons = {Path(s.path).name: s.reason for s in loaded.skipped}
    assert set(reasons) == {"zero.txt", "pipe.txt"} and "not a regular file" in reasons["pipe.txt"]


def test_a_file_name_that_is_not_utf8_is_skipped_and_the_rest_is_ingested(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "notes.txt").write_text("The harbour opened in 1990.\n", encoding="utf-8")
    with open(os.path.join(os.fsencode(folder), b"caf\xe9.txt"), "wb") as latin1_named:  # no str can name it
        latin1_named.write(b"Latin-1 named.\n")
    loaded = load_documents([folder])
    assert [d.source for d in loaded.documents] == ["notes.txt"]
    (bad,) = loaded.skipped
    assert "not valid UTF-8" in bad.reason and bad.path.endswith("caf\\xe9.txt")


def test_a_docx_zip_bomb_is_refused_before_it_is_inflated(monkeypatch: pytest.MonkeyPatch) -> None:
    import zipfile

    from citeqa.ingest.formats import wordfile

    monkeypatch.setattr(wordfile, "MAX_EXPANDED_BYTES", 1 << 20)
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr("word/document.xml", b"<w:t>" + b"a" * (4 << 20) + b"</w:t>")  # 4 MB in a few kB
    assert len(bomb.getvalue()) < 64 << 10
    with pytest.raises(UnreadableFileError, match="expands to 4 MB") as refused:
        wordfile.read(bomb.getvalue())
    assert refused.value.kind == "too large"


def test_a_file_name_with_a_newline_is_skipped_and_the_rest_is_ingested(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "notes.txt").write_text("The harbour opened in 1990.\n", encoding="utf-8")
    (folder / "two\nlines.txt").write_text("A name no URL can hold.\n", encoding="utf-8")
    loaded = load_documents([folder])
    assert [d.source for d in loaded.documents] == ["notes.txt"]
    (bad,) = loaded.skipped
    assert "control character" in bad.reason and "two\\nlines.txt" in bad.path and "\n" not in bad.path


def test_a_reader_that_extracts_far_more_text_than_its_file_holds_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from citeqa.ingest import documents
    from citeqa.ingest.files import SourceFile
    from citeqa.ingest.formats import Extracted

    monkeypatch.setattr(documents, "reader_for", lambda suffix: lambda data: Extracted("word " * 5000))
    with pytest.raises(UnreadableFileError, match="over the limit") as refused:
        documents.parse_document(SourceFile(Path("small.txt"), "small.txt"), b"tiny file")  # 9 bytes -> 25,000 chars
    assert refused.value.kind == "too much text"


def test_the_absolute_text_cap_holds_whatever_the_file_size(monkeypatch: pytest.MonkeyPatch) -> None:
    from citeqa.ingest import documents, formats
    from citeqa.ingest.files import SourceFile

    monkeypatch.setattr(formats, "MAX_TEXT_CHARS", 100)
    with pytest.raises(UnreadableFileError, match="over the limit of 100"):
        documents.parse_document(SourceFile(Path("plain.txt"), "plain.txt"), b"word " * 40)  # 200 chars, 200 bytes


def test_a_pdf_whose_pages_expand_past_the_budget_is_refused_page_by_page(monkeypatch: pytest.MonkeyPatch) -> None:
    """Deflated pages of one repeated line: a few KB on disk, far more text than 20 characters a byte. The reader
    stops at the page that passes the budget instead of extracting every page first."""
    from citeqa.ingest.formats import pdfpages

    page = ["The same line of text, over and over. " * 4] * 400
    bomb = pdf_bytes([page] * 30, compress=True)
    assert len(bomb) < 40_000
    extracted: list[object] = []
    real = pdfpages._page_text

    def counted(page: object, allowance: int) -> str:
        extracted.append(page)
        return real(page, allowance)

    monkeypatch.setattr(pdfpages, "_page_text", counted)
    with pytest.raises(UnreadableFileError, match="over the limit") as refused:
        read_pdf(bomb)
    assert refused.value.kind == "too much text"
    assert len(extracted) < 30, "refused before every page was extracted"
    # the same pages, honestly sized, read as ever
    assert read_pdf(pdf_bytes([["A short page."]] * 3, compress=True)).text.count("A short page.") == 3
