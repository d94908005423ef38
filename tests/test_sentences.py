from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from citeqa.ingest import split_sentences


def sentences(text: str) -> list[str]:
    return [text[s.start : s.end] for s in split_sentences(text)]


def test_abbreviations_and_decimals_do_not_end_a_sentence() -> None:
    text = "Ms. Mammadova said 3.3 million tons moved. Dr. J. Smith et al. agreed, e.g. on costs. Next!"
    assert sentences(text) == [
        "Ms. Mammadova said 3.3 million tons moved.",
        "Dr. J. Smith et al. agreed, e.g. on costs.",
        "Next!",
    ]


def test_quotes_stay_with_their_sentence() -> None:
    text = '"We are working on it. Currently, flights exist," she said. She added more.'
    assert sentences(text) == [
        '"We are working on it.',
        'Currently, flights exist," she said.',
        "She added more.",
    ]


def test_bullets_headings_and_question_answer_layouts() -> None:
    text = "Heading Without Stop\n\nWhat is asked here?\n\n-The answer comes. Then more.\n- item one\n• item two\n"
    assert sentences(text) == [
        "Heading Without Stop",
        "What is asked here?",
        "The answer comes.",
        "Then more.",
        "item one",
        "item two",
    ]


def test_a_wrapped_line_continues_its_sentence() -> None:
    assert sentences("A sentence wrapped\nacross two lines. Another.") == [
        "A sentence wrapped\nacross two lines.",
        "Another.",
    ]


def test_offsets_index_text_with_crlf_and_unicode_unchanged() -> None:
    text = "Première phrase.\r\nSecond – “quoted” one!\r\n"
    assert sentences(text) == ["Première phrase.", "Second – “quoted” one!"]


_PIECES = [*list("abcXYZ .!?,\n\"'-–•3“”"), "Ms.", " e.g. ", "3.3", "\n\n", "Word", " the "]
_TEXT = st.lists(st.sampled_from(_PIECES), max_size=120).map("".join)


@given(_TEXT)
def test_spans_are_ordered_trimmed_slices_that_cover_all_content(text: str) -> None:
    spans = split_sentences(text)
    previous_end = 0
    covered = [False] * len(text)
    for span in spans:
        assert previous_end <= span.start < span.end <= len(text)
        piece = text[span.start : span.end]
        assert piece == piece.strip() and piece
        for i in range(span.start, span.end):
            covered[i] = True
        previous_end = span.end
    left_out = "".join(c for c, seen in zip(text, covered, strict=True) if not seen)
    assert all(c.isspace() or c in "-–—•*·" for c in left_out)
