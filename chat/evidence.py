"""Choose the sentence that answers: the question's words and their weights, the sentence's neighbours, the
rank of its passage, and whether it holds what the question pins down (years, numbers, names).

A sentence's words (content stems and their adjacent pairs) and the weights of stems (from how many of the index's
sentences hold each) are analyzed once, at ingest, and read here from the index (`index.analysis`): a question
analyzes only itself. `sentence_words` and `TermWeights(texts)` are the same analysis made from text.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Literal, get_args

from citeqa.index.analysis import SentenceWords, StemCounts, words_of
from citeqa.index.embedder import Vectors
from citeqa.index.search import Passage, SearchIndex
from citeqa.ingest.sentences import Span
from citeqa.ingest.words import content_terms, stem

from .question import Question

if TYPE_CHECKING:
    from .settings import Component


@dataclass(frozen=True, slots=True)
class Evidence:
    source: str
    sentence: Span
    score: float
    coverage: float  # share of the question's term weight found in the sentence and its neighbours
    passage_score: float
    pinned: bool  # every year, number and name the question states is in the sentence or its passage


class TermWeights:
    """Inverse document frequency of stems over the sentences of an index: from the sentences' texts, or
    (`from_counts`) from the counts the index keeps."""

    def __init__(self, sentence_texts: Iterable[str]) -> None:
        counts: Counter[str] = Counter()
        total = 0
        for text in sentence_texts:
            counts.update(set(content_terms(text)))
            total += 1
        self.counts: Mapping[str, int] = counts  # stem -> sentences holding it
        self.total = max(total, 1)

    @classmethod
    def from_counts(cls, counts: StemCounts) -> TermWeights:
        weights = cls(())
        weights.counts, weights.total = counts.stems, max(counts.sentences, 1)
        return weights

    def __call__(self, term: str) -> float:
        return math.log(1 + self.total / (1 + self.counts.get(term, 0)))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TermWeights) and (self.total, dict(self.counts)) == (other.total, dict(other.counts))

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class SentenceFeatures:
    """What is known of one candidate sentence; `sentence_score` weighs it with EVIDENCE_WEIGHTS."""

    own: float  # share of the question's term weight found in the sentence
    around: float  # share found only in its neighbours
    leans_back: bool  # opens with "this", "they", ...: it continues the sentence before it
    phrase_hits: float  # the question's word pairs in the sentence, and in its neighbours' at a discount
    phrases_asked: int  # the question's word pairs (none counted: 0)
    passage: float  # similarity of its passage to the question
    rank: int  # its passage's rank
    verb: bool  # holds the question's verb
    is_question: bool  # ends with "?"
    heading: bool
    pinned: bool  # holds every year and number the question states; its document, every name
    number_fit: float = 0.0  # +1 a number asked for and the sentence has one, -1 asked for and none, 0 not asked
    words: int = 0  # words in the sentence
    dense: float | None = None  # cosine of the question's vector and the sentence's; None: the index keeps none

    def values(self) -> tuple[float, ...]:
        """The features as the sentence model weighs them, in SENTENCE_FEATURE_NAMES order."""
        return (
            self.own,
            0.0 if self.leans_back else self.around,
            self.around if self.leans_back else 0.0,
            self.phrase_hits / self.phrases_asked if self.phrases_asked else 0.0,
            self.passage,
            math.log1p(self.rank),
            float(self.verb),
            float(self.is_question),
            float(self.heading),
            float(self.pinned),
            self.number_fit,
            math.log1p(self.words),
            math.nan if self.dense is None else self.dense,
        )


SentenceFeatureName = Literal[
    "own", "around", "around_leaning_back", "phrases", "passage", "rank", "verb", "is_question", "heading",
    "pinned", "number_fit", "words", "dense",
]  # fmt: skip
SENTENCE_FEATURE_NAMES: tuple[str, ...] = get_args(SentenceFeatureName)


@dataclass(frozen=True, slots=True)
class EvidenceWeights:
    """The sentence evidence's weights: set by hand on the dev questions (stop 9); the trained reader reads the
    best few sentences' windows and chooses among them with a fitted model, so these only rank candidates."""

    own: float = 0.65
    around: float = 0.15
    around_leaning_back: float = 0.4  # a sentence leaning back borrows more of its neighbours' words
    phrases: float = 0.3
    phrase_around: float = 0.25  # a neighbour's phrase, per phrase of the sentence's own
    phrase_around_leaning_back: float = 0.6
    passage: float = 0.35
    rank: float = 0.02  # subtracted per rank
    verb: float = 0.1  # "what do these measures form?": the sentence where they form something
    question_factor: float = 0.5  # a question in the text (an interviewer's) does not answer one
    heading_factor: float = 0.6  # a heading names a topic; it rarely states an answer
    unpinned_factor: float = 0.7
    neighbour_coverage: float = 0.5  # how much a neighbour's word counts towards `coverage`


