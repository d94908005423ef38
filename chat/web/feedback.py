"""Like / dislike from the chat, appended to a local JSONL file an admin can read (one verdict a line).

The file is a log: a person who likes an answer, then dislikes it, then takes the dislike back writes three
records. Each record names its answer (`answer_id`, a hash of the question, the answer and where it stands), and
**the last record of an answer is the verdict in force**: "withdrawn" means none. `latest` (and `citeqa feedback
export`) gives the verdicts in force, one per answer; `read` gives the whole log.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from citeqa.errors import CiteqaError
from citeqa.paths import citeqa_home, default_index

Verdict = Literal["like", "dislike", "withdrawn"]
VERDICTS: tuple[str, ...] = get_args(Verdict)
MAX_REASON_CHARS = 2000


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

    def record(
        self, verdict: Verdict, answer: dict[str, Any], asked: str | None = None, reason: str | None = None
    ) -> dict[str, Any]:
        """Append one verdict on an answer (the answer contract) and return the record written.

        `asked` is what the person typed when it differs from the question answered (a resolved follow-up);
        `reason` what they said was wrong or right, if anything. One `write` of one line on a file opened for
        appending: lines from concurrent writers, threads or processes, never interleave (POSIX appends are
        atomic for a single write of this size).
        """
        if verdict not in VERDICTS:
            raise CiteqaError(f"unknown verdict {verdict!r}", f"use one of {', '.join(VERDICTS)}")
        reason = (reason or "").strip()[:MAX_REASON_CHARS] or None
        citations = answer.get("citations") or []
        asked = asked if asked is not None else answer.get("asked")
        record = {
            "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "answer_id": answer_id(answer),
            "verdict": verdict,
            "reason": reason,
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

    def latest(self) -> list[dict[str, Any]]:
        """The verdict in force on each answer: its last record, unless that withdrew it; oldest answer first."""
        last: dict[str, dict[str, Any]] = {}
        for record in self.read():
            key = record.get("answer_id") or _legacy_id(record)
            last.pop(key, None)  # re-inserted: ordered by each answer's last verdict
            last[key] = record
        return [r for r in last.values() if r.get("verdict") != "withdrawn"]


def answer_id(answer: dict[str, Any]) -> str:
    """A short, stable name for an answer: the same question answered the same way at the same place."""
    citations = answer.get("citations") or []
    where = citations[0] if citations else {}
    key = [answer.get("question"), answer.get("answer"), where.get("source"), where.get("start")]
    return hashlib.sha256(json.dumps(key, ensure_ascii=False).encode("utf-8")).hexdigest()[:16]


def _legacy_id(record: dict[str, Any]) -> str:
    """The id of a record written before records carried one."""
    return answer_id({**record, "citations": [record.get("citation") or {}]})


_LOCK = threading.Lock()
