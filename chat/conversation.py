"""Follow-up questions that lean on the previous turn, rewritten into questions that stand on their own.

Two general English patterns, nothing keyed to a collection:

- a fragment ("And in the first seven months of 2025?", "What about Karachi?") takes the place of the
  matching phrase of the previous question (a phrase with the same preposition, a year, a name), or is
  appended to it;
- a pronoun ("Who signed it?", "When did they meet?") is replaced by what it most likely points at: the
  previous answer when that was a name or a thing, otherwise the noun phrase the previous question was about.

A question that already stands on its own is returned unchanged. `follow_up` applies this to a conversation:
only an answered turn can be built on, and a question that leans on a turn that is not there (a pronoun, "and
in 2025?") gets a clarifying notice instead of a guess. Pure functions; no model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from citeqa.ingest.words import AUXILIARIES, WH_WORDS

from .answer import Notice
from .language import foreign_language

_WORD = re.compile(r"\$?\d[\d,.]*%?|\w+(?:[-'’&]\w+)*|[^\w\s]")
_YEAR = re.compile(r"^(1[5-9]|20)\d\d$")
_MONTHS = frozenset("january february march april may june july august september october november december".split())
_LEAD_INS = (
    ("and", "what", "about"),
    ("and", "how", "about"),
    ("what", "about"),
    ("how", "about"),
    ("and", "also"),
    ("and",),
    ("also",),
    ("but",),
    ("same", "for"),
    ("then",),
)
_PREPOSITIONS = frozenset(
    "in during for on at by since from before after over between within to with until among under".split()
)
_TIME_PREPOSITIONS = frozenset("in during for since from before after by until over between within".split())
_DETERMINERS = frozenset("the their its his her our your this that these those a an".split())
_POSSESSIVES = frozenset("their its his her our your".split())
# Words that end a noun phrase picked out of the previous question.
_PHRASE_STOPS = (_PREPOSITIONS - {"of"}) | AUXILIARIES | WH_WORDS | frozenset("and or but that which who".split())
_THING_PRONOUNS = frozenset("it this that".split())
_PLURAL_PRONOUNS = frozenset("they them".split())
_PERSON_PRONOUNS = frozenset("he him she".split())
_BE = frozenset("is are was were be been".split())
_POSSESSIVE_PRONOUNS = {"its": "possessive", "their": "plural", "his": "person", "her": "person"}


# Requests that stand on their own although they hold no wh-word: "tell me about cybersecurity".
_REQUESTS = (
    ("tell", "me"),
    ("tell", "us"),
    ("describe",),
    ("explain",),
    ("list",),
    ("name",),
    ("summarize",),
    ("summarise",),
    ("give", "me"),
    ("show", "me"),
)
MAX_HISTORY = 20  # earlier turns a caller may send; only the last answered one is used
_ENDS = ("?", ".", "!")


@dataclass(frozen=True, slots=True)
class Turn:
    """One turn: the question as it was answered (after resolution) and the answer; None when it abstained."""

    question: str
    answer: str | None = None


@dataclass(frozen=True, slots=True)
class FollowUp:
    question: str  # the question to answer: as asked, or rewritten to stand on its own
    notice: Notice | None = None  # set: the question leans on a turn that is not there; ask instead of answering


def follow_up(asked: str, history: Sequence[Turn]) -> FollowUp:
    """The question to answer after `history` (oldest first). A follow-up builds only on the last turn, and only
    when that turn was answered; one that needs an earlier turn and has none gets a clarifying notice."""
    text = asked.strip()
    if foreign_language(text) is not None:
        return FollowUp(text)  # English rules would mangle it; the answerer says it reads English
    last = history[-1] if history else None
    previous = last if last is not None and last.answer is not None else None
    if previous is not None:
        return FollowUp(resolve(text, previous))
    leaning = _leans_on_previous(text)
    if leaning is None:
        return FollowUp(text)
    why = (
        "The previous question was not answered, so"
        if last is not None
        else "There is no earlier question in this conversation, so"
    )
    return FollowUp(
        text,
        Notice(
            "unclear_reference",
            f"{why} citeqa cannot tell what “{leaning}” refers to. Please ask the whole question, "
            "naming what you mean.",
        ),
    )


def _leans_on_previous(text: str) -> str | None:
    """The words of `text` that need an earlier turn to mean anything (a pronoun, a fragment), if any."""
    words = _words(text)
    lowered = [w.lower() for w in words]
    request = _is_request(lowered)
    lead = 0 if request else _lead_in(lowered)
    rest = [w for w in words[lead:] if w not in _ENDS]
    if not rest:
        return None
    if not request and (_is_fragment(lowered[lead:], leaning=lead > 0) or _is_wh_fragment(lowered[lead:])):
        return text.rstrip("?.! ")
    if lead == 0 and len(rest) > 9:
        return None  # a long question is taken to carry its own referents
    for i, w in enumerate(words):
        kind, possessive = _pronoun_kind(words, i)
        if kind is not None or possessive is not None:
            return w
    return None


def resolve(question: str, previous: Turn | None) -> str:
    """`question` made to stand on its own, using the previous turn; unchanged when it already does."""
    text = question.strip()
    if previous is None or not text:
        return text
    words = _words(text)
    lowered = [w.lower() for w in words]
    if _is_request(lowered):  # "tell me about it": only its pronouns lean on the previous turn
        rewritten = _replace_pronouns(words, previous)
        return rewritten if rewritten is not None else text
    lead = _lead_in(lowered)
    rest, rest_lower = words[lead:], lowered[lead:]
    content = [w for w in rest if w not in _ENDS]
    if not content:
        return text
    if _is_wh_fragment(rest_lower):
        return _replace_wh(previous.question, content) or text
    if _is_fragment(rest_lower, leaning=lead > 0):
        return _replace_fragment(previous.question, content)
    if lead == 0 and len(content) > 9:
        return text  # a long question is taken to carry its own referents
    rewritten = _replace_pronouns(rest, previous) if lead else _replace_pronouns(words, previous)
    return rewritten if rewritten is not None else text


def _is_request(lowered: list[str]) -> bool:
    start = 1 if lowered[:1] == ["please"] else 0
    return any(tuple(lowered[start : start + len(r)]) == r for r in _REQUESTS)


def _is_wh_fragment(lowered: list[str]) -> bool:
    """A question word with at most a preposition or a quantity word: "By when?", "Where?", "How much?"."""
    words = [w for w in lowered if w not in (*_ENDS, ",")]
    if not words or not any(w in WH_WORDS for w in words) or len(words) > 3:
        return False
    return all(w in WH_WORDS or w in _PREPOSITIONS or w in ("much", "many", "long", "often", "exactly") for w in words)


def _replace_wh(previous: str, fragment: list[str]) -> str | None:
    """The previous question asked with another question word: "How many jets did Pakistan commit to deliver?"
    + "By when?" -> "By when did Pakistan commit to deliver the jets?". None when its shape does not allow it."""
    words, end = _previous_parts(previous)
    low = [w.lower() for w in words]
    first_aux = next((i for i, w in enumerate(low) if w in AUXILIARIES), None)
    wh = next((i for i, w in enumerate(low) if w in WH_WORDS), None)
    if wh is None or first_aux is None or first_aux <= wh:
        return None
    # The words between the question word and the auxiliary are what was asked about ("many JF-17 jets").
    asked_about = [w for w in words[wh + 1 : first_aux] if w.lower() not in ("many", "much", "long", "often")]
    rest = words[first_aux:]
    if asked_about:
        rest = [*rest, *asked_about]
    return _join([*words[:wh], *fragment, *rest]) + end


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def _join(words: list[str]) -> str:
    out = ""
    for w in words:
        if out and not (len(w) == 1 and w in ",.?!;:)'’") and not out.endswith(("(", "$", "¿", "¡")):
            out += " "
        out += w
    return out


def _lead_in(lowered: list[str]) -> int:
    for lead in _LEAD_INS:
        if tuple(lowered[: len(lead)]) == lead and len(lowered) > len(lead):
            rest = lowered[len(lead)]
            if rest == ",":
                return len(lead) + 1
            return len(lead)
    return 0


def _is_fragment(lowered: list[str], leaning: bool) -> bool:
    """No wh-word or auxiliary of its own: a phrase, not a question."""
    words = [w for w in lowered if w not in ("?", ".", "!", ",")]
    if not words or words[0] in WH_WORDS or words[0] in AUXILIARIES:
        return False
    if any(w in WH_WORDS for w in words):
        return False
    return leaning or len(words) <= 4


def _previous_parts(previous: str) -> tuple[list[str], str]:
    words = _words(previous)
    end = ""
    while words and words[-1] in ("?", ".", "!"):
        end = words.pop() + end
    return words, end or "?"


def _replace_fragment(previous: str, fragment: list[str]) -> str:
    words, end = _previous_parts(previous)
    low = [w.lower() for w in words]
    head = fragment[0].lower()
    if head in _PREPOSITIONS or head in _DETERMINERS:
        fragment = [head, *fragment[1:]]
    if head in _PREPOSITIONS:
        span = _phrase_to_replace(low, head, _has_time(fragment))
        if span is not None:
            start, stop = span
            return _join(words[:start] + fragment + words[stop:]) + end
        return _join(words + fragment) + end
    if _has_time(fragment):  # "And 2023?": the year, or the time phrase, of the previous question
        for i, w in enumerate(words):
            if _YEAR.match(w):
                return _join(words[:i] + fragment + words[i + 1 :]) + end
        return _join([*words, "in", *fragment]) + end
    if fragment[0][:1].isupper():  # "What about Karachi?": the last name of the previous question
        names = _name_runs(words)
        if names:
            start, stop = names[-1]
            return _join(words[:start] + fragment + words[stop:]) + end
    phrase = _last_noun_phrase(words)
    if phrase is not None:
        start, stop = phrase
        return _join(words[:start] + fragment + words[stop:]) + end
    return _join(words + fragment) + end


def _has_time(words: list[str]) -> bool:
    return any(_YEAR.match(w) or w.lower() in _MONTHS for w in words)


def _phrase_to_replace(low: list[str], preposition: str, timed: bool) -> tuple[int, int] | None:
    """The previous question's phrase led by the same preposition (or a time phrase, for a time fragment)."""
    candidates: list[tuple[int, int]] = []
    for i, w in enumerate(low):
        if w not in _PREPOSITIONS:
            continue
        stop = i + 1
        while stop < len(low) and low[stop] not in _PREPOSITIONS and low[stop] != ",":
            stop += 1
        candidates.append((i, stop))
    if timed:
        for start, stop in reversed(candidates):
            phrase = low[start:stop]
            if low[start] in _TIME_PREPOSITIONS and _has_time(phrase):
                return start, stop
    for start, stop in reversed(candidates):
        if low[start] == preposition:
            return start, stop
    return None


