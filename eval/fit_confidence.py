"""Fit the confidence model (chat/confidence.py) and its abstention threshold on questions the reader never
trained on.

Each calibration set is indexed as a user's collection would be and every question is answered by the real
pipeline with the trained reader; every candidate (the reader's best span in each passage it read, in the shape
the question asks for) becomes one row, labelled right when its token F1 against a gold answer is at least 0.5,
or, for a question that wants an explanation, when its sentences hold a gold answer (never, for an unanswerable
one). The sets include unanswerable questions: SQuAD 2.0's and SubjQA's, and questions asked of a collection
from which their answer's paragraph was cut. The threshold is the one that gives the best overall F1 (SQuAD 2.0
style: abstaining on an unanswerable question scores 1) over all the calibration questions.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from citeqa.chat.confidence import CONFIDENCE_FILE, CandidateFeatures, ConfidenceModel, fit
from citeqa.chat.reader import READER_DIR, SpanReader
from citeqa.chat.settings import AnswerSettings

from .metrics import best_f1, contains_answer
from .questions import load_questions
from .reliability import RIGHT_F1


@dataclass(frozen=True, slots=True)
class Rows:
    """Every candidate of every question of a set, and per question the candidates' rows and F1s."""

    features: list[CandidateFeatures]
    labels: list[bool]
    questions: list[tuple[bool, list[int], list[float]]]  # (answerable, candidate rows, their F1s)
    texts: list[str]  # each candidate's answer (for studying new features, bench/candidates.py)


def is_right(answer: str, gold: Sequence[str], explains: bool) -> bool:
    """Close enough to a gold answer; for a question that wants an explanation, whole sentences holding one."""
    if not gold:
        return False
    return contains_answer(answer, gold) if explains else best_f1(answer, gold) >= RIGHT_F1


def candidate_rows(questions: Path, corpus: Path, index_dir: Path, reader: SpanReader) -> Rows:
    """Features and labels of every candidate of every question of one calibration set."""
    from citeqa.chat.answerer import Answerer
    from citeqa.index.corpus import index_corpus
    from citeqa.index.embedder import Embedder
    from citeqa.index.manifest import IndexSettings

    index_settings = IndexSettings()
    embedder = Embedder(index_settings.model)
    index, _ = index_corpus(corpus, index_settings, embedder, index_dir)
    answerer = Answerer(index, embedder, AnswerSettings(min_confidence=0.0), reader, ConfidenceModel.neutral())
    items = load_questions(questions)
    retrieved = answerer.retrieve_batch([item.question for item in items])
    rows = Rows([], [], [], [])
    for first in range(0, len(items), 32):
        batch = items[first : first + 32]
        asking = [(item.question, passages) for item, passages in zip(batch, retrieved[first:], strict=False)]
        for item, candidates in zip(batch, answerer.candidates_batch(asking), strict=True):
            numbers, f1s = [], []
            for candidate in candidates:
                text = index.documents[candidate.source].text[candidate.span.start : candidate.span.end]
                numbers.append(len(rows.features))
                f1s.append(best_f1(text, item.answers))
                rows.features.append(candidate.features)
                rows.labels.append(is_right(text, item.answers, explains=candidate.features.explains == 1.0))
                rows.texts.append(text)
            rows.questions.append((item.answerable, numbers, f1s))
    return rows


@dataclass(frozen=True, slots=True)
class Choice:
    """A question answered by its likeliest candidate; one without any candidate is always abstained."""

    answerable: bool
    probability: float  # the likeliest candidate's; 0 without one
    f1: float | None  # its token F1 against the gold answers; None without a candidate

    def answered(self, threshold: float) -> bool:
        return self.f1 is not None and self.probability >= threshold

    def score(self, threshold: float) -> float:
        """Its part of the overall F1 (SQuAD 2.0): its F1 if answered, else 1 for an unanswerable question."""
        if self.f1 is not None and self.answered(threshold):
            return self.f1
        return 0.0 if self.answerable else 1.0


def choices(model: ConfidenceModel, rows: Rows) -> list[Choice]:
    """Each question of `rows` with the candidate `model` finds likeliest (ties: the better one)."""
    out = []
    for answerable, numbers, f1s in rows.questions:
        scored = [(model.probability(rows.features[n]), f) for n, f in zip(numbers, f1s, strict=True)]
        probability, f1 = max(scored) if scored else (0.0, None)
        out.append(Choice(answerable, probability, f1))
    return out


def best_threshold(model: ConfidenceModel, rows: Rows) -> tuple[float, float]:
    """(threshold, overall F1) maximising overall F1 when each question is answered by its likeliest candidate;
    of equally good thresholds, the lowest."""
    chosen = choices(model, rows)
    best = (0.0, -1.0)
    for threshold in sorted({round(c.probability, 3) for c in chosen} | {0.0}):
        overall = sum(c.score(threshold) for c in chosen) / max(len(chosen), 1)
        if overall > best[1] + 1e-12:
            best = (threshold, overall)
    return best


def calibrated(sets: dict[str, Rows]) -> ConfidenceModel:
    """The confidence model fitted on the rows of every calibration set, with the threshold of the best overall F1
    on them and a record of what it was fitted on."""
    every = pooled(sets)
    record = {
        name: {"questions": len(rows.questions), "candidates": len(rows.labels), "right": sum(rows.labels)}
        for name, rows in sets.items()
    }
    model = fit(every.features, every.labels, fitted_on={"sets": record, "right_f1": RIGHT_F1})
    threshold, overall = best_threshold(model, every)
    return replace(model, threshold=threshold, fitted_on={**model.fitted_on, "overall_f1_at_threshold": overall})


def fit_confidence(
    sets: Sequence[tuple[str, Path, Path]],
    work_dir: Path,
    out_dir: Path = READER_DIR,
    say: Callable[[str], None] = print,
) -> ConfidenceModel:
    """Fit on every (name, questions, corpus) set with the reader in out_dir; write out_dir/confidence.json."""
    reader = SpanReader(out_dir)
    rows = {}
    for name, questions, corpus in sets:
        rows[name] = candidate_rows(questions, corpus, work_dir / f"index-{name}", reader)
        found = rows[name]
        say(f"{name}: {len(found.questions)} questions, {len(found.labels)} candidates, {sum(found.labels)} right")
    return fit_and_write(rows, out_dir, say)


def pooled(sets: dict[str, Rows]) -> Rows:
    """The rows of several sets as one."""
    every = Rows([], [], [], [])
    for rows in sets.values():
        shift = len(every.features)
        every.features.extend(rows.features)
        every.labels.extend(rows.labels)
        every.texts.extend(rows.texts)
        every.questions.extend((a, [n + shift for n in numbers], f1s) for a, numbers, f1s in rows.questions)
    return every


def fit_and_write(sets: dict[str, Rows], out_dir: Path, say: Callable[[str], None] = print) -> ConfidenceModel:
    """The confidence model and its threshold fitted on the rows of every calibration set, written to out_dir."""
    model = calibrated(sets)
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / f".{CONFIDENCE_FILE}.tmp"
    tmp.write_text(json.dumps(model.to_dict(), indent=2) + "\n", encoding="utf-8")
    tmp.replace(out_dir / CONFIDENCE_FILE)
    say("weights: " + ", ".join(f"{n} {w:+.3f}" for n, w in model.weights.items()) + f"; bias {model.bias:+.3f}")
    overall = model.fitted_on["overall_f1_at_threshold"]
    say(f"threshold {model.threshold:.3f}: overall F1 {overall:.3f} on the calibration questions")
    return model
