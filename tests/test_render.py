"""What the chat shows: document text and questions stay text, the answer is marked, links are relative."""

from __future__ import annotations

import re

import pytest

from citeqa.chat import Answer, Citation
from citeqa.chat.web.render import answer_html, clamp_range, document_href, document_page, passages_html, text
from citeqa.index.search import Passage
from citeqa.ingest.chunking import Chunk
from citeqa.ingest.documents import Document

HOSTILE = [
    "<script>window.__pwned = 1</script>",
    '<img src=x onerror="window.__pwned = 1">',
    "![tracker](http://198.51.100.7/pixel.png)",
    "[click](javascript:alert(1))",
    "**bold** _em_ `code` # heading | table | ~~strike~~",
    "$$x^2$$ and \\(y\\)",
    "<a href='http://198.51.100.7'>x</a> &amp; &lt;",
]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_text_leaves_nothing_a_renderer_could_act_on(hostile: str) -> None:
    shown = text(hostile)
    bare = re.sub(r"&#\d+;|&(?:lt|gt|amp|quot);", "", shown)
    assert not re.search(r"[<>\"'`*_\[\]()!$\\#|~&]", bare), shown
    # and it reads back as exactly the characters it was
    import html

    assert html.unescape(shown) == hostile


def _answer(document_text: str, answer: str, question: str = "What colour?") -> Answer:
    start = document_text.index(answer)
    citation = Citation(
        "notes/lighthouse.md", "<b>Title</b>", answer, start, start + len(answer), document_text, 0, len(document_text)
    )
    chunk = Chunk(1, "notes/lighthouse.md", 0, len(document_text), document_text)
    return Answer(question, answer, 0.9, (citation,), (Passage(chunk, 0.71),))


def test_answer_marks_the_span_inside_its_escaped_sentence() -> None:
    sentence = "It was painted <script>x()</script> red in 1911 ![t](http://198.51.100.7/p.png)."
    shown = answer_html(_answer(sentence, "red"))
    assert '<mark class="cq-answer">red</mark>' in shown
    assert "<script" not in shown and "http://" not in shown and "<b>" not in shown
    assert "&lt;script&gt;" in shown and "&lt;b&gt;Title&lt;/b&gt;" in shown
    assert "\n" not in shown  # one line: no Markdown block rule can split our HTML


def test_citation_links_to_the_document_with_the_quote() -> None:
    shown = answer_html(_answer("The lighthouse was red.", "red"))
    href = re.search(r'href="([^"]+)"', shown)
    assert href is not None
    assert href.group(1).startswith("documents/notes/lighthouse.md?start=19&amp;end=22&amp;quote_start=0")
    assert 'target="_blank"' in shown and "characters 19–22" in shown


def test_a_resolved_follow_up_is_shown_as_understood() -> None:
    shown = answer_html(_answer("The lighthouse was red.", "red", "What colour was the lighthouse?"), "And it?")
    assert "Understood as" in shown and "What colour was the lighthouse?" in shown
    assert "Understood as" not in answer_html(_answer("It was red.", "red", "What colour?"), "What colour?")


def test_abstention_says_so_and_offers_the_closest_passages() -> None:
    chunk = Chunk(1, "a.txt", 10, 45, "<script>bad()</script> closest text")
    shown = answer_html(Answer("Who?", None, 0.1, (), (Passage(chunk, 0.5),)))
    assert "The documents don&#39;t answer this" in shown or "The documents don't answer this" in shown
    assert "closest passages" in shown and "&lt;script&gt;" in shown and "<script" not in shown
    assert "documents/a.txt?start=10&amp;end=45" in shown


def test_passages_show_rank_score_and_range() -> None:
    chunks = [Chunk(i, "a.txt", i * 10, i * 10 + 1000, "word " * 200) for i in range(2)]
    shown = passages_html([Passage(c, 0.5 - i / 10) for i, c in enumerate(chunks)])
    assert "#1 · score 0.500" in shown and "#2 · score 0.400" in shown and " …" in shown
    assert "No passages" in passages_html([])


def test_document_href_quotes_odd_source_names() -> None:
    assert document_href("a b/c#d.txt", 1, 2).startswith("documents/a%20b/c%23d.txt?start=1&end=2")


def test_document_page_escapes_and_marks() -> None:
    body = "Intro. <script>alert(1)</script> It was red in 1911. End."
    doc = Document("a.txt", body, "<i>T</i>")
    quote = (body.index("It was"), body.index(" End"))
    answer = (body.index("red"), body.index("red") + 3)
    page = document_page(doc, answer, quote)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert '<mark class="quote" id="cited">It was <mark class="answer">red</mark> in 1911.</mark>' in page
    assert "<title>&lt;i&gt;T&lt;/i&gt;</title>" in page
    assert '<mark class="quote answer" id="cited">red</mark>' in document_page(doc, answer, None)
    assert "<mark" not in document_page(doc, None, None)


def test_ranges_are_clamped_to_the_document() -> None:
    doc = Document("a.txt", "0123456789", "t")
    assert clamp_range(doc, -3, 4) == (0, 4)
    assert clamp_range(doc, 5, 500) == (5, 10)
    assert clamp_range(doc, 7, 3) is None and clamp_range(doc, None, 3) is None
