"""Answer a whole question set with the chat's own pipeline and write predictions.jsonl."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chat.answerer import Answerer

from .metrics import best_f1, exact_match
from .questions import QuestionItem

PREDICTIONS_FILE = "predictions.jsonl"


@dataclass(frozen=True, slots=True)
class Summary:
    questions: int
    f1: float | None  # on answerable questions
    em: float | None
    abstained_answerable: int
    abstained_unanswerable: int
    unanswerable: int
    latency_ms_p50: float

    def lines(self) -> list[str]:
        out = [f"{self.questions} questions, warm latency p50 {self.latency_ms_p50:.1f} ms"]
        if self.f1 is not None and self.em is not None:
            out.append(f"answerable: f1 {self.f1:.3f}, em {self.em:.3f}, abstained {self.abstained_answerable}")
        if self.unanswerable:
            out.append(f"unanswerable: abstained {self.abstained_unanswerable} of {self.unanswerable}")
        return out


def predict(answerer: Answerer, items: Sequence[QuestionItem], k: int | None = None) -> list[dict[str, Any]]:
    """The answer contract for every question, plus its id and latency (its share of the batch embedding
    plus its own answering time)."""
    began = time.perf_counter()
    retrieved = answerer.retrieve_batch([item.question for item in items], k)
    shared_ms = (time.perf_counter() - began) * 1000 / max(len(items), 1)
    predictions = []
    for item, passages in zip(items, retrieved, strict=True):
        started = time.perf_counter()
        answer = answerer.answer_retrieved(item.question, passages, k)
        latency = shared_ms + (time.perf_counter() - started) * 1000
        predictions.append({"id": item.id, **answer.to_dict(), "latency_ms": round(latency, 2)})
    return predictions


def write_predictions(predictions: Sequence[dict[str, Any]], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / PREDICTIONS_FILE
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for record in predictions:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    tmp.replace(path)
    return path


def summarize(items: Sequence[QuestionItem], predictions: Sequence[dict[str, Any]]) -> Summary:
    by_id = {p["id"]: p for p in predictions}
    answerable = [i for i in items if i.answerable]
    unanswerable = [i for i in items if not i.answerable]
    f1s = [best_f1(by_id[i.id]["answer"], i.answers) for i in answerable]
    ems = [exact_match(by_id[i.id]["answer"], i.answers) for i in answerable]
    return Summary(
        questions=len(items),
        f1=statistics.fmean(f1s) if f1s else None,
        em=statistics.fmean(ems) if ems else None,
        abstained_answerable=sum(by_id[i.id]["abstained"] for i in answerable),
        abstained_unanswerable=sum(by_id[i.id]["abstained"] for i in unanswerable),
        unanswerable=len(unanswerable),
        latency_ms_p50=statistics.median(p["latency_ms"] for p in predictions) if predictions else 0.0,
    )
