"""Answer spans on sentences written for these tests: each rule, on text it was not tuned on."""

from __future__ import annotations

from dataclasses import replace

import pytest

from citeqa.chat import AnswerType, analyze
from citeqa.chat.span_kinds import KIND_FIT, NUMBER_KINDS, Fit, SpanKind, fit_of, kind_fit
from citeqa.chat.spans import extract


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


def test_every_row_of_the_fit_table_weighs_every_span_kind() -> None:
    for fit, row in KIND_FIT.items():
        assert len(row) == len(SpanKind), f"{fit} weighs {len(row)} kinds, not the {len(SpanKind)} there are"
    assert set(KIND_FIT) == set(Fit)


@pytest.mark.parametrize("answer_type", list(AnswerType))
def test_every_answer_type_reads_a_row_that_prefers_its_own_kind_of_span(answer_type: AnswerType) -> None:
    question = replace(analyze("What is it?"), answer_type=answer_type)
    row = KIND_FIT[fit_of(question)]
    best = max(SpanKind, key=lambda kind: kind_fit(fit_of(question), kind))
    assert (best in NUMBER_KINDS) == answer_type.is_numeric  # numbers for numeric questions, words for the rest
    assert max(row) > 0
