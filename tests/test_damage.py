"""A damaged index is named as such, with `citeqa ingest --rebuild` as the fix, and `--rebuild` works whatever the
damage, because it reads nothing of the index it replaces (issue 24)."""

from __future__ import annotations

import random
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import CliRun
from fakes import HashingEmbedder
from test_incremental import FAKE, write_collection

from citeqa.index import IndexDamagedError, ingest, load_index
from citeqa.index.store import current_generation

_OPENED: list[str] | None = None  # while a list, every file opened in this process is noted in it


def _note_opens(event: str, args: tuple[object, ...]) -> None:
    if _OPENED is not None and event == "open" and isinstance(args[0], (str, Path)):
        _OPENED.append(str(args[0]))


sys.addaudithook(_note_opens)  # (audit hooks cannot be removed: it does nothing outside `opened_files`)


@pytest.fixture
def opened_files() -> Iterator[list[str]]:
    global _OPENED
    _OPENED = []
    try:
        yield _OPENED
    finally:
        _OPENED = None


@pytest.fixture
def indexed(tmp_path: Path, fake: HashingEmbedder) -> tuple[Path, Path]:
    docs, directory = write_collection(tmp_path / "docs"), tmp_path / "idx"
    ingest([docs], directory, FAKE, fake)
    return docs, directory


# The small files that only say where things are, read by every write to keep the folder tidy (each read tolerates
# any damage), and the manifest, whose settings a rebuild keeps when it can read them.
POINTERS = ("CURRENT", "members.json", "manifest.json")


def test_rebuild_repairs_any_damaged_file_and_reads_none_of_the_index_it_replaces(
    indexed: tuple[Path, Path], fake: HashingEmbedder, opened_files: list[str]
) -> None:
    docs, directory = indexed
    old = current_generation(directory)
    store = next(directory.glob("store-*.sqlite"))
    damaged = [p for p in old.rglob("*") if p.is_file()] + [store]
    for path in damaged:
        data = bytearray(path.read_bytes())
        data[: min(len(data), 64)] = b"(" * min(len(data), 64)  # chunks.npy's header so: a tokenizer error in numpy
        path.write_bytes(bytes(data))
    opened_files.clear()
    _, report = ingest([docs], directory, FAKE, fake, rebuild=True)
    assert report.written and len(load_index(directory).documents) == 4
    read = {Path(p).name for p in opened_files if Path(p) in damaged}  # (its folder is listed, to delete it)
    assert read <= set(POINTERS), read  # no chunk table, vector, FAISS, BM25 or store file of the old index


def test_rebuild_through_the_cli_repairs_a_damaged_chunk_table(
    indexed: tuple[Path, Path], fake: HashingEmbedder, cli: CliRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs, directory = indexed
    (current_generation(directory) / "chunks.npy").write_bytes(b"\x93NUMPY\x01\x00v\x00{'descr': ((((" + b" " * 100)
    code, _, err = cli("docs", "list", "--index", str(directory))
    assert code == 1 and "--rebuild" in err and "Traceback" not in err
    monkeypatch.setattr("citeqa.index.update.Embedder", lambda model, **_: fake)
    code, _, err = cli("ingest", str(docs), "--index", str(directory), "--rebuild", "--model", FAKE.model)
    assert code == 0, err
    assert cli("docs", "list", "--index", str(directory))[0] == 0


def _flip(path: Path, seed: int, count: int = 40) -> None:
    data = bytearray(path.read_bytes())
    rng = random.Random(seed)
    for _ in range(count):
        data[rng.randrange(len(data))] = rng.randrange(256)
    path.write_bytes(bytes(data))


def test_flipped_bytes_anywhere_in_the_store_are_a_message_naming_rebuild(
    indexed: tuple[Path, Path], tmp_path: Path, cli: CliRun
) -> None:
    """40 bytes flipped at random, 60 times over: every failure is IndexDamagedError, never a UnicodeDecodeError
    from SQLite's own message or another traceback."""
    _, pristine = indexed
    failures = 0
    messages: list[str] = []
    for seed in range(60):
        directory = tmp_path / f"flipped{seed}"
        shutil.copytree(pristine, directory)
        _flip(next(directory.glob("store-*.sqlite")), seed)
        try:
            index = load_index(directory)
            for source in index.documents:
                assert index.documents[source].text
            assert len(index.chunks) > 0
        except IndexDamagedError as exc:
            messages.append(str(exc))
            failures += 1
            if failures <= 3:  # and the command line says it in one message
                code, _, err = cli("docs", "list", "--index", str(directory))
                assert code == 1 and "--rebuild" in err and "Traceback" not in err
        shutil.rmtree(directory)
    assert failures >= 30  # most flips land in rows or SQLite's own pages
    assert all("citeqa ingest --rebuild" in message for message in messages)


def test_a_store_damaged_under_an_update_is_rebuilt_by_the_update(
    indexed: tuple[Path, Path], fake: HashingEmbedder
) -> None:
    docs, directory = indexed
    _flip(next(directory.glob("store-*.sqlite")), seed=4, count=400)
    (docs / "new.txt").write_text("The new pier opened in 2021.\n", encoding="utf-8")
    _, report = ingest([docs], directory, FAKE, fake)
    assert report.written and len(load_index(directory).documents) == 5
