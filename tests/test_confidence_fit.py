"""Fitting the confidence model and its threshold (eval/fit_confidence.py): the logistic fit learns which way a
feature points, the threshold is the one with the best overall F1, and what is written loads back the same."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from citeqa.chat.confidence import CONFIDENCE_FILE, FEATURE_NAMES, CandidateFeatures, ConfidenceModel, fit
from citeqa.eval.fit_confidence import Rows, best_threshold, fit_and_write, pooled


def features(margin: float, rank: float = 0.0) -> CandidateFeatures:
    values = dict.fromkeys(FEATURE_NAMES, 0.0)
    return CandidateFeatures(**{**values, "margin": margin, "passage_rank": rank})


def noisy_rows(seed: int, questions: int = 200) -> Rows:
    """Questions with three candidates each; a candidate is right more often the larger its margin and the
    earlier its passage."""
    rng = random.Random(seed)
    rows = Rows([], [], [], [])
    for q in range(questions):
        numbers, f1s = [], []
        for rank in range(3):
            margin = rng.gauss(0.0, 2.0)
            right = rng.random() < 1 / (1 + 2.718 ** -(1.5 * margin - 0.8 * rank))
            numbers.append(len(rows.features))
            f1s.append(1.0 if right else 0.0)
            rows.features.append(features(margin, float(rank)))
            rows.labels.append(right)
            rows.texts.append(f"answer {q}.{rank}")
        rows.questions.append((True, numbers, f1s))
    return rows


def test_the_fit_learns_which_way_each_feature_points() -> None:
    rows = noisy_rows(seed=1)
    model = fit(rows.features, rows.labels)
    assert model.weights["margin"] > 0.5, model.weights
    assert model.weights["passage_rank"] < -0.2, model.weights
    assert all(abs(model.weights[n]) < 1e-6 for n in FEATURE_NAMES if n not in ("margin", "passage_rank"))
    assert model.probability(features(3.0)) > 0.9 > 0.1 > model.probability(features(-3.0))


def test_the_threshold_is_the_one_with_the_best_overall_f1() -> None:
    """Answerable questions answered right at 0.80 and 0.60 and wrong at 0.70; unanswerable ones at 0.30 and 0.65.
    Answering from 0.60 scores 1 + 1 + 0 + (abstained) 1 + 0 = 3 of 5; from 0.65, 2; from 0.70 or 0.80, 3 again
    (the lowest best threshold is kept); answering everything, 2."""
    rows = Rows([], [], [], [])
    cases = ((True, 0.8, 1.0), (True, 0.6, 1.0), (True, 0.7, 0.0), (False, 0.3, 0.0), (False, 0.65, 0.0))
    for answerable, probability, f1 in cases:
        rows.questions.append((answerable, [len(rows.features)], [f1]))
        # A model whose probability is sigmoid(margin): the margin is the probability's logit (a hair above it,
        # so that the rounded threshold does not fall just over the probability).
        rows.features.append(features(_logit(probability + 4e-4)))
        rows.labels.append(f1 >= 0.5)
        rows.texts.append("x")
    logistic = ConfidenceModel({"margin": 1.0}, {"margin": 0.0}, {"margin": 1.0}, 0.0, {})
    threshold, overall = best_threshold(logistic, rows)
    assert threshold == pytest.approx(0.6, abs=1e-3)
    assert overall == pytest.approx(3 / 5)


def _logit(p: float) -> float:
    import math

    return math.log(p / (1 - p))


def test_a_written_model_loads_back_with_its_threshold_and_the_sets_it_was_fitted_on(tmp_path: Path) -> None:
    sets = {"a-calibrate": noisy_rows(seed=2, questions=60), "a-calibrate-cut": noisy_rows(seed=3, questions=40)}
    written = fit_and_write(sets, tmp_path, say=lambda _: None)
    loaded = ConfidenceModel.load(tmp_path / CONFIDENCE_FILE)
    assert loaded == written and loaded.threshold is not None and 0.0 <= loaded.threshold <= 1.0
    assert loaded.fitted_on["sets"]["a-calibrate-cut"] == {"questions": 40, "candidates": 120, "right": sum(
        sets["a-calibrate-cut"].labels
    )}  # fmt: skip
    assert not list(tmp_path.glob(".*.tmp")), "written whole, then moved into place"


def test_pooled_rows_keep_each_question_pointing_at_its_own_candidates() -> None:
    first, second = noisy_rows(seed=4, questions=3), noisy_rows(seed=5, questions=2)
    every = pooled({"first": first, "second": second})
    assert len(every.features) == len(every.labels) == len(every.texts) == 15
    _, numbers, _ = every.questions[3]  # the second set's first question
    assert [every.texts[n] for n in numbers] == [second.texts[n] for n in second.questions[0][1]]
