"""Narrow a sentence to the answer the question asks for, as token positions (hence exact char offsets).

Candidates come from several readers of the sentence: quantities, dates and amounts; capitalised names and
lists of them; the noun phrase the question asks about, with its modifiers or the list it introduces; the
object of the question's verb; runs of words the question does not already contain. Each is scored by how
well its kind fits the question, how much new information it carries and how close it sits to the words
the question and the sentence share. Nothing here knows any particular document.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from citeqa.ingest.words import AUXILIARIES, STOPWORDS, Token, stem, tokenize

from .question import Question
from .span_kinds import KEEPS_LEADING_SYMBOL, SPAN_WEIGHTS, TYPED_FIT, SpanKind, fit_of, kind_fit

_ENUMERATORS = frozenset("first second third fourth fifth".split())
_NUMBER_WORDS = frozenset(
    """one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen
    eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand dozen dozens
    half third thirds quarter quarters fifth fifths two-thirds one-third one-half three-quarters""".split()
)
_SCALES = frozenset("hundred thousand million billion trillion crore lakh bn mn m k".split())
_MODIFIERS = frozenset("about approximately around nearly almost over roughly some just only under below above".split())
_PAIR_MODIFIERS = {("up", "to"), ("more", "than"), ("less", "than"), ("at", "least"), ("fewer", "than")}
_MONTHS = frozenset(
    """january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec""".split()
)
_TIME_UNITS = frozenset(
    "second seconds minute minutes hour hours day days week weeks month months year years decade decades".split()
)
_CURRENCY = frozenset("dollars dollar usd eur euros euro pounds rupees manat yuan yen".split())
_PERCENT_WORDS = frozenset({"percent", "per", "percentage"})
_YEAR = re.compile(r"^(1[5-9]|20)\d\d$")
_DIGITS = re.compile(r"^\$?\d")
_BOUNDARY = frozenset(',;:—–()[].!?"“”')
_CLAUSE_WORDS = frozenset("that which who whom whose where while but because although whereas".split())
_APPOSITION = frozenset("including such like namely especially notably".split())
_SUBJECTS = frozenset("i we you he she it they this these those".split())
# Last words of names of a kind a question may ask for ("which event", "which organisation").
_EVENTS = frozenset("conference summit forum festival exhibition expo fair congress games championship".split())
_BODIES = frozenset(
    """university institute agency ministry company corporation bank council association organization organisation
    commission committee authority fund foundation school college academy""".split()
)
_NAME_HEADS = {
    **dict.fromkeys(("event", "conference", "meeting", "gathering", "occasion"), _EVENTS),
    **dict.fromkeys(("organization", "organisation", "institution", "body", "company", "agency"), _BODIES),
}
_CONNECTORS = frozenset({"of", "for", "and", "the", "de", "&", "-", "on", "in"})


@dataclass(frozen=True, slots=True)
class Extraction:
    start: int  # char offsets into the document
    end: int
    typed: bool  # whether a span of the kind the question asks for was found
    score: float


@dataclass(frozen=True, slots=True)
class _Candidate:
    first: int  # token positions, inclusive
    last: int
    kind: SpanKind
    bonus: float = 0.0


def extract(text: str, start: int, end: int, question: Question, idf: Callable[[str], float]) -> Extraction:
    """The answer span inside text[start:end] (one sentence)."""
    tokens = tokenize(text[start:end], offset=start)
    words = [t for t in tokens if t.is_word]
    if not words:
        return Extraction(start, end, False, 0.0)
    reader = _Reader(tokens, question, idf)
    best: tuple[float, _Candidate] | None = None
    for candidate in reader.candidates():
        score = reader.score(candidate)
        if best is None or score > best[0]:
            best = (score, candidate)
    if best is None or best[0] <= 0:
        return Extraction(start, end, False, 0.0)
    score, chosen = best
    typed = reader.fits_type(chosen)
    return Extraction(tokens[chosen.first].start, tokens[chosen.last].end, typed, score)


class _Reader:
    def __init__(self, tokens: list[Token], question: Question, idf: Callable[[str], float]) -> None:
        self.tokens = tokens
        self.q = question
        self.fit = fit_of(question)
        self.idf = idf
        self.lower = [t.lower for t in tokens]
        self.stems = [stem(t.text) for t in tokens]
        self.given = [t.is_content and self.stems[i] in question.terms for i, t in enumerate(tokens)]
        # Words shared with the question anchor the answer; a phrase shared whole anchors it more firmly.
        self.anchors = [
            (i, idf(self.stems[i]) * (1.5 if self._in_shared_phrase(i) else 1.0))
            for i, t in enumerate(tokens)
            if self.given[i]
        ]
        self.total_weight = sum(idf(term) for term in question.terms) or 1.0

    def _in_shared_phrase(self, i: int) -> bool:
        return any(0 <= j < len(self.tokens) and self.given[j] for j in (i - 1, i + 1))

    # -- candidates ---------------------------------------------------------------------------------------

    def candidates(self) -> list[_Candidate]:
        found = self._quantities() + self._names() + self._focus_phrases() + self._objects() + self._new_runs()
        found = [self._trimmed(c) for c in found]
        found.append(_Candidate(0, len(self.tokens) - 1, SpanKind.SENTENCE))
        return [c for c in found if c.first <= c.last]

    def _trimmed(self, c: _Candidate) -> _Candidate:
        """Without stopwords or punctuation at either end (a closing bracket or quote that pairs stays)."""
        first, last = c.first, c.last
        while (
            first <= last
            and (self.lower[first] in STOPWORDS or not self.tokens[first].is_word)
            and not (self.lower[first] in ("$", "“", '"') or c.kind in KEEPS_LEADING_SYMBOL)
        ):
            first += 1
        while first <= last and (self.lower[last] in STOPWORDS or not self.tokens[last].is_word):
            closing = {")": "(", "”": "“", '"': '"'}.get(self.lower[last])
            if closing and closing in self.lower[first:last]:
                break
            last -= 1
        return _Candidate(first, last, c.kind, c.bonus)

    def _quantities(self) -> list[_Candidate]:
        found = []
        i = 0
        while i < len(self.tokens):
            if not self._is_number(i):
                i += 1
                continue
            first, last = i, i
            if self._is_month(i + 1) or self._is_month(i - 1):  # "14 February 2026", "July 2024"
                first, last = self._date_around(i)
            else:
                while (
                    last + 2 < len(self.tokens)
                    and self.lower[last + 1] in ("-", "–", "to", "and")
                    and (self._is_number(last + 2))
                ):
                    last += 2  # a range: "8-10"
                while last + 1 < len(self.tokens) and (
                    self.lower[last + 1] in _SCALES or (self._is_number(last + 1) and self.lower[last + 1] != ",")
                ):
                    last += 1
                if last + 1 < len(self.tokens) and self.lower[last + 1] in _PERCENT_WORDS:
                    last += 2 if self.lower[last + 1] == "per" else 1
                elif last + 1 < len(self.tokens) and self._is_unit(last + 1):
                    last += 1  # "40 aircraft", "8-10 days", "3.3 million tons"
                first = self._modifiers_before(first)
            numbers = {self.tokens[j].text for j in range(first, last + 1)}
            if not numbers & (self.q.numbers | self.q.years):
                found.append(_Candidate(first, last, self._quantity_kind(first, last)))
            i = last + 1
        return found

    def _names(self) -> list[_Candidate]:
        runs: list[_Candidate] = []
        i = 0
        n = len(self.tokens)
        while i < n:
            if not self._is_name_word(i):
                i += 1
                continue
            first = last = i
            j = i + 1
            while j < n:
                if self._is_name_word(j):
                    last = j
                    j += 1
                elif (
                    self.lower[j] in _CONNECTORS
                    and self.lower[j] != "and"
                    and j + 1 < n
                    and not (self.lower[j] in ("in", "on") and self.given[j + 1])  # "Summit in <asked place>"
                    and (
                        self._is_name_word(j + 1)
                        or (self.lower[j + 1] == "the" and j + 2 < n and self._is_name_word(j + 2))
                    )
                ):
                    j += 1
                else:
                    break
            if last + 3 < n and self.lower[last + 1] == "(" and self.lower[last + 3] == ")":
                last += 3  # "White Oil Pipeline (MTT-WOP)"
            if first == 0 and self.lower[0] in STOPWORDS:
                first += 1
            if first <= last and any(not self.given[k] for k in range(first, last + 1) if self.tokens[k].is_word):
                runs.append(_Candidate(first, last, SpanKind.NAME, self._name_bonus(first, last)))
            i = last + 1
        return runs + self._lists_of(runs)

    def _name_bonus(self, first: int, last: int) -> float:
        """A name that is what the question asks about: "which pipeline" -> "... Oil Pipeline (MTT-WOP)",
        "which event" -> "... Development Conference"."""
        if not self.q.focus or self.q.plural:  # several names may each carry the noun; let the others decide
            return 0.0
        words = [k for k in range(first, last + 1) if self.tokens[k].is_word]
        if any(self.stems[k] in self.q.focus and self.tokens[k].is_capitalized for k in words):
            return 0.6
        return 0.6 if words and self.lower[words[-1]] in _NAME_HEADS.get(self.q.focus[-1], ()) else 0.0

    def _lists_of(self, runs: list[_Candidate]) -> list[_Candidate]:
        """Names joined by commas and "and": "Lahore and Islamabad", "the A and the B"."""
        lists = []
        for a in range(len(runs)):
            last = runs[a].last
            for b in range(a + 1, len(runs)):
                gap = [w for w in self.lower[last + 1 : runs[b].first] if w not in ("the", "a", "an")]
                if gap not in (["and"], ["or"], [","], [",", "and"], [",", "or"]):
                    break
                last = runs[b].last
                bonus = max(r.bonus for r in runs[a : b + 1])
                lists.append(_Candidate(runs[a].first, last, SpanKind.NAMES, bonus))
        return lists

    def _focus_phrases(self) -> list[_Candidate]:
        if not self.q.focus:
            return []
        head, modifiers = self.q.focus[-1], set(self.q.focus[:-1])
        found = []
        for h, s in enumerate(self.stems):
            if s != head:
                continue
            first = h
            while first - 1 >= 0 and self._modifies(first - 1, h, modifiers):
                first -= 1
            last = (
                self._phrase_end(h + 1)
                if h + 1 < len(self.tokens) and (self.lower[h + 1] in ("of", "on", "in", "for"))
                else h
            )
            if first >= 2 and self.lower[first - 2 : first] in (["and", "other"], ["or", "other"]):
                first = self._list_start(first - 2)  # "e-security, e-government, and other key sectors"
            matched = sum(1 for k in range(max(0, h - 3), h) if self.stems[k] in modifiers)
            bonus = 0.4 * matched
            found.append(_Candidate(first, last, SpanKind.FOCUS, bonus))
            found += self._named_by(h)
            after = last + 1
            if after < len(self.tokens) and (
                self.lower[after] in ("—", "–", ":", ",") or self.lower[after] in _APPOSITION
            ):
                step = after + 1 if self.lower[after] in ("—", "–", ":") else after
                while step < len(self.tokens) and self.lower[step] in ({","} | _APPOSITION | {"as"}):
                    step += 1
                while step < len(self.tokens) and self.lower[step] in ("the", "a", "an"):
                    step += 1
                if step < len(self.tokens):
                    found.append(_Candidate(step, self._list_end(step), SpanKind.APPOSITION, bonus))
        return found

    def _named_by(self, head: int) -> list[_Candidate]:
        """The name a noun introduces — "the concept of Digital Pakistan", "a fund called X" — even when the
        question already holds its words."""
        if self.tokens[head].is_capitalized:
            return []  # "University of Languages": the noun is part of a name, not one introducing it
        j = head + 1
        if j + 1 < len(self.tokens) and self.lower[j : j + 2] == ["known", "as"]:
            j += 2
        elif j < len(self.tokens) and self.lower[j] in ("of", "called", "named", "dubbed", "titled"):
            j += 1
        else:
            return []
        while j < len(self.tokens) and self.lower[j] in ("the", "“", '"'):
            j += 1
        if j >= len(self.tokens) or not self._is_name_word(j):
            return []
        last = j
        while last + 1 < len(self.tokens) and self._is_name_word(last + 1):
            last += 1
        return [_Candidate(j, last, SpanKind.NAMED)]

    def _objects(self) -> list[_Candidate]:
        verb = self.q.verb
        if verb is None:
            return []
        return [
            _Candidate(v + 1, self._phrase_end(v + 1), SpanKind.OBJECT)
            for v, s in enumerate(self.stems)
            if s == verb and v + 1 < len(self.tokens)
        ]

    def _new_runs(self) -> list[_Candidate]:
        """Runs of words the question does not contain, within a clause, next to words it does."""
        found = []
        i = 0
        n = len(self.tokens)
        while i < n:
            if self.given[i] or not self.tokens[i].is_word or self.lower[i] in STOPWORDS:
                i += 1
                continue
            first, last = i, i
            j = i + 1
            while j < n and not self.given[j] and self.lower[j] not in _BOUNDARY and self.lower[j] not in _CLAUSE_WORDS:
                if self.tokens[j].is_content:
                    last = j
                j += 1
            found.append(_Candidate(first, last, SpanKind.NEW))
            i = j
        return found

    # -- scoring ------------------------------------------------------------------------------------------

    def score(self, c: _Candidate) -> float:
        span_words = [k for k in range(c.first, c.last + 1) if self.tokens[k].is_word]
        new = [k for k in span_words if not self.given[k] and self.lower[k] not in STOPWORDS]
        if not new and c.kind not in (SpanKind.SENTENCE, SpanKind.NAMED):
            return 0.0
        focus = set(self.q.focus)
        restated = [k for k in span_words if self.given[k] and self.stems[k] not in focus]
        near = sum(w / (1 + self._distance(i, c)) for i, w in self.anchors if not c.first <= i <= c.last)
        w = SPAN_WEIGHTS
        score = w.nearness * near / self.total_weight + w.novelty * min(len(new), w.novel_words) / w.novel_words
        score += c.bonus
        if c.kind not in (SpanKind.NAME, SpanKind.NAMES, SpanKind.SENTENCE):
            score -= w.restated * len(restated) / len(span_words)
        score += self._kind_fit(c)
        if len(span_words) > w.long_span_words and c.kind != SpanKind.SENTENCE:
            score -= w.per_extra_word * (len(span_words) - w.long_span_words)
        if self.q.preposition and c.first > 0 and self.lower[c.first - 1] == self.q.preposition:
            score += w.preposition
        return score

    def _kind_fit(self, c: _Candidate) -> float:
        return kind_fit(self.fit, c.kind)

    def fits_type(self, c: _Candidate) -> bool:
        return self._kind_fit(c) > TYPED_FIT

    # -- helpers ------------------------------------------------------------------------------------------

    def _distance(self, i: int, c: _Candidate) -> int:
        return c.first - i if i < c.first else i - c.last

    def _is_number(self, i: int) -> bool:
        if not 0 <= i < len(self.tokens):
            return False
        if self.lower[i] in _ENUMERATORS and i + 1 < len(self.tokens) and self.lower[i + 1] == ",":
            return False  # "Third, digital platforms ...": an enumeration, not a fraction
        return bool(_DIGITS.match(self.tokens[i].text)) or self.lower[i] in _NUMBER_WORDS

    def _is_month(self, i: int) -> bool:
        return 0 <= i < len(self.tokens) and self.lower[i] in _MONTHS and self.tokens[i].is_capitalized

    def _is_unit(self, i: int) -> bool:
        t = self.tokens[i]
        return t.is_content and not t.is_capitalized and not self.given[i] and not self._is_number(i)

    def _is_name_word(self, i: int) -> bool:
        t = self.tokens[i]
        if not t.is_word or not (t.is_capitalized or (t.text[0].isdigit() and "-" in t.text)):
            return False
        if i == 0 and (self.lower[i] in STOPWORDS or self.lower[i] in _ENUMERATORS):
            return False
        return not self._is_month(i)

    def _date_around(self, i: int) -> tuple[int, int]:
        first, last = i, i
        while first - 1 >= 0 and (
            self._is_month(first - 1) or self._is_number(first - 1) or self.lower[first - 1] == ","
        ):
            first -= 1
        while last + 1 < len(self.tokens) and (
            self._is_month(last + 1)
            or self._is_number(last + 1)
            or (self.lower[last + 1] == "," and self._is_number(last + 2))
        ):
            last += 1
        while self.lower[first] == ",":
            first += 1
        return first, last

    def _modifiers_before(self, first: int) -> int:
        if first >= 2 and (self.lower[first - 2], self.lower[first - 1]) in _PAIR_MODIFIERS:
            return first - 2
        if first >= 1 and self.lower[first - 1] in _MODIFIERS:
            return first - 1
        return first

    def _quantity_kind(self, first: int, last: int) -> SpanKind:
        words = self.lower[first : last + 1]
        text = " ".join(words)
        if "%" in text or _PERCENT_WORDS & set(words):
            return SpanKind.PERCENT
        if "$" in text or _CURRENCY & set(words):
            return SpanKind.MONEY
        if any(w in _MONTHS for w in words):
            return SpanKind.DATE
        if _TIME_UNITS & set(words):
            return SpanKind.DURATION
        if any(
            w in ("half", "third", "thirds", "quarter", "quarters", "fifth", "fifths") or w.endswith("-thirds")
            for w in words
        ):
            return SpanKind.FRACTION
        numbers = [w for w in words if self._is_number(first + words.index(w))]
        if len(numbers) == 1 and _YEAR.match(numbers[0]) and first == last:
            return SpanKind.YEAR
        has_unit = last > first and self._is_unit(last)
        return SpanKind.QUANTITY if has_unit else SpanKind.COUNT

    def _modifies(self, i: int, head: int, modifiers: set[str]) -> bool:
        """Whether token i belongs to the noun phrase ending at `head` (walking left)."""
        t = self.tokens[i]
        if self.stems[i] in modifiers:
            return True
        if self.lower[i] in (",", "and", "or"):
            before = i - 2 if self.lower[i] != "," and i >= 2 and self.lower[i - 1] == "," else i - 1  # ", and"
            return before >= 0 and self.tokens[before].is_content and i + 1 < head + 1
        if not t.is_content or self.stems[i] == self.q.verb:
            return False
        if self.lower[i].endswith(("ing", "ed")) and (head - i > 1 or i == 0):
            return False  # "Strengthening cooperation ...": a verb, not a modifier of the head
        return not (self.given[i] and t.is_capitalized)

    def _phrase_end(self, i: int) -> int:
        """The last token of the phrase starting at i: up to a clause boundary, auxiliary or relative word."""
        last = i
        j = i
        while j < len(self.tokens):
            w = self.lower[j]
            if w in (",", ";", ":", ".", "!", "?", "—", "–", "(") or w in AUXILIARIES or w in _CLAUSE_WORDS:
                break
            last = j
            j += 1
        return max(i, last)

    def _list_start(self, i: int) -> int:
        """The first item of a list that ends just before token i, walking left over items and commas."""
        first = i
        j = i - 1
        while j >= 0:
            w = self.lower[j]
            if w in (";", ":", ".", "!", "?", "—", "–") or w in _CLAUSE_WORDS or w in AUXILIARIES:
                break
            if w in STOPWORDS and w not in ("and", "or"):
                if w in _SUBJECTS and first < i:
                    first += 1  # "These encompass A, B and C": the word after a pronoun is its verb
                break
            if self.tokens[j].is_word:
                first = j
            j -= 1
        return first

    def _list_end(self, i: int) -> int:
        """The end of a list starting at i: items, commas, "and"; stops at a clause end or a word asked about."""
        last = i
        j = i
        while j < len(self.tokens):
            w = self.lower[j]
            if w in (";", ":", ".", "!", "?", "—", "–") or w in _CLAUSE_WORDS or w in AUXILIARIES:
                break
            if self.given[j] and not self.tokens[j].is_capitalized and j > i:
                break
            if self.tokens[j].is_word or w in (")",):
                last = j
            j += 1
        return last
