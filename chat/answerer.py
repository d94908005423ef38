"""Question -> retrieve -> the reader reads the best passages whole -> the likeliest span -> Answer with citations.

Batch-first: `answer_batch` embeds all questions in one pass and reads every passage of every question in one
reader pass; `answer` is its one-question wrapper. The models and the index are loaded once and shared.

The reader gives, in each passage it reads, its best span in each sentence and the passage's null score. A span
in a heading or a question line gives way to the next best (chat/not_answers.py). The confidence model
(chat/confidence.py) turns the reader's scores, and the retrieval's where they earn it, into the probability
that the span is right: the likeliest candidate is the answer, and below the threshold citeqa abstains.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache, cached_property
from pathlib import Path

from citeqa.index.embedder import Embedder
from citeqa.index.errors import IndexMismatchError
from citeqa.index.retrieval import retrieve
from citeqa.index.search import Passage, SearchIndex
from citeqa.ingest.sentences import Span
from citeqa.ingest.words import stem, tokenize

from .answer import Answer, Citation, Notice
from .confidence import CONFIDENCE_FILE, CandidateFeatures, ConfidenceModel
from .conversation import Turn, follow_up
from .intake import Intake, take
from .names import whole_name
from .not_answers import never_an_answer
from .question import Question, analyze, check_question
from .reader import READER_DIR, ReadSpan, SpanReader, Window
from .settings import AnswerSettings
from .shape import shaped, wants_explanation, whole_sentences
from .spelling import Speller

DEFAULT_MIN_CONFIDENCE = 0.5  # used only by a confidence model fitted without a threshold of its own
CUT_NOTICE = "Your question is long: the reader read its first words only."


@cache
def shared_reader(directory: Path = READER_DIR, precision: str = "auto") -> SpanReader:
    """A reader, loaded once per process (every Answerer over every index generation shares it)."""
    return SpanReader(directory, precision)


@cache
def shared_confidence(directory: Path = READER_DIR) -> ConfidenceModel:
    return ConfidenceModel.load(directory / CONFIDENCE_FILE)


def threshold_of(settings: AnswerSettings, confidence: ConfidenceModel | None = None) -> float:
    """The abstention threshold in force: the settings', else the one fitted with the confidence model."""
    if settings.min_confidence is not None:
        return settings.min_confidence
    if confidence is not None and confidence.threshold is not None:
        return confidence.threshold
    return DEFAULT_MIN_CONFIDENCE


@dataclass(frozen=True, slots=True)
class Candidate:
    """One sentence's best span for a question, in the shape the question asks for, with its features."""

    source: str
    span: Span
    features: CandidateFeatures
    probability: float


