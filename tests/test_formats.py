"""Every format, from real files the tests write: the extracted text, exact offsets, pages, and answers."""

from __future__ import annotations

from pathlib import Path

import pytest
from citations import assert_cited_verbatim
from filemakers import pdf_bytes, write_docx

from citeqa.chat import Answerer
from citeqa.index import Embedder, IndexSettings, SearchIndex, build_index, load_index, save_index
from citeqa.ingest import Document, load_documents, split_sentences
from citeqa.ingest.formats.mdtext import render

PDF_PAGES = [
    ["Harbour Authority annual report.", "The harbour handled 2.4 million containers in 2023."],
    ["Dredging works.", "The dredging of the outer channel was finished in October 2023."],
    ["Outlook.", "The authority expects the new quay to open in spring 2025."],
]

MARKDOWN = """---
title: Library renovation
date: 2024-03-12
---
# The *library* renovation

The **city library** reopened on [12 March 2024](https://example.org/news/reopening) after two years.
It now holds `140,000` books and a _maker space_.

## Costs

| Item | Cost |
|------|-----:|
| Roof | 1.2 million euros |

- The renovation was paid for by the **regional culture fund**.
> The architect was Ines Duarte.
"""

HTML = """<!doctype html>
<html><head><title>Ferry news</title><style>.x { color: red }</style>
<script>window.tracking = "do not index this";</script></head>
<body>
<nav><a href="/">Home</a> <a href="/ferries">Ferries</a></nav>
<header><p>Site-wide banner text.</p></header>
<main>
<h1>New ferry line</h1>
<p>The new ferry line to Arrow Island starts on 4 May 2025.
   A crossing takes <b>forty</b> minutes.</p>
<table><tr><th>Ship</th><th>Seats</th></tr><tr><td>Gull</td><td>320</td></tr></table>
<div aria-hidden="true">Hidden helper text.</div>
</main>
<footer>Copyright the ferry company.</footer>
</body></html>
"""