def _name_runs(words: list[str]) -> list[tuple[int, int]]:
    """Runs of capitalised words after the first word ("Associated Press of Pakistan")."""
    runs: list[tuple[int, int]] = []
    i = 1
    while i < len(words):
        if words[i][:1].isupper():
            stop = i + 1
            while stop < len(words) and (
                words[stop][:1].isupper()
                or (words[stop] == "of" and stop + 1 < len(words) and words[stop + 1][:1].isupper())
            ):
                stop += 1
            runs.append((i, stop))
            i = stop
        else:
            i += 1
    return runs


def _last_noun_phrase(words: list[str]) -> tuple[int, int] | None:
    """The last phrase led by a determiner ("their memorandum of cooperation"), up to the next stop word."""
    low = [w.lower() for w in words]
    for i in range(len(words) - 1, -1, -1):
        if low[i] in _DETERMINERS and i + 1 < len(words) and low[i + 1] not in _PHRASE_STOPS:
            stop = i + 1
            while stop < len(words) and low[stop] not in _PHRASE_STOPS and words[stop] not in ",;:":
                stop += 1
            while stop > i + 1 and low[stop - 1] in ("of", "'s", "’s"):
                stop -= 1
            closing_verb = stop == len(words) and i > 0 and stop - i > 2 and low[i - 1] in AUXILIARIES
            if closing_verb and not words[stop - 1][:1].isupper():
                stop -= 1  # "does the Startup Fund operate": the closing word is the verb
            return i, stop
    return None


