"""Parsers take time in proportion to their input, however hostile (issue 24): each small file below kept an ingest
busy for minutes. Each is timed on a 1x and an 8x input: linear work takes about 8 times as long, quadratic work 64
times. The test asserts the ratio, never a wall time, so it holds on a busy machine; the best of a few runs is
taken, which is what the code costs when nothing else interrupts it.

PDFs are bounded differently: a page is charged for its drawing instructions before any is parsed, and its text is
counted while it is extracted."""

from __future__ import annotations

import contextlib
import time
import zlib
from collections.abc import Callable

import pytest
from filemakers import pdf_bytes

from citeqa.ingest.formats import UnreadableFileError, mdtext, pdfpages, webpage

LINEAR_ENOUGH = 16  # 8 for linear work; twice that leaves room for noise; quadratic work gives ~64


def growth(parse: Callable[[bytes], object], make: Callable[[int], bytes], base: int, runs: int = 3) -> float:
    """How many times longer `parse` takes on `make(8 * base)` than on `make(base)` (best of `runs` each)."""

    def best(data: bytes) -> float:
        times = []
        for _ in range(runs):
            began = time.perf_counter()
            with contextlib.suppress(UnreadableFileError):  # refusing is an outcome too: its cost is measured
                parse(data)
            times.append(time.perf_counter() - began)
        return min(times)

    return best(make(8 * base)) / best(make(base))


HOSTILE_MARKDOWN = {  # each took seconds at 30 KB and grew with the square of its size
    "unclosed stars": lambda n: b"*a " * n,
    "unclosed underscores": lambda n: b"_a " * n,
    "unclosed strong": lambda n: b"**a " * n,
    "unclosed strike": lambda n: b"~~a " * n,
    "unclosed images": lambda n: b"![a" * n,
    "unclosed links": lambda n: b"[a](" * n,
    "brackets before one link": lambda n: b"[" * n + b"a](" + b"b" * n,
    "unclosed autolinks": lambda n: b"<http:a" * n,
    "unclosed comments": lambda n: b"<!--" * n,
    "a heading of spaces": lambda n: b"# a" + b" " * (4 * n) + b"b",
    "code spans": lambda n: b"``a `" * n,
}


@pytest.mark.parametrize("name", HOSTILE_MARKDOWN)
def test_markdown_renders_in_linear_time(name: str) -> None:
    assert growth(mdtext.read, HOSTILE_MARKDOWN[name], 4_000) < LINEAR_ENOUGH


def test_markdown_emphasis_still_renders() -> None:  # the linear pairing keeps what the regexes did
    text, _ = mdtext.render("**bold** *it* _em_ ~~gone~~ and **bold _and italic_** 2*3*4 snake_case ``a`b``\n")
    assert text == "bold it em gone and bold and italic 2*3*4 snake_case a`b\n"


HOSTILE_HTML = {
    "stray end tags": lambda n: b"<div>" * n + b"</b>" * (4 * n) + b"<p>x</p>",
    "stray end tags in navigation": lambda n: b"<p>x</p><nav>" + b"<div>" * n + b"</b>" * (4 * n),
    "tags never closed": lambda n: b"<p>x</p>" + b"<a " * n,
    "comments never closed": lambda n: b"<p>x</p>" + b"<!--" * n,
    "CDATA never closed": lambda n: b"<p>x</p>" + b"<![CDATA[" * n,
    # Punycode decodes in time that grows with the square of its input: only text charsets are used.
    "a punycode charset": lambda n: b'<meta charset="punycode"><p>abc-' + b"abcdefgh" * n,
}


@pytest.mark.parametrize("name", HOSTILE_HTML)
def test_html_is_read_in_linear_time(name: str) -> None:
    assert growth(webpage.read, HOSTILE_HTML[name], 3_000) < LINEAR_ENOUGH


def test_html_keeps_closed_comments_and_tags_whole() -> None:
    page = b"<main><!-- <div>old</div> --><p>a &lt; b and <b>bold</b></p><p>x <a y</p></main>"
    assert webpage.read(page).text == "a < b and bold\n\nx <a y\n"


