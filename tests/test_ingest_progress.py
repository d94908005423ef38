"""A large ingest says what it does after the chunks are embedded, and that part takes time in proportion to the
number of files (issue 24: 20,000 tiny files were embedded, then nothing was printed for minutes)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import CliRun
from fakes import HashingEmbedder
from test_incremental import FAKE

from citeqa.index import ingest
from citeqa.index.update import IngestPlan
from citeqa.ingest import Document


def tiny_files(folder: Path, count: int) -> Path:
    folder.mkdir(parents=True)
    for n in range(count):
        (folder / f"note{n:05d}.txt").write_text(
            f"Note {n}. The depot {n} opened in {1900 + n % 100}. It has {n} drivers.\n", encoding="utf-8"
        )
    return folder


def test_a_large_ingest_says_what_it_does_after_embedding(
    tmp_path: Path, fake: HashingEmbedder, cli: CliRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("citeqa.index.update.LARGE_RUN_FILES", 20)  # "large", for the test: 30 files
    monkeypatch.setattr("citeqa.index.update.Embedder", lambda model, **_: fake)
    docs = tiny_files(tmp_path / "docs", 30)
    code, _, err = cli("ingest", str(docs), "--index", str(tmp_path / "idx"), "--model", FAKE.model)
    assert code == 0, err
    lines = [line for line in err.splitlines() if line.startswith("citeqa: ")]
    embedded = max(n for n, line in enumerate(lines) if "embedded" in line and "chunks" in line)
    after = lines[embedded + 1 :]
    expected = ["building the vector (FAISS) and word (BM25) indexes of 30 chunks", "writing 30 documents"]
    for step in expected:  # in this order
        found = next(n for n, line in enumerate(after) if step in line)
        after = after[found + 1 :]


def test_a_small_ingest_stays_quiet_after_embedding(
    tmp_path: Path, fake: HashingEmbedder, cli: CliRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("citeqa.index.update.Embedder", lambda model, **_: fake)
    docs = tiny_files(tmp_path / "docs", 5)
    code, _, err = cli("ingest", str(docs), "--index", str(tmp_path / "idx"), "--model", FAKE.model)
    assert code == 0 and "writing" not in err and "building" not in err


def _clock(times: list[float]) -> Callable[[str], None]:
    return lambda _: times.append(time.monotonic())


def _after_embedding(tmp_path: Path, fake: HashingEmbedder, count: int) -> float:
    """Seconds from the end of chunk embedding to the end of the run, for `count` tiny files (best of two)."""
    best = float("inf")
    for attempt in range(2):
        docs = tiny_files(tmp_path / f"docs{count}-{attempt}", count)
        stages: list[float] = []
        ingest([docs], tmp_path / f"idx{count}-{attempt}", FAKE, fake, stages=_clock(stages))
        best = min(best, time.monotonic() - stages[0])
    return best


def test_the_work_after_embedding_grows_in_proportion_to_the_files(
    tmp_path: Path, fake: HashingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("citeqa.index.update.LARGE_RUN_FILES", 0)
    _after_embedding(tmp_path / "warm", fake, 50)  # imports and first-use costs out of the measure
    ratio = _after_embedding(tmp_path, fake, 2_400) / _after_embedding(tmp_path, fake, 300)
    assert ratio < 16  # 8 for linear work


def test_the_runs_report_is_linear_in_the_files_it_read(tmp_path: Path) -> None:
    """It compared every file read with lists of the new and changed ones: 3.8 s of 20,000 files' run."""

    def report_seconds(count: int) -> float:
        plan = IngestPlan(tmp_path, FAKE, "", None, [], 0)
        plan.fresh = {f"n{n}.txt": Document(f"n{n}.txt", f"Note {n}.", "Note") for n in range(count)}
        began = time.perf_counter()
        report = plan.report(began, index=_Sized(count))  # type: ignore[arg-type]
        assert len(report.added) == count
        return time.perf_counter() - began

    report_seconds(100)
    assert report_seconds(16_000) / report_seconds(2_000) < 16


class _Sized:
    """What a report reads of the index it made."""

    def __init__(self, count: int) -> None:
        self.documents = range(count)
        self.chunks = range(count)