def _topic(previous: str) -> list[str] | None:
    """The noun phrase the previous question was about, possessives made definite ("the memorandum ...")."""
    words, _ = _previous_parts(previous)
    phrase = _last_noun_phrase(words)
    if phrase is not None:
        start, stop = phrase
        chosen = words[start:stop]
        if (
            chosen[0].lower() in _POSSESSIVES
            or chosen[0].lower() in ("this", "that", "these", "those")
            or chosen[0].lower() in ("a", "an")
        ):
            chosen = ["the", *chosen[1:]]
        return chosen
    names = _name_runs(words)
    if names:
        start, stop = names[-1]
        return words[start:stop]
    return None


def _answer_is_referent(previous: Turn, kind: str) -> bool:
    """Whether a pronoun of this kind most likely points at the previous answer rather than its question."""
    answer = previous.answer
    if not answer or len(answer.split()) > 8 or any(ch.isdigit() for ch in answer):
        return False
    first = next((w.lower() for w in _words(previous.question) if w.lower() in WH_WORDS), "")
    if kind == "person":
        return first in ("who", "whom")
    if kind == "place":
        return answer[:1].isupper()
    if kind == "possessive":
        return False  # "its budget": the thing the question was about, not the answer
    if kind == "plural":
        return first in ("who", "which", "what") and (" and " in answer or "," in answer)
    return first in ("what", "which", "who")