def test_a_declared_charset_that_is_not_a_text_encoding_is_ignored() -> None:
    for charset in (b"punycode", b"idna", b"unicode_escape", b"utf-7", b"rot13"):
        page = b'<meta charset="' + charset + b'"><p>caf\xc3\xa9 \\u0041 +ADw-</p>'
        assert webpage.read(page).text == "café \\u0041 +ADw-\n", charset
    assert webpage.read(b'<meta charset="windows-1252"><p>caf\xe9</p>').text == "café\n"


def _pdf_page_streams(page_streams: list[bytes], shared: bool = False) -> bytes:
    """A PDF whose pages draw the given (deflated) content streams; `shared`: every page draws the first one."""
    objects: dict[int, bytes] = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    }
    number, kids = 4, []
    for stream in page_streams[:1] if shared else page_streams:
        deflated = zlib.compress(stream, 9)
        objects[number] = b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(deflated) + deflated + b"\nendstream"
        number += 1
    streams = list(range(4, number))
    for index in range(len(page_streams)):
        content = streams[0] if shared else streams[index]
        objects[number] = (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
            b"/Contents %d 0 R >>" % content
        )
        kids.append(number)
        number += 1
    objects[2] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % k for k in kids), len(kids))
    out = bytearray(b"%PDF-1.4\n")
    offsets = {}
    for key in sorted(objects):
        offsets[key] = len(out)
        out += b"%d 0 obj\n" % key + objects[key] + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (number)
    out += b"".join(b"%010d 00000 n \n" % offsets[key] for key in range(1, number))
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (number, xref)
    return bytes(out)


def _count_extractions(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    extracted: list[object] = []
    real = pdfpages._page_text

    def counted(page: object, allowance: int) -> str:
        extracted.append(page)
        return real(page, allowance)

    monkeypatch.setattr(pdfpages, "_page_text", counted)
    return extracted


DRAWING = b"0 0 m 612 792 l S\n"  # a line: an operator with no text


@pytest.mark.parametrize(
    "operators",
    [DRAWING * 500_000, b"BT /F1 11 Tf 72 740 Td (x) Tj ET\n" * 300_000],
    ids=["no text", "text operators"],
)
def test_a_page_that_inflates_to_megabytes_of_operators_is_refused_before_they_are_parsed(
    operators: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    bomb = _pdf_page_streams([operators])
    assert len(bomb) < len(operators) // 100  # deflated: kilobytes on disk for megabytes of operators
    extracted = _count_extractions(monkeypatch)
    with pytest.raises(UnreadableFileError, match="page 1 takes its drawing instructions") as refused:
        pdfpages.read(bomb)
    assert refused.value.kind == "too much text" and extracted == []


def test_thousands_of_pages_sharing_one_stream_of_drawing_are_refused_at_the_first_that_passes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bomb = _pdf_page_streams([DRAWING * 20_000] * 2_000, shared=True)  # 360 KB of operators, drawn 2,000 times
    extracted = _count_extractions(monkeypatch)
    with pytest.raises(UnreadableFileError, match="drawing instructions") as refused:
        pdfpages.read(bomb)
    page = int(str(refused.value).split()[1])
    assert page < 100 and extracted == []  # and no page's operators were parsed: none shows text


def test_a_pages_text_is_counted_while_it_is_extracted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdfpages, "CONTENT_BYTES_PER_CHAR", 10**9)  # operators free: only the text counts
    stopped: list[BaseException] = []
    real = pdfpages._page_text

    def watched(page: object, allowance: int) -> str:
        try:
            return real(page, allowance)
        except BaseException as exc:
            stopped.append(exc)
            raise

    monkeypatch.setattr(pdfpages, "_page_text", watched)
    bomb = pdf_bytes([["The same line of text, over and over. " * 4] * 3_000], compress=True)  # one page
    with pytest.raises(UnreadableFileError, match="over the limit"):
        pdfpages.read(bomb)
    assert stopped and type(stopped[0]).__name__ == "_OverBudgetError"  # stopped inside the page, not after it


def test_honest_pdfs_read_as_ever() -> None:
    pages = [[f"Page {n} says the bridge was repaired in {2000 + n}."] for n in range(1, 4)]
    text = pdfpages.read(pdf_bytes(pages, compress=True)).text
    assert "Page 3 says the bridge was repaired in 2003." in text
    drawn = _pdf_page_streams([DRAWING * 50 + b"BT /F1 11 Tf 72 740 Td (A chart caption.) Tj ET\n"])
    assert pdfpages.read(drawn).text == "A chart caption.\n"
