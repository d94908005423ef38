"""Words with offsets, their comparable forms, and the function words that carry no content."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# Numbers (with thousands separators, decimals, ranges stay separate), words (keeping inner hyphens, en dashes and
# apostrophes: "fund-of-funds", "January–September", "Pakistan’s"), and single punctuation marks.
_TOKEN = re.compile(r"\$?\d{1,3}(?:,\d{3})+(?:\.\d+)?%?|\$?\d+(?:\.\d+)?%?|\w+(?:[-\u2010\u2011\u2013'’&]\w+)*|[^\w\s]")
# Hyphens, an en dash between words, and a curly apostrophe compare as the plain ones: "January–September" in a
# document is the "January-September" of a question.
_PLAIN = str.maketrans({"\u2010": "-", "\u2011": "-", "\u2013": "-", "’": "'"})
_POSSESSIVE = re.compile(r"['’]s$")

STOPWORDS = frozenset(
    """a an the and or but nor so yet if then than that this these those there here such both either neither
    each every all any some no not only own same other others another
    i me my we us our you your he him his she her it its they them their who whom whose which what when where
    why how whether
    am is are was were be been being have has had having do does did doing will would shall should can could
    may might must
    of in on at by for with about against between into through during before after above below to from up
    down out off over under again further once as until while within without upon via per among across
    also just very too quite rather according said says say told tell
    one's s t""".split()
)

WH_WORDS = frozenset("what which who whom whose when where why how".split())
AUXILIARIES = frozenset(
    "am is are was were be been being have has had do does did will would shall should can could may might must".split()
)


@dataclass(frozen=True, slots=True)
class Token:
    start: int  # offsets into the text that was tokenized
    end: int
    text: str

    @property
    def is_word(self) -> bool:
        return _is_word(self.text)

    @property
    def lower(self) -> str:
        return self.text.lower()

    @property
    def is_capitalized(self) -> bool:
        return self.text[0].isupper()

    @property
    def is_content(self) -> bool:
        return _is_content(self.text)


def _is_word(text: str) -> bool:
    return text[0].isalnum() or text[0] == "$"


def _is_content(text: str) -> bool:
    return _is_word(text) and text.lower() not in STOPWORDS


def tokenize(text: str, offset: int = 0) -> list[Token]:
    """Tokens of `text`; `offset` is added to every position (to index a larger document)."""
    return [Token(m.start() + offset, m.end() + offset, m.group()) for m in _TOKEN.finditer(text)]


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light, conservative stem so that "signed", "signing" and "signs" compare equal."""
    w = _POSSESSIVE.sub("", word.lower()).translate(_PLAIN)
    if len(w) <= 3 or not w.isalpha():
        return w
    for suffix, replacement in (("ies", "y"), ("sses", "ss"), ("xes", "x"), ("ches", "ch"), ("shes", "sh")):
        if w.endswith(suffix):
            return w[: -len(suffix)] + replacement
    if w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
        if not w.endswith("ment"):
            return w
    if w.endswith("ment") and len(w) >= 9:
        return w[:-4]  # "establishment" -> "establish"
    for suffix in ("ing", "ed"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            base = w[: -len(suffix)]
            if len(base) >= 4 and base[-1] == base[-2] and base[-1] not in "lsz":
                base = base[:-1]  # "stopping" -> "stop"
            elif base.endswith(("at", "iz", "bl", "ur", "ov", "iv", "as")):
                base += "e"  # "created" -> "create", "organizing" -> "organize"
            return base
    return w


def terms(tokens: list[Token]) -> list[str]:
    """Comparable forms of the content words."""
    return [stem(t.text) for t in tokens if t.is_content]


def content_terms(text: str) -> list[str]:
    """`terms(tokenize(text))` without making a Token of each word: the indexes' analyzer, about 3x faster."""
    return [stem(word) for word in _TOKEN.findall(text) if _is_content(word)]
