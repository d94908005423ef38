"""Import a SQuAD v1.1 or v2.0 file as a corpus folder (one UTF-8 .txt per article) plus a citeqa question set.

Offsets stay exact: every context is written unchanged, each answer_start is moved by its context's offset in the
article's document, and files are written as UTF-8 without newline translation, so
`doc[answer_start:answer_start + len(answers[0])] == answers[0]` holds for the bytes on disk decoded as UTF-8.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from .questions import QuestionSetError

CORPUS_DIR = "corpus"
QUESTIONS_FILE = "questions.jsonl"

_SLUG_CHARS = 60
_SHAPE_HINT = "give a SQuAD v1.1 or v2.0 file: {'data': [{'title', 'paragraphs': [{'context', 'qas': [...]}]}]}"
_T = TypeVar("_T")
_NOUNS: dict[type, str] = {list: "a list", str: "a string", int: "an integer"}


@dataclass(frozen=True, slots=True)
class SquadImport:
    """Where an import went and what it did to the file's answers."""

    corpus_dir: Path
    questions_path: Path
    version: str
    documents: int
    questions: int  # written to the question set, unanswerable ones included
    unanswerable: int
    repaired_offsets: int  # answer_start values that missed their text, moved to its nearest occurrence
    dropped: int  # answers whose text is nowhere in their context
    dropped_questions: int  # questions left with no answer once those were dropped, or with no question text

    def lines(self) -> list[str]:
        out = [
            f"SQuAD {self.version}: {self.documents} documents in {self.corpus_dir}",
            f"{self.questions} questions ({self.unanswerable} unanswerable) in {self.questions_path}",
        ]
        if self.repaired_offsets:
            out.append(f"{self.repaired_offsets} answer offsets repaired (moved to the nearest copy of the answer)")
        if self.dropped:
            out.append(f"{self.dropped} answers dropped: their text is not in their context")
        if self.dropped_questions:
            out.append(f"{self.dropped_questions} questions skipped: no answer left, or no question text")
        return out


@dataclass(slots=True)
class _Tally:
    unanswerable: int = 0
    repaired: int = 0
    dropped: int = 0
    dropped_questions: int = 0


@dataclass(slots=True)
class _Converted:
    version: str
    documents: list[tuple[str, str]] = field(default_factory=list)  # (file name, text)
    records: list[dict[str, Any]] = field(default_factory=list)
    tally: _Tally = field(default_factory=_Tally)


def import_squad(path: Path, out_dir: Path) -> SquadImport:
    """Write out_dir/corpus/*.txt and out_dir/questions.jsonl from the SQuAD file at path.

    Everything is checked and built in memory first, then written to a hidden sibling folder that is renamed to
    out_dir at the end: a bad file or a failed write leaves nothing behind."""
    _check_target(out_dir)
    converted = _convert(_read(path), str(path))
    _write(converted, out_dir)
    tally = converted.tally
    return SquadImport(
        corpus_dir=out_dir / CORPUS_DIR,
        questions_path=out_dir / QUESTIONS_FILE,
        version=converted.version,
        documents=len(converted.documents),
        questions=len(converted.records),
        unanswerable=tally.unanswerable,
        repaired_offsets=tally.repaired,
        dropped=tally.dropped,
        dropped_questions=tally.dropped_questions,
    )


