"""`citeqa eval compare`: what changed between two runs, metric by metric and question by question."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from citeqa.errors import CiteqaError

from .run import METRICS_FILE, OUTCOMES_FILE, text_sha256

SECTIONS = ("retrieval", "answers", "citations", "abstention", "reliability", "speed")


@dataclass(frozen=True, slots=True)
class SavedRun:
    path: Path
    metrics: dict[str, Any]
    outcomes: dict[str, dict[str, Any]]  # by question id


@dataclass(frozen=True, slots=True)
class Change:
    id: str
    question: str
    before: dict[str, Any] | None  # None: the question is only in the other run
    after: dict[str, Any] | None


def read_run(path: Path) -> SavedRun:
    try:
        metrics = json.loads((path / METRICS_FILE).read_text(encoding="utf-8"))
        text = (path / OUTCOMES_FILE).read_text(encoding="utf-8")
        lines = text.splitlines()
        outcomes = [json.loads(line) for line in lines if line.strip()]
    except FileNotFoundError as exc:
        raise CiteqaError(
            f"{path} is not an eval run folder (no {Path(exc.filename).name})", "give a folder written by citeqa eval"
        ) from exc
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CiteqaError(f"cannot read the run at {path} ({exc})", "run the eval again") from exc
    recorded = metrics.get("files", {}).get(OUTCOMES_FILE) if isinstance(metrics.get("files"), dict) else None
    if recorded is not None and recorded != text_sha256(text):
        raise CiteqaError(
            f"the run at {path} mixes two runs: its {OUTCOMES_FILE} is not the one its {METRICS_FILE} was written with",
            "run the eval again",
        )
    return SavedRun(path, metrics, {o["id"]: o for o in outcomes})


def metric_rows(a: SavedRun, b: SavedRun) -> list[tuple[str, float | None, float | None]]:
    """(section.metric, value in a, value in b) for every number either run reports."""
    rows = []
    for section in SECTIONS:
        first, second = a.metrics.get(section) or {}, b.metrics.get(section) or {}
        for name in dict.fromkeys([*first, *second]):
            x, y = first.get(name), second.get(name)
            if isinstance(x, (int, float, type(None))) and isinstance(y, (int, float, type(None))):
                rows.append((f"{section}.{name}", x, y))
    return rows


def changed_questions(a: SavedRun, b: SavedRun) -> list[Change]:
    """Questions whose verdict, F1 or answer differ, and questions only one run holds."""
    changes = []
    for qid in dict.fromkeys([*a.outcomes, *b.outcomes]):
        before, after = a.outcomes.get(qid), b.outcomes.get(qid)
        if before and after and _outcome(before) == _outcome(after):
            continue
        question = (before or after or {}).get("question", "")
        changes.append(Change(qid, question, before, after))
    return changes


def _outcome(o: dict[str, Any]) -> tuple[Any, ...]:
    return (o.get("verdict"), round(float(o.get("f1", 0.0)), 4), o.get("answer"))


def report_lines(a: SavedRun, b: SavedRun) -> list[str]:
    lines = [f"A: {a.path}", f"B: {b.path}", "", f"{'metric':<32}{'A':>10}{'B':>10}{'B - A':>10}"]
    for name, x, y in metric_rows(a, b):
        delta = f"{y - x:+.4g}" if x is not None and y is not None else "–"
        lines.append(f"{name:<32}{_number(x):>10}{_number(y):>10}{delta:>10}")
    changes = changed_questions(a, b)
    lines += ["", f"{len(changes)} of {len(set(a.outcomes) | set(b.outcomes))} questions changed outcome:"]
    for change in changes:
        lines.append(f"  {change.id}: {_describe(change.before)} -> {_describe(change.after)}   {change.question}")
    return lines


def _describe(o: dict[str, Any] | None) -> str:
    if o is None:
        return "(absent)"
    answer = "—" if o.get("answer") is None else repr(_short(o["answer"]))
    return f"{o.get('verdict')} f1 {float(o.get('f1', 0.0)):.2f} {answer}"


def _short(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _number(x: float | None) -> str:
    return "–" if x is None else f"{x:.4g}"
