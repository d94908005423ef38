"""What a question asks for: its content terms, the kind of answer, the noun it is about, what it pins down."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from citeqa.errors import CiteqaError
from citeqa.ingest.words import AUXILIARIES, STOPWORDS, WH_WORDS, Token, stem, tokenize

MAX_QUESTION_CHARS = 1000


class QuestionError(CiteqaError):
    """The question itself cannot be answered as given (empty, too long, not text)."""


class AnswerType(StrEnum):
    COUNT = "count"  # how many
    QUANTITY = "quantity"  # how much, a share, a number with its unit
    MONEY = "money"
    PERCENT = "percent"
    DATE = "date"
    DURATION = "duration"
    PERSON = "person"
    PLACE = "place"
    REASON = "reason"
    MANNER = "manner"
    THING = "thing"  # what / which: a named thing or a descriptive phrase

    @property
    def is_numeric(self) -> bool:
        return self in _NUMERIC


_NUMERIC = frozenset(
    {
        AnswerType.COUNT,
        AnswerType.QUANTITY,
        AnswerType.MONEY,
        AnswerType.PERCENT,
        AnswerType.DATE,
        AnswerType.DURATION,
    }
)

# Words that, as the noun a question asks about, say which kind of answer is wanted.
_FOCUS_TYPES = {
    **dict.fromkeys("percentage percent share proportion fraction rate".split(), AnswerType.PERCENT),
    **dict.fromkeys("number count".split(), AnswerType.COUNT),
    **dict.fromkeys("amount quantity volume".split(), AnswerType.QUANTITY),
    **dict.fromkeys("cost price value budget sum".split(), AnswerType.MONEY),
    **dict.fromkeys("year date month day decade century".split(), AnswerType.DATE),
    **dict.fromkeys("period duration".split(), AnswerType.DURATION),
    **dict.fromkeys("person man woman official leader".split(), AnswerType.PERSON),
    **dict.fromkeys("city country place region location province town state capital".split(), AnswerType.PLACE),
}
# Nouns whose value is a number; unlike the words above, the answer's sentence usually repeats them.
_MEASURE_NOUNS = {
    "population": AnswerType.COUNT,
    **dict.fromkeys("size area length distance height weight capacity depth speed".split(), AnswerType.QUANTITY),
}
_BE = frozenset("is are was were".split())
_MONEY_VERBS = frozenset("cost spend spent pay paid invest worth earn raise fund".split())
_CHANGE_VERBS = frozenset("grow grew increase rise rose decline decrease fall fell drop change improve".split())
_KIND_WORDS = frozenset("kind kinds type types sort sorts".split())
# Words that say what kind of answer is wanted; the answer's sentence rarely repeats them.
_TYPE_WORDS = frozenset(_FOCUS_TYPES) | _KIND_WORDS | {"much", "many", "long"}
_YEAR = re.compile(r"^(1[5-9]|20)\d\d$")
_NUMBER = re.compile(r"^\$?\d[\d,.]*%?$")


@dataclass(frozen=True, slots=True)
class Question:
    text: str
    terms: frozenset[str]  # stems of the content words
    answer_type: AnswerType
    focus: tuple[str, ...]  # stems of the noun phrase asked about, head last ("pakistani", "city")
    verb: str | None  # stem of the closing verb ("operate", "form"), when the question ends on one
    preposition: str | None  # the preposition before the wh-word ("from which ...")
    years: frozenset[str]
    numbers: frozenset[str]
    names: tuple[str, ...]  # capitalised words after the first: names the evidence must mention
    plural: bool  # a plural focus asks for every item ("which cities")
    asks_kind: bool = False  # "what kind of X": the answer is X's modifiers, not what follows X


def check_question(text: object, max_chars: int = MAX_QUESTION_CHARS) -> str:
    """The question, stripped; QuestionError with the fix for what cannot be a question."""
    if not isinstance(text, str):
        raise QuestionError("the question must be text", "send a string")
    question = text.strip()
    if not question:
        raise QuestionError("the question is empty", "type a question about the documents")
    if len(question) > max_chars:
        raise QuestionError(
            f"the question is {len(question):,} characters long; the limit is {max_chars:,}",
            "ask one shorter question at a time",
        )
    if "\x00" in question:
        raise QuestionError("the question holds a NUL character", "send plain text")
    try:
        question.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate: from JSON's "\ud800", or bytes that were not UTF-8
        raise QuestionError("the question holds characters that are not text", "send it as UTF-8 text") from exc
    return question


def analyze(text: str) -> Question:
    tokens = tuple(tokenize(text))
    words = [t for t in tokens if t.is_word]
    lower = [t.lower for t in words]
    wh = next((i for i, w in enumerate(lower) if w in WH_WORDS), None)
    focus = _focus(words, wh)
    plural = bool(focus) and _looks_plural(focus[-1])
    answer_type = _answer_type(lower, wh, focus)
    content = [t for t in words if t.is_content]
    verb = None
    if (
        len(words) > 2
        and content
        and content[-1] is words[-1]
        and not words[-1].is_capitalized
        and not _NUMBER.match(lower[-1])
        and lower[-2] not in STOPWORDS
        and any(w in AUXILIARIES and (w not in _BE or lower[-1].endswith(("ed", "ing"))) for w in lower[:-1])
    ):
        verb = stem(words[-1].text)  # "... does the fund operate?" -> operate
    preposition = lower[wh - 1] if wh and lower[wh - 1] in STOPWORDS and lower[wh - 1] not in AUXILIARIES else None
    return Question(
        text=text,
        terms=frozenset(stem(t.text) for t in content if t.lower not in _TYPE_WORDS),
        answer_type=answer_type,
        focus=tuple(stem(w) for w in focus),
        verb=verb,
        preposition=preposition,
        years=frozenset(t.text for t in words if _YEAR.match(t.text)),
        numbers=frozenset(t.text for t in words if _NUMBER.match(t.text)),
        plural=plural,
        asks_kind=wh is not None and wh + 1 < len(lower) and lower[wh + 1] in _KIND_WORDS,
        names=tuple(t.text for t in words[1:] if t.is_capitalized and t.lower not in STOPWORDS),
    )


def _focus(words: list[Token], wh: int | None) -> list[str]:
    """The noun phrase right after "what"/"which" ("which Pakistani cities" -> pakistani cities)."""
    if wh is None or words[wh].lower not in ("what", "which", "whose"):
        return []
    after = words[wh + 1 :]
    phrase: list[str] = []
    for i, token in enumerate(after):
        w = token.lower
        if w in AUXILIARIES or (w in STOPWORDS and w != "of") or (phrase and token.is_capitalized):
            break
        following = after[i + 1] if i + 1 < len(after) else None
        verb_like = phrase and phrase[-1] != "of" and _looks_plural(w) and not _looks_adjective(phrase[-1])
        if verb_like and following is not None and following.lower not in STOPWORDS:
            break  # "country joins Azerbaijan": a verb, not the head noun
        phrase.append(w)
        if _looks_plural(w) and w not in _KIND_WORDS:
            break  # a plural noun closes the phrase: "agricultural commodities (form ...)"
    while phrase and (phrase[0] in _KIND_WORDS or phrase[0] == "of"):  # "kind of cyber cooperation"
        phrase = phrase[1:]
    if "of" in phrase:  # "share of Pakistan's population": the head is before "of"
        phrase = phrase[: phrase.index("of")]
    return phrase


def _looks_plural(word: str) -> bool:
    return len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is", "'s", "’s"))


_ADJECTIVE_ENDINGS = (
    "al",
    "ic",
    "ive",
    "ous",
    "ful",
    "less",
    "able",
    "ible",
    "ary",
    "ian",
    "ese",
    "ish",
    "ern",
    "ed",
)


def _looks_adjective(word: str) -> bool:
    return word.endswith(_ADJECTIVE_ENDINGS) or word in _ORDINALS


_ORDINALS = frozenset("first second third fourth fifth sixth seventh eighth ninth tenth last next main".split())


def _answer_type(lower: list[str], wh: int | None, focus: list[str]) -> AnswerType:
    if wh is None:
        return AnswerType.THING
    word = lower[wh]
    following = lower[wh + 1] if wh + 1 < len(lower) else ""
    stems = {stem(w) for w in lower}
    if word == "how":
        if following == "many":
            return AnswerType.COUNT
        if following == "much":
            if stems & {stem(v) for v in _CHANGE_VERBS}:
                return AnswerType.PERCENT
            if stems & {stem(v) for v in _MONEY_VERBS}:
                return AnswerType.MONEY
            return AnswerType.QUANTITY
        if following in ("long", "often"):
            return AnswerType.DURATION
        if following in ("old", "far", "big", "large", "high", "fast"):
            return AnswerType.QUANTITY
        return AnswerType.MANNER
    if word == "when":
        return AnswerType.DATE
    if word in ("who", "whom", "whose"):
        return AnswerType.PERSON
    if word == "where":
        return AnswerType.PLACE
    if word == "why":
        return AnswerType.REASON
    if not focus and following in _BE:  # "what is the population of ...": the noun after the copula
        focus = [w for w in lower[wh + 2 : wh + 4] if w not in ("the", "a", "an")][:1]
    if focus:
        head = focus[-1]
        return _FOCUS_TYPES.get(head) or _FOCUS_TYPES.get(stem(head)) or _MEASURE_NOUNS.get(head, AnswerType.THING)
    return AnswerType.THING
