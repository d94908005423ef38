"""Question -> retrieve -> candidate sentences -> the reader's span in each one's window -> the likeliest
candidate -> Answer with citations.

Batch-first: `answer_batch` embeds all questions in one pass and reads every candidate window of every question
in one reader pass; `answer` is its one-question wrapper. The models and the index are loaded once and shared.
With the `reader` component off, the hand-written span rules and confidence of earlier versions answer instead.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from functools import cache, cached_property
from pathlib import Path

from citeqa.index.embedder import Embedder, Vectors
from citeqa.index.errors import IndexMismatchError
from citeqa.index.retrieval import retrieve
from citeqa.index.search import Passage, SearchIndex
from citeqa.ingest.sentences import Span

from .answer import Answer, Citation
from .confidence import CONFIDENCE_FILE, CandidateFeatures, ConfidenceModel
from .conversation import Turn, follow_up
from .evidence import Evidence, SentenceFeatures, TermWeights, find_evidence, pins_hold, sentence_score, stems_of
from .intake import Intake, take
from .question import Question, analyze, check_question
from .reader import READER_DIR, ReadSpan, SpanReader, Window, window_around
from .sentence_model import SENTENCE_MODEL_FILE, SentenceModel
from .settings import RULES_MIN_CONFIDENCE, AnswerSettings
from .shape import shaped, wants_explanation, whole_sentences
from .spans import Extraction, extract
from .spelling import Speller

_SENTENCES_TRIED = 3  # rules: the best few sentences each get a span reader; the best span wins
DEFAULT_MIN_CONFIDENCE = 0.5  # answer when the answer is more likely right than not
QUERIES_REMEMBERED = 4096  # question vectors kept from retrieval for the sentence model (384 floats each)


@cache
def shared_reader(directory: Path = READER_DIR) -> SpanReader:
    """A reader, loaded once per process (every Answerer over every index generation shares it)."""
    return SpanReader(directory)


@cache
def shared_confidence(directory: Path = READER_DIR) -> ConfidenceModel:
    return ConfidenceModel.load(directory / CONFIDENCE_FILE)


@cache
def shared_sentence_model(directory: Path = READER_DIR) -> SentenceModel:
    """The sentence model trained with the reader in `directory`; a folder trained before there was one uses the
    shipped model."""
    path = directory / SENTENCE_MODEL_FILE
    return SentenceModel.load(path if path.is_file() else READER_DIR / SENTENCE_MODEL_FILE)


def threshold_of(settings: AnswerSettings) -> float:
    """The abstention threshold in force: the settings', else the reader's default, else the rules'."""
    if settings.min_confidence is not None:
        return settings.min_confidence
    return RULES_MIN_CONFIDENCE if "reader" in settings.disabled else DEFAULT_MIN_CONFIDENCE


@dataclass(frozen=True, slots=True)
class _Candidate:
    evidence: Evidence  # the sentence the window is centred on
    rank: int  # its place in the evidence order
    window: Window


# A candidate as `_decide` weighs it: whether its sentence holds the question's years, its probability, the
# candidate and the reader's span in it.
_Scored = tuple[bool, float, "_Candidate", ReadSpan]


@dataclass(frozen=True, slots=True)
class _Plan:
    """One question's work before and after the batched reader pass."""

    text: str
    question: Question
    passages: Sequence[Passage]
    evidence: list[Evidence]
    candidates: list[_Candidate]


