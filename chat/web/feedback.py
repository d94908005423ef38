"""Like / dislike from the chat, appended to a local JSONL file an admin can read (one verdict a line)."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from citeqa.errors import CiteqaError
from citeqa.paths import citeqa_home, default_index

Verdict = Literal["like", "dislike"]


def default_feedback_path(index_dir: Path | None) -> Path:
    """One file per index, next to its folder (never inside it: an index folder holds only the index).

    The default index's goes to $CITEQA_HOME/feedback.jsonl (~/.local/share/citeqa/); ~/indexes/notes's to
    ~/indexes/notes.feedback.jsonl.
    """
    if index_dir is None or index_dir.resolve() == default_index().resolve():
        return citeqa_home() / "feedback.jsonl"
    return index_dir.parent / f"{index_dir.name}.feedback.jsonl"


@dataclass(frozen=True, slots=True)
class FeedbackLog:
    path: Path

    def record(self, verdict: Verdict, answer: dict[str, Any], asked: str | None = None) -> dict[str, Any]:
        """Append one verdict on an answer (the answer contract) and return the record written.

        `asked` is what the person typed when it differs from the question answered (a resolved follow-up).
        One `write` of one line on a file opened for appending: lines from concurrent writers, threads or
        processes, never interleave (POSIX appends are atomic for a single write of this size).
        """
        if verdict not in ("like", "dislike"):
            raise CiteqaError(f"unknown verdict {verdict!r}", "use like or dislike")
        citations = answer.get("citations") or []
        record = {
            "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "verdict": verdict,
            "question": answer.get("question"),
            "asked": asked if asked is not None and asked != answer.get("question") else None,
            "answer": answer.get("answer"),
            "abstained": answer.get("abstained"),
            "confidence": answer.get("confidence"),
            "citation": citations[0] if citations else None,
        }
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                with _LOCK:
                    os.write(fd, line)
            finally:
                os.close(fd)
        except OSError as exc:
            raise CiteqaError(
                f"cannot write feedback to {self.path}: {exc.strerror}", "choose another file with --feedback"
            ) from exc
        return record

    def read(self) -> list[dict[str, Any]]:
        """Every verdict recorded so far (for admins and tests); a damaged line is skipped."""
        if not self.path.exists():
            return []
        records = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return records


_LOCK = threading.Lock()
