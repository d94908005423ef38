"""Token-sized chunks aligned on sentence boundaries, with char offsets into their document.

A chunk is a run of whole sentences whose tiktoken count stays within `max_tokens`; consecutive chunks share
up to `overlap_tokens` of trailing sentences, so an answer near a boundary sits whole in one of them. A
sentence longer than a chunk is split at word boundaries (at characters only for a single giant "word").
An optional `fits` check (the embedding model's own limit) can only shrink a chunk further.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import tiktoken

from citeqa.errors import CiteqaError

from .documents import Document
from .sentences import Span, split_sentences
from .tokens import SUPPORTED_ENCODINGS, count_tokens

_WORD_END = re.compile(r"\S(?=\s|$)")

ChunkProgress = Callable[[float], None]  # the share of a document chunked so far, from 0 to 1
PROGRESS_MIN_CHARS = 1_000_000  # a shorter document is chunked in seconds: no progress reported for it
PROGRESS_STEP = 0.1  # reported each time another tenth is done


@dataclass(frozen=True, slots=True)
class ChunkSettings:
    """How documents are cut into chunks; recorded in every index manifest."""

    # As long as the model reads (256 word pieces, checked by `fits`): on COVID-QA's long papers, answers' passages
    # among the 5 returned went from 0.77 at 160 tokens to 0.80, the interview questions unchanged.
    max_tokens: int = 256
    overlap_tokens: int = 32
    encoding: str = "cl100k_base"

    def __post_init__(self) -> None:
        if not 8 <= self.max_tokens <= 8192:
            raise CiteqaError(f"chunk size {self.max_tokens} is out of range", "use 8 to 8192 tokens")
        if not 0 <= self.overlap_tokens <= self.max_tokens // 2:
            raise CiteqaError(
                f"chunk overlap {self.overlap_tokens} is out of range",
                f"use 0 to half the chunk size ({self.max_tokens // 2} tokens)",
            )
        if self.encoding not in SUPPORTED_ENCODINGS:
            raise CiteqaError(f"unknown token encoding {self.encoding!r}", f"use {SUPPORTED_ENCODINGS[0]}")


@dataclass(frozen=True, slots=True)
class Chunk:
    """A passage of a document: `text == document.text[start:end]`."""

    id: int  # from a content hash: the same chunk gets the same id on every ingest
    source: str
    start: int
    end: int
    text: str


def chunk_id(source: str, start: int, text: str) -> int:
    digest = hashlib.sha256(f"{source}\x00{start}\x00{text}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1  # 63 bits: a positive int64, as FAISS ids are


class Chunker:
    """Cuts documents into chunks by the settings; `fits` is an extra limit a chunk's text must meet."""

    def __init__(
        self,
        settings: ChunkSettings,
        encoding: tiktoken.Encoding,
        fits: Callable[[str], bool] | None = None,
    ) -> None:
        self.settings = settings
        self.encoding = encoding
        self.fits = fits
        # No text longer than this fits a chunk (every token is at most the encoding's longest token, in bytes, and
        # a character is at least a byte): longer ones are refused without tokenising them, and a piece's search
        # for its end looks no further. Byte-pair encoding is quadratic in a word's length: a 10 MB "word" given
        # whole to tiktoken would take half an hour.
        self.max_chars = settings.max_tokens * _longest_token_bytes(encoding)

    def chunk(
        self, document: Document, sentences: Sequence[Span] | None = None, progress: ChunkProgress | None = None
    ) -> list[Chunk]:
        """The document's chunks; `progress` hears how far a long document has got (cutting its sentences to size
        counts as the first half, gathering them into chunks as the second)."""
        text = document.text
        report = _Reporter(progress if len(text) >= PROGRESS_MIN_CHARS else None, len(text))
        spans = split_sentences(text) if sentences is None else sentences
        units: list[Span] = []
        for span in spans:
            units.extend(self._fitting_pieces(text, span, report))
            report(span.end / 2)
        # Running token counts of the units: an estimate of where each chunk ends, checked exactly after.
        reach = list(itertools.accumulate((self.tokens(text[u.start : u.end]) for u in units), initial=0))
        chunks: list[Chunk] = []
        first = 0
        while first < len(units):
            last = self._last_unit(text, units, first, reach)
            start, end = units[first].start, units[last].end
            chunks.append(
                Chunk(
                    chunk_id(document.source, start, text[start:end]),
                    document.source,
                    start,
                    end,
                    text[start:end],
                )
            )
            report((len(text) + end) / 2)
            if last == len(units) - 1:
                break
            first = self._overlap_start(text, units, first, last)
            # The overlap must leave room for new text: units[first..last + 1] must fit, or share less.
            while first <= last and not self._ok(text[units[first].start : units[last + 1].end]):
                first += 1
        report(len(text))
        return chunks

    def tokens(self, text: str) -> int:
        return count_tokens(self.encoding, text)

    def _fits_between(self, text: str, start: int, end: int) -> bool:
        return self._ok(text[start:end])

    def _ok(self, text: str) -> bool:
        if len(text) > self.max_chars:
            return False
        return self.tokens(text) <= self.settings.max_tokens and (self.fits is None or self.fits(text))

    def _last_unit(self, text: str, units: Sequence[Span], first: int, reach: Sequence[int]) -> int:
        """The furthest unit such that units[first..last] still make an acceptable chunk.

        The search starts where the units' summed token counts (`reach`) say the chunk ends, then gallops
        from there and bisects: the same answer as a plain binary search, in two or three exact checks
        instead of eight or nine.
        """

        def ok(last: int) -> bool:
            return self._ok(text[units[first].start : units[last].end])

        end = len(units) - 1
        guess = bisect.bisect_right(reach, reach[first] + self.settings.max_tokens) - 2
        guess = min(max(guess, first), end)
        step = 1
        if ok(guess):  # fits: look further, doubling the step, until something does not
            low, high = guess, end
            while low < high:
                probe = min(low + step, high)
                if not ok(probe):
                    high = probe - 1
                    break
                low, step = probe, step * 2
        else:  # too long: come back, doubling the step, until something fits (units[first] alone always does)
            low, high = first, guess - 1
            while high > first:
                probe = max(high - step + 1, first)
                if ok(probe):
                    low = probe
                    break
                high, step = probe - 1, step * 2
        while low < high:  # units[first..low] fit, anything past `high` does not
            mid = (low + high + 1) // 2
            if ok(mid):
                low = mid
            else:
                high = mid - 1
        return low

    def _overlap_start(self, text: str, units: Sequence[Span], first: int, last: int) -> int:
        """Where the next chunk starts: the earliest unit after `first` whose tail up to `last` fits the overlap."""
        low, high = first + 1, last + 1  # last + 1: no overlap
        while low < high:
            mid = (low + high) // 2
            if self.tokens(text[units[mid].start : units[last].end]) <= self.settings.overlap_tokens:
                high = mid
            else:
                low = mid + 1
        return low

    def _fitting_pieces(self, text: str, span: Span, report: _Reporter | None = None) -> list[Span]:
        """The span itself if it fits a chunk, else its longest word-aligned pieces that each fit."""
        if self._ok(text[span.start : span.end]):
            return [span]
        pieces: list[Span] = []
        start = span.start
        while start < span.end:
            fits_from_start = functools.partial(self._fits_between, text, start)
            # A piece ending at `reach` is too long to fit, so a word cut there by the window is never taken.
            reach = min(span.end, start + self.max_chars + 1)
            end = _longest((m.end() for m in _WORD_END.finditer(text, start, reach)), fits_from_start)
            if end is None:  # one "word" longer than a chunk: cut it at characters
                end = _longest(range(start + 1, reach + 1), fits_from_start) or start + 1
            pieces.append(Span(start, end))
            if report is not None:  # a sentence of megabytes (a line of CSV, a giant word) reports as it goes
                report(end / 2)
            start = end
            while start < span.end and text[start].isspace():
                start += 1
        return pieces


