"""chat.shape: an explanation is answered by whole sentences, an amount keeps its sign, scale and unit; both only
widen the reader's span, so the answer stays a verbatim slice of the document."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citeqa.chat.question import analyze
from citeqa.chat.shape import MAX_BRACKET_REACH, shaped, wants_explanation
from citeqa.ingest.sentences import split_sentences

ROOT = Path(__file__).resolve().parent.parent
SHAPE_QUESTIONS = ROOT / "eval" / "questions" / "shape.jsonl"
INTERVIEWS = ROOT / "data" / "interviews"


def shape(question: str, text: str, answer: str, occurrence: int = 0) -> str:
    """The shaped answer when the reader picked the `occurrence`-th `answer` in `text`."""
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(answer, start + 1)
    new_start, new_end = shaped(analyze(question), text, split_sentences(text), start, start + len(answer))
    return text[new_start:new_end]


@pytest.mark.parametrize(
    "question",
    [
        "Why did the council close the bridge?",
        "why did the council close the bridge",
        "Why, then, was the bridge closed?",
        "How does the ferry cross the river?",
        "How did the town pay for the repairs?",
        "How can residents apply for a permit?",
        "Describe the new ferry service.",
        "Please explain the toll system.",
        "Explain why the bridge closed.",
        "Tell me about the harbour project.",
        "Summarize the council's plan.",
        "What does the harbour authority do?",
        "What did the mayor's office do?",
        "What will the new agency do?",
        "Does the town plan a second bridge?",
        "Is the bridge open to lorries?",
        "Did the council approve the budget?",
        "Can cyclists use the ferry?",
        "Has the repair work started?",
        "Were the residents consulted?",
    ],
)
def test_explanation_questions_are_detected(question: str) -> None:
    assert wants_explanation(analyze(question))


@pytest.mark.parametrize(
    "question",
    [
        "How many bridges cross the river?",
        "How much did the repairs cost?",
        "How much cargo does the port handle?",
        "How long is the bridge?",
        "How old is the harbour?",
        "How often does the ferry run?",
        "How far is the harbour from the town?",
        "How fast did traffic grow?",
        "What year did the bridge open?",
        "In what year did the bridge open?",
        "Who built the bridge?",
        "Where is the harbour?",
        "When did the ferry start?",
        "What does the bridge cost?",
        "Which company runs the ferry?",
        "What is the harbour's capacity?",
        "Roughly how many people use the ferry?",
    ],
)
def test_factoid_and_amount_questions_are_not_explanations(question: str) -> None:
    assert not wants_explanation(analyze(question))


def test_empty_question_is_not_an_explanation() -> None:
    assert not wants_explanation(analyze("   "))


TOWN = (
    "The old bridge opened in 1911. The council closed it in 2023 because the cables had corroded. "
    "Engineers found rust in 14 of the 20 cables, and repairs would cost €7.50 million. "
    "A ferry now carries 38 tonnes of goods a day.\n\n"
    "Residents were consulted twice."
)


def test_a_why_answer_becomes_its_whole_sentence() -> None:
    answer = shape("Why did the council close the bridge?", TOWN, "the cables had corroded")
    assert answer == "The council closed it in 2023 because the cables had corroded."


def test_whole_sentences_start_and_end_on_sentence_boundaries() -> None:
    question = analyze("How did the engineers assess the cables?")
    sentences = split_sentences(TOWN)
    start = TOWN.index("rust in 14")
    new_start, new_end = shaped(question, TOWN, sentences, start, start + len("rust in 14"))
    assert (new_start, new_end) in {(s.start, s.end) for s in sentences}
    assert TOWN[new_start:new_end].startswith("Engineers found rust")
    assert TOWN[new_start:new_end].endswith("would cost €7.50 million.")


def test_a_span_over_two_sentences_becomes_exactly_those_two() -> None:
    answer = shape("Describe what happened to the bridge.", TOWN, "corroded. Engineers found rust")
    assert answer == (
        "The council closed it in 2023 because the cables had corroded. "
        "Engineers found rust in 14 of the 20 cables, and repairs would cost €7.50 million."
    )


def test_a_whole_sentence_is_left_as_it_is() -> None:
    sentence = "A ferry now carries 38 tonnes of goods a day."
    assert shape("What does the ferry do?", TOWN, sentence) == sentence


def test_a_span_starting_in_the_space_between_sentences_takes_only_the_next_one() -> None:
    answer = shape("Is there a ferry?", TOWN, " A ferry now carries")
    assert answer == " A ferry now carries 38 tonnes of goods a day."


def test_whole_sentences_do_not_cross_a_paragraph_break() -> None:
    answer = shape("Were the residents consulted?", TOWN, "consulted twice")
    assert answer == "Residents were consulted twice."


def test_a_span_in_text_without_sentences_is_unchanged() -> None:
    question = analyze("Why is it empty?")
    assert shaped(question, "   \n  ", [], 1, 3) == (1, 3)


@pytest.mark.parametrize(
    ("question", "text", "span", "expected"),
    [
        ("How much does a ticket cost?", "A ticket costs €7.50 at the gate.", "7.50", "€7.50"),
        ("How much did the scheme cost?", "The scheme cost $20.7 million in all.", "20.7", "$20.7 million"),
        ("How much did the scheme cost?", "The scheme cost $20.7 million in all.", "20.7 million", "$20.7 million"),
        ("How much was the grant?", "The grant was US$4.2 billion last year.", "4.2", "US$4.2 billion"),
        ("How much was the fee?", "The fee was £300 per year.", "300", "£300"),
        ("How much cargo moved?", "Over 3.3 million tons of cargo moved.", "3.3", "3.3 million tons"),
        ("How much cargo moved?", "Over 3.3 million tons of cargo moved.", "3.3 million", "3.3 million tons"),
        ("How much does the ferry carry?", "It carries 38 tonnes a day.", "38", "38 tonnes"),
        ("By what percentage did trade grow?", "Trade grew 12% last year.", "12", "12%"),
        ("By what percentage did trade grow?", "Trade grew 38.7 per cent last year.", "38.7", "38.7 per cent"),
        ("By what percentage did trade grow?", "Trade grew by 5 percent.", "5", "5 percent"),
        ("How many visitors came?", "About 46 thousand visitors came.", "46", "46 thousand"),
    ],
)
def test_amounts_keep_their_sign_scale_and_unit(question: str, text: str, span: str, expected: str) -> None:
    assert shape(question, text, span) == expected


@pytest.mark.parametrize(
    ("question", "text", "span"),
    [
        ("How many bridges cross the river?", "Four bridges cross the river, and 12 ferries run.", "12"),
        ("How many visitors came in 2024?", "In 2024, 80,924 visitors came.", "80,924"),
        ("What year did the bridge open?", "The bridge opened in 1911 after a long wait.", "1911"),
        ("How many cables rusted?", "Rust was found in 14 of the 20 cables.", "14"),
        ("Who runs the port?", "The port is run by Harbour Ltd.", "Harbour Ltd"),
    ],
)
def test_a_plain_number_or_name_is_unchanged(question: str, text: str, span: str) -> None:
    assert shape(question, text, span) == span


def test_part_of_a_longer_number_is_not_widened_into_a_unit() -> None:
    # The reader cut "200 tonnes" after "20": what follows is a digit, not the unit.
    assert shape("How much does the ferry carry?", "It carries 200 tonnes a day.", "20") == "20"


@pytest.mark.parametrize(
    ("text", "span", "expected"),
    [
        (
            "Universities such as the Azerbaijan Technical University (AzTU) sign memorandums.",
            "the Azerbaijan Technical University (AzTU",
            "the Azerbaijan Technical University (AzTU)",
        ),
        ("The fee (about 40 euros) is paid at the door.", "about 40 euros)", "(about 40 euros)"),
        ("See the report [annex 2] for more.", "report [annex", "report [annex 2]"),
        ("It is run (in part by Harbour Ltd.", "run (in part", "run (in part"),  # never closed: left as it is
        ("The port (see map) is run (badly) by them.", "The port (see", "The port (see map)"),
        ("One (a\nb) two.", "One (a", "One (a"),  # the bracket closes on another line only
        ("A (b) c (d) e.", "b) c (d", "(b) c (d)"),
    ],
)
def test_a_bracket_the_span_leaves_half_open_is_closed(text: str, span: str, expected: str) -> None:
    assert shape("Which universities sign memorandums?", text, span) == expected


def test_an_amount_the_reader_already_gave_whole_is_unchanged() -> None:
    text = "The scheme cost $20.7 million in all."
    assert shape("How much did the scheme cost?", text, "$20.7 million") == "$20.7 million"


_TEXT_PIECES = st.sampled_from(
    [
        "The ferry carries 38 tonnes.",
        " ",
        "\r\n",
        "\n\n",
        "€7.50",
        "$20.7 million",
        "US$4",
        "12%",
        "3.3 million tons",
        "Why? ",
        "Ms. Smith said so. ",
        "Çà et là, 東京 ",
        "— “quoted.” ",
        "- item\r\n",
        "1911. ",
        "(AzTU) ",
        " (about",
        "40 euros)",
        "[2]",
    ]
)
_TEXTS = st.one_of(
    st.lists(_TEXT_PIECES, max_size=12).map("".join),
    st.text(max_size=80),
    st.text(alphabet=st.sampled_from("ab 1.2%$€\r\n?!é東"), max_size=60),
)
_QUESTIONS = st.sampled_from(
    [
        "Why did it happen?",
        "How does it work?",
        "Does it carry goods?",
        "What does it do?",
        "How much does it carry?",
        "How many ferries are there?",
        "What year was it?",
        "Who said so?",
        "",
    ]
)


@settings(max_examples=300, deadline=None)
@given(question=_QUESTIONS, text=_TEXTS, data=st.data())
def test_shaping_stays_inside_the_text_and_only_cuts_at_a_clause(question: str, text: str, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(text)), label="start")
    end = data.draw(st.integers(start, len(text)), label="end")
    new_start, new_end = shaped(analyze(question), text, split_sentences(text), start, end)
    assert 0 <= new_start <= start and new_start <= new_end <= len(text)
    if new_end < end:  # only a number asked for is cut, and only where its clause ends, after a digit
        assert analyze(question).answer_type.is_numeric
        assert re.match(r"[,;]\s|\s[(–—]", text[new_end:end])
        assert any(ch.isdigit() for ch in text[start:new_end])
    else:
        assert text[start:end] in text[new_start:new_end]
    if not wants_explanation(analyze(question)) and _left_open(text[new_start:new_end]) == 1:
        # a bracket left open has no partner within reach on its line
        after = text[new_end : new_end + MAX_BRACKET_REACH]
        assert ")" not in after.split("\n")[0].split("(")[0]


def _left_open(answer: str) -> int:
    depth = 0
    for ch in answer:
        depth = depth + 1 if ch == "(" else max(depth - 1, 0) if ch == ")" else depth
    return depth


def _question_set() -> list[dict[str, object]]:
    return [json.loads(line) for line in SHAPE_QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_shape_question_set_quotes_its_documents_verbatim() -> None:
    records = _question_set()
    assert len({r["id"] for r in records}) == len(records)
    for record in records:
        answers = record["answers"]
        assert isinstance(answers, list)
        if not answers:
            continue
        assert isinstance(record["source"], str)
        assert isinstance(record["evidence"], str)
        text = (INTERVIEWS / record["source"]).read_text(encoding="utf-8")
        assert record["evidence"] in text, record["id"]
        for answer in answers:
            assert isinstance(answer, str)
            assert answer in text, (record["id"], answer)


def test_the_shape_question_sets_explanations_are_runs_of_whole_sentences() -> None:
    for record in _question_set():
        question = record["question"]
        assert isinstance(question, str)
        if not wants_explanation(analyze(question)):
            continue
        assert isinstance(record["source"], str)
        text = (INTERVIEWS / record["source"]).read_text(encoding="utf-8")
        sentences = split_sentences(text)
        starts = {s.start for s in sentences}
        ends = {s.end for s in sentences}
        answers = record["answers"]
        assert isinstance(answers, list)
        for answer in answers:
            assert isinstance(answer, str)
            at = text.index(answer)
            assert at in starts and at + len(answer) in ends, (record["id"], answer)


@pytest.mark.parametrize(
    ("question", "text", "span", "expected"),
    [
        ("How many visited?", "It was 80,924, an increase of 47% on 2023.", "80,924, an increase of 47%", "80,924"),
        ("How much was trade?", "Trade was $20.7 million; a record.", "$20.7 million; a record", "$20.7 million"),
        ("How many ships?", "There are 12 (twelve) ships.", "12 (twelve)", "12"),
        ("Who visited?", "Guests, mostly students, visited.", "Guests, mostly students", "Guests, mostly students"),
        ("How many sites?", "Sites: Baku, Sheki, and 3 more.", "Baku, Sheki, and 3", "Baku, Sheki, and 3"),
    ],
)
def test_a_number_asked_for_ends_with_its_clause(question: str, text: str, span: str, expected: str) -> None:
    assert shape(question, text, span) == expected
