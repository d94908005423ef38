"""Ablation switches: each component of the answerer can be turned off, and off means off."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from conftest import CliRun

from citeqa.chat import Answerer
from citeqa.chat.evidence import SENTENCE_FEATURE_NAMES
from citeqa.chat.settings import COMPONENTS, AnswerSettings
from citeqa.errors import CiteqaError
from citeqa.eval.cli import run_command
from citeqa.index import Embedder, SearchIndex

QUESTION = "How many Pakistani citizens visited Azerbaijan in 2024?"


def test_unknown_components_are_refused() -> None:
    with pytest.raises(CiteqaError, match="unknown component 'magic'"):
        AnswerSettings(disabled=("spans", "magic"))  # type: ignore[arg-type]


def test_unknown_sentence_features_are_refused_and_eval_offers_every_one() -> None:
    with pytest.raises(CiteqaError, match="unknown sentence feature 'charisma'"):
        AnswerSettings(disabled_sentence_features=("dense", "charisma"))
    option = next(p for p in run_command.params if p.name == "disable_sentence_feature")
    assert isinstance(option.type, click.Choice)
    assert tuple(option.type.choices) == SENTENCE_FEATURE_NAMES


def test_the_eval_option_offers_every_component() -> None:
    option = next(p for p in run_command.params if p.name == "disable")
    assert isinstance(option.type, click.Choice)
    assert tuple(option.type.choices) == COMPONENTS


def test_without_spans_the_rules_answer_the_whole_sentence(interviews: SearchIndex, embedder: Embedder) -> None:
    full = Answerer(interviews, embedder, AnswerSettings(disabled=("reader",))).answer(QUESTION)
    plain = Answerer(interviews, embedder, AnswerSettings(disabled=("reader", "spans"), min_confidence=0.0)).answer(
        QUESTION
    )
    assert full.text == "80,924"
    assert plain.citations and plain.text == plain.citations[0].quote
    assert full.text in plain.text


def test_without_rerank_passages_keep_their_retrieval_order(interviews: SearchIndex, embedder: Embedder) -> None:
    answerer = Answerer(interviews, embedder, AnswerSettings(disabled=("rerank",)))
    retrieved = answerer.retrieve_batch([QUESTION])[0]
    answer = answerer.answer(QUESTION)
    assert list(answer.passages) == retrieved[: answerer.settings.k]


def test_without_pins_the_rules_answer_a_question_about_another_year(
    interviews: SearchIndex, embedder: Embedder
) -> None:
    question = "What was the bilateral trade turnover between Pakistan and Azerbaijan in 2019?"
    assert Answerer(interviews, embedder, AnswerSettings(disabled=("reader",))).answer(question).abstained
    unpinned = AnswerSettings(disabled=("reader", "pins"))
    assert not Answerer(interviews, embedder, unpinned).answer(question).abstained


def test_without_shape_an_explanation_is_the_readers_bare_span(interviews: SearchIndex, embedder: Embedder) -> None:
    question = "What does the Pakistan Startup Fund do?"
    shaped = Answerer(interviews, embedder, AnswerSettings(min_confidence=0.0)).answer(question)
    bare = Answerer(interviews, embedder, AnswerSettings(disabled=("shape",), min_confidence=0.0)).answer(question)
    assert shaped.text is not None and bare.text is not None
    assert shaped.text == shaped.citations[0].quote, "whole sentences"
    assert bare.text in shaped.text and len(bare.text) < len(shaped.text)


def test_without_choice_the_reader_reads_one_window(interviews: SearchIndex, embedder: Embedder) -> None:
    answerer = Answerer(interviews, embedder, AnswerSettings(disabled=("choice",), min_confidence=0.0))
    passages = answerer.retrieve_batch([QUESTION])[0]
    assert len(answerer.candidates_of(QUESTION, passages)) == 1


def test_eval_records_what_was_disabled(cli: CliRun, index_env: Path, tmp_path: Path) -> None:
    questions = tmp_path / "one.jsonl"
    questions.write_text(json.dumps({"id": "q1", "question": QUESTION, "answers": ["80,924"]}) + "\n")
    out = tmp_path / "run"
    code, _, err = cli("eval", str(questions), "--out", str(out), "--disable", "spans", "--disable", "pins")
    assert code == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["answer"]["disabled"] == ["pins", "spans"]


def test_eval_reads_as_many_windows_as_asked_and_records_it(cli: CliRun, index_env: Path, tmp_path: Path) -> None:
    questions = tmp_path / "one.jsonl"
    questions.write_text(json.dumps({"id": "q1", "question": QUESTION, "answers": ["80,924"]}) + "\n")
    out = tmp_path / "run"
    code, _, err = cli("eval", str(questions), "--out", str(out), "--windows", "5")
    assert code == 0, err
    assert json.loads((out / "metrics.json").read_text())["config"]["answer"]["windows"] == 5
    code, _, err = cli("eval", str(questions), "--out", str(tmp_path / "bad"), "--windows", "0")
    assert code == 2 and "--windows" in err
