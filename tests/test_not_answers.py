"""Text that is never an answer (headings, a document's own question lines) and names answered whole."""

from __future__ import annotations

import pytest

from citeqa.chat import Answerer, AnswerSettings
from citeqa.chat.names import whole_name
from citeqa.chat.not_answers import never_an_answer
from citeqa.index import Embedder, SearchIndex
from citeqa.ingest.sentences import Span, split_sentences

INTERVIEW = (
    "Collaboration\n"
    "How can media organizations from Pakistan and Azerbaijan collaborate?\n"
    "They can exchange journalists and produce joint documentaries.\r\n"
    "Education\r\n"
    "Which universities take part? Students of the University of Lahore study in Baku.\n"
    "I bought one in May. Did it last? It lasted three years.\n"
)


def _sentence_holding(text: str, words: str) -> Span:
    at = text.index(words)
    return next(s for s in split_sentences(text) if s.start <= at < s.end)


@pytest.mark.parametrize(
    ("words", "never"),
    [
        ("Collaboration", True),  # a heading: a short line of its own without closing punctuation
        ("How can media", True),  # the interview's own question line
        ("They can exchange", False),
        ("Education", True),  # a heading before CRLF
        ("Which universities", True),  # a question opening a line, answered on the same line
        ("Students of the", False),
        ("Did it last", False),  # a question inside a paragraph is the writer's own
        ("It lasted", False),
    ],
)
def test_headings_and_question_lines_are_never_answers(words: str, never: bool) -> None:
    assert never_an_answer(INTERVIEW, _sentence_holding(INTERVIEW, words)) is never


@pytest.mark.parametrize(
    ("text", "part", "whole"),
    [
        ("Students of the University of Lahore study in Baku.", "Lahore", "University of Lahore"),
        ("The exercise Indus Shield Alpha was held.", "Shield", "Indus Shield Alpha"),
        ("Pakistan and Azerbaijan signed it.", "Pakistan", "Pakistan"),  # two names, not one
        ("It cost 5 million in 2024.", "5 million", "5 million"),  # not a name: unchanged
        ("In Lahore, people met.", "Lahore", "Lahore"),  # a sentence's first word is not known to be a name
        # a bracket ends the name: what it holds is said of the name
        ("Its first president was Theodor Heuss (German: Theodor) of the FDP.", "Heuss", "Theodor Heuss"),
        ("The currency is the Kwacha (ISO 4217 code: ZMW) since 1968.", "Kwacha", "Kwacha"),
        ("Such as (Azerbaijan Technical University) sign.", "Technical", "Azerbaijan Technical University"),
        ("For healing we add Kona I think.", "Kona", "Kona"),  # the pronoun is no part of a name
    ],
)
def test_part_of_a_name_grows_to_the_whole_name(text: str, part: str, whole: str) -> None:
    start = text.index(part)
    grown = whole_name(text, start, start + len(part))
    assert text[grown[0] : grown[1]] == whole


QUESTIONS_LIKE_THE_TEXTS_OWN = [
    "How can media organizations from Pakistan and Azerbaijan collaborate?",
    "What do you think about cooperation between Pakistan and Azerbaijan?",
    "Collaboration",
    "How do you assess the relations between Pakistan and Azerbaijan?",
]


def test_no_answer_is_a_heading_or_a_question_line(interviews: SearchIndex, embedder: Embedder) -> None:
    """Questions worded like the interviews' own question lines and headings: every candidate the answerer
    weighs, not only the answer, lies outside them."""
    answerer = Answerer(interviews, embedder, AnswerSettings(min_confidence=0.0))
    retrieved = answerer.retrieve_batch(QUESTIONS_LIKE_THE_TEXTS_OWN)
    every = answerer.candidates_batch(list(zip(QUESTIONS_LIKE_THE_TEXTS_OWN, retrieved, strict=True)))
    for candidates in every:
        assert candidates
        for c in candidates:
            text = interviews.documents[c.source].text
            sentences = [s for s in interviews.sentences[c.source] if s.start < c.span.end and c.span.start < s.end]
            assert not any(never_an_answer(text, s) for s in sentences), text[c.span.start : c.span.end]
