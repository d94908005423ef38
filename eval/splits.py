"""Held-out question sets on disk: a split of a corpus as a citeqa question set plus its documents, and the
"the documents don't say" variant, where the paragraphs that answer some questions are cut out of their
documents and those questions become unanswerable.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from .questions import QuestionItem
from .reader_data import Corpus, answer_span

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def write_split(corpus: Corpus, out_dir: Path) -> tuple[Path, Path]:
    """out_dir/corpus/<source> for every document and out_dir/questions.jsonl; returns (questions, corpus dir)."""
    corpus_dir = out_dir / "corpus"
    corpus_dir.mkdir(parents=True, exist_ok=True)
    for source, text in corpus.texts.items():
        path = corpus_dir / source
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="") as f:  # newline="": offsets index the stored text
            f.write(text)
    questions = out_dir / "questions.jsonl"
    lines = []
    for item in corpus.items:
        record: dict[str, Any] = {
            "id": item.id,
            "question": item.question,
            "answers": list(item.answers),
            "source": item.source,
        }
        if item.answer_start is not None:
            record["answer_start"] = item.answer_start
        lines.append(json.dumps(record, ensure_ascii=False) + "\n")
    questions.write_text("".join(lines), encoding="utf-8")
    return questions, corpus_dir


def without_answers(corpus: Corpus, seed: int, share: float = 0.35) -> Corpus:
    """The corpus with the paragraphs answering `share` of its answerable questions cut out; those questions are
    asked again as unanswerable (unless their answer's words still stand elsewhere in the document). The other
    questions keep their answers, moved to the paragraphs' new offsets."""
    rng = random.Random(seed)
    by_source: dict[str, list[QuestionItem]] = {}
    for item in corpus.items:
        if item.source in corpus.texts:
            by_source.setdefault(item.source, []).append(item)
    items: list[QuestionItem] = []
    texts: dict[str, str] = {}
    for source, asked in by_source.items():
        text = corpus.texts[source]
        blocks = _paragraphs(text)
        removed: set[int] = set()
        cut: list[QuestionItem] = []
        for item in asked:
            span = answer_span(item, text)
            if span is not None and rng.random() < share:
                removed.update(i for i, (lo, hi) in enumerate(blocks) if lo < span[1] and span[0] < hi)
                cut.append(item)
        if len(removed) >= len(blocks):
            continue  # nothing would be left to ask of
        kept = [(lo, hi) for i, (lo, hi) in enumerate(blocks) if i not in removed]
        new_text = "\n\n".join(text[lo:hi] for lo, hi in kept)
        texts[source] = new_text
        moved = _offset_map(kept)
        for item in asked:
            span = answer_span(item, text)
            if item in cut:
                if not any(answer in new_text for answer in item.answers):
                    items.append(replace(item, id=f"{item.id}-cut", answers=(), answer_start=None))
                continue
            start = None if span is None else moved(span[0])
            if span is not None and start is None:
                continue  # its paragraph went with another question's
            items.append(replace(item, answer_start=start))
    return Corpus(f"{corpus.name}-cut", items, texts)


def _paragraphs(text: str) -> list[tuple[int, int]]:
    """Blank-line separated paragraphs; single lines where a document has fewer than three of those."""
    pattern = _PARAGRAPH_BREAK if len(_PARAGRAPH_BREAK.findall(text)) >= 2 else re.compile(r"\n")
    blocks, last = [], 0
    for m in pattern.finditer(text):
        if text[last : m.start()].strip():
            blocks.append((last, m.start()))
        last = m.end()
    if text[last:].strip():
        blocks.append((last, len(text)))
    return blocks


def _offset_map(kept: list[tuple[int, int]]) -> Callable[[int], int | None]:
    """Old offset -> new offset in the kept paragraphs joined by blank lines (None when it was cut)."""
    starts, position = [], 0
    for lo, hi in kept:
        starts.append((lo, hi, position))
        position += hi - lo + 2

    def moved(offset: int) -> int | None:
        for lo, hi, new in starts:
            if lo <= offset < hi:
                return new + offset - lo
        return None

    return moved