EVIDENCE_WEIGHTS = EvidenceWeights()


def sentence_score(f: SentenceFeatures, w: EvidenceWeights = EVIDENCE_WEIGHTS) -> float:
    score = w.own * f.own + (w.around_leaning_back if f.leans_back else w.around) * f.around
    if f.phrases_asked:
        score += w.phrases * f.phrase_hits / f.phrases_asked
    score += w.passage * f.passage - w.rank * f.rank
    if f.verb:
        score += w.verb
    if f.is_question:
        score *= w.question_factor
    elif f.heading:
        score *= w.heading_factor
    if not f.pinned:
        score *= w.unpinned_factor
    return score


@dataclass(frozen=True, slots=True)
class SentenceCandidate:
    """One sentence of one retrieved passage, with what is known of it."""

    source: str
    sentence: Span
    features: SentenceFeatures
    coverage: float  # share of the question's term weight in the sentence and, discounted, its neighbours
    passage_score: float


def find_evidence(
    question: Question,
    passages: Sequence[Passage],
    index: SearchIndex,
    weight: Callable[[str], float],
    document_stems: Callable[[str], AbstractSet[str]],
    disabled: Collection[Component] = (),
    score: Callable[[SentenceFeatures], float] = sentence_score,
    query: Vectors | None = None,
) -> list[Evidence]:
    """Candidate sentences from the passages, best first by `score` (a sentence in several passages counts once,
    at its best). `disabled` names components left out (ablations); `query` is the question's vector."""
    found: dict[tuple[str, Span], Evidence] = {}
    for c in sentence_candidates(question, passages, index, weight, document_stems, disabled, query):
        key = (c.source, c.sentence)
        value = score(c.features)
        if key not in found or found[key].score < value:
            found[key] = Evidence(c.source, c.sentence, value, c.coverage, c.passage_score, c.features.pinned)
    return sorted(found.values(), key=lambda e: e.score, reverse=True)