@pytest.fixture(scope="module")
def collection(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("formats")
    (folder / "harbour.pdf").write_bytes(pdf_bytes(PDF_PAGES, title="Harbour report 2023"))
    (folder / "library.md").write_text(MARKDOWN, encoding="utf-8")
    (folder / "ferry.html").write_text(HTML, encoding="utf-8")
    write_docx(
        folder / "council.docx",
        ["The council met on 3 March 2023.", "Mayor Ana Lopez chaired the meeting."],
        [["Item", "Vote"], ["Bridge repair", "Approved"], ["Night market", "Rejected"]],
        title="Council minutes",
    )
    (folder / "notes.txt").write_bytes(b"The warehouse was sold in July 2022\r\nfor 80,000 euros.\r\n")
    return folder


@pytest.fixture(scope="module")
def documents(collection: Path) -> dict[str, Document]:
    return {d.source: d for d in load_documents([collection]).documents}


@pytest.fixture(scope="module")
def saved(
    collection: Path, documents: dict[str, Document], embedder: Embedder, tmp_path_factory: pytest.TempPathFactory
) -> SearchIndex:
    directory = tmp_path_factory.mktemp("formats-index") / "idx"
    save_index(build_index(list(documents.values()), IndexSettings(), embedder), directory)
    return load_index(directory)


def test_every_format_is_read(documents: dict[str, Document]) -> None:
    assert sorted(documents) == ["council.docx", "ferry.html", "harbour.pdf", "library.md", "notes.txt"]
    assert documents["harbour.pdf"].title == "Harbour report 2023"
    assert documents["council.docx"].title == "Council minutes"
    assert documents["ferry.html"].title == "Ferry news"
    assert documents["library.md"].title == "Library renovation"
    assert documents["library.md"].date == "2024-03-12"
    assert all(len(d.file_checksum) == 64 for d in documents.values())


def test_plain_text_is_the_file_unchanged(collection: Path, documents: dict[str, Document]) -> None:
    assert documents["notes.txt"].text == (collection / "notes.txt").read_bytes().decode()
    assert documents["notes.txt"].pages == ()


def test_pdf_text_has_every_page_and_knows_where_each_starts(documents: dict[str, Document]) -> None:
    doc = documents["harbour.pdf"]
    assert len(doc.pages) == 3
    for number, lines in enumerate(PDF_PAGES, 1):
        for line in lines:
            at = doc.text.index(line)  # each line of the page, verbatim
            assert doc.page_at(at) == number
            assert doc.page_at(at + len(line) - 1) == number
    starts = [doc.text[p:].split("\n")[0] for p in doc.pages]
    assert starts == [lines[0] for lines in PDF_PAGES]


def test_docx_keeps_paragraphs_and_table_rows_in_order(documents: dict[str, Document]) -> None:
    text = documents["council.docx"].text
    order = ["Council minutes", "The council met on 3 March 2023.", "Mayor Ana Lopez chaired", "Item\tVote"]
    order += ["Bridge repair\tApproved", "Night market\tRejected", "After the table, the report ends."]
    positions = [text.index(part) for part in order]
    assert positions == sorted(positions)
    assert documents["council.docx"].page_at(0) is None


def test_html_keeps_the_main_text_only(documents: dict[str, Document]) -> None:
    text = documents["ferry.html"].text
    assert "The new ferry line to Arrow Island starts on 4 May 2025. A crossing takes forty minutes." in text
    assert "Gull\t320" in text
    for left_out in ("tracking", "color: red", "Home", "banner", "Hidden helper", "Copyright", "Ferry news"):
        assert left_out not in text


def test_html_without_a_main_element_keeps_the_body_less_navigation() -> None:
    from citeqa.ingest.formats.webpage import read

    page = b"<html><body><nav>Menu</nav><div><p>First &amp; only <i>paragraph</i>.</p></div><script>x</script>"
    assert read(page).text == "First & only paragraph.\n"


def test_markdown_is_rendered_without_its_syntax(documents: dict[str, Document]) -> None:
    text = documents["library.md"].text
    for mark in ("**", "](", "`", "# ", "|", "---", "> ", "_maker", "https://"):
        assert mark not in text, mark
    assert "The city library reopened on 12 March 2024 after two years." in text
    assert "It now holds 140,000 books and a maker space." in text
    assert "Roof\t1.2 million euros" in text
    assert "The renovation was paid for by the regional culture fund." in text
    assert text.startswith("Date: 2024-03-12\nThe library renovation\n")


def test_markdown_sentences_start_and_end_on_words(documents: dict[str, Document]) -> None:
    doc = documents["library.md"]
    for span in split_sentences(doc.text):
        sentence = doc.text[span.start : span.end]
        assert sentence[0].isalnum() and (sentence[-1].isalnum() or sentence[-1] in ".!?"), sentence


@pytest.mark.parametrize(
    ("markdown", "text"),
    [
        ("**bold** and __strong__ and *it* and _em_", "bold and strong and it and em"),
        ("snake_case_name stays, 2*3*4 stays", "snake_case_name stays, 2*3*4 stays"),
        ("see [the report](http://x.org/a_(b)) and ![a chart](c.png)", "see the report and a chart"),
        ("`**not bold**` in code", "**not bold** in code"),
        ("an escaped \\*star\\* and <span>tag</span>", "an escaped *star* and tag"),
        ("1. first step", "1. first step"),
        ("```\ncode *as is*\n```", "\ncode *as is*"),
        ("Title\n=====\nbody", "Title\n\nbody"),
    ],
)
def test_markdown_inline_rules(markdown: str, text: str) -> None:
    assert render(markdown)[0] == text + "\n"


def test_chunks_are_verbatim_in_every_format(saved: SearchIndex) -> None:
    assert {c.source for c in saved.chunks.values()} == set(saved.documents)
    for chunk in saved.chunks.values():
        assert saved.documents[chunk.source].text[chunk.start : chunk.end] == chunk.text
    for source, spans in saved.sentences.items():
        assert spans == split_sentences(saved.documents[source].text)


def test_pages_survive_save_and_load(saved: SearchIndex, documents: dict[str, Document]) -> None:
    assert saved.documents["harbour.pdf"].pages == documents["harbour.pdf"].pages
    assert saved.documents["harbour.pdf"] == documents["harbour.pdf"]


@pytest.mark.parametrize(
    ("question", "source", "answer", "page"),
    [
        ("When was the dredging of the outer channel finished?", "harbour.pdf", "October 2023", 2),
        ("How many containers did the harbour handle in 2023?", "harbour.pdf", "2.4 million", 1),
        ("When does the authority expect the new quay to open?", "harbour.pdf", "2025", 3),
        ("When did the city library reopen?", "library.md", "12 March 2024", None),
        ("When does the new ferry line to Arrow Island start?", "ferry.html", "4 May 2025", None),
        ("When did the council meet?", "council.docx", "3 March 2023", None),
        ("When was the warehouse sold?", "notes.txt", "July 2022", None),
    ],
)
def test_answers_are_verbatim_with_their_page(
    saved: SearchIndex, embedder: Embedder, question: str, source: str, answer: str, page: int | None
) -> None:
    result = Answerer(saved, embedder).answer(question)
    assert result.text is not None and answer in result.text
    (citation,) = result.citations
    assert citation.source == source
    assert_cited_verbatim(result, lambda name: saved.documents[name].text)
    assert citation.page == page
    for mark in ("**", "](", "`", "#"):
        assert mark not in citation.quote


@pytest.mark.parametrize(
    ("page", "text"),
    [
        (b"<body><div>Teaser.</div><article><p>The story.</p></article><aside>Ads</aside>", "The story.\n"),
        (b"<article><p>One.</p></article><article><p>Two.</p></article>", "One.\n\nTwo.\n"),
        (b"<head><title>T</title><body><p>No closing head tag.</p>", "No closing head tag.\n"),
        (b"<p>Cells:</p><table><tr><td> a </td><td>b</td></tr></table>", "Cells:\n\na\tb\n"),
        (b'<meta charset="windows-1252"><p>caf\xe9</p>', "café\n"),
        (b'<p>Shown.</p><p style="color: red; DISPLAY:none">Not shown.</p>', "Shown.\n"),
    ],
)
def test_html_main_text_rules(page: bytes, text: str) -> None:
    from citeqa.ingest.formats.webpage import read

    assert read(page).text == text
