"""The sentence model: fitted listwise it ranks the sentence that answers first; a feature switched off or unknown
moves nothing; a bad model file is a clear error; the shipped one was fitted on training articles only; the answerer
ranks with it, and with the hand-set weights when it is switched off."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import pytest

from citeqa.chat import Answerer
from citeqa.chat.evidence import SENTENCE_FEATURE_NAMES, SentenceFeatures, find_evidence
from citeqa.chat.question import analyze
from citeqa.chat.reader import READER_DIR
from citeqa.chat.sentence_model import SENTENCE_MODEL_FILE, SentenceModel, fit
from citeqa.chat.settings import AnswerSettings
from citeqa.errors import CiteqaError
from citeqa.index import Embedder, SearchIndex

BASE = SentenceFeatures(
    own=0.2, around=0.1, leans_back=False, phrase_hits=0.0, phrases_asked=2, passage=0.4, rank=3, verb=False,
    is_question=False, heading=False, pinned=True, number_fit=0.0, words=20, dense=0.3,
)  # fmt: skip


def synthetic(questions: int, seed: int) -> tuple[list[SentenceFeatures], list[int], list[bool]]:
    """Ten sentences a question; the one that answers shares more of the question's words and meaning."""
    rng = random.Random(seed)
    rows, numbers, labels = [], [], []
    for q in range(questions):
        right = rng.randrange(10)
        for n in range(10):
            lift = 0.35 if n == right else 0.0
            rows.append(
                replace(
                    BASE,
                    own=min(1.0, rng.random() * 0.5 + lift),
                    dense=rng.random() * 0.4 + lift,
                    passage=rng.random(),
                    rank=rng.randrange(20),
                    words=rng.randrange(5, 40),
                )
            )
            numbers.append(q)
            labels.append(n == right)
    return rows, numbers, labels


def top1(model: SentenceModel, rows: list[SentenceFeatures], numbers: list[int], labels: list[bool]) -> float:
    best: dict[int, tuple[float, bool]] = {}
    for row, q, label in zip(rows, numbers, labels, strict=True):
        score = model.score(row)
        if q not in best or score > best[q][0]:
            best[q] = (score, label)
    return sum(label for _, label in best.values()) / len(best)


def test_a_fitted_model_ranks_the_answering_sentence_first_on_questions_it_never_saw() -> None:
    model = fit(*synthetic(200, seed=1))
    assert model.weights["own"] > 0 and model.weights["dense"] > 0
    assert abs(model.weights["rank"]) < model.weights["own"]  # noise weighs less than signal
    assert top1(model, *synthetic(200, seed=2)) > 0.9


def test_a_disabled_or_unknown_feature_is_held_at_its_mean() -> None:
    model = fit(*synthetic(50, seed=3))
    at_mean = replace(BASE, dense=model.means["dense"])
    assert model.score(replace(BASE, dense=None)) == pytest.approx(model.score(at_mean))
    assert model.score(BASE, disabled=("dense",)) == pytest.approx(model.score(at_mean))
    assert model.score(replace(BASE, dense=0.9), disabled=("dense",)) == pytest.approx(model.score(at_mean))


def test_top_k_rates_count_questions_whose_right_sentence_ranks_within_k() -> None:
    from citeqa.eval.fit_sentences import SentenceRows, top_k_rates

    rows = SentenceRows(
        features=[replace(BASE, own=o) for o in (0.9, 0.5, 0.1, 0.9, 0.5, 0.1)],
        questions=[0, 0, 0, 1, 1, 1],
        labels=[True, False, False, False, False, True],  # first by `own` in question 0, last in question 1
        asked=3,  # a third question had no candidate holding its answer: it counts as missed
    )
    assert top_k_rates(rows, lambda f: f.own, (1, 2, 3)) == [1 / 3, 1 / 3, 2 / 3]


def test_training_rows_need_every_feature() -> None:
    rows, numbers, labels = synthetic(5, seed=4)
    rows[3] = replace(rows[3], dense=None)
    with pytest.raises(ValueError, match="every feature"):
        fit(rows, numbers, labels)


