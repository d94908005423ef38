"""The answer contract: one JSON shape from the CLI, the HTTP API and eval predictions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

from typing_extensions import TypedDict  # not typing's: pydantic reads it for the API schema on Python 3.11

from citeqa.errors import CiteqaError
from citeqa.index.search import Passage, PassageRecord
from citeqa.ingest.chunking import Chunk, chunk_id


class CitationRecord(TypedDict):
    """Where an answer stands, in the answer contract."""

    source: str
    """the document, as `citeqa docs list` names it"""
    title: str
    text: str
    """document_text[start:end] == text; the first citation's text is the answer, another's is what its document says"""
    start: int
    """document_text[start:end] == text"""
    end: int
    quote: str
    """the sentence holding the answer"""
    quote_start: int
    """document_text[quote_start:quote_end] == quote"""
    quote_end: int
    page: int | None
    """the PDF page the answer is on (1-based); null for other formats"""


NoticeCode = Literal["not_english", "nothing_to_search", "unclear_reference", "corrected", "question_cut"]


class NoticeRecord(TypedDict):
    code: NoticeCode
    message: str
    """a sentence to show the person asking"""


class AnswerRecord(TypedDict):
    """The answer contract: what `citeqa ask --json`, POST /api/ask and eval predictions give for a question."""

    question: str
    """the question answered: what was asked, made to stand on its own when it was a follow-up"""
    asked: str
    """the question as typed"""
    searched_for: str | None
    """the question as searched when spelling was corrected against the documents' words; else null"""
    notice: NoticeRecord | None
    """why citeqa did not answer as usual (not English, nothing to search for, an unclear "it"), or a correction"""
    answer: str | None
    """a verbatim span of a document; null exactly when abstained"""
    abstained: bool
    confidence: float
    """the probability that the answer is right"""
    citations: list[CitationRecord]
    """where the answer stands (the first), then each other document that answers too, with its own span"""
    passages: list[PassageRecord]
    """retrieved passages, the one holding the answer first"""


@dataclass(frozen=True, slots=True)
class Notice:
    """Something the person asking should know about how their question was taken."""

    code: NoticeCode
    message: str

    def to_dict(self) -> NoticeRecord:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True, slots=True)
class Citation:
    """Where an answer stands: `document_text[start:end] == text`, `[quote_start:quote_end] == quote`."""

    source: str
    title: str
    text: str
    start: int
    end: int
    quote: str
    quote_start: int
    quote_end: int
    page: int | None = None

    def to_dict(self) -> CitationRecord:
        return {
            "source": self.source,
            "title": self.title,
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "quote": self.quote,
            "quote_start": self.quote_start,
            "quote_end": self.quote_end,
            "page": self.page,
        }

    @classmethod
    def from_dict(cls, data: CitationRecord | dict[str, Any], answer: str | None = None) -> Citation:
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data}  # type: ignore[literal-required]
        values.setdefault("text", answer)  # a record written before citations carried their own text
        return cls(**values)


@dataclass(frozen=True, slots=True)
class Answer:
    """`text is None` means the documents do not answer the question (abstention).

    `question` is the question answered; `asked` what was typed, when a follow-up was rewritten to stand on its
    own (`asked` None means the two are the same); `searched_for` the question with its spelling corrected.
    """

    question: str
    text: str | None
    confidence: float
    citations: tuple[Citation, ...] = ()
    passages: tuple[Passage, ...] = field(default=())
    asked: str | None = None
    searched_for: str | None = None
    notice: Notice | None = None

    @property
    def abstained(self) -> bool:
        return self.text is None

    def decided(self, min_confidence: float) -> Answer:
        """This answer, or an abstention keeping its confidence and passages when it is below the threshold."""
        if self.text is None or self.confidence >= min_confidence:
            return self
        return replace(self, text=None, citations=())

    def to_dict(self) -> AnswerRecord:
        return {
            "question": self.question,
            "asked": self.asked if self.asked is not None else self.question,
            "searched_for": self.searched_for,
            "notice": self.notice.to_dict() if self.notice else None,
            "answer": self.text,
            "abstained": self.abstained,
            "confidence": round(self.confidence, 4),
            "citations": [c.to_dict() for c in self.citations],
            "passages": [p.to_dict() for p in self.passages],
        }

    @classmethod
    def from_dict(cls, data: AnswerRecord | dict[str, Any]) -> Answer:
        """The answer a `to_dict` wrote (a prediction file's line, an API response); a malformed one is an error
        naming what is wrong."""
        try:
            notice = data.get("notice")
            asked = data.get("asked")
            return cls(
                question=data["question"],
                text=data["answer"],
                confidence=float(data["confidence"]),
                citations=tuple(Citation.from_dict(c, data["answer"]) for c in data.get("citations") or ()),
                passages=tuple(_passage(p) for p in data.get("passages") or ()),
                asked=asked if asked != data["question"] else None,
                searched_for=data.get("searched_for"),
                notice=Notice(notice["code"], notice["message"]) if notice else None,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CiteqaError(f"not an answer of the answer contract: {exc!r}", "see docs/contract.md") from exc


def _passage(data: Mapping[str, Any]) -> Passage:
    source, start, text = data["source"], data["start"], data["text"]
    return Passage(Chunk(chunk_id(source, start, text), source, start, data["end"], text), float(data["score"]))