def _pronoun_kind(words: list[str], i: int) -> tuple[str | None, str | None]:
    """What the word at `i` points at when it is a pronoun (thing, plural, person, place), and the kind of
    a possessive pronoun; (None, None) for any other word."""
    word, low = words[i], words[i].lower()
    if len(word) > 1 and word.isupper() and not all(w.isupper() for w in words if w.isalpha()):
        return None, None  # "IT", "US": an acronym, not a pronoun (unless the whole question is in capitals)
    following = words[i + 1].lower() if i + 1 < len(words) else ""
    kind = (
        "thing"
        if low in _THING_PRONOUNS
        else "plural"
        if low in _PLURAL_PRONOUNS
        else "person"
        if low in _PERSON_PRONOUNS
        else None
    )
    if low in ("this", "that") and following not in ("", "?", ".", "!", ","):
        kind = None  # a determiner ("that agreement") or a conjunction: leave it
    preceding = words[i - 1].lower() if i else ""
    if low == "there" and following not in _BE and preceding not in _BE:
        kind = "place"  # "there is" is existential; "live there" points at a place
    possessive = _POSSESSIVE_PRONOUNS.get(low)
    if low == "her" and following in ("", "?", ".", "!", ","):
        kind, possessive = "person", None
    return kind, possessive


def _replace_pronouns(words: list[str], previous: Turn) -> str | None:
    """The words with their first pronoun replaced by its referent; None when there was none to replace."""
    out: list[str] = []
    replaced = False
    for i, w in enumerate(words):
        kind, possessive = _pronoun_kind(words, i)
        if (kind is None and possessive is None) or replaced:
            out.append(w)
            continue
        referent = _referent(previous, kind or possessive or "thing")
        if referent is None:
            out.append(w)
            continue
        replaced = True
        if kind == "place":
            referent = ["in", *referent]
        out.extend([*referent, "'s"] if possessive else referent)
    if not replaced:
        return None
    text = _join(out)
    return text.replace(" 's", "'s")


def _referent(previous: Turn, kind: str) -> list[str] | None:
    if _answer_is_referent(previous, kind):
        return _words(previous.answer or "")
    if kind == "plural":  # "APP and AZERTAC": two names joined by "and"
        words = _previous_parts(previous.question)[0]
        runs = _name_runs(words)
        for (a, b), (c, d) in pairwise(runs):
            if c == b + 1 and words[b].lower() == "and":
                return words[a:d]
    if kind in ("person", "place"):
        words = _previous_parts(previous.question)[0]
        names = _name_runs(words)
        return words[names[-1][0] : names[-1][1]] if names else None
    return _topic(previous.question)
