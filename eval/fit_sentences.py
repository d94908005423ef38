"""Fit the sentence model (chat/sentence_model.py) on the training articles.

Each training set is indexed as a user's collection would be (sentence vectors included), and every answerable
question is retrieved by the real pipeline; every sentence of its retrieved passages becomes one row, labelled
right when it overlaps the gold answer's offsets in its document. A sentence in several passages counts once, with
its best-ranked passage. The model is then fitted listwise over each question's rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from citeqa.chat.evidence import SentenceFeatures, sentence_candidates, sentence_score
from citeqa.chat.sentence_model import SENTENCE_MODEL_FILE, SentenceModel, fit

from .questions import load_questions
from .reader_data import answer_span


@dataclass(slots=True)
class SentenceRows:
    features: list[SentenceFeatures] = field(default_factory=list)
    questions: list[int] = field(default_factory=list)  # the question each row belongs to
    labels: list[bool] = field(default_factory=list)
    asked: int = 0  # questions with a gold answer found in their document

    def extend(self, other: SentenceRows) -> None:
        first = max(self.questions, default=-1) + 1
        self.features += other.features
        self.questions += [first + q for q in other.questions]
        self.labels += other.labels
        self.asked += other.asked


def sentence_rows(questions: Path, corpus: Path, index_dir: Path) -> SentenceRows:
    """Features and labels of every candidate sentence of every answerable question of one training set."""
    from citeqa.chat.answerer import Answerer
    from citeqa.chat.question import analyze
    from citeqa.chat.settings import AnswerSettings
    from citeqa.index.corpus import index_corpus
    from citeqa.index.embedder import Embedder
    from citeqa.index.manifest import IndexSettings

    index_settings = IndexSettings()
    embedder = Embedder(index_settings.model)
    index, _ = index_corpus(corpus, index_settings, embedder, index_dir)
    answerer = Answerer(index, embedder, AnswerSettings(disabled=("reader",)))
    items = [item for item in load_questions(questions) if item.answers and (item.source or "") in index.documents]
    searched = [answerer.understand(item.question).searched for item in items]
    retrieved = answerer.retrieve_batch([item.question for item in items])
    queries = embedder.encode_queries(searched)
    rows = SentenceRows()
    for number, (item, text, passages) in enumerate(zip(items, searched, retrieved, strict=True)):
        gold = answer_span(item, index.documents[item.source or ""].text)
        if gold is None:
            continue
        rows.asked += 1
        seen = set()
        question = analyze(text)
        stems = index.store.stems
        for c in sentence_candidates(question, passages, index, answerer.weights, stems, query=queries[number]):
            if (c.source, c.sentence) in seen:
                continue
            seen.add((c.source, c.sentence))
            rows.features.append(c.features)
            rows.questions.append(number)
            rows.labels.append(c.source == item.source and c.sentence.start < gold[1] and gold[0] < c.sentence.end)
    return rows


def fit_sentence_model(
    sets: Sequence[tuple[str, Path, Path]], work_dir: Path, out_dir: Path, say: Callable[[str], None] = print
) -> SentenceModel:
    """Fit on every (name, questions, corpus) set; write out_dir/sentences.json."""
    rows = SentenceRows()
    record: dict[str, Any] = {}
    for name, questions, corpus in sets:
        found = sentence_rows(questions, corpus, work_dir / f"index-{name}")
        rows.extend(found)
        record[name] = {"questions": found.asked, "sentences": len(found.labels), "right": sum(found.labels)}
        say(f"{name}: {found.asked} questions, {len(found.labels)} candidate sentences, {sum(found.labels)} right")
    model = fit(rows.features, rows.questions, rows.labels, fitted_on={"sets": record, "objective": "listwise"})
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / f".{SENTENCE_MODEL_FILE}.tmp"
    tmp.write_text(json.dumps(model.to_dict(), indent=2) + "\n", encoding="utf-8")
    tmp.replace(out_dir / SENTENCE_MODEL_FILE)
    say("sentence weights: " + ", ".join(f"{n} {w:+.3f}" for n, w in model.weights.items()))
    return model


def top_k_rates(rows: SentenceRows, score: Callable[[SentenceFeatures], float], ks: Sequence[int]) -> list[float]:
    """For each k, the share of questions with a sentence holding the gold answer among their k best by `score`."""
    by_question: dict[int, list[tuple[float, bool]]] = {}
    for features, question, label in zip(rows.features, rows.questions, rows.labels, strict=True):
        by_question.setdefault(question, []).append((score(features), label))
    asked = max(rows.asked, 1)
    ranked = [[label for _, label in sorted(found, key=lambda f: -f[0])] for found in by_question.values()]
    return [sum(any(labels[:k]) for labels in ranked) / asked for k in ks]


def report_ranking(
    sets: Sequence[tuple[str, Path, Path]], work_dir: Path, model: SentenceModel, say: Callable[[str], None] = print
) -> None:
    """The gold sentence's place on held-out sets, by the fitted model and by the hand-set weights (validation:
    nothing is fitted here)."""
    ks = (1, 3, 5)
    for name, questions, corpus in sets:
        rows = sentence_rows(questions, corpus, work_dir / f"index-{name}")
        fitted = top_k_rates(rows, model.score, ks)
        by_hand = top_k_rates(rows, sentence_score, ks)
        say(
            f"{name}: gold sentence in the top 1/3/5 of {rows.asked} questions: "
            + "/".join(f"{r:.3f}" for r in fitted)
            + " (hand-set weights: "
            + "/".join(f"{r:.3f}" for r in by_hand)
            + ")"
        )
