"""Question -> retrieve -> choose the sentence -> narrow to the answer span -> Answer with citations.

Batch-first: `answer_batch` embeds all questions in one pass; `answer` is its one-question wrapper.
The model and the index are loaded once, by the caller, and shared.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from index.embedder import Embedder
from index.errors import IndexMismatchError
from index.retrieval import retrieve
from index.search import Passage, SearchIndex

from .answer import Answer, Citation
from .evidence import Evidence, TermWeights, find_evidence, stems_of
from .question import Question, analyze, check_question
from .settings import AnswerSettings
from .spans import Extraction, extract

_SENTENCES_TRIED = 3  # the best few sentences each get a span reader; the best span wins


class Answerer:
    def __init__(self, index: SearchIndex, embedder: Embedder, settings: AnswerSettings | None = None) -> None:
        manifest = index.manifest
        if embedder.model_id != manifest.settings.model:
            raise IndexMismatchError(
                f"the index was built with {manifest.settings.model!r}, not {embedder.model_id!r}",
                "answer with the model the index was built with, or rebuild it with citeqa ingest",
            )
        if embedder.dimension != manifest.dimension:
            raise IndexMismatchError(
                f"the index holds {manifest.dimension}-d vectors but {embedder.model_id!r} makes "
                f"{embedder.dimension}-d ones",
                "rebuild the index with citeqa ingest",
            )
        self.index = index
        self.embedder = embedder
        self.settings = settings or AnswerSettings.for_index(index)
        self._stems_by_document: dict[str, set[str]] = {}
        self.weights = TermWeights(
            index.documents[source].text[s.start : s.end] for source, spans in index.sentences.items() for s in spans
        )

    def _document_stems(self, source: str) -> set[str]:
        if source not in self._stems_by_document:
            self._stems_by_document[source] = stems_of(self.index.documents[source].text)
        return self._stems_by_document[source]

    def _coverage_of(self, question: Question) -> Callable[[str], float]:
        """The share of the question's term weight a text holds (the total weighed once per question)."""
        total = sum(self.weights(t) for t in question.terms) or 1.0
        return lambda text: sum(self.weights(t) for t in question.terms & stems_of(text)) / total

    def answer(self, question: str, k: int | None = None) -> Answer:
        return self.answer_batch([question], k)[0]

    def answer_batch(self, questions: Sequence[str], k: int | None = None) -> list[Answer]:
        """Answers in the order of `questions`. A bad question raises QuestionError before any work."""
        retrieved = self.retrieve_batch(questions, k)
        return [self.answer_retrieved(q, passages, k) for q, passages in zip(questions, retrieved, strict=True)]

    def retrieve_batch(self, questions: Sequence[str], k: int | None = None) -> list[list[Passage]]:
        """The passages for each question, all questions embedded in one pass."""
        checked = [check_question(q, self.settings.max_question_chars) for q in questions]
        if not checked:
            return []
        pool = max(k or self.settings.k, self.settings.candidates)  # more than shown: sentence evidence reranks
        return retrieve(self.index, checked, self.embedder.encode_queries(checked), pool, self.settings.retrieval)

    def answer_retrieved(self, text: str, passages: Sequence[Passage], k: int | None = None) -> Answer:
        """The answer to one question from its retrieved passages."""
        text = check_question(text, self.settings.max_question_chars)
        question = analyze(text)
        disabled = self.settings.disabled
        evidence = find_evidence(question, passages, self.index, self.weights, self._document_stems, disabled)
        typed = "answer-type" not in disabled
        best: tuple[float, Evidence, Extraction] | None = None
        for candidate in evidence[:_SENTENCES_TRIED]:
            doc = self.index.documents[candidate.source]
            sentence = candidate.sentence
            if "spans" in disabled:
                span = Extraction(sentence.start, sentence.end, False, 0.0)
            else:
                span = extract(doc.text, sentence.start, sentence.end, question, self.weights)
            # A number (or a list of things) asked for and none found is strong evidence of the wrong sentence.
            strong = question.answer_type.is_numeric or question.plural
            typed_weight = (0.5 if strong else 0.25) if typed else 0.0
            total = candidate.score + typed_weight * (1.0 if span.typed else 0.0) + 0.05 * span.score
            if best is None or total > best[0]:
                best = (total, candidate, span)
        shown = k or self.settings.k
        if best is None:
            return Answer(text, None, 0.0, passages=tuple(passages[:shown]))
        _, chosen, span = best
        confidence = _confidence(chosen, span.typed and typed, question.answer_type.is_numeric and typed)
        if "rerank" in disabled:
            ordered = tuple(passages[:shown])
        else:
            ordered = _rerank(passages, evidence, chosen, self._coverage_of(question))[:shown]
        doc = self.index.documents[chosen.source]
        sentence = chosen.sentence
        citation = Citation(
            source=doc.source,
            title=doc.title,
            start=span.start,
            end=span.end,
            quote=doc.text[sentence.start : sentence.end],
            quote_start=sentence.start,
            quote_end=sentence.end,
            page=doc.page_at(span.start),
        )
        answer = Answer(text, doc.text[span.start : span.end], confidence, (citation,), ordered)
        return answer.decided(self.settings.min_confidence)


def _confidence(evidence: Evidence, typed: bool, numeric: bool) -> float:
    """Evidence strength and answer-type fit, squashed to [0, 1]; a missing year or name weighs heavily."""
    z = 5.0 * evidence.coverage + 3.0 * evidence.passage_score + (1.0 if typed else -0.5 if numeric else 0.0)
    z -= 4.5
    if not evidence.pinned:
        z -= 3.0
    return 1.0 / (1.0 + math.exp(-z))


def _rerank(
    passages: Sequence[Passage], evidence: Sequence[Evidence], chosen: Evidence, coverage: Callable[[str], float]
) -> tuple[Passage, ...]:
    """The passage holding the answer first, then by the best sentence evidence each holds, helped a little by
    how much of the question the whole passage covers and by its similarity (an answer may span sentences)."""

    def holds(p: Passage, e: Evidence) -> bool:
        c = p.chunk
        return c.source == e.source and c.start < e.sentence.end and e.sentence.start < c.end

    def key(p: Passage) -> tuple[bool, float]:
        contains_answer = holds(p, chosen) and p.chunk.start <= chosen.sentence.start
        best = max((e.score for e in evidence if holds(p, e)), default=0.0)
        return (contains_answer, best + 0.2 * coverage(p.chunk.text) + 0.2 * p.score)

    return tuple(sorted(passages, key=key, reverse=True))
