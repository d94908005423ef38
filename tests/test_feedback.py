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


def test_the_last_record_of_an_answer_is_its_verdict(tmp_path: Path) -> None:
    log = FeedbackLog(tmp_path / "feedback.jsonl")
    other = {**ANSWER, "question": "Who signed it?", "answer": "APP"}
    log.record("like", ANSWER)
    log.record("dislike", other)
    log.record("withdrawn", ANSWER)  # un-liked
    log.record("dislike", other, reason="  wrong agency  ")
    assert [r["verdict"] for r in log.read()] == ["like", "dislike", "withdrawn", "dislike"]  # the log keeps all
    latest = log.latest()
    assert len(latest) == 1 and latest[0]["answer"] == "APP" and latest[0]["reason"] == "wrong agency"
    log.record("like", ANSWER)  # liked again
    assert [r["verdict"] for r in log.latest()] == ["dislike", "like"]
    assert len({r["answer_id"] for r in log.read()}) == 2


def test_feedback_export_writes_jsonl_and_spreadsheet_safe_csv(tmp_path: Path, cli: Any) -> None:
    import csv

    path = tmp_path / "feedback.jsonl"
    log = FeedbackLog(path)
    log.record("dislike", {**ANSWER, "answer": "=HYPERLINK(1)"}, reason="+1 wrong")
    log.record("like", ANSWER)
    log.record("withdrawn", ANSWER)
    code, out, _ = cli("feedback", "export", "--feedback", str(path))
    assert code == 0 and [json.loads(line)["verdict"] for line in out.splitlines()] == ["dislike"]
    code, out, _ = cli("feedback", "export", "--feedback", str(path), "--all")
    assert code == 0 and len(out.splitlines()) == 3
    code, _, err = cli("feedback", "export", "--feedback", str(path), "--format", "csv", "-o", str(tmp_path / "f.csv"))
    assert code == 0 and "1 records written" in err
    rows = list(csv.DictReader((tmp_path / "f.csv").open(encoding="utf-8")))
    assert len(rows) == 1 and rows[0]["verdict"] == "dislike" and rows[0]["source"] == "003.txt"
    assert rows[0]["answer"] == "'=HYPERLINK(1)" and rows[0]["reason"] == "'+1 wrong"  # never a formula
    code, _, err = cli("feedback", "export", "--feedback", str(tmp_path / "none.jsonl"))
    assert code == 1 and "no feedback has been recorded" in err and "Traceback" not in err
