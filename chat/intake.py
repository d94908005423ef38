"""A question as typed -> the text citeqa searches for, or a notice saying why it will not search.

In order: typographic dashes and quotes become plain ones (so "January–September" and "January-September"
are one question); a question that is not English is turned away with a message saying so (citeqa's reader is
English: answering would look like "the documents don't say"); a question with no word to search for is too;
then words that are neither the documents' own nor English are corrected against the documents' vocabulary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .answer import Notice
from .language import foreign_language
from .question import analyze
from .spelling import Speller

# Dashes and quotes that mean the same as the plain ASCII ones in a question.
_PLAIN = str.maketrans(
    {
        "\u2010": "-",  # hyphen
        "\u2011": "-",  # non-breaking hyphen
        "\u2012": "-",  # figure dash
        "\u2013": "-",  # en dash
        "\u2212": "-",  # minus sign
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u00a0": " ",
    }
)
_SPACED_DASH = re.compile(r"(?<=\w) - (?=\w)")  # "January - September" reads as one range too


@dataclass(frozen=True, slots=True)
class Intake:
    searched: str  # what retrieval and the reader see
    notice: Notice | None = None  # set: do not answer; tell the person this instead
    corrected: bool = False  # whether spelling was corrected (`searched` then differs from the question)


def plain(question: str) -> str:
    """The question with typographic dashes, quotes and spaces made plain."""
    return _SPACED_DASH.sub("-", question.translate(_PLAIN))


def take(question: str, speller: Speller | None) -> Intake:
    """What to search for to answer `question` (already checked: non-empty text), or why not to."""
    text = plain(question)
    language = foreign_language(text)
    if language is not None:
        return Intake(
            text,
            Notice(
                "not_english",
                f"citeqa reads questions in English, and this one looks like {language}. "
                "Please ask it in English; the answer will still be quoted from the documents.",
            ),
        )
    if speller is not None:
        corrected = speller.correct(text)
        if corrected.replaced:
            return _searchable(corrected.text, corrected=True) or _searchable(text) or _nothing(text)
    return _searchable(text) or _nothing(text)


def _searchable(text: str, corrected: bool = False) -> Intake | None:
    return Intake(text, corrected=corrected) if analyze(text).terms else None


def _nothing(text: str) -> Intake:
    return Intake(
        text,
        Notice(
            "nothing_to_search",
            "This question has no word citeqa can look for in the documents (only words such as “what”, “the” "
            "or “is”). Please name what you are asking about, e.g. “When was the agreement signed?”",
        ),
    )