class Answerer:
    def __init__(
        self,
        index: SearchIndex,
        embedder: Embedder,
        settings: AnswerSettings | None = None,
        reader: SpanReader | None = None,
        confidence: ConfidenceModel | None = None,
        sentence_model: SentenceModel | None = None,
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
        uses_reader = "reader" not in self.settings.disabled
        directory = Path(self.settings.reader) if self.settings.reader else READER_DIR
        self.reader = (reader or shared_reader(directory)) if uses_reader else None
        self.confidence = (confidence or shared_confidence(directory)) if uses_reader else None
        learned = uses_reader and "sentence-model" not in self.settings.disabled
        self.sentence_model = (sentence_model or shared_sentence_model(directory)) if learned else None
        self._queries: OrderedDict[str, Vectors] = OrderedDict()  # searched text -> its vector, lately retrieved
        self._queries_lock = threading.Lock()
        self._starts: dict[str, list[int]] = {}
        self.weights = TermWeights.from_counts(index.store.stem_counts())  # counted at ingest

    @property
    def min_confidence(self) -> float:
        return threshold_of(self.settings)

    def describe(self) -> dict[str, object]:
        """Which answerer this is, for eval metrics and the API's health."""
        if self.reader is None:
            return {"reader": None}
        return {
            "reader": self.reader.manifest.describe(),
            "confidence": self.confidence and self.confidence.fitted_on,
            "sentence_model": self.sentence_model and self.sentence_model.fitted_on,
            "sentence_vectors": self.index.store.vectors_key or None,  # None: the `dense` feature is unknown
        }

    def _document_stems(self, source: str) -> AbstractSet[str]:
        return self.index.store.stems(source)  # from the sentences' words stored at ingest

    def _coverage_of(self, question: Question) -> Callable[[str], float]:
        """The share of the question's term weight a text holds (the total weighed once per question)."""
        total = sum(self.weights(t) for t in question.terms) or 1.0
        return lambda text: sum(self.weights(t) for t in question.terms & stems_of(text)) / total

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
        pool = max(k or self.settings.k, self.settings.candidates)  # more than shown: sentence evidence reranks
        queries = self.embedder.encode_queries(searched)
        self._remember(searched, queries)
        return retrieve(self.index, searched, queries, pool, self.settings.retrieval)

    def _remember(self, searched: Sequence[str], queries: Vectors) -> None:
        with self._queries_lock:
            for text, query in zip(searched, queries, strict=True):
                self._queries[text] = query
                self._queries.move_to_end(text)
            while len(self._queries) > QUERIES_REMEMBERED:
                self._queries.popitem(last=False)

    def _query_vectors(self, searched: Sequence[str]) -> list[Vectors | None]:
        """The vectors of questions as searched for, for the sentence model's `dense` feature: those just retrieved,
        the rest embedded now (None each when nothing uses them)."""
        if self.sentence_model is None or not self.index.store.vectors_key:
            return [None] * len(searched)
        with self._queries_lock:
            found: list[Vectors | None] = [self._queries.get(text) for text in searched]
        missing = [text for text, query in zip(searched, found, strict=True) if query is None]
        if missing:
            fresh = dict(zip(missing, self.embedder.encode_queries(missing), strict=True))
            found = [fresh[text] if query is None else query for text, query in zip(searched, found, strict=True)]
        return found

    def answer_retrieved(self, text: str, passages: Sequence[Passage], k: int | None = None) -> Answer:
        """The answer to one question from its retrieved passages."""
        return self.answer_all([text], [passages], k)[0]

    def answer_all(
        self, texts: Sequence[str], retrieved: Sequence[Sequence[Passage]], k: int | None = None
    ) -> list[Answer]:
        """Answers to questions from their retrieved passages; every window of every question read in one pass."""
        texts = [check_question(t, self.settings.max_question_chars) for t in texts]
        intakes = [self.understand(t) for t in texts]
        # A question citeqa will not search for shows no passages: they were found for words it could not read.
        answers: list[Answer | None] = [
            Answer(t, None, 0.0, notice=i.notice) if i.notice else None for t, i in zip(texts, intakes, strict=True)
        ]
        asking = [
            (n, i.searched, p) for n, (i, p) in enumerate(zip(intakes, retrieved, strict=True)) if i.notice is None
        ]
        if self.reader is None:
            for n, searched, passages in asking:
                answers[n] = self._rule_answer(searched, passages, k)
        else:
            queries = self._query_vectors([searched for _, searched, _ in asking])
            plans = [
                self._plan(searched, passages, query)
                for (_, searched, passages), query in zip(asking, queries, strict=True)
            ]
            reads = self.reader.read([(plan.text, c.window) for plan in plans for c in plan.candidates])
            first = 0
            for (n, _, _), plan in zip(asking, plans, strict=True):
                count = len(plan.candidates)
                answers[n] = self._decide(plan, reads[first : first + count], k)
                first += count
        # Each answer names the question as given; the text searched for only when spelling changed it.
        return [
            replace(a, question=t, searched_for=i.searched if i.corrected else None)
            for t, i, a in zip(texts, intakes, answers, strict=True)
            if a is not None
        ]

    def candidates_of(self, text: str, passages: Sequence[Passage]) -> list[tuple[CandidateFeatures, str, Span]]:
        """Every candidate of one question: features, document and the span as it would be answered (for fitting
        the confidence model)."""
        if self.reader is None:
            raise ValueError("candidates come from the reader; this answerer has it switched off")
        searched = check_question(text, self.settings.max_question_chars)
        plan = self._plan(searched, passages, self._query_vectors([searched])[0])
        reads = self.reader.read([(plan.text, c.window) for c in plan.candidates])
        return [
            (features, c.window.source, self._shaped(plan.question, c.window.source, Span(read.start, read.end)))
            for c, read, features in self._readings(plan, reads)
        ]

    def _readings(
        self, plan: _Plan, reads: Sequence[ReadSpan]
    ) -> Iterator[tuple[_Candidate, ReadSpan, CandidateFeatures]]:
        """Each candidate the reader found a span in, with that span (pinned, see _pinned_read) and its features."""
        for candidate, read in zip(plan.candidates, reads, strict=True):
            if math.isfinite(read.score):
                yield candidate, *self._pinned_read(plan, candidate, read)

    def _plan(self, text: str, passages: Sequence[Passage], query: Vectors | None = None) -> _Plan:
        question = analyze(text)
        disabled = self.settings.disabled
        stems = self._document_stems
        score = self._sentence_score
        evidence = find_evidence(question, passages, self.index, self.weights, stems, disabled, score, query)
        wanted = 1 if "choice" in disabled else self.settings.windows
        candidates: list[_Candidate] = []
        seen: set[tuple[str, int, int]] = set()
        for rank, e in enumerate(evidence):
            if len(candidates) == wanted:
                break
            sentences = self.index.sentences[e.source]
            text_of = self.index.documents[e.source].text
            center = self._position(e.source, e.sentence)
            span = window_around(text_of, sentences, center)
            if (e.source, *span) in seen:
                continue
            seen.add((e.source, *span))
            all_starts = self._starts[e.source]  # filled by _position
            first = bisect.bisect_right(all_starts, span.start)
            starts = tuple(all_starts[first : bisect.bisect_left(all_starts, span.end, first)])
            window = Window(e.source, *span, text_of[span.start : span.end], starts)
            candidates.append(_Candidate(e, rank, window))
        return _Plan(text, question, passages, evidence, candidates)

    def _sentence_score(self, features: SentenceFeatures) -> float:
        """The fitted sentence model's score; the hand-set evidence weights' with it switched off."""
        if self.sentence_model is None:
            return sentence_score(features)
        return self.sentence_model.score(features, self.settings.disabled_sentence_features)

    def _position(self, source: str, sentence: Span) -> int:
        if source not in self._starts:
            self._starts[source] = [s.start for s in self.index.sentences[source]]
        return max(bisect.bisect_right(self._starts[source], sentence.start) - 1, 0)

    def _sentences_covering(self, source: str, start: int, end: int) -> Span:
        return Span(*whole_sentences(self.index.sentences[source], start, end))

    def _features(self, plan: _Plan, candidate: _Candidate, read: ReadSpan) -> CandidateFeatures:
        e = candidate.evidence
        doc = self.index.documents[e.source]
        quote = self._sentences_covering(e.source, read.start, read.end)
        sentence_text = doc.text[quote.start : quote.end]
        holding = [
            p.score
            for p in plan.passages
            if p.chunk.source == e.source and p.chunk.start <= read.start and read.end <= p.chunk.end
        ]
        answer_text = doc.text[read.start : read.end]
        question = plan.question
        has_number = any(ch.isdigit() for ch in answer_text)
        number_fit = (1.0 if has_number else -1.0) if question.answer_type.is_numeric else 0.0
        return CandidateFeatures(
            margin=read.margin,
            span_score=read.score,
            null_score=read.null_score,
            evidence=e.score,
            evidence_rank=float(candidate.rank),
            passage=max(holding, default=e.passage_score),
            coverage=e.coverage,
            pinned=1.0 if pins_hold(question, sentence_text, self._document_stems(e.source)) else 0.0,
            answer_words=math.log1p(len(answer_text.split())),
            number_fit=number_fit,
            explains=1.0 if self._shapes and wants_explanation(question) else 0.0,
        )

    def _decide(self, plan: _Plan, reads: Sequence[ReadSpan], k: int | None) -> Answer:
        assert self.confidence is not None
        shown = k or self.settings.k
        scored: list[_Scored] = []
        for candidate, read, features in self._readings(plan, reads):
            p = self.confidence.probability(features, self.settings.disabled_features)
            scored.append((self._holds_years(plan.question, features), p, candidate, read))
        if not scored:
            return Answer(plan.text, None, 0.0, passages=tuple(plan.passages[:shown]))
        # A year the question states picks the figure given for that year, not one compared with it: candidates
        # whose sentence holds the years come first.
        best = max(scored, key=lambda s: (s[0], s[1]))
        _, confidence, candidate, read = best
        source = candidate.evidence.source
        span = self._shaped(plan.question, source, Span(read.start, read.end))
        quote = self._sentences_covering(source, span.start, span.end)
        answer = self._answer(plan.text, plan, source, span, quote, confidence, shown)
        if answer.text is None:
            return answer
        return replace(answer, citations=(*answer.citations, *self._also_answering(plan, scored, best)))

    def _also_answering(self, plan: _Plan, scored: Sequence[_Scored], best: _Scored) -> list[Citation]:
        """A citation in each other document whose own best candidate would have been answered too (as likely as
        the threshold asks, and as pinned to the question's years as the answer): where documents agree, or
        where one adds to another, the reader sees each."""
        chosen = best[2].evidence.source
        by_source: dict[str, _Scored] = {}
        for entry in scored:
            held, p, candidate, _ = entry
            source = candidate.evidence.source
            if source == chosen or p < self.min_confidence or held < best[0]:
                continue
            if source not in by_source or p > by_source[source][1]:
                by_source[source] = entry
        citations = []
        for _, _, candidate, read in sorted(by_source.values(), key=lambda e: -e[1]):
            source = candidate.evidence.source
            span = self._shaped(plan.question, source, Span(read.start, read.end))
            citations.append(self._citation(source, span, self._sentences_covering(source, span.start, span.end)))
        return citations

    @property
    def _shapes(self) -> bool:
        return "shape" not in self.settings.disabled

    def _shaped(self, question: Question, source: str, span: Span) -> Span:
        """The reader's span in the shape the question asks for (whole sentences, a whole amount)."""
        if not self._shapes:
            return span
        text = self.index.documents[source].text
        return Span(*shaped(question, text, self.index.sentences[source], span.start, span.end))

    def _pinned_read(self, plan: _Plan, candidate: _Candidate, read: ReadSpan) -> tuple[ReadSpan, CandidateFeatures]:
        """The reader's span in the window, with its features; for a question that states a year, the best span
        of a sentence that states it too, when the window has one."""
        features = self._features(plan, candidate, read)
        if self._holds_years(plan.question, features):
            return read, features
        for other in read.others:
            other_features = self._features(plan, candidate, other)
            if other_features.pinned == 1.0:
                return other, other_features
        return read, features

    def _holds_years(self, question: Question, features: CandidateFeatures) -> bool:
        return "pins" in self.settings.disabled or not question.years or features.pinned == 1.0

    def _answer(
        self, text: str, plan: _Plan, source: str, span: Span, quote: Span, confidence: float, shown: int
    ) -> Answer:
        if "rerank" in self.settings.disabled:
            ordered = tuple(plan.passages[:shown])
        else:
            coverage = self._coverage_of(plan.question)
            ordered = _rerank(plan.passages, plan.evidence, source, quote, coverage)[:shown]
        citation = self._citation(source, span, quote)
        answer = Answer(text, citation.text, confidence, (citation,), ordered)
        return answer.decided(self.min_confidence)

    def _citation(self, source: str, span: Span, quote: Span) -> Citation:
        doc = self.index.documents[source]
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

    def _rule_answer(self, text: str, passages: Sequence[Passage], k: int | None) -> Answer:
        """The hand-written path (reader off): rule spans in the best few sentences, hand-set confidence."""
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
        plan = _Plan(text, question, passages, evidence, [])
        return self._answer(text, plan, chosen.source, Span(span.start, span.end), chosen.sentence, confidence, shown)


def _confidence(evidence: Evidence, typed: bool, numeric: bool) -> float:
    """Evidence strength and answer-type fit, squashed to [0, 1]; a missing year or name weighs heavily."""
    z = 5.0 * evidence.coverage + 3.0 * evidence.passage_score + (1.0 if typed else -0.5 if numeric else 0.0)
    z -= 4.5
    if not evidence.pinned:
        z -= 3.0
    return 1.0 / (1.0 + math.exp(-z))


def _rerank(
    passages: Sequence[Passage],
    evidence: Sequence[Evidence],
    source: str,
    quote: Span,
    coverage: Callable[[str], float],
) -> tuple[Passage, ...]:
    """The passage holding the answer first, then by the best sentence evidence each holds, helped a little by
    how much of the question the whole passage covers and by its similarity (an answer may span sentences)."""

    def holds(p: Passage, e: Evidence) -> bool:
        c = p.chunk
        return c.source == e.source and c.start < e.sentence.end and e.sentence.start < c.end

    def key(p: Passage) -> tuple[bool, float]:
        c = p.chunk
        contains_answer = c.source == source and c.start <= quote.start < c.end
        best = max((e.score for e in evidence if holds(p, e)), default=0.0)
        return (contains_answer, best + 0.2 * coverage(p.chunk.text) + 0.2 * p.score)

    return tuple(sorted(passages, key=key, reverse=True))
