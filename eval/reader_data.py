"""Training material for the span reader: question sets over corpora, split by document, made into windows.

A window is what the reader reads when answering (`chat.reader.window_around`): whole sentences around one
sentence. Each answerable question gives a window holding its answer (centred on the answer's sentence or a
neighbour of it) and a window around the sentence that shares most words with the question without holding the
answer (a hard negative: the null target). An unanswerable question gives its best-matching window, null target.
"""

from __future__ import annotations

import bisect
import hashlib
import random
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from citeqa.chat.evidence import stems_of
from citeqa.chat.reader import Window, window_around
from citeqa.ingest.documents import load_documents
from citeqa.ingest.sentences import Span, split_sentences

from .questions import QuestionItem, load_questions
from .squad import import_squad

SPLITS = ("train", "calibrate", "test")


@dataclass(frozen=True, slots=True)
class Corpus:
    """Questions with the texts of the documents they are asked of, under one name (for split reports)."""

    name: str
    items: list[QuestionItem]
    texts: dict[str, str]  # source -> document text


@dataclass(frozen=True, slots=True)
class Example:
    question: str
    window: Window
    answer: tuple[int, int] | None  # document offsets of the answer inside the window; None: null target


def load_squad(path: Path, name: str) -> Corpus:
    """A SQuAD v1.1/v2.0 file as a corpus: one document per article, offsets exact (see eval.squad)."""
    with tempfile.TemporaryDirectory() as tmp:
        imported = import_squad(path, Path(tmp) / "import")
        return load_corpus(imported.questions_path, imported.corpus_dir, name)


def load_corpus(questions: Path, corpus_dir: Path, name: str) -> Corpus:
    """A citeqa question set and the folder its `source` names are relative to."""
    items = load_questions(questions)
    loaded = load_documents([corpus_dir])
    return Corpus(name, items, {d.source: d.text for d in loaded.documents})


def split_of(source: str, fractions: tuple[float, float] = (0.7, 0.1)) -> str:
    """The split a document belongs to, fixed by its name's hash: never by question (questions on one document
    share its paragraphs, so a split by question would test on text the reader was trained on)."""
    u = int(hashlib.sha256(source.encode("utf-8")).hexdigest()[:8], 16) / 0xFFFFFFFF
    if u < fractions[0]:
        return "train"
    return "calibrate" if u < fractions[0] + fractions[1] else "test"


def select(corpus: Corpus, sources: Iterable[str]) -> Corpus:
    keep = set(sources)
    items = [item for item in corpus.items if item.source in keep]
    return Corpus(corpus.name, items, {s: t for s, t in corpus.texts.items() if s in keep})


def answer_span(item: QuestionItem, text: str) -> tuple[int, int] | None:
    """The gold answer's offsets in its document: at answer_start when given and right, else its first copy."""
    if not item.answers:
        return None
    answer = item.answers[0]
    if item.answer_start is not None and text[item.answer_start : item.answer_start + len(answer)] == answer:
        return item.answer_start, item.answer_start + len(answer)
    found = text.find(answer)
    return None if found < 0 else (found, found + len(answer))


def make_examples(corpus: Corpus, seed: int, negatives: int = 1, shift: float = 0.3) -> list[Example]:
    """Windows for every question of `corpus` whose document is known (see the module's docstring)."""
    rng = random.Random(seed)
    sentences = {source: split_sentences(text) for source, text in corpus.texts.items()}
    stems = {
        source: [stems_of(corpus.texts[source][s.start : s.end]) for s in spans] for source, spans in sentences.items()
    }
    examples: list[Example] = []
    for item in corpus.items:
        if item.source not in corpus.texts:
            continue
        text, spans = corpus.texts[item.source], sentences[item.source]
        if not spans:
            continue
        answer = answer_span(item, text)
        if item.answers and answer is None:
            continue  # the gold text is not in the document: nothing to point at
        if answer is not None:
            window = _answer_window(text, spans, answer, rng, shift)
            examples.append(Example(item.question, Window(item.source, *window), answer))
        for center in _hard_negatives(item, text, spans, stems[item.source], answer, negatives):
            span = window_around(text, spans, center)
            examples.append(Example(item.question, Window(item.source, *span, text[span.start : span.end]), None))
    return examples


def _answer_window(
    text: str, spans: Sequence[Span], answer: tuple[int, int], rng: random.Random, shift: float
) -> tuple[int, int, str]:
    """Whole sentences holding the answer: usually centred on its sentence, sometimes on a neighbour."""
    first = _sentence_at(spans, answer[0])
    last = _sentence_at(spans, answer[1] - 1)
    center = first
    if rng.random() < shift:
        center = min(max(first + rng.choice((-1, 1)), 0), len(spans) - 1)
    window = window_around(text, spans, center)
    start = min(window.start, spans[first].start)
    end = max(window.end, spans[last].end)
    return start, end, text[start:end]


def _hard_negatives(
    item: QuestionItem,
    text: str,
    spans: Sequence[Span],
    stems: Sequence[set[str]],
    answer: tuple[int, int] | None,
    count: int,
) -> list[int]:
    """Sentences sharing most of the question's words whose windows hold no copy of any gold answer."""
    asked = stems_of(item.question)
    ranked = sorted(range(len(spans)), key=lambda i: -len(asked & stems[i]))
    chosen: list[int] = []
    for i in ranked:
        if len(chosen) == count:
            break
        window = window_around(text, spans, i)
        if answer is not None and window.start < answer[1] and answer[0] < window.end:
            continue
        if any(a and a in text[window.start : window.end] for a in item.answers):
            continue
        chosen.append(i)
    return chosen


def _sentence_at(spans: Sequence[Span], offset: int) -> int:
    i = bisect.bisect_right([s.start for s in spans], offset) - 1
    return max(i, 0)
