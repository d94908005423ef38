"""A name is answered whole: a span that begins or ends inside a run of capitalised words ("Lahore" of "the
University of Lahore") grows over the rest of it, joined by "of" where a capitalised word follows. A bracket ends
the run ("Theodor Heuss (German: …", "The Kwacha (ISO 4217 code: ZMW)": what it opens is said of the name, not part
of it), and so does the pronoun "I". The ends move over the document's own characters, so the answer stays a
verbatim slice."""

from __future__ import annotations

import re

_WORD_BEFORE = re.compile(r"(\S+)(\s+)$")
_WORD_AFTER = re.compile(r"^(\s+)(\S+)")
_JOINERS = frozenset({"of", "de", "for"})  # not "and": "Pakistan and Azerbaijan" are two names
MAX_NAME_WORDS = 8  # a name grows by at most this many words on each side
_EDGE = ".,;:!?\"'()[]“”‘’"
_OPENING = "(["


def _capitalised(word: str) -> bool:
    word = word.strip(_EDGE)
    return bool(word) and word[0].isupper() and word != "I"  # not the pronoun


def whole_name(text: str, start: int, end: int) -> tuple[int, int]:
    """(start, end) widened over the capitalised name the span is part of; unchanged when it is not one."""
    inner = text[start:end].split()
    if not inner:
        return start, end
    if _capitalised(inner[0]):
        start = _grow_left(text, start)
    if _capitalised(inner[-1]) and inner[-1][-1] not in _EDGE:
        end = _grow_right(text, end)
    return start, end


def _grow_left(text: str, start: int) -> int:
    for _ in range(MAX_NAME_WORDS):
        m = _WORD_BEFORE.search(text, max(0, start - 80), start)
        if not m or "\n" in m.group(2) or m.group(1)[-1] in _EDGE or not _capitalised(m.group(1)):
            # "the University of Lahore": a joiner between capitalised words belongs to the name
            if m and m.group(1).lower() in _JOINERS and "\n" not in m.group(2):
                before = _WORD_BEFORE.search(text, max(0, m.start() - 80), m.start())
                if (
                    before
                    and "\n" not in before.group(2)
                    and _capitalised(before.group(1))
                    and before.group(1)[-1] not in _EDGE
                ):
                    start = before.start()
                    continue
            break
        if _sentence_start(text, m.start()):
            break  # a capitalised first word of a sentence is not known to be part of the name
        if m.group(1)[0] in _OPENING:  # "(Azerbaijan Technical University)": the name begins inside the bracket
            return m.start() + 1
        start = m.start()
    return start


def _grow_right(text: str, end: int) -> int:
    for _ in range(MAX_NAME_WORDS):
        m = _WORD_AFTER.match(text[end : end + 80])
        if not m or "\n" in m.group(1):
            break
        word = m.group(2)
        if word.lower() in _JOINERS:
            after = _WORD_AFTER.match(text[end + m.end() : end + m.end() + 80])
            if after and "\n" not in after.group(1) and _capitalised(after.group(2)):
                end += m.end() + len(after.group(1)) + len(after.group(2).rstrip(_EDGE))
                if after.group(2)[-1] in _EDGE:
                    break
                continue
            break
        if not _capitalised(word) or word[0] in _OPENING:  # "(AzTU)" is said of the name, not part of it
            break
        end += len(m.group(1)) + len(word.rstrip(_EDGE))
        if word[-1] in _EDGE:
            break
    return end


def _sentence_start(text: str, offset: int) -> bool:
    before = text[:offset].rstrip()
    return not before or before[-1] in ".!?\n"
