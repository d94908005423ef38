"""An index written before reader v2, with the sentence vectors and sentence analyses nothing reads any more, loads,
searches and answers as it is; re-ingesting it unchanged writes nothing, and its next write drops the dead tables.

tests/data/before_v2 was written by citeqa at commit e4fb2b0 (the last to store them): `ingest` of its docs/ with
tests/fakes.py's HashingEmbedder and test_incremental's FAKE settings.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from fakes import HashingEmbedder
from test_incremental import FAKE
from test_store import store_of

from citeqa.index import SearchIndex, ingest, load_index
from citeqa.index.store import current_generation

BEFORE_V2 = Path(__file__).parent / "data" / "before_v2"
RETIRED = {"sentence_vectors", "sentence_words"}
QUERIES = ["When did the ferry open?", "Who directs the library?", "How many employees has the harbour?"]


@pytest.fixture
def old(tmp_path: Path) -> tuple[Path, Path]:
    """A writable copy of the old index, and the documents it was built from."""
    shutil.copytree(BEFORE_V2, tmp_path / "before_v2")
    return tmp_path / "before_v2" / "docs", tmp_path / "before_v2" / "index"


def tables(directory: Path) -> set[str]:
    with sqlite3.connect(store_of(directory)) as db:
        return {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def searched(index: SearchIndex, fake: HashingEmbedder) -> list[list[tuple[int, float]]]:
    return [[(p.chunk.id, round(p.score, 5)) for p in hits] for hits in index.search(fake.encode_queries(QUERIES), 3)]


def test_the_fixture_is_an_index_of_the_old_kind(old: tuple[Path, Path]) -> None:
    _, directory = old
    manifest = json.loads((current_generation(directory) / "manifest.json").read_text())
    assert manifest["sentence_vectors"] and manifest["sentence_analysis"] and "precisions" not in manifest["model"]
    assert (current_generation(directory) / "sentence_stems.json").is_file() and tables(directory) >= RETIRED


def test_it_loads_and_searches_like_the_same_documents_ingested_now(
    old: tuple[Path, Path], tmp_path: Path, fake: HashingEmbedder
) -> None:
    docs, directory = old
    before = load_index(directory)
    now, _ = ingest([docs], tmp_path / "now", FAKE, fake)
    assert now is not None
    assert before.manifest.precisions == ("fp32",)  # written before precisions were recorded: all fp32
    assert [(c.id, c.start, c.end) for c in before.chunks.values()] == [
        (c.id, c.start, c.end) for c in now.chunks.values()
    ]
    assert np.allclose(np.asarray(before.embeddings), np.asarray(now.embeddings), atol=1e-6)
    assert searched(before, fake) == searched(now, fake)


def test_re_ingesting_it_unchanged_writes_nothing_and_the_next_write_drops_the_dead_tables(
    old: tuple[Path, Path], fake: HashingEmbedder
) -> None:
    docs, directory = old
    index, report = ingest([docs], directory, FAKE, fake)
    assert index is None and not report.written and report.unchanged == 3  # usable as it is: no upgrade run
    (docs / "museum.txt").write_text("The museum holds 4,000 paintings. It opens at nine.\n", encoding="utf-8")
    index, report = ingest([docs], directory, FAKE, fake)
    assert index is not None and (report.embedded, report.reused) == (1, 3)  # the old vectors are kept
    assert not RETIRED & tables(directory)
    manifest = json.loads((current_generation(directory) / "manifest.json").read_text())
    assert "sentence_vectors" not in manifest and "sentence_analysis" not in manifest
    assert not (current_generation(directory) / "sentence_stems.json").exists()
    assert load_index(directory).search(fake.encode_queries(["museum paintings"]), 1)[0][0].chunk.source == "museum.txt"


@pytest.mark.slow  # the reader loads
def test_it_answers_as_the_same_documents_ingested_now(
    old: tuple[Path, Path], tmp_path: Path, fake: HashingEmbedder
) -> None:
    from citeqa.chat import Answerer
    from citeqa.chat.settings import AnswerSettings

    docs, directory = old
    now, _ = ingest([docs], tmp_path / "now", FAKE, fake)
    assert now is not None
    settings = AnswerSettings(min_confidence=0.0)
    answers = [
        [a.to_dict() for a in Answerer(index, fake, settings).answer_batch(QUERIES)]
        for index in (load_index(directory), now)
    ]
    assert answers[0] == answers[1] and any(a["answer"] for a in answers[0])
