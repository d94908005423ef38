from __future__ import annotations

from pathlib import Path

import pytest

from citeqa.ingest import Document, IngestError, load_documents


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_bytes(data.encode("utf-8"))
    return path


def test_folders_are_walked_and_sources_are_relative_to_the_root(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", "First line.\n")
    write(tmp_path / "sub" / "b.md", "# A heading\n\nBody text.\n")
    write(tmp_path / ".hidden" / "c.txt", "Not read.\n")
    result = load_documents([tmp_path])
    assert [d.source for d in result.documents] == ["a.txt", "sub/b.md"]
    assert result.documents[1].title == "A heading"


def test_text_is_kept_exactly_as_stored(tmp_path: Path) -> None:
    raw = "\ufeffWindows\r\nline ends – and “quotes”.\r\n"
    write(tmp_path / "crlf.txt", raw)
    (doc,) = load_documents([tmp_path / "crlf.txt"]).documents
    assert doc.text == raw
    assert doc.source == "crlf.txt"


def test_title_skips_a_date_line_and_date_is_found() -> None:
    from citeqa.paths import BUNDLED_CORPUS

    docs = {d.source: d for d in load_documents([BUNDLED_CORPUS]).documents}
    first, second = docs["000_cd9edb64798435a2.txt"], docs["003_5db9bb21355ded0f.txt"]
    assert first.date == "2025-11-17"
    assert second.date == "2026-02-14"
    assert second.title.startswith("Brotherhood Beyond Borders")
    assert first.title.startswith("BAKU, Azerbaijan")


def test_unreadable_files_are_skipped_by_name_and_the_rest_ingested(tmp_path: Path) -> None:
    write(tmp_path / "good.txt", "Readable text.")
    write(tmp_path / "binary.txt", b"\x89PNG\x00\x01\x02 not text")
    write(tmp_path / "latin1.txt", "café".encode("latin-1"))
    write(tmp_path / "empty.md", "  \n")
    write(tmp_path / "notes.pdf", b"%PDF-1.4")
    write(tmp_path / "sheet.xlsx", b"PK")
    result = load_documents([tmp_path])
    assert [d.source for d in result.documents] == ["good.txt", "latin1.txt"]
    assert result.documents[1].text == "café"  # not UTF-8: its encoding is detected, and said
    assert [(Path(n.path).name, n.reason) for n in result.notes] == [("latin1.txt", "not UTF-8: decoded as cp1252")]
    reasons = {Path(s.path).name: s.reason for s in result.skipped}
    assert "binary" in reasons["binary.txt"]
    assert reasons["empty.md"] == "empty"
    assert "not a readable PDF" in reasons["notes.pdf"]
    assert "unsupported file type .xlsx" in reasons["sheet.xlsx"]


def test_page_at_finds_the_page_of_any_offset() -> None:
    doc = Document("r.pdf", "one\n\ntwo\n\nthree\n", "r", pages=(0, 5, 10))
    assert [doc.page_at(i) for i in (0, 3, 4, 5, 9, 10, 15)] == [1, 1, 1, 2, 2, 3, 3]
    assert Document("a.txt", "text", "a").page_at(2) is None
    with pytest.raises(ValueError, match="page starts"):
        Document("r.pdf", "x", "r", pages=(3,))


def test_missing_path_and_empty_folder_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="no such file or folder"):
        load_documents([tmp_path / "nope"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(IngestError, match=r"no readable \.txt or \.md document"):
        load_documents([tmp_path / "empty"])


def test_two_files_with_one_source_name_are_refused(tmp_path: Path) -> None:
    write(tmp_path / "x" / "same.txt", "One.")
    write(tmp_path / "y" / "same.txt", "Two.")
    with pytest.raises(IngestError, match="share the source name"):
        load_documents([tmp_path / "x", tmp_path / "y"])


def test_the_chunk_end_search_agrees_with_a_plain_binary_search(monkeypatch: pytest.MonkeyPatch) -> None:
    from collections.abc import Sequence

    from citeqa.ingest import Chunker, ChunkSettings, Span, load_encoding
    from citeqa.paths import BUNDLED_CORPUS

    def binary_search(self: Chunker, text: str, units: Sequence[Span], first: int, reach: Sequence[int]) -> int:
        low, high = first, len(units) - 1
        while low < high:
            mid = (low + high + 1) // 2
            if self._ok(text[units[first].start : units[mid].end]):
                low = mid
            else:
                high = mid - 1
        return low

    documents = load_documents([BUNDLED_CORPUS]).documents
    for settings in (ChunkSettings(), ChunkSettings(max_tokens=24, overlap_tokens=8), ChunkSettings(max_tokens=400)):
        chunker = Chunker(settings, load_encoding())
        fast = [chunker.chunk(d) for d in documents]
        with monkeypatch.context() as patched:
            patched.setattr(Chunker, "_last_unit", binary_search)
            assert [chunker.chunk(d) for d in documents] == fast


def test_a_symlinked_folder_is_followed_once_and_a_loop_is_not(tmp_path: Path) -> None:
    import os

    write(tmp_path / "elsewhere" / "shared.txt", "Shared text.")
    root = tmp_path / "root"
    write(root / "own.txt", "Own text.")
    os.symlink(tmp_path / "elsewhere", root / "linked")
    os.symlink(root, root / "linked-back")
    result = load_documents([root], follow_outside_links=True)  # (by default a link out of root is skipped)
    assert [d.source for d in result.documents] == ["linked/shared.txt", "own.txt"]
    assert [(Path(s.path).name, s.kind) for s in result.skipped] == [("linked-back", "symlink loop")]


def test_docx_merged_cells_are_read_once(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    table = document.add_table(rows=2, cols=3)
    table.cell(0, 0).merge(table.cell(0, 2)).text = "Budget 2024"
    for column, value in enumerate(["Roads", "Schools", "Parks"]):
        table.cell(1, column).text = value
    document.save(str(tmp_path / "t.docx"))
    (doc,) = load_documents([tmp_path / "t.docx"]).documents
    assert doc.text == "Budget 2024\nRoads\tSchools\tParks\n"
