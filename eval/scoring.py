"""Score each prediction against its question: answer, retrieval rank, citation, verdict."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from citeqa.chat.answer import Answer, Citation
from citeqa.index.search import Passage

from .metrics import best_f1, contains_answer, exact_match
from .questions import QuestionItem

Verdict = Literal["correct", "partial", "wrong", "missed", "abstained", "answered-noans"]
# Failures first, as a reader of a report wants them.
VERDICT_ORDER: tuple[Verdict, ...] = ("wrong", "answered-noans", "missed", "partial", "correct", "abstained")

DocumentText = Callable[[str], str | None]  # a source's text, None when the index does not hold it


@dataclass(frozen=True, slots=True)
class Outcome:
    id: str
    question: str
    answerable: bool
    gold: tuple[str, ...]
    answer: str | None
    confidence: float
    f1: float
    em: float
    contains: bool  # a gold answer inside the quoted sentence (or the answer)
    hit_rank: int | None  # first returned passage covering the gold location; None: none does
    located: bool  # the gold location is known, so hit_rank means something
    citation_exact: bool | None  # None when nothing was cited
    right_source: bool | None
    latency_ms: float
    source: str | None
    cited_source: str | None
    quote: str | None
    answer_in_quote: tuple[int, int] | None

    @property
    def abstained(self) -> bool:
        return self.answer is None

    @property
    def verdict(self) -> Verdict:
        if not self.answerable:
            return "abstained" if self.abstained else "answered-noans"
        if self.abstained:
            return "missed"
        return "correct" if self.em else "partial" if self.f1 > 0 else "wrong"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "abstained": self.abstained, "verdict": self.verdict}


def score(item: QuestionItem, answer: Answer, latency_ms: float, document_text: DocumentText) -> Outcome:
    """How well `answer` answers `item`."""
    cited = answer.citations[0] if answer.citations else None
    quote = cited.quote if cited else None
    located, hit_rank = _hit_rank(item, answer.passages, document_text)
    return Outcome(
        id=item.id,
        question=item.question,
        answerable=item.answerable,
        gold=item.answers,
        answer=answer.text,
        confidence=round(answer.confidence, 4),  # as the answer contract reports it
        f1=best_f1(answer.text, item.answers),
        em=exact_match(answer.text, item.answers),
        contains=answer.text is not None and any(contains_answer(t, item.answers) for t in (quote or "", answer.text)),
        hit_rank=hit_rank,
        located=located,
        citation_exact=_exact(cited, answer.text, document_text) if cited else None,
        right_source=(item.source is None or _same_source(cited.source, item.source)) if cited else None,
        latency_ms=latency_ms,
        source=item.source,
        cited_source=cited.source if cited else None,
        quote=quote,
        answer_in_quote=(cited.start - cited.quote_start, cited.end - cited.quote_start) if cited else None,
    )


def gold_locations(item: QuestionItem, text: str) -> list[tuple[int, int]]:
    """Where the gold answer stands in its document: its offset, else its evidence, else every occurrence."""
    if item.answer_start is not None and item.answers:
        return [(item.answer_start, item.answer_start + len(item.answers[0]))]
    needles = [item.evidence] if item.evidence else list(item.answers)
    found = []
    for needle in needles:
        start = text.find(needle)
        while start >= 0 and needle:
            found.append((start, start + len(needle)))
            start = text.find(needle, start + 1)
    return found


def _hit_rank(item: QuestionItem, passages: Sequence[Passage], document_text: DocumentText) -> tuple[bool, int | None]:
    if not item.answerable or item.source is None:
        return False, None
    text = document_text(item.source)
    locations = gold_locations(item, text) if text is not None else []
    if not locations:
        return False, None
    for rank, passage in enumerate(passages, 1):
        chunk = passage.chunk
        if _same_source(chunk.source, item.source) and any(
            chunk.start < end and start < chunk.end for start, end in locations
        ):
            return True, rank
    return True, None


def _exact(cited: Citation, answer: str | None, document_text: DocumentText) -> bool:
    text = document_text(cited.source)
    return (
        text is not None
        and text[cited.start : cited.end] == answer
        and text[cited.quote_start : cited.quote_end] == cited.quote
    )


def _same_source(predicted: str, gold: str) -> bool:
    # A collection ingested from a parent folder prefixes its sources with the folder's name.
    return predicted == gold or predicted.endswith("/" + gold)