class _Reporter:
    """Passes `progress` the share done each time another PROGRESS_STEP of it is reached, and at the end."""

    def __init__(self, progress: ChunkProgress | None, total: int) -> None:
        self.progress = progress
        self.total = max(total, 1)
        self.next_share = PROGRESS_STEP

    def __call__(self, done: float) -> None:
        share = min(done / self.total, 1.0)
        if self.progress is not None and share >= self.next_share:
            self.progress(share)
            self.next_share = (int(share / PROGRESS_STEP) + 1) * PROGRESS_STEP


@functools.cache
def _longest_token_bytes(encoding: tiktoken.Encoding) -> int:
    return max(len(token) for token in encoding.token_byte_values())


def _longest(ends: Iterable[int], ok: Callable[[int], bool]) -> int | None:
    """The largest end for which `ok` holds, assuming it holds for a prefix of `ends`: galloping from the first end
    (1, 2, 4, ... ahead), then bisecting. `ends` is read only as far as the answer, and `ok` tests texts of about
    the answer's length, so a piece costs time in proportion to its own length, not to what follows it (a
    10 MB line with no sentence end was quadratic when every probe started from the middle of the whole line)."""
    seen: list[int] = []
    source = iter(ends)

    def at(i: int) -> int | None:
        while len(seen) <= i:
            following = next(source, None)
            if following is None:
                return None
            seen.append(following)
        return seen[i]

    first = at(0)
    if first is None or not ok(first):
        return None
    low, step = 0, 1  # ok(seen[low]) holds
    while True:
        probe = at(low + step)
        if probe is None:
            high = len(seen) - 1
            break
        if not ok(probe):
            high = low + step - 1
            break
        low, step = low + step, step * 2
    while low < high:
        mid = (low + high + 1) // 2
        if ok(seen[mid]):
            low = mid
        else:
            high = mid - 1
    return seen[low]
