"""Like / dislike records: one JSON line each, whole lines even with many writers at once."""

from __future__ import annotations

import json
import multiprocessing
import threading
from pathlib import Path
from typing import Any

import pytest

from citeqa.chat.web.feedback import FeedbackLog, default_feedback_path
from citeqa.errors import CiteqaError

ANSWER: dict[str, Any] = {
    "question": "When did APP and AZERTAC sign their memorandum of cooperation?",
    "answer": "July 2024",
    "abstained": False,
    "confidence": 0.9,
    "citations": [{"source": "003.txt", "start": 1, "end": 10, "quote": "In July 2024, ..."}],
    "passages": [],
}


def test_a_verdict_is_one_readable_line(tmp_path: Path) -> None:
    log = FeedbackLog(tmp_path / "sub" / "feedback.jsonl")
    record = log.record("like", ANSWER, asked="When did they sign it?")
    assert record["verdict"] == "like" and record["answer"] == "July 2024"
    assert record["citation"]["source"] == "003.txt" and record["asked"] == "When did they sign it?"
    assert log.read() == [record]
    line = (tmp_path / "sub" / "feedback.jsonl").read_text().splitlines()[0]
    assert json.loads(line)["time"].endswith("+00:00")


def test_unknown_verdicts_and_unwritable_files_are_errors(tmp_path: Path) -> None:
    with pytest.raises(CiteqaError, match="verdict"):
        FeedbackLog(tmp_path / "f.jsonl").record("meh", ANSWER)  # type: ignore[arg-type]
    (tmp_path / "file").write_text("")
    with pytest.raises(CiteqaError, match="cannot write feedback"):
        FeedbackLog(tmp_path / "file" / "f.jsonl").record("like", ANSWER)


def _write_many(path: str, n: int) -> None:
    log = FeedbackLog(Path(path))
    for i in range(n):
        log.record("dislike" if i % 2 else "like", {**ANSWER, "answer": "x" * 2000})


def test_concurrent_writers_never_interleave(tmp_path: Path) -> None:
    path = tmp_path / "feedback.jsonl"
    threads = [threading.Thread(target=_write_many, args=(str(path), 50)) for _ in range(4)]
    processes = [
        multiprocessing.get_context("spawn").Process(target=_write_many, args=(str(path), 50)) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for process in processes:
        process.start()
    for thread in threads:
        thread.join()
    for process in processes:
        process.join()
    lines = path.read_text().splitlines()
    assert len(lines) == 300 and all(json.loads(line)["answer"] == "x" * 2000 for line in lines)


def test_default_location_is_beside_the_index_never_in_it(tmp_path: Path) -> None:
    from citeqa.paths import default_index

    assert default_feedback_path(tmp_path / "notes") == tmp_path / "notes.feedback.jsonl"
    default = default_index().parent / "feedback.jsonl"
    assert default_feedback_path(None) == default_feedback_path(default_index()) == default
