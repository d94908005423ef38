"""The answer in the shape the question asks for: an explanation is whole sentences, an amount keeps its currency
sign, scale and unit, and ends where its clause does; a bracket the span opens is closed. All of it moves the ends
of the reader's span over the document's own characters, so the answer stays a verbatim slice.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence

from citeqa.ingest.sentences import Span

from .question import Question

_AUXILIARIES = frozenset("is are was were do does did can could has have had will would should may might must".split())
# "how" asks for a manner or a process unless a quantity word follows it ("how many", "how long").
_HOW_QUANTITIES = frozenset(
    "many much long old far often big large tall wide high soon early late fast quickly deep heavy small short".split()
)
_ASKING_TO_EXPLAIN = re.compile(r"^(?:please\s+)?(?:describe|explain|tell me about|summari[sz]e)\b", re.IGNORECASE)
_WHAT_DOES_DO = re.compile(r"^what\s+(?:does|did|do|will|would|can)\b.*\bdo\b\W*$", re.IGNORECASE)

# Punctuation around a question's first words ("Why, then, ...", "¿Cómo ...", "\"Why ...").
_WORD_EDGES = "¿¡\"'“‘([,;:.!?"

# Where a clause ends inside a span: a comma, semicolon, bracket or dash followed by a space (not "80,924").
_CLAUSE_BREAK = re.compile(r"[,;]\s|\s[(–—]")
_BRACKET_PAIRS = (("(", ")"), ("[", "]"))
MAX_BRACKET_REACH = 60  # characters a span may grow by to close (or open) a bracket it leaves half open
_CURRENCY_BEFORE = re.compile(r"(?:[$€£¥₹]|(?:US|A|C|NZ|HK)\$|(?:USD|EUR|GBP|AZN|PKR|Rs\.?)\s?)$")
_SCALE = r"\s?%|\s?(?:per ?cent|percent|million|billion|trillion|thousand|bn|mn)\b"
# A span that ends in a number, or in a number and its scale ("3.3 million"): the unit after it still belongs to it.
_ENDS_IN_NUMBER = re.compile(rf"\d(?:{_SCALE})?$")
_AMOUNT_AFTER = re.compile(
    rf"^(?:{_SCALE})?"
    r"(?:\s(?:tonnes|tons|metric tons|kilometres|kilometers|km|miles|kilograms|kg|litres|liters|megawatts|MW|"
    r"gigawatts|GW|hectares|square kilometres|square miles|barrels|cubic metres|dollars|"
    r"euros|manat|rupees)\b)?"
)


def wants_explanation(question: Question) -> bool:
    """Why / how (not how many) / describe / what does X do / yes-no questions: answered by whole sentences."""
    words = question.text.strip().split()
    if not words:
        return False
    first = words[0].lower().strip(_WORD_EDGES)
    second = words[1].lower().strip(_WORD_EDGES) if len(words) > 1 else ""
    if first == "why" or _ASKING_TO_EXPLAIN.match(question.text.strip()):
        return True
    if first == "how":
        return second not in _HOW_QUANTITIES
    if _WHAT_DOES_DO.match(question.text.strip()):
        return True
    return first in _AUXILIARIES


def shaped(question: Question, text: str, sentences: Sequence[Span], start: int, end: int) -> tuple[int, int]:
    """The reader's span text[start:end], widened to the shape the question asks for."""
    if wants_explanation(question):
        return whole_sentences(sentences, start, end)
    if question.answer_type.is_numeric:
        end = _first_clause(text, start, end)
    return _closed_brackets(text, *_whole_amount(text, start, end))


def _closed_brackets(text: str, start: int, end: int) -> tuple[int, int]:
    """A bracket the span opens is closed, one it closes is opened: "Azerbaijan Technical University (AzTU" takes
    its ")". Only where the other bracket lies within reach on the same line, with no bracket of the pair between."""
    for opening, closing in _BRACKET_PAIRS:
        unopened, unclosed = _unmatched(text[start:end], opening, closing)
        if unclosed == 1:
            after = text[end : end + MAX_BRACKET_REACH]
            close = after.find(closing)
            if close != -1 and "\n" not in after[:close] and opening not in after[:close]:
                end += close + 1
        if unopened == 1:
            before = text[max(0, start - MAX_BRACKET_REACH) : start]
            open_ = before.rfind(opening)
            if open_ != -1 and "\n" not in before[open_:] and closing not in before[open_:]:
                start -= len(before) - open_
    return start, end


def _unmatched(span: str, opening: str, closing: str) -> tuple[int, int]:
    """(closing brackets without their opening one, opening brackets without their closing one) in `span`."""
    unopened = depth = 0
    for ch in span:
        if ch == opening:
            depth += 1
        elif ch == closing:
            if depth:
                depth -= 1
            else:
                unopened += 1
    return unopened, depth


def _first_clause(text: str, start: int, end: int) -> int:
    """A number asked for ends where its clause does: "80,924, an increase of 47%" is "80,924"."""
    cut = _CLAUSE_BREAK.search(text, start, end)
    if cut and any(ch.isdigit() for ch in text[start : cut.start()]):
        return cut.start()
    return end


def whole_sentences(sentences: Sequence[Span], start: int, end: int) -> tuple[int, int]:
    """The shortest run of whole sentences holding text[start:end]."""
    if not sentences:
        return start, end
    starts = [s.start for s in sentences]
    first = max(bisect.bisect_right(starts, start) - 1, 0)
    if start >= sentences[first].end and first + 1 < len(sentences) and sentences[first + 1].start < end:
        first += 1  # the span starts in the space after a sentence: that sentence is not part of it
    last = max(bisect.bisect_right(starts, max(end - 1, start)) - 1, first)
    return min(sentences[first].start, start), max(sentences[last].end, end)


def _whole_amount(text: str, start: int, end: int) -> tuple[int, int]:
    """A number keeps the currency sign before it and the scale and unit after it ("€7.50", "38 tonnes")."""
    if start < end and text[start].isdigit():
        sign = _CURRENCY_BEFORE.search(text[max(0, start - 4) : start])
        if sign:
            start -= len(sign.group(0))
    if start < end and _ENDS_IN_NUMBER.search(text, start, end):
        tail = _AMOUNT_AFTER.match(text[end : end + 40])
        if tail:
            end += len(tail.group(0))
    return start, end
