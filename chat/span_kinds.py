"""The kinds of span the rules path (`--disable reader`) proposes, and how well each fits each kind of question.

One registry: a new span kind is a `SpanKind` member plus a column in every row of `KIND_FIT`; a new kind of
question is a `Fit` row (tests/test_spans.py fails if either is incomplete). The weights were set by hand on the
dev questions (stop 9); the trained reader replaced them on the default path, and they stay as the baseline that
ablations measure the reader against.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .question import AnswerType, Question


class SpanKind(StrEnum):
    # Numbers, told apart by what they count (chat/spans.py: `_quantity_kind`).
    COUNT = "count"
    QUANTITY = "quantity"  # a number with its unit
    PERCENT = "percent"
    FRACTION = "fraction"
    MONEY = "money"
    DATE = "date"
    YEAR = "year"
    DURATION = "duration"
    # Words.
    NAME = "name"  # a run of capitalised words
    NAMES = "names"  # a list of names
    NAMED = "named"  # what the question's noun is called ("the forum called X")
    FOCUS = "focus"  # the noun phrase the question asks about, with its modifiers
    APPOSITION = "apposition"  # the list a phrase introduces ("including ...")
    OBJECT = "object"  # what follows the question's verb
    NEW = "new"  # a run of words the question does not contain
    SENTENCE = "sentence"  # the whole sentence


NUMBER_KINDS = frozenset(
    {
        SpanKind.COUNT,
        SpanKind.QUANTITY,
        SpanKind.PERCENT,
        SpanKind.FRACTION,
        SpanKind.MONEY,
        SpanKind.DATE,
        SpanKind.YEAR,
        SpanKind.DURATION,
    }
)
KEEPS_LEADING_SYMBOL = frozenset(
    {SpanKind.COUNT, SpanKind.QUANTITY, SpanKind.PERCENT, SpanKind.MONEY, SpanKind.FRACTION}
)


class Fit(StrEnum):
    """The rows of the fit table: what a question asks for, as far as span kinds care."""

    COUNT = "count"
    QUANTITY = "quantity"
    MONEY = "money"
    PERCENT = "percent"
    DATE = "date"
    DURATION = "duration"
    PERSON_OR_PLACE = "person or place"
    PERSONS_OR_PLACES = "persons or places"  # "which cities", "who were the founders"
    REASON = "reason"
    MANNER = "manner"
    KIND_OF = "kind of"  # "what kind of projects"
    THING = "thing"
    THINGS = "things"


NOT_A_NUMBER = (-0.2,) * len(NUMBER_KINDS)  # the number columns of a question that asks for words
# fmt: off
KIND_FIT: dict[Fit, tuple[float, ...]] = {
    # number columns: count quantity percent fraction money date year duration;
    # word columns:   name names named focus apposition object new sentence
    Fit.COUNT:             (1.5, 1.2, 0.5, 0.0, 0.5, 0.0, 0.0, 0.0,  0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.5, -0.5),
    Fit.QUANTITY:          (1.3, 1.5, 1.2, 1.4, 1.2, 0.0, 0.0, 0.0,  0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.5, -0.5),
    Fit.MONEY:             (0.6, 0.8, 0.0, 0.0, 1.6, 0.0, 0.0, 0.0,  0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.5, -0.5),
    Fit.PERCENT:           (0.0, 0.6, 1.6, 1.6, 0.0, 0.0, 0.0, 0.0,  0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.5, -0.5),
    Fit.DATE:              (0.0, 0.0, 0.0, 0.0, 0.0, 1.6, 1.5, 0.0,  0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.5, -0.5),
    Fit.DURATION:          (0.4, 0.6, 0.0, 0.0, 0.0, 0.0, 0.0, 1.6,  0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.5, -0.5),
    Fit.PERSON_OR_PLACE:   (*NOT_A_NUMBER,                           1.0, 0.3, -0.2, -0.2, -0.2, -0.2, -0.2, -0.2),
    Fit.PERSONS_OR_PLACES: (*NOT_A_NUMBER,                           1.0, 1.2, -0.2, -0.2, -0.2, -0.2, -0.2, -0.2),
    Fit.REASON:            (*NOT_A_NUMBER,                           0.0, 0.0, 0.0, 0.0, 0.0, 0.3, 0.3, 0.6),
    Fit.MANNER:            (*NOT_A_NUMBER,                           0.0, 0.0, 0.0, 0.0, 0.0, 0.3, 0.3, 0.0),
    Fit.KIND_OF:           (*NOT_A_NUMBER,                           0.3, 0.0, 1.0, 1.0, 0.3, 0.4, 0.0, 0.0),
    Fit.THING:             (*NOT_A_NUMBER,                           0.5, 0.0, 1.2, 0.6, 0.4, 0.5, 0.1, -0.2),
    Fit.THINGS:            (*NOT_A_NUMBER,                           0.5, 0.6, 1.2, 0.6, 0.7, 0.5, 0.1, -0.2),
}
# fmt: on
_COLUMN = {kind: column for column, kind in enumerate(SpanKind)}


@dataclass(frozen=True, slots=True)
class SpanWeights:
    """How a candidate span scores besides its kind's fit (set by hand on dev, stop 9, like the table above)."""

    nearness: float = 1.5  # the question's words close around the span, per unit of their total weight
    novelty: float = 0.15  # words the question does not contain (counted up to `novel_words`)
    novel_words: int = 2
    restated: float = 0.5  # the question's own words inside the span, per span word (not for names, sentences)
    long_span_words: int = 12  # spans longer than this lose `per_extra_word` for each further word
    per_extra_word: float = 0.03
    preposition: float = 0.3  # "from which cities" ... "from Lahore and Islamabad"


SPAN_WEIGHTS = SpanWeights()
TYPED_FIT = 0.45  # a span fitting at least this well is "of the kind the question asks for"

_NUMERIC_FITS = {
    AnswerType.COUNT: Fit.COUNT,
    AnswerType.QUANTITY: Fit.QUANTITY,
    AnswerType.MONEY: Fit.MONEY,
    AnswerType.PERCENT: Fit.PERCENT,
    AnswerType.DATE: Fit.DATE,
    AnswerType.DURATION: Fit.DURATION,
}


def fit_of(question: Question) -> Fit:
    """The row of the fit table a question reads."""
    t = question.answer_type
    if t in _NUMERIC_FITS:
        return _NUMERIC_FITS[t]
    if t in (AnswerType.PERSON, AnswerType.PLACE):
        return Fit.PERSONS_OR_PLACES if question.plural else Fit.PERSON_OR_PLACE
    if t is AnswerType.REASON:
        return Fit.REASON
    if t is AnswerType.MANNER:
        return Fit.MANNER
    if question.asks_kind:
        return Fit.KIND_OF
    return Fit.THINGS if question.plural else Fit.THING


def kind_fit(fit: Fit, kind: SpanKind) -> float:
    return KIND_FIT[fit][_COLUMN[kind]]
