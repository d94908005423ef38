"""Question sets: JSONL, one question a line (the format is in docs/evaluation.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from citeqa.errors import CiteqaError


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
    line: int = 0  # where it stands in its file, for messages

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


@dataclass(frozen=True, slots=True)
class QuestionSet:
    items: list[QuestionItem]
    problems: list[str]  # one message per line that was skipped, naming the line


def read_questions(path: Path) -> QuestionSet:
    """The usable questions of a set and a message for each line that is not one.

    A file that cannot be read, or that holds no usable question, is a QuestionSetError.
    """
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except FileNotFoundError as exc:
        raise QuestionSetError(f"no such question set: {path}", "check the path") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionSetError(f"cannot read the question set {path}: {exc}", "give a UTF-8 JSONL file") from exc
    items: list[QuestionItem] = []
    problems: list[str] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            item = _parse(line, where, number)
        except QuestionSetError as exc:
            problems.append(exc.message)
            continue
        if item.id in seen:
            problems.append(f"{where}: duplicate id {item.id!r}")
            continue
        seen.add(item.id)
        items.append(item)
    if not items:
        what = (
            f"no usable question ({len(problems)} bad lines, the first: {problems[0]})" if problems else "no questions"
        )
        raise QuestionSetError(f"the question set {path} holds {what}", "one JSON object a line: id, question, answers")
    return QuestionSet(items, problems)


def load_questions(path: Path) -> list[QuestionItem]:
    """Every question of the set; QuestionSetError naming the line of the first malformed one."""
    questions = read_questions(path)
    if questions.problems:
        raise QuestionSetError(questions.problems[0], "fix that line, or leave out --strict to skip it")
    return questions.items


def _parse(line: str, where: str, number: int) -> QuestionItem:
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
    if not record["question"].strip():
        raise QuestionSetError(f"{where}: the question is empty", "write the question")
    for name in ("source", "evidence"):
        if not isinstance(record.get(name), (str, type(None))):
            raise QuestionSetError(f"{where}: {name!r} must be text or null", "fix the line")
    start = record.get("answer_start")
    if start is not None and (isinstance(start, bool) or not isinstance(start, int) or start < 0):
        raise QuestionSetError(f"{where}: 'answer_start' must be a character offset", "fix the line")
    return QuestionItem(
        id=str(record["id"]),
        question=record["question"],
        answers=tuple(answers),
        source=record.get("source"),
        evidence=record.get("evidence"),
        answer_start=start,
        line=number,
    )
