"""Fit the confidence model (chat/confidence.py) on questions the reader never trained on.

Each calibration set is indexed as a user's collection would be and every question is answered by the real
pipeline with the trained reader; every candidate (the reader's best span in each window, in the shape the
question asks for) becomes one row, labelled right when its token F1 against a gold answer is at least 0.5, or,
for a question that wants an explanation, when its sentences hold a gold answer (never, for an unanswerable one).
The fitted model then both chooses among a question's candidates and gives the answer's confidence.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from citeqa.chat.confidence import CONFIDENCE_FILE, CandidateFeatures, ConfidenceModel, fit
from citeqa.chat.reader import READER_DIR, SpanReader
from citeqa.chat.sentence_model import SENTENCE_MODEL_FILE, SentenceModel
from citeqa.chat.settings import AnswerSettings

from .metrics import best_f1, contains_answer
from .questions import load_questions
from .reliability import RIGHT_F1


@dataclass(frozen=True, slots=True)
class Rows:
    features: list[CandidateFeatures]
    labels: list[bool]
    questions: int


def is_right(answer: str, gold: Sequence[str], explains: bool) -> bool:
    """Close enough to a gold answer; for a question that wants an explanation, whole sentences holding one."""
    if not gold:
        return False
    return contains_answer(answer, gold) if explains else best_f1(answer, gold) >= RIGHT_F1


def candidate_rows(
    questions: Path, corpus: Path, index_dir: Path, reader: SpanReader, sentences: SentenceModel
) -> Rows:
    """Features and labels of every candidate of every question of one calibration set."""
    from citeqa.chat.answerer import Answerer
    from citeqa.index.corpus import index_corpus
    from citeqa.index.embedder import Embedder
    from citeqa.index.manifest import IndexSettings

    index_settings = IndexSettings()
    embedder = Embedder(index_settings.model)
    index, _ = index_corpus(corpus, index_settings, embedder, index_dir)
    neutral = ConfidenceModel.neutral()
    answerer = Answerer(index, embedder, AnswerSettings(min_confidence=0.0), reader, neutral, sentences)
    items = load_questions(questions)
    retrieved = answerer.retrieve_batch([item.question for item in items])
    features: list[CandidateFeatures] = []
    labels: list[bool] = []
    for item, passages in zip(items, retrieved, strict=True):
        for row, source, span in answerer.candidates_of(item.question, passages):
            text = index.documents[source].text
            features.append(row)
            labels.append(is_right(text[span.start : span.end], item.answers, explains=row.explains == 1.0))
    return Rows(features, labels, len(items))


def fit_confidence(
    sets: Sequence[tuple[str, Path, Path]],
    work_dir: Path,
    out_dir: Path = READER_DIR,
    say: Callable[[str], None] = print,
) -> ConfidenceModel:
    """Fit on every (name, questions, corpus) set with the reader in out_dir; write out_dir/confidence.json."""
    reader = SpanReader(out_dir)
    sentences = SentenceModel.load(out_dir / SENTENCE_MODEL_FILE)  # fitted before, with the same reader
    features: list[CandidateFeatures] = []
    labels: list[bool] = []
    record: dict[str, Any] = {}
    for name, questions, corpus in sets:
        rows = candidate_rows(questions, corpus, work_dir / f"index-{name}", reader, sentences)
        features += rows.features
        labels += rows.labels
        record[name] = {"questions": rows.questions, "candidates": len(rows.labels), "right": sum(rows.labels)}
        say(f"{name}: {rows.questions} questions, {len(rows.labels)} candidates, {sum(rows.labels)} right")
    model = fit(features, labels, fitted_on={"sets": record, "right_f1": RIGHT_F1})
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / f".{CONFIDENCE_FILE}.tmp"
    tmp.write_text(json.dumps(model.to_dict(), indent=2) + "\n", encoding="utf-8")
    tmp.replace(out_dir / CONFIDENCE_FILE)
    say("weights: " + ", ".join(f"{n} {w:+.3f}" for n, w in model.weights.items()) + f"; bias {model.bias:+.3f}")
    return model
