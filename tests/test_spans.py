"""Answer spans on sentences written for these tests: each rule, on text it was not tuned on."""

from __future__ import annotations

import pytest

from chat import AnswerType, analyze
from chat.spans import extract


def span(sentence: str, question: str) -> str:
    found = extract(sentence, 0, len(sentence), analyze(question), lambda term: 1.0)
    return sentence[found.start : found.end]


@pytest.mark.parametrize(
    ("sentence", "question", "expected"),
    [
        (
            "The two firms have expanded long-haul freight rail services across the region.",
            "What kind of rail services have the firms expanded?",
            "long-haul freight rail services",
        ),
        (
            "The city is promoting the idea of Smart Harbour to attract investors.",
            "What maritime idea is the city promoting?",
            "Smart Harbour",
        ),
        (
            "They include soil testing, crop insurance, drip irrigation, and other farm services.",
            "Which farm services do they include?",
            "soil testing, crop insurance, drip irrigation, and other farm services",
        ),
        (
            "Delegates met on the sidelines of the Global Water Summit in Lisbon last week.",
            "At which event in Lisbon did the delegates meet?",
            "Global Water Summit",
        ),
    ],
)
def test_spans_narrow_to_what_the_question_asks(sentence: str, question: str, expected: str) -> None:
    assert span(sentence, question) == expected


def test_an_enumerator_is_not_a_number() -> None:
    sentence = "Third, about 40 percent of the budget goes to schools."
    assert span(sentence, "What share of the budget goes to schools?") == "about 40 percent"


def test_questions_are_typed_by_the_noun_after_a_copula() -> None:
    assert analyze("What is the population of Norway?").answer_type is AnswerType.COUNT
    assert analyze("What is the length of the bridge?").answer_type is AnswerType.QUANTITY
    assert analyze("What kinds of routes are planned?").asks_kind


def test_a_copula_question_does_not_end_on_a_verb() -> None:
    assert analyze("What share of the staff is young people?").verb is None
    assert analyze("Which measures did the council approve?").verb == "approve"
