from __future__ import annotations

import json

import pytest
from citations import assert_cited_verbatim

from citeqa.chat import Answer, Answerer, QuestionError
from citeqa.errors import CiteqaError
from citeqa.eval import load_questions
from citeqa.paths import BUNDLED_QUESTIONS

QUESTIONS = load_questions(BUNDLED_QUESTIONS)


def _answer_all(answerer: Answerer) -> dict[str, Answer]:
    batch = answerer.answer_batch([q.question for q in QUESTIONS])
    return {q.id: a for q, a in zip(QUESTIONS, batch, strict=True)}


@pytest.fixture(scope="module")
def answers(answerer: Answerer) -> dict[str, Answer]:
    return _answer_all(answerer)


def test_every_dev_answer_is_a_verbatim_citation(answers: dict[str, Answer], answerer: Answerer) -> None:
    for answer in answers.values():
        assert_cited_verbatim(answer, lambda source: answerer.index.documents[source].text)
        assert 0.0 <= answer.confidence <= 1.0
        assert (answer.text is None) == answer.abstained
        assert len(answer.passages) == 5


def test_questions_the_documents_do_not_answer_are_abstained(answerer: Answerer) -> None:
    # Reader v2 answers dev's three unanswerable questions (each asks for a kind of thing the interviews hold for
    # something else: a name, a number, a figure for another year); see docs/training.md. Questions on things
    # the interviews never touch are abstained on.
    for question in ("Who won the 2018 FIFA World Cup?", "What is the boiling point of water?"):
        answer = answerer.answer(question)
        assert answer.abstained and answer.confidence < answerer.min_confidence and answer.passages


def test_the_answer_passage_comes_first(answers: dict[str, Answer]) -> None:
    for answer in answers.values():
        if answer.abstained:
            continue
        first = answer.passages[0].chunk
        citation = answer.citations[0]
        assert first.source == citation.source and first.start <= citation.start < citation.end <= first.end


def test_answers_to_dict_follow_the_contract(answers: dict[str, Answer]) -> None:
    data = answers["dev-014"].to_dict()
    assert set(data) == {
        "question",
        "asked",
        "searched_for",
        "notice",
        "answer",
        "abstained",
        "confidence",
        "citations",
        "passages",
    }
    assert data["asked"] == data["question"] and data["notice"] is None and data["searched_for"] is None
    assert set(data["citations"][0]) == {
        "source",
        "title",
        "text",
        "start",
        "end",
        "quote",
        "quote_start",
        "quote_end",
        "page",
    }
    assert data["citations"][0]["text"] == data["answer"]
    assert set(data["passages"][0]) == {"source", "start", "end", "score", "text"}
    abstained = next(a for a in answers.values() if a.abstained).to_dict()
    assert abstained["answer"] is None and abstained["abstained"] is True and abstained["citations"] == []


def test_answers_round_trip_through_their_dicts(answers: dict[str, Answer]) -> None:
    for answer in answers.values():
        data = answer.to_dict()
        again = Answer.from_dict(json.loads(json.dumps(data)))
        assert again.to_dict() == data and again.abstained == answer.abstained
        assert [p.chunk.id for p in again.passages] == [p.chunk.id for p in answer.passages]  # ids are content hashes


@pytest.mark.parametrize(
    "broken", [{}, {"question": "q", "answer": None}, {"question": "q", "answer": "a", "confidence": "high"}]
)
def test_a_malformed_answer_dict_is_a_clear_error(broken: dict[str, object]) -> None:
    with pytest.raises(CiteqaError, match="not an answer of the answer contract"):
        Answer.from_dict(broken)


@pytest.mark.parametrize(
    ("question", "message"),
    [("", "empty"), ("   \n\t", "empty"), ("x" * 1001, "limit is 1,000"), ("why\x00", "NUL")],
)
def test_bad_questions_get_a_clear_error(answerer: Answerer, question: str, message: str) -> None:
    with pytest.raises(QuestionError, match=message):
        answerer.answer(question)


def test_questions_without_content_words_do_not_crash(answerer: Answerer) -> None:
    for question in ("?", "what is it?", "the the the", "1992?", "<script>alert(1)</script>"):
        assert_cited_verbatim(answerer.answer(question), lambda source: answerer.index.documents[source].text)
