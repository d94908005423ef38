"""Each sentence's words as the answerer weighs them, analyzed once at ingest and stored beside its document.

Per sentence: the stems of its content words, in order (the BM25 analyzer's, `lexical.analyze`); the answerer
takes their set and their adjacent pairs (its phrases). Per index: how many sentences there are and in how many
each stem occurs (`StemCounts`, the answerer's term weights), kept in each generation's `sentence_stems.json` and
updated by an ingest from the documents it adds and removes: an answerer's start reads one file, not every document.

A document's analysis is a row of the store (`sentence_words`, keyed by the document's digest and ANALYSIS):
zlib-compressed UTF-8, one line per sentence, its stems separated by spaces (a stem holds no white space). A row
made by another analyzer, whose checksum does not match, or whose sentences do not number the document's is not
used: the document's sentences are analyzed again, which gives the same words, only slower. So an index written
before the rows existed answers as before (analyzed on the fly) and its next ingest fills them in.
"""

from __future__ import annotations

import json
import math
import zlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

from citeqa.ingest.sentences import Span
from citeqa.ingest.words import content_terms

from .errors import IndexDamagedError
from .lexical import ANALYZER, analyze

ANALYSIS = f"{ANALYZER}; sentences 1"  # a change of either makes stored rows and counts unusable (analyzed again)
COUNTS_FILE = "sentence_stems.json"
COMPRESSION = 6

Analysis = list[list[str]]  # per sentence, the stems of its content words in order
SentenceWords = tuple[frozenset[str], frozenset[tuple[str, str]]]  # a sentence's stems and adjacent pairs of them


def analyze_sentences(text: str, sentences: Sequence[Span]) -> Analysis:
    """The analysis of a document's sentences, each analyzed on its own text (as the answerer always did)."""
    return [analyze(text[s.start : s.end]) for s in sentences]


def words_of(stems: Sequence[str]) -> SentenceWords:
    return frozenset(stems), frozenset(pairwise(stems))


def encode(analysis: Analysis) -> bytes | None:
    """The stored form of an analysis; None when a stem holds a separator (then it is not stored, only computed)."""
    lines = [" ".join(stems) for stems in analysis]
    for line, stems in zip(lines, analysis, strict=True):
        if "\n" in line or (line.split(" ") if line else []) != stems:
            return None
    return zlib.compress("\n".join(lines).encode("utf-8"), COMPRESSION)


def decode(blob: bytes, sentences: int) -> Analysis | None:
    """The analysis `blob` holds if it has `sentences` sentences; None when it cannot be read or does not fit."""
    try:
        text = zlib.decompress(blob).decode("utf-8")  # zlib checks its own checksum of what it inflates
    except (zlib.error, UnicodeDecodeError):
        return None
    if not sentences:
        return [] if not text else None
    lines = text.split("\n")
    if len(lines) != sentences:
        return None
    return [line.split(" ") if line else [] for line in lines]


def row_checksum(digest: str, analyzer: str, blob: bytes) -> int:
    """A CRC of a row and the document it belongs to: a damaged row, or one moved to another document, is not used."""
    return zlib.crc32(blob, zlib.crc32(f"{digest}\x00{analyzer}\x00".encode()))


@dataclass(slots=True)
class StemCounts:
    """How many sentences an index holds, and how many of them hold each stem."""

    sentences: int = 0
    stems: dict[str, int] = field(default_factory=dict)

    def add(self, analysis: Iterable[Sequence[str]]) -> None:
        stems = self.stems
        for sentence in analysis:
            for stem in set(sentence):
                stems[stem] = stems.get(stem, 0) + 1
            self.sentences += 1

    def remove(self, analysis: Iterable[Sequence[str]]) -> None:
        """Take a document's sentences out; ValueError when they were never counted (the counts are then wrong)."""
        stems = self.stems
        for sentence in analysis:
            for stem in set(sentence):
                left = stems.get(stem, 0) - 1
                if left < 0:
                    raise ValueError(f"the stem {stem!r} was never counted")
                if left:
                    stems[stem] = left
                else:
                    del stems[stem]
            self.sentences -= 1
        if self.sentences < 0:
            raise ValueError("more sentences removed than counted")

    def copy(self) -> StemCounts:
        return StemCounts(self.sentences, dict(self.stems))

    def save(self, path: Path) -> None:
        data = {"analyzer": ANALYSIS, "sentences": self.sentences, "stems": self.stems}
        path.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> StemCounts | None:
        """The counts saved at `path`; None when another analyzer made them; IndexDamagedError when unreadable."""
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            analyzer, sentences, stems = data["analyzer"], data["sentences"], data["stems"]
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
            raise IndexDamagedError(f"{path} cannot be read ({exc})", "rebuild the index with citeqa ingest") from exc
        if analyzer != ANALYSIS:
            return None
        if not isinstance(sentences, int) or not isinstance(stems, dict) or sentences < 0:
            raise IndexDamagedError(f"{path} does not hold sentence counts", "rebuild the index with citeqa ingest")
        return cls(sentences, stems)


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


def sentence_words(text: str) -> SentenceWords:
    """The content stems of a sentence and its adjacent pairs of them, analyzed now: what the index stores for each
    sentence at ingest."""
    return words_of(content_terms(text))


def stems_of(text: str) -> set[str]:
    """Stems of the content words of `text`."""
    return set(content_terms(text))
