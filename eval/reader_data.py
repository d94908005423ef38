"""Training material for the span reader: question sets over corpora, split by document, made into passages.

A passage is what the reader reads when answering: a chunk of its document, cut by the same chunker ingest uses.
Each answerable question gives the chunk holding its answer and, as often as `negative_rate` says, the chunk of
its collection that BM25 ranks highest for it without holding any gold answer (a hard negative, like the
retrieved passages that do not answer: the null target). An unanswerable question gives its document's
best-matching chunk, null target.
"""

from __future__ import annotations

import bisect
import hashlib
import random
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from citeqa.chat.reader import Window
from citeqa.ingest.chunking import Chunk, Chunker, ChunkSettings
from citeqa.ingest.documents import Document, load_documents
from citeqa.ingest.sentences import split_sentences
from citeqa.ingest.tokens import load_encoding

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


def window_of(chunk: Chunk, sentence_starts: Sequence[int]) -> Window:
    """A chunk as the reader reads it, with the sentence starts inside it (a span may not cross one)."""
    first = bisect.bisect_right(sentence_starts, chunk.start)
    last = bisect.bisect_left(sentence_starts, chunk.end, first)
    return Window(chunk.source, chunk.start, chunk.end, chunk.text, tuple(sentence_starts[first:last]))


def chunk_corpus(corpus: Corpus, fits: Callable[[str], bool] | None) -> dict[str, list[Window]]:
    """Every document's chunks as ingest cuts them (default settings, the reader's own word-piece limit)."""
    settings = ChunkSettings()
    chunker = Chunker(settings, load_encoding(settings.encoding), fits=fits)
    windows: dict[str, list[Window]] = {}
    for source, text in corpus.texts.items():
        sentences = split_sentences(text)
        starts = [s.start for s in sentences]
        chunks = chunker.chunk(Document(source, text, source), sentences)
        windows[source] = [window_of(c, starts) for c in chunks]
    return windows


def make_examples(
    corpus: Corpus,
    seed: int,
    fits: Callable[[str], bool] | None = None,
    negative_rate: float = 1.0,
) -> list[Example]:
    """The passages of every question of `corpus` whose document is known (see the module's docstring)."""
    import bm25s

    rng = random.Random(seed)
    windows = chunk_corpus(corpus, fits)
    flat = [w for source in sorted(windows) for w in windows[source]]
    if not flat:
        return []
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize([w.text for w in flat], stopwords="en", show_progress=False), show_progress=False)
    asked = [(item, item.source) for item in corpus.items if item.source is not None and item.source in windows]
    depth = min(len(flat), 8)
    ranked, _ = retriever.retrieve(
        bm25s.tokenize([item.question for item, _ in asked], stopwords="en", show_progress=False),
        k=depth,
        show_progress=False,
    )
    examples: list[Example] = []
    for (item, source), hits in zip(asked, ranked.tolist(), strict=True):
        text = corpus.texts[source]
        answer = answer_span(item, text)
        if item.answers and answer is None:
            continue  # the gold text is not in the document: nothing to point at
        if answer is not None:
            holding = [w for w in windows[source] if w.start <= answer[0] and answer[1] <= w.end]
            if holding:
                examples.append(Example(item.question, rng.choice(holding), answer))
            if rng.random() >= negative_rate:
                continue
        own = set(map(id, windows[source]))
        for hit in hits:
            window = flat[hit]
            if answer is None and id(window) not in own:
                continue  # "not answered here" is learned on its own document's text
            if any(a and a in window.text for a in item.answers):
                continue
            if answer is not None and window.source == source and window.start < answer[1] < window.end:
                continue
            examples.append(Example(item.question, window, None))
            break
        else:
            if answer is None and windows[source]:
                examples.append(Example(item.question, windows[source][0], None))
    return examples
