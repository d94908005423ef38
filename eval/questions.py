"""Question sets: JSONL, one question a line (see eval/README.md for the format)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.errors import CiteqaError

BUNDLED_QUESTIONS = Path(__file__).resolve().parent / "questions" / "dev.jsonl"


class QuestionSetError(CiteqaError):
    """A question set that cannot be read."""


@dataclass(frozen=True, slots=True)
class QuestionItem:
    id: str
    question: str
    answers: tuple[str, ...]  # empty: the documents do not answer it, and abstaining is right
    source: str | None = None
    evidence: str | None = None
    answer_start: int | None = None

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


def load_questions(path: Path) -> list[QuestionItem]:
    """Every question of the set; QuestionSetError naming the line for anything malformed."""
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except FileNotFoundError as exc:
        raise QuestionSetError(f"no such question set: {path}", "check the path") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionSetError(f"cannot read the question set {path}: {exc}", "give a UTF-8 JSONL file") from exc
    items: list[QuestionItem] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        item = _parse(line, f"{path}:{number}")
        if item.id in seen:
            raise QuestionSetError(f"{path}:{number}: duplicate id {item.id!r}", "give every question its own id")
        seen.add(item.id)
        items.append(item)
    if not items:
        raise QuestionSetError(f"the question set {path} holds no questions", "add one JSON object a line")
    return items


def _parse(line: str, where: str) -> QuestionItem:
    try:
        record: Any = json.loads(line)
    except ValueError as exc:
        raise QuestionSetError(f"{where}: not valid JSON ({exc.args[0]})", "one JSON object a line") from exc
    if not isinstance(record, dict):
        raise QuestionSetError(f"{where}: expected a JSON object", "one JSON object a line")
    for name in ("id", "question", "answers"):
        if name not in record:
            raise QuestionSetError(f"{where}: missing field {name!r}", "each line needs id, question and answers")
    answers = record["answers"]
    if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
        raise QuestionSetError(f"{where}: 'answers' must be a list of strings", "use [] for unanswerable")
    if not isinstance(record["question"], str) or not isinstance(record["id"], (str, int)):
        raise QuestionSetError(f"{where}: 'id' and 'question' must be text", "fix the line")
    start = record.get("answer_start")
    return QuestionItem(
        id=str(record["id"]),
        question=record["question"],
        answers=tuple(answers),
        source=record.get("source"),
        evidence=record.get("evidence"),
        answer_start=int(start) if isinstance(start, int) else None,
    )