def sentence_candidates(
    question: Question,
    passages: Sequence[Passage],
    index: SearchIndex,
    weight: Callable[[str], float],
    document_stems: Callable[[str], AbstractSet[str]],
    disabled: Collection[Component] = (),
    query: Vectors | None = None,
) -> Iterator[SentenceCandidate]:
    """Every sentence of every passage, in passage order (a sentence in two passages comes twice). With the
    question's vector `query`, each sentence's similarity to it, where the index keeps sentence vectors."""
    use_neighbours, use_passage = "neighbours" not in disabled, "passage" not in disabled
    use_verb, use_pins, use_phrases = "verb" not in disabled, "pins" not in disabled, "phrases" not in disabled
    w = EVIDENCE_WEIGHTS
    total = sum(weight(t) for t in question.terms) or 1.0
    # A name's own words ("Marie Curie") are no phrase evidence: the name is repeated wherever its topic is,
    # and the sentence saying something about it often calls it "she".
    named = {stem(name) for name in question.names}
    asked_pairs = {pair for pair in pairs_of(question.text) if not set(pair) <= named}

    numeric = "answer-type" not in disabled and question.answer_type.is_numeric
    for rank, passage in enumerate(passages):
        chunk = passage.chunk
        doc = index.documents[chunk.source]
        sentences = index.sentences[chunk.source]
        words = index.sentence_words[chunk.source]  # as analyzed at ingest
        inside = [n for n, span in enumerate(sentences) if span.end > chunk.start and span.start < chunk.end]
        vectors = None
        if query is not None and inside:  # only this passage's sentences' vectors are read
            vectors = index.store.sentence_vectors(chunk.source, index.manifest.dimension, inside[0], inside[-1] + 1)
        for position in inside:
            span = sentences[position]
            here, here_pairs = words[position]
            around: set[str] = set()
            around_pairs: set[tuple[str, str]] = set()
            for neighbour in (position - 1, position + 1) if use_neighbours else ():
                if 0 <= neighbour < len(sentences):
                    stems, pairs = words[neighbour]
                    around |= stems
                    around_pairs |= pairs
            sentence_text = doc.text[span.start : span.end]
            leans_back = sentence_text.split(" ", 1)[0].lower() in _LEANING_BACK
            heading = _is_heading(sentence_text)
            phrase_hits, phrases_asked = 0.0, 0
            if use_phrases and asked_pairs and not heading:
                # Words in the question's order ("mortality rate", "data sharing platform") are stronger
                # evidence than the same words scattered; a sentence leaning back borrows its neighbours'.
                # Not for headings: they repeat the topic's phrases without stating anything about it.
                borrowed = w.phrase_around_leaning_back if leans_back else w.phrase_around
                phrase_hits = len(asked_pairs & here_pairs) + borrowed * len(asked_pairs & (around_pairs - here_pairs))
                phrases_asked = len(asked_pairs)
            features = SentenceFeatures(
                own=sum(weight(t) for t in question.terms & here) / total,
                around=sum(weight(t) for t in (question.terms & around) - here) / total,
                leans_back=leans_back,
                phrase_hits=phrase_hits,
                phrases_asked=phrases_asked,
                passage=passage.score if use_passage else 0.0,
                rank=rank if use_passage else 0,
                verb=use_verb and question.verb is not None and question.verb in here,
                is_question=sentence_text.rstrip().endswith("?"),
                heading=heading,
                pinned=not use_pins or pins_hold(question, sentence_text, document_stems(chunk.source)),
                number_fit=(1.0 if _has_digit(sentence_text) else -1.0) if numeric else 0.0,
                words=len(sentence_text.split()),
                dense=None if vectors is None else float(vectors[position - inside[0]] @ query),
            )
            coverage = min(1.0, features.own + w.neighbour_coverage * features.around)
            yield SentenceCandidate(chunk.source, span, features, coverage, passage.score)


def _has_digit(text: str) -> bool:
    return any(ch.isdigit() for ch in text)


# A sentence opening with one of these continues the one before it: its neighbours' words count more.
_LEANING_BACK = frozenset("this these that those they it its such he she their both".split())


def _is_heading(text: str) -> bool:
    words = text.split()
    if not words or len(words) > 14 or text[-1] in '.!?"”’:':
        return False
    return sum(w[0].isupper() for w in words) >= 0.6 * len(words)


def sentence_words(text: str) -> SentenceWords:
    """The content stems of a sentence and its adjacent pairs of them, analyzed now: what the index stores for each
    sentence at ingest (`index.sentence_words`, read by `find_evidence`)."""
    return words_of(content_terms(text))


def pairs_of(text: str) -> set[tuple[str, str]]:
    """Adjacent pairs of content-word stems, in order: the phrases of `text`."""
    return set(pairwise(content_terms(text)))


def stems_of(text: str) -> set[str]:
    """Stems of the content words of `text`."""
    return set(content_terms(text))


def pins_hold(question: Question, sentence: str, document_stems: AbstractSet[str]) -> bool:
    """Years and numbers must be in the sentence itself; names at least in its document."""
    if any(y not in sentence for y in question.years | question.numbers):
        return False
    return all(stem(name) in document_stems for name in question.names)
