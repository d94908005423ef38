"""Sentence segmentation with character offsets into the unchanged text.

Rule-based and fast: a sentence ends at . ! ? (or …) followed by whitespace and a capital, digit, quote or
bullet, unless the word before the stop is an abbreviation ("Ms.", "e.g.") or an initial. Paragraph breaks,
headings, bullets and Q&A lines end a sentence too; a line merely wrapped inside a sentence does not.
"""

from __future__ import annotations

import re
from typing import NamedTuple


class Span(NamedTuple):
    start: int
    end: int


# Words that take a full stop without ending a sentence (compared lower-case, without the stop).
ABBREVIATIONS = frozenset(
    """mr mrs ms messrs dr prof sr jr st mt rev hon gen col lt sgt capt cmdr adm gov pres sen rep amb
    vs etc al approx ca cf fig figs eq eqs ref refs vol vols no nos pp ed eds est dept univ assn
    jan feb mar apr jun jul aug sep sept oct nov dec e.g i.e a.m p.m u.s u.k u.n ph.d m.d b.a m.a""".split()
)

_STOP = re.compile(r"(?:[.!?]+|…)[\"'”’)\]]*(?=\s|$)")
_OPENERS = "\"'“‘([-–—•*"
_WORD_BEFORE = re.compile(r"([\w.]+)$")
_BULLET = re.compile(r"[-–—•*·▪◦‣]+\s*")
_LINE = re.compile(r"[^\n]*\n?")
_WRAP_END = re.compile(r"[\w,;]$")


def split_sentences(text: str) -> list[Span]:
    """Sentences of `text` as trimmed, ordered, non-overlapping spans; text[start:end] is the sentence."""
    spans: list[Span] = []
    for block in _blocks(text):
        for start, end in _split_block(text, block):
            span = _trim(text, start, end)
            if span is not None:
                spans.append(span)
    return spans


def _blocks(text: str) -> list[Span]:
    """Runs of lines that may hold one flowing sentence; a line break between them always ends one."""
    blocks: list[Span] = []
    block_start = 0
    pos = 0
    previous = ""
    for match in _LINE.finditer(text):
        line = match.group()
        if not line:
            break
        stripped = line.strip()
        if pos > block_start and not _continues(previous, stripped):
            blocks.append(Span(block_start, pos))
            block_start = pos
        previous = stripped  # after a blank line, the next line always starts anew
        pos = match.end()
    if pos > block_start:
        blocks.append(Span(block_start, pos))
    return blocks


def _continues(previous: str, line: str) -> bool:
    """Whether `line` continues the sentence of `previous` (a wrapped line), rather than starting anew."""
    return bool(previous and line and _WRAP_END.search(previous) and line[0].islower())


def _split_block(text: str, block: Span) -> list[Span]:
    pieces: list[Span] = []
    start = block.start
    for stop in _STOP.finditer(text, block.start, block.end):
        if not _next_starts_sentence(text, stop.end(), block.end):
            continue
        if text[stop.start()] == "." and _is_abbreviation(text, start, stop.start()):
            continue
        pieces.append(Span(start, stop.end()))
        start = stop.end()
    pieces.append(Span(start, block.end))
    return pieces


def _next_starts_sentence(text: str, pos: int, end: int) -> bool:
    """After a stop: whitespace, then a capital or digit (maybe behind an opening quote), or nothing at all."""
    while pos < end and text[pos].isspace():
        pos += 1
    if pos < end and text[pos] in _OPENERS:
        pos += 1
    return pos >= end or text[pos].isupper() or text[pos].isdigit()


def _is_abbreviation(text: str, start: int, dot: int) -> bool:
    word = _WORD_BEFORE.search(text, start, dot)
    if word is None:
        return False
    token = word.group(1).rstrip(".")
    if len(token) == 1 and token.isupper():  # an initial: "J. Smith"
        return True
    return token.lower() in ABBREVIATIONS


def _trim(text: str, start: int, end: int) -> Span | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    bullet = _BULLET.match(text, start, end)
    if bullet and bullet.end() < end and text[bullet.end()].isalnum():
        start = bullet.end()  # "- Item" or "-Answer": the marker is layout, not part of the sentence
    return Span(start, end) if start < end else None