class Answerer:
    def __init__(
        self,
        index: SearchIndex,
        embedder: Embedder,
        settings: AnswerSettings | None = None,
        reader: SpanReader | None = None,
        confidence: ConfidenceModel | None = None,
    ) -> None:
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
        directory = Path(self.settings.reader) if self.settings.reader else READER_DIR
        self.reader = reader or shared_reader(directory, self.settings.precision)
        self.confidence = confidence or shared_confidence(directory)
        self._starts: dict[str, list[int]] = {}

    @property
    def min_confidence(self) -> float:
        return threshold_of(self.settings, self.confidence)

    def describe(self) -> dict[str, object]:
        """Which answerer this is, for eval metrics and the API's health."""
        return {
            "reader": self.reader.manifest.describe(),
            "precision": self.reader.precision,
            "confidence": self.confidence.fitted_on,
            "min_confidence": self.min_confidence,
        }

    def answer(self, question: str, k: int | None = None, history: Sequence[Turn] = ()) -> Answer:
        return self.answer_batch([question], k, [history])[0]

    def answer_batch(
        self, questions: Sequence[str], k: int | None = None, histories: Sequence[Sequence[Turn]] | None = None
    ) -> list[Answer]:
        """Answers in the order of `questions`, each a follow-up of its history (earlier turns, oldest first) when
        one is given. A bad question raises QuestionError before any work."""
        checked = [check_question(q, self.settings.max_question_chars) for q in questions]
        follow_ups = [follow_up(q, h) for q, h in zip(checked, histories or [()] * len(checked), strict=True)]
        asking = [f.question for f in follow_ups if f.notice is None]
        answered = iter(self.answer_all(asking, self.retrieve_batch(asking, k), k))
        answers = []
        for asked, f in zip(checked, follow_ups, strict=True):
            answer = Answer(f.question, None, 0.0, notice=f.notice) if f.notice else next(answered)
            answers.append(replace(answer, asked=asked) if asked != f.question else answer)
        return answers

    def understand(self, question: str) -> Intake:
        """What to search for to answer `question` (typography made plain, spelling corrected), or a notice of why
        citeqa will not search (not English, nothing to look for)."""
        return take(question, None if "spelling" in self.settings.disabled else self.speller)

    @cached_property
    def speller(self) -> Speller:
        """Spelling corrected against this index's own terms (built on first use)."""
        return Speller(self.index.lexical.vocabulary())

    def retrieve_batch(self, questions: Sequence[str], k: int | None = None) -> list[list[Passage]]:
        """The passages for each question, all questions embedded in one pass."""
        checked = [check_question(q, self.settings.max_question_chars) for q in questions]
        searched = [self.understand(q).searched for q in checked]
        if not searched:
            return []
        pool = max(k or self.settings.k, self.settings.read_passages)
        queries = self.embedder.encode_queries(searched)
        return retrieve(self.index, searched, queries, pool, self.settings.retrieval)

    def answer_retrieved(self, text: str, passages: Sequence[Passage], k: int | None = None) -> Answer:
        """The answer to one question from its retrieved passages."""
        return self.answer_all([text], [passages], k)[0]

    def answer_all(
        self, texts: Sequence[str], retrieved: Sequence[Sequence[Passage]], k: int | None = None
    ) -> list[Answer]:
        """Answers to questions from their retrieved passages; every passage of every question read in one pass."""
        texts = [check_question(t, self.settings.max_question_chars) for t in texts]
        intakes = [self.understand(t) for t in texts]
        asking = [(i.searched, p) for i, p in zip(intakes, retrieved, strict=True) if i.notice is None]
        found = iter(self.candidates_batch(asking))
        shown = k or self.settings.k
        answers = []
        for text, intake, passages in zip(texts, intakes, retrieved, strict=True):
            if intake.notice is not None:
                # A question citeqa will not search for shows no passages: they were found for words it could not read.
                answers.append(Answer(text, None, 0.0, notice=intake.notice))
                continue
            answer = self._decide(text, next(found), passages, shown)
            if self.reader.question_cut(intake.searched):
                answer = replace(answer, notice=answer.notice or Notice("question_cut", CUT_NOTICE))
            answers.append(replace(answer, searched_for=intake.searched if intake.corrected else None))
        return answers

    def candidates_batch(self, asking: Sequence[tuple[str, Sequence[Passage]]]) -> list[list[Candidate]]:
        """Each question's candidates, likeliest first: one per passage read (for answering and for fitting the
        confidence model)."""
        windows = [self._windows(passages) for _, passages in asking]
        pairs = [(question, w) for (question, _), ws in zip(asking, windows, strict=True) for w, _, _ in ws]
        reads = iter(self.reader.read(pairs))
        out = []
        for (question, _), ws in zip(asking, windows, strict=True):
            analyzed = analyze(question)
            read = [(next(reads), rank, passage) for _, rank, passage in ws]
            out.append(self._candidates(analyzed, read))
        return out

    def _windows(self, passages: Sequence[Passage]) -> list[tuple[Window, int, Passage]]:
        """The passages the reader reads, each with its retrieval rank."""
        out = []
        for rank, passage in enumerate(passages[: self.settings.read_passages]):
            chunk = passage.chunk
            starts = self._sentence_starts(chunk.source)
            first = bisect.bisect_right(starts, chunk.start)
            inside = tuple(starts[first : bisect.bisect_left(starts, chunk.end, first)])
            out.append((Window(chunk.source, chunk.start, chunk.end, chunk.text, inside), rank, passage))
        return out

    def _sentence_starts(self, source: str) -> list[int]:
        if source not in self._starts:
            self._starts[source] = [s.start for s in self.index.sentences[source]]
        return self._starts[source]

    def _candidates(self, question: Question, reads: Sequence[tuple[ReadSpan, int, Passage]]) -> list[Candidate]:
        """Every sentence's best span in every passage read, likeliest first: the reader scores the spans, the
        confidence model chooses among them (a passage's second sentence may state what the question asks)."""
        found = [(span, rank, passage) for read, rank, passage in reads for span in self._sentence_spans(read, passage)]
        best_margin = max((span.score - span.null_score for span, _, _ in found), default=0.0)
        explains = "shape" not in self.settings.disabled and wants_explanation(question)
        tops: dict[int, float] = {}  # each passage's best span score (its spans come best first)
        candidates = []
        for span, rank, passage in found:
            source = passage.chunk.source
            text = self.index.documents[source].text
            shaped_span = self._shaped(question, source, Span(span.start, span.end))
            sentence = whole_sentences(self.index.sentences[source], span.start, span.end)
            features = CandidateFeatures(
                margin=span.score - span.null_score,
                span_score=span.score,
                null_score=span.null_score,
                best_margin=best_margin,
                passage_gap=span.score - tops.setdefault(rank, span.score),
                passage_rank=float(rank),
                answer_words=math.log1p(len(text[shaped_span.start : shaped_span.end].split())),
                explains=1.0 if explains else 0.0,
                sentence_terms=stated_share(question, text[sentence[0] : sentence[1]]),
            )
            p = self.confidence.probability(features, self.settings.disabled_features)
            candidates.append(Candidate(source, shaped_span, features, p))
        return sorted(candidates, key=lambda c: -c.probability)

    def _sentence_spans(self, read: ReadSpan, passage: Passage) -> list[ReadSpan]:
        """The reader's best span of each sentence of the passage, best first, leaving out headings and question
        lines; each with the passage's null score."""
        if not math.isfinite(read.score):
            return []
        source = passage.chunk.source
        text = self.index.documents[source].text
        sentences = self.index.sentences[source]
        starts = self._sentence_starts(source)
        return [
            replace(span, null_score=read.null_score, others=())
            for span in (read, *read.others)
            if "headings" in self.settings.disabled
            or not never_an_answer(text, sentences[max(bisect.bisect_right(starts, span.start) - 1, 0)])
        ]

    def _shaped(self, question: Question, source: str, span: Span) -> Span:
        """The reader's span in the shape the question asks for (whole sentences, a whole amount, a whole name)."""
        text = self.index.documents[source].text
        if "names" not in self.settings.disabled:
            span = Span(*whole_name(text, span.start, span.end))
        if "shape" in self.settings.disabled:
            return span
        return Span(*shaped(question, text, self.index.sentences[source], span.start, span.end))

    def _decide(self, text: str, candidates: Sequence[Candidate], passages: Sequence[Passage], shown: int) -> Answer:
        if not candidates:
            return Answer(text, None, 0.0, passages=tuple(passages[:shown]))
        best = candidates[0]
        citation = self._citation(best.source, best.span)
        answer = Answer(text, citation.text, best.probability, (citation,), _answer_first(passages, best)[:shown])
        answer = answer.decided(self.min_confidence)
        if answer.text is None:
            return answer
        return replace(answer, citations=(*answer.citations, *self._also_answering(candidates)))

    def _also_answering(self, candidates: Sequence[Candidate]) -> list[Citation]:
        """A citation in each other document whose own best candidate would have been answered too: where
        documents agree, or where one adds to another, the reader sees each."""
        seen = {candidates[0].source}
        citations = []
        for candidate in candidates[1:]:
            if candidate.probability < self.min_confidence:
                break
            if candidate.source not in seen:
                seen.add(candidate.source)
                citations.append(self._citation(candidate.source, candidate.span))
        return citations

    def _citation(self, source: str, span: Span) -> Citation:
        doc = self.index.documents[source]
        quote = Span(*whole_sentences(self.index.sentences[source], span.start, span.end))
        return Citation(
            source=doc.source,
            title=doc.title,
            text=doc.text[span.start : span.end],
            start=span.start,
            end=span.end,
            quote=doc.text[quote.start : quote.end],
            quote_start=quote.start,
            quote_end=quote.end,
            page=doc.page_at(span.start),
        )


def stated_share(question: Question, text: str) -> float:
    """Share of the question's content words that `text` states (stemmed); 1 for a question without any."""
    if not question.terms:
        return 1.0
    stated = {stem(t.text) for t in tokenize(text) if t.is_word}
    return len(question.terms & stated) / len(question.terms)


def _answer_first(passages: Sequence[Passage], best: Candidate) -> tuple[Passage, ...]:
    """The retrieved passages with the one holding the answer first, the rest in retrieval order."""

    def holds(p: Passage) -> bool:
        return p.chunk.source == best.source and p.chunk.start <= best.span.start and best.span.end <= p.chunk.end

    return tuple(sorted(passages, key=lambda p: not holds(p)))
