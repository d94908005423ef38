"""What the chat shows: document text and questions stay text, the answer is marked, links are relative."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from citeqa.chat import Answer, Answerer, Citation
from citeqa.chat.answer import Notice
from citeqa.chat.web.render import (
    ABSTAINED,
    answer_html,
    clamp_range,
    conversation_passages_html,
    document_href,
    document_page,
    passages_html,
    plain_text,
    text,
)
from citeqa.chat.web.serve_cli import BUNDLED_EXAMPLES, read_examples
from citeqa.eval.metrics import best_f1, contains_answer
from citeqa.index.search import Passage
from citeqa.ingest.chunking import Chunk
from citeqa.ingest.documents import Document
from citeqa.paths import BUNDLED_CORPUS

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


def test_passages_show_rank_similarity_range_and_how_they_are_ordered() -> None:
    chunks = [Chunk(i, "a.txt", i * 10, i * 10 + 1000, "word " * 200) for i in range(2)]
    reranked = [Passage(chunks[0], 0.34), Passage(chunks[1], 0.38)]  # the answer's passage first, less similar
    shown = passages_html(reranked, {"a.txt": "Annual <report>"})
    assert "#1 · holds the answer · similarity 0.340" in shown and "#2 · similarity 0.380" in shown
    assert "the one holding it first" in shown and "not what the list is sorted by" in shown
    assert "Annual &lt;report&gt;" in shown and '<span class="cq-file">a.txt</span>' in shown  # title, file beside
    assert 'title="word word' in shown and " …" in shown  # a hover preview on each link
    searched = passages_html(reranked, answered=False)
    assert "holds the answer" not in searched and "Ordered by search rank" in searched
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


def _cited(document_text: str, answer: str, source: str, title: str) -> Citation:
    start = document_text.index(answer)
    return Citation(source, title, answer, start, start + len(answer), document_text, 0, len(document_text))


def test_each_citation_is_shown_with_its_own_quote_title_and_link() -> None:
    first = _cited("Flights leave from Lahore and Islamabad.", "Lahore and Islamabad", "a.txt", "Minister's interview")
    second = _cited(
        "Direct flights from Islamabad, Lahore, and Karachi.", "Islamabad, Lahore, and Karachi", "b.txt", ""
    )
    chunk = Chunk(1, "a.txt", 0, 40, first.quote)
    answer = Answer("Which cities?", first.text, 0.8, (first, second), (Passage(chunk, 0.5),))
    shown = answer_html(answer, titles={"a.txt": "Minister&#39;s interview"})
    assert shown.count('<blockquote class="cq-quote">') == 2
    assert '<mark class="cq-answer">Lahore and Islamabad</mark>' in shown
    assert '<mark class="cq-answer">Islamabad, Lahore, and Karachi</mark>' in shown
    assert "documents/a.txt?start=19" in shown and "documents/b.txt?start=20" in shown
    assert "Also answered in" in shown and '<span class="cq-file">a.txt</span>' in shown
    assert '<details class="cq-sources"><summary>Sources: 1 passage from 1 document</summary>' in shown
    plain = plain_text(answer)
    assert plain.splitlines()[0] == "Answer: Lahore and Islamabad (confidence 0.80)"
    assert "Source: Minister's interview (a.txt), characters 19–39" in plain
    assert "Also answered in b.txt: Islamabad, Lahore, and Karachi" in plain and "<" not in plain


def test_the_plain_text_rides_hidden_in_the_message_for_copy_and_screen_readers() -> None:
    sentence = "It was painted <b>red</b> in 1911."
    shown = answer_html(_answer(sentence, "red"))
    hidden = re.search(r'<span class="cq-plain" hidden>([^<]*)</span>', shown)
    assert hidden is not None and "\n" not in shown
    import html

    plain = html.unescape(hidden.group(1))
    assert plain == plain_text(_answer(sentence, "red"))
    assert "Quote: “It was painted <b>red</b> in 1911.”" in plain  # the document's own characters, as text
    assert '<button type="button" class="cq-copy"' in shown


def test_understood_as_offers_asking_as_typed_and_searched_for_shows_a_correction() -> None:
    answer = replace(_answer("The lighthouse was red.", "red", "What colour was the lighthouse?"), asked="And it?")
    shown = answer_html(answer)
    assert "Understood as: <em>What colour was the lighthouse?</em>" in shown
    assert '<button type="button" class="cq-as-typed" value="And it?"' in shown
    corrected = replace(
        _answer("Eight centres.", "Eight", "how mny centres"),
        searched_for="how many centres",
        notice=Notice("corrected", "Spelling corrected."),
    )
    shown = answer_html(corrected)
    assert "Searched for: <em>how many centres</em>" in shown and "Spelling corrected" not in shown
    assert "cq-as-typed" not in shown
    assert "Searched for: how many centres" in plain_text(corrected)


def test_a_notice_replaces_the_generic_abstention() -> None:
    notice = Notice("not_english", "citeqa reads questions in English; this one looks like Spanish.")
    answer = Answer("¿Cuántos?", None, 0.0, (), (), notice=notice)
    shown = answer_html(answer)
    assert "citeqa reads questions in English" in shown and "answer this" not in shown and "confidence" not in shown
    assert plain_text(answer).startswith("citeqa reads questions in English")
    assert ABSTAINED in plain_text(Answer("Who?", None, 0.1))


def test_the_passages_panel_keeps_every_question_latest_first() -> None:
    first = _answer("The lighthouse was red.", "red", "What colour?")
    second = Answer("Who?", None, 0.1, passages=first.passages)
    shown = conversation_passages_html([("What colour?", first), ("Who <b>?", second)])
    assert shown.index("Question 2: Who &lt;b&gt;?") < shown.index("Question 1: What colour?")
    assert shown.count("<ol") == 2 and "Ordered by search rank" in shown
    assert "Ask a question" in conversation_passages_html([])


def test_document_page_has_a_way_back_dark_mode_and_page_markers() -> None:
    body = "First page text. Second page text. Third page text."
    pages = (0, body.index("Second"), body.index("Third"))
    doc = Document("reports/annual.pdf", body, "Annual report", pages=pages)
    start = body.index("Second page")
    page = document_page(doc, (start, start + 6), (start, body.index("Third")))
    assert '<a href="../../" id="back">' in page  # /documents/reports/annual.pdf -> the chat, under any root path
    assert '<a href="../" id="back">' in document_page(Document("a.txt", "x", "t"), None, None)
    assert "prefers-color-scheme:dark" in page and '<meta name="color-scheme" content="light dark">' in page
    assert '<span class="page" id="page-2">Page 2</span><mark class="quote" id="cited">' in page
    assert '<span class="page" id="page-3">Page 3</span>' in page and 'id="page-1"' not in page
    assert "· page 2 ·" in page and "3 pages" in page
    inside = document_page(doc, (pages[1] - 5, pages[1] + 6), None)  # a page starts inside the marked answer
    assert '<mark class="quote answer" id="cited">ext. <span class="page" id="page-2">Page 2</span>Second</mark>' in (
        inside
    )


def test_examples_are_taken_in_turn_from_each_document(tmp_path: Path) -> None:
    lines = [{"question": f"A{i}?", "answers": ["x"], "source": "a.txt"} for i in range(4)]
    lines += [{"question": "B0?", "answers": ["y"], "source": "b.txt"}, {"question": "N?", "answers": []}]
    path = tmp_path / "q.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\nnot json\n", encoding="utf-8")
    assert read_examples(path, 4) == ["A0?", "B0?", "A1?", "A2?"]
    assert read_examples(tmp_path / "none.jsonl") == []


def _examples() -> list[dict[str, Any]]:
    return [json.loads(line) for line in BUNDLED_EXAMPLES.read_text(encoding="utf-8").splitlines()]


def test_the_bundled_examples_come_from_every_bundled_document_in_full() -> None:
    shown = read_examples(BUNDLED_EXAMPLES)
    assert shown == [e["question"] for e in _examples()]  # all of them, whole, in the file's alternating order
    bundled = {p.name for p in BUNDLED_CORPUS.iterdir() if p.is_file()}
    assert {e["source"] for e in _examples()} == bundled


@pytest.mark.parametrize("example", _examples(), ids=lambda e: e["id"])
def test_each_bundled_example_is_answered_right(answerer: Answerer, example: dict[str, Any]) -> None:
    answer = answerer.answer(example["question"])
    assert answer.text is not None, f"{example['question']!r} abstained"
    assert contains_answer(answer.text, example["answers"]) and best_f1(answer.text, example["answers"]) >= 0.8, (
        f"{example['question']!r}: {answer.text!r}, gold {example['answers']}"
    )
    assert answer.citations[0].source == example["source"]