def test_a_missing_or_foreign_model_file_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(CiteqaError, match=r"sentence model .* is missing") as missing:
        SentenceModel.load(tmp_path / SENTENCE_MODEL_FILE)
    assert "make train" in missing.value.hint
    model = fit(*synthetic(20, seed=5))
    path = tmp_path / SENTENCE_MODEL_FILE
    path.write_text(json.dumps(model.to_dict()))
    assert SentenceModel.load(path) == model
    foreign = model.to_dict()
    foreign["weights"]["charisma"] = 1.0
    path.write_text(json.dumps(foreign))
    with pytest.raises(CiteqaError, match="names features citeqa does not have"):
        SentenceModel.load(path)
    path.write_text("{not json")
    with pytest.raises(CiteqaError, match="unreadable"):
        SentenceModel.load(path)


def test_the_shipped_model_weighs_every_feature_and_was_fitted_on_training_articles_only() -> None:
    model = SentenceModel.load(READER_DIR / SENTENCE_MODEL_FILE)
    assert set(model.weights) == set(SENTENCE_FEATURE_NAMES)
    sets = model.fitted_on["sets"]
    assert sets and all(name.endswith("-train") for name in sets)  # never the calibrate or test articles
    assert model.weights["own"] > 0 and model.weights["dense"] > 0


QUESTION = "How many Pakistani citizens visited Azerbaijan in 2024?"


def test_the_answerer_ranks_sentences_with_the_model_and_by_hand_with_it_switched_off(
    interviews: SearchIndex, embedder: Embedder
) -> None:
    learned = Answerer(interviews, embedder, AnswerSettings())
    by_hand = Answerer(interviews, embedder, AnswerSettings(disabled=("sentence-model",)))
    assert learned.sentence_model is not None and by_hand.sentence_model is None
    described = learned.describe()  # what eval's metrics.json and the API's health record
    assert described["sentence_model"] == learned.sentence_model.fitted_on and described["sentence_vectors"]
    passages = learned.retrieve_batch([QUESTION])[0]
    query = embedder.encode_queries([QUESTION])[0]
    question, stems = analyze(QUESTION), interviews.store.stems
    hand = find_evidence(question, passages, interviews, learned.weights, stems)
    model = learned.sentence_model

    def scored(features: SentenceFeatures) -> float:
        assert features.dense is not None  # the index keeps sentence vectors: the dense feature is known
        return model.score(features)

    fitted = find_evidence(question, passages, interviews, learned.weights, stems, (), scored, query)
    assert {(e.source, e.sentence) for e in hand} == {(e.source, e.sentence) for e in fitted}
    assert by_hand._plan(QUESTION, passages).evidence == hand
    assert learned._plan(QUESTION, passages, query).evidence == fitted
    assert learned.answer(QUESTION).text == by_hand.answer(QUESTION).text == "80,924"


@pytest.mark.slow
def test_fitting_on_a_small_training_set_writes_a_model_that_ranks_its_gold_sentences(tmp_path: Path) -> None:
    """The fit end to end: a SQuAD training article indexed for real, its questions' candidate sentences
    labelled by the gold answer's offsets, a model written that ranks the gold sentence above the average."""
    from citeqa.eval.fit_sentences import fit_sentence_model, sentence_rows
    from citeqa.eval.reader_data import load_squad, select
    from citeqa.eval.splits import write_split
    from citeqa.eval.train_cli import DEFAULT_SQUAD, SQUAD_HELD_OUT, split_corpus

    train = split_corpus(load_squad(DEFAULT_SQUAD, "squad2-train"), SQUAD_HELD_OUT)["train"]
    first = sorted(train.texts)[0]
    small = select(train, [first])
    small.items[:] = [item for item in small.items if item.answers][:40]
    questions, corpus = write_split(small, tmp_path / "tiny")
    model = fit_sentence_model([("tiny-train", questions, corpus)], tmp_path, tmp_path / "out", say=lambda _: None)
    assert SentenceModel.load(tmp_path / "out" / SENTENCE_MODEL_FILE) == model
    assert model.fitted_on["sets"]["tiny-train"]["questions"] == 40
    rows = sentence_rows(questions, corpus, tmp_path / "index-tiny-train")
    assert all(row.dense is not None for row in rows.features)  # the index keeps sentence vectors
    by_question: dict[int, list[tuple[float, bool]]] = {}
    for features, q, label in zip(rows.features, rows.questions, rows.labels, strict=True):
        by_question.setdefault(q, []).append((model.score(features), label))
    ranks = []
    for scored in by_question.values():
        order = sorted(scored, key=lambda m: -m[0])
        ranks += [position / len(order) for position, (_, label) in enumerate(order) if label]
    assert ranks and sum(ranks) / len(ranks) < 0.2  # gold sentences near the top, not at the average (0.5)