def _check_target(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise QuestionSetError(f"{out_dir} exists and is not a folder", "pick a new folder for the import")
    if out_dir.is_dir() and any(out_dir.iterdir()):
        raise QuestionSetError(
            f"{out_dir} exists and is not empty", "pick a new folder for the import; nothing is overwritten"
        )


def _read(path: Path) -> Any:
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise QuestionSetError(f"no such SQuAD file: {path}", "check the path") from exc
    except OSError as exc:
        raise QuestionSetError(f"cannot read {path}: {exc.strerror or exc}", "give the SQuAD .json file") from exc
    try:
        return json.loads(raw)  # bytes: json picks UTF-8/16/32 itself and accepts a BOM
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError alike
        raise QuestionSetError(f"{path} is not JSON ({exc})", "give a SQuAD v1.1 or v2.0 .json file") from exc


def _convert(data: Any, where: str) -> _Converted:
    articles = _field(data, "data", list, where)
    version = data.get("version")
    converted = _Converted(version=version if isinstance(version, str) and version else "")
    width = max(4, len(str(len(articles) - 1)))
    seen: set[str] = set()
    for number, article in enumerate(articles):
        _add_article(converted, article, number, width, seen, f"{where}: data[{number}]")
    if not converted.version:
        converted.version = "v2.0" if converted.tally.unanswerable else "v1.1"
    return converted


def _add_article(converted: _Converted, article: Any, number: int, width: int, seen: set[str], where: str) -> None:
    paragraphs = _field(article, "paragraphs", list, where)
    contexts = [_field(p, "context", str, f"{where}.paragraphs[{i}]") for i, p in enumerate(paragraphs)]
    title = article.get("title")
    if isinstance(title, str) and title.strip():
        # SQuAD titles are Wikipedia page names (underscores for spaces); one line, so it reads as the title.
        heading = " ".join(title.replace("_", " ").split())
        head = heading + "\n\n"
    else:
        # No title (COVID-QA): the context itself opens with the paper's title, so name the file after that.
        heading = next((line for c in contexts for line in c.splitlines() if line.strip()), "")
        head = ""
    name = f"{number:0{width}d}-{_slug(heading)}.txt"
    converted.documents.append((name, head + "\n\n".join(contexts)))
    base = len(head)
    for i, (paragraph, context) in enumerate(zip(paragraphs, contexts, strict=True)):
        qas = _field(paragraph, "qas", list, f"{where}.paragraphs[{i}]")
        for j, qa in enumerate(qas):
            record = _question(qa, context, base, name, converted.tally, f"{where}.paragraphs[{i}].qas[{j}]")
            if record is not None:
                record["id"] = _unique(record["id"], seen)
                converted.records.append(record)
        base += len(context) + 2


def _question(qa: Any, context: str, base: int, source: str, tally: _Tally, where: str) -> dict[str, Any] | None:
    """The question-set record for one qa; None when it asks nothing or none of its answers is in the context."""
    question = _field(qa, "question", str, where)
    qid = qa.get("id")
    if isinstance(qid, bool) or not isinstance(qid, (str, int)):
        raise QuestionSetError(f"{where}: 'id' must be a string or a number", _SHAPE_HINT)
    impossible = qa.get("is_impossible", False)
    if not isinstance(impossible, bool):
        raise QuestionSetError(f"{where}: 'is_impossible' must be true or false", _SHAPE_HINT)
    if not question.strip():  # nothing to ask; question sets refuse empty questions
        tally.dropped_questions += 1
        return None
    answers: list[str] = []
    start: int | None = None
    if impossible:
        tally.unanswerable += 1  # plausible_answers are distractors, not answers
    else:
        found = _answers(_field(qa, "answers", list, where), context, tally, where)
        if not found:
            tally.dropped_questions += 1
            return None
        answers = list(dict.fromkeys(text for text, _ in found))
        start = base + found[0][1]
    return {
        "id": str(qid),
        "question": question.strip(),
        "answers": answers,
        "source": source,
        "evidence": None,  # SQuAD does not say which sentence holds the answer
        "answer_start": start,
    }


def _answers(answers: list[Any], context: str, tally: _Tally, where: str) -> list[tuple[str, int]]:
    """Each answer text with its offset in the context, in the file's order; answers not in it are left out."""
    found = []
    for k, answer in enumerate(answers):
        text = _field(answer, "text", str, f"{where}.answers[{k}]")
        given = _field(answer, "answer_start", int, f"{where}.answers[{k}]")
        start = _locate(text, context, given)
        if start is None:
            tally.dropped += 1
        else:
            if start != given:
                tally.repaired += 1
            found.append((text, start))
    return found


def _locate(text: str, context: str, given: int) -> int | None:
    """given when the text is there, else the occurrence nearest to it (exports are often off by one)."""
    if not text.strip():
        return None
    if given >= 0 and context.startswith(text, given):
        return given
    best: int | None = None
    at = context.find(text)
    while at >= 0:
        if best is None or abs(at - given) < abs(best - given):
            best = at
        if at > given:  # every later occurrence is farther away
            break
        at = context.find(text, at + 1)
    return best


def _field(record: Any, name: str, kind: type[_T], where: str) -> _T:
    if not isinstance(record, dict):
        raise QuestionSetError(f"{where}: expected a JSON object", _SHAPE_HINT)
    value = record.get(name)
    noun = _NOUNS.get(kind, kind.__name__)
    if value is None:
        raise QuestionSetError(f"{where}: {name!r} is missing", _SHAPE_HINT)
    if not isinstance(value, kind) or isinstance(value, bool):  # JSON true is no offset and no text
        raise QuestionSetError(f"{where}: {name!r} must be {noun}", _SHAPE_HINT)
    return value


def _slug(title: str) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title).strip("-")
    if len(slug) > _SLUG_CHARS:
        cut = slug[: _SLUG_CHARS + 1]
        slug = cut.rsplit("-", 1)[0] if "-" in cut else cut[:_SLUG_CHARS]  # whole words where there are words
    return slug or "article"


def _unique(qid: str, seen: set[str]) -> str:
    unique, n = qid, 1
    while unique in seen:
        n += 1
        unique = f"{qid}-{n}"
    seen.add(unique)
    return unique


def _write(converted: _Converted, out_dir: Path) -> None:
    target = out_dir.resolve()  # a real name and parent even for "." or "sub/.."
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.tmp-{secrets.token_hex(4)}"
    try:
        staging.mkdir()
        (staging / CORPUS_DIR).mkdir()
        for name, text in converted.documents:
            _write_text(staging / CORPUS_DIR / name, text)
        lines = (json.dumps(record, ensure_ascii=False) + "\n" for record in converted.records)
        _write_text(staging / QUESTIONS_FILE, "".join(lines))
        if target.is_dir():
            target.rmdir()  # checked empty; renaming onto an existing folder is not portable
        staging.rename(target)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, (OSError, UnicodeError)):
            hint = "check that its parent folder is writable and the file's text is valid Unicode"
            raise QuestionSetError(f"cannot write the import to {out_dir}: {exc}", hint) from exc
        raise


def _write_text(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:  # newline="": offsets index the stored text
        f.write(text)
