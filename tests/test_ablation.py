"""Ablation switches: each component of the answerer can be turned off, and off means off."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from conftest import CliRun

from citeqa.chat import Answerer
from citeqa.chat.confidence import FEATURE_NAMES
from citeqa.chat.settings import COMPONENTS, AnswerSettings
from citeqa.errors import CiteqaError
from citeqa.eval.cli import run_command
from citeqa.index import Embedder, SearchIndex

QUESTION = "How many Pakistani citizens visited Azerbaijan in 2024?"


def test_unknown_components_and_features_are_refused() -> None:
    with pytest.raises(CiteqaError, match="unknown component 'magic'"):
        AnswerSettings(disabled=("shape", "magic"))  # type: ignore[arg-type]
    with pytest.raises(CiteqaError, match="unknown feature 'charisma'"):
        AnswerSettings(disabled_features=("margin", "charisma"))  # type: ignore[arg-type]


def test_the_eval_options_offer_every_component_and_feature() -> None:
    for name, offered in (("disable", COMPONENTS), ("disable_feature", FEATURE_NAMES)):
        option = next(p for p in run_command.params if p.name == name)
        assert isinstance(option.type, click.Choice) and tuple(option.type.choices) == offered


def test_without_shape_an_explanation_is_the_readers_bare_span(interviews: SearchIndex, embedder: Embedder) -> None:
    question = "Why is the Middle Corridor important for Pakistan and Azerbaijan?"
    shaped = Answerer(interviews, embedder, AnswerSettings(min_confidence=0.0)).answer(question)
    bare = Answerer(interviews, embedder, AnswerSettings(disabled=("shape",), min_confidence=0.0)).answer(question)
    assert shaped.text is not None and bare.text is not None
    assert shaped.text == shaped.citations[0].quote, "whole sentences"
    # Off, the span is the reader's own, a part of its sentence. (Which sentence wins may differ too: the answer's
    # length is a confidence feature, and reader v6 ranks another sentence first without shape.)
    quote = bare.citations[0].quote
    assert bare.text in quote and len(bare.text) < len(quote)


def test_the_reader_reads_as_many_passages_as_asked(interviews: SearchIndex, embedder: Embedder) -> None:
    for read in (1, 3):
        answerer = Answerer(interviews, embedder, AnswerSettings(read_passages=read, min_confidence=0.0))
        passages = answerer.retrieve_batch([QUESTION])[0]
        candidates = answerer.candidates_batch([(QUESTION, passages)])[0]
        assert candidates and all(c.features.passage_rank < read for c in candidates)
        assert len(candidates) > read, "every sentence's best span is a candidate, not only each passage's best"


def test_eval_records_what_was_disabled(cli: CliRun, index_env: Path, tmp_path: Path) -> None:
    questions = tmp_path / "one.jsonl"
    questions.write_text(json.dumps({"id": "q1", "question": QUESTION, "answers": ["80,924"]}) + "\n")
    out = tmp_path / "run"
    code, _, err = cli(
        "eval", str(questions), "--out", str(out), "--disable", "shape", "--disable", "names",
        "--disable-feature", "passage_rank", "--read-passages", "4",
    )  # fmt: skip
    assert code == 0, err
    answer = json.loads((out / "metrics.json").read_text())["config"]["answer"]
    assert answer["disabled"] == ["names", "shape"] and answer["disabled_features"] == ["passage_rank"]
    assert answer["read_passages"] == 4
    code, _, err = cli("eval", str(questions), "--out", str(tmp_path / "bad"), "--read-passages", "0")
    assert code == 2 and "--read-passages" in err


def test_stated_share_counts_the_question_words_a_text_states() -> None:
    from citeqa.chat.answerer import stated_share
    from citeqa.chat.question import analyze

    question = analyze("What was the trade turnover between Pakistan and Azerbaijan in 2019?")
    said = "Trade turnover between Azerbaijan and Pakistan reached $20.7 million in 2025."
    assert stated_share(question, said) == pytest.approx(4 / 5), "all but the year: 2019 is not 2025"
    assert stated_share(question, said.replace("2025", "2019")) == 1.0
    assert stated_share(question, "Nothing here.") == 0.0
    assert stated_share(analyze("What is it?"), "Anything.") == 1.0, "no content words: nothing is missing"


def test_a_confidence_model_without_the_newer_features_ignores_them() -> None:
    """A model fitted before a feature existed loads and scores as it did: features it has no weight for."""
    from citeqa.chat.confidence import CandidateFeatures, ConfidenceModel

    older = [n for n in FEATURE_NAMES if n != "sentence_terms"]
    model = ConfidenceModel(dict.fromkeys(older, 1.0), dict.fromkeys(older, 0.0), dict.fromkeys(older, 1.0), 0.0, {})
    values = dict.fromkeys(older, 0.0)
    low = CandidateFeatures(**values, sentence_terms=0.0)
    high = CandidateFeatures(**values, sentence_terms=1.0)
    assert model.probability(low) == model.probability(high) == 0.5
