"""Answer a whole question set with the chat's own pipeline, score it, and write the run folder.

A run folder holds predictions.jsonl (the answer contract + id + latency), outcomes.jsonl (each question
scored), metrics.json (the numbers, the settings and the versions that made them) and the report.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from citeqa.chat.answer import Answer
from citeqa.chat.answerer import Answerer, threshold_of
from citeqa.chat.settings import AnswerSettings
from citeqa.index.embedder import Embedder
from citeqa.index.manifest import library_versions
from citeqa.index.search import SearchIndex
from citeqa.index.store import write_atomically

from .questions import QuestionItem
from .scoring import Outcome, score
from .summary import summarize

PREDICTIONS_FILE = "predictions.jsonl"
OUTCOMES_FILE = "outcomes.jsonl"
METRICS_FILE = "metrics.json"
_BATCH = 16  # questions whose candidate windows the reader reads in one pass


@dataclass(frozen=True, slots=True)
class EvalRun:
    predictions: list[dict[str, Any]]  # as the chat answers, at the settings' threshold
    outcomes: list[Outcome]
    raw_outcomes: list[Outcome]  # as if no threshold: what calibration sweeps
    seconds: float
    answerer: dict[str, Any] = field(default_factory=dict)  # which reader and confidence model answered
    threshold: float = 0.5  # the abstention threshold the predictions were decided at


class Sources:
    """Questions name documents relative to their collection; the index may hold them under a parent folder."""

    def __init__(self, index: SearchIndex) -> None:
        self.index = index
        self._by_tail: dict[str, list[str]] = {}
        for source in index.documents:
            parts = source.split("/")
            for i in range(1, len(parts)):
                self._by_tail.setdefault("/".join(parts[i:]), []).append(source)

    def resolve(self, source: str) -> str | None:
        if source in self.index.documents:
            return source
        matches = self._by_tail.get(source, [])
        return matches[0] if len(matches) == 1 else None

    def text(self, source: str) -> str | None:
        resolved = self.resolve(source)
        return self.index.documents[resolved].text if resolved else None

    def unknown(self, items: Sequence[QuestionItem]) -> list[QuestionItem]:
        """The questions whose source the index does not hold."""
        return [item for item in items if item.source is not None and self.resolve(item.source) is None]


def evaluate(
    index: SearchIndex,
    embedder: Embedder,
    settings: AnswerSettings,
    items: Sequence[QuestionItem],
    progress: Callable[[int], None] = lambda done: None,
) -> EvalRun:
    """Answer every question (all embedded in one pass), then score the answers."""
    answerer = Answerer(index, embedder, replace(settings, min_confidence=0.0))
    threshold = threshold_of(settings, answerer.confidence)
    began = time.perf_counter()
    retrieved = answerer.retrieve_batch([item.question for item in items])
    shared_ms = (time.perf_counter() - began) * 1000 / max(len(items), 1)
    answered: list[tuple[QuestionItem, Answer, float]] = []  # (question, raw answer, latency in ms)
    for first in range(0, len(items), _BATCH):
        batch = items[first : first + _BATCH]
        started = time.perf_counter()
        raws = answerer.answer_all([i.question for i in batch], retrieved[first : first + _BATCH])
        own_ms = (time.perf_counter() - started) * 1000 / len(batch)
        answered += [(item, answer, round(shared_ms + own_ms, 2)) for item, answer in zip(batch, raws, strict=True)]
        progress(len(batch))
    seconds = time.perf_counter() - began
    # Every answer is scored raw (the threshold sweep needs that) and decided exactly as the chat decides.
    sources = Sources(index)
    decided = [(item, answer.decided(threshold), ms) for item, answer, ms in answered]
    predictions = [{**answer.to_dict(), "id": item.id, "latency_ms": ms} for item, answer, ms in decided]
    outcomes = [score(item, answer, ms, sources.text) for item, answer, ms in decided]
    raw_outcomes = [score(item, answer, ms, sources.text) for item, answer, ms in answered]
    return EvalRun(
        predictions=predictions,
        outcomes=outcomes,
        raw_outcomes=raw_outcomes,
        seconds=seconds,
        answerer=answerer.describe(),
        threshold=threshold,
    )


def run_metrics(run: EvalRun, settings: AnswerSettings, index: SearchIndex, **context: Any) -> dict[str, Any]:
    """metrics.json: the numbers, with everything needed to say what produced them."""
    return {
        "citeqa": library_versions().get("citeqa"),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        **context,
        "config": {
            "index": {
                "model": index.manifest.settings.model,
                "factory": index.manifest.settings.factory,
                "chunking": asdict(index.manifest.settings.chunking),
                "documents": len(index.documents),
                "chunks": len(index.chunks),
                "path": str(index.path) if index.path else None,
            },
            "answer": {**asdict(settings), "min_confidence": run.threshold},
            "answerer": run.answerer,
        },
        "versions": library_versions(),
        **summarize(run.outcomes, run.seconds).to_dict(),
    }


def write_run(out: Path, run: EvalRun, metrics: dict[str, Any]) -> None:
    """The run's files, tied together: metrics.json goes last and records the sha256 of the others, so a run
    killed half-way, or a folder holding two runs' files, is refused by `compare` instead of compared."""
    out.mkdir(parents=True, exist_ok=True)
    (out / METRICS_FILE).unlink(missing_ok=True)  # until the new one lands, the folder is no finished run
    texts = {
        PREDICTIONS_FILE: "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in run.predictions),
        OUTCOMES_FILE: "".join(json.dumps(o.to_dict(), ensure_ascii=False) + "\n" for o in run.outcomes),
    }
    for name, text in texts.items():
        write_atomically(out / name, text)
    files = {name: text_sha256(text) for name, text in texts.items()}
    write_atomically(out / METRICS_FILE, json.dumps({**metrics, "files": files}, indent=2, ensure_ascii=False) + "\n")


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
