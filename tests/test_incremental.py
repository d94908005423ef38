"""Re-ingest embeds only what is new or changed; --prune, docs list/remove, reloading, and a kill at any moment."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from conftest import CliRun
from fakes import HashingEmbedder

from citeqa.chat import Answerer
from citeqa.index import (
    Embedder,
    IndexDamagedError,
    IndexSettings,
    IndexWatcher,
    SearchIndex,
    build_index,
    ingest,
    load_index,
)
from citeqa.index.store import current_generation, generation_id
from citeqa.index.update import plan_ingest
from citeqa.ingest import MAX_FILE_BYTES, ChunkSettings, Skipped, list_files, load_documents

# Logic tests index with the hashing stand-in (fast); the kill test and the CLI use the real model.
FAKE = IndexSettings(model=HashingEmbedder.MODEL_ID)
TOPICS = ["harbour", "library", "ferry", "council", "museum", "railway", "stadium", "hospital"]


def write_collection(folder: Path, topics: Sequence[str] = TOPICS[:4]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for n, topic in enumerate(topics):
        (folder / f"{topic}.txt").write_text(
            f"The {topic} opened in {1990 + n}. Its director is {topic.title()} Smith. "
            f"The {topic} has {100 + n} employees.\n",
            encoding="utf-8",
        )
    return folder


class Counting:
    """Counts the texts the embedder is asked to embed."""

    def __init__(self, embedder: Embedder, monkeypatch: pytest.MonkeyPatch) -> None:
        self.texts: list[str] = []
        real = embedder.encode_documents

        def encode(texts: Sequence[str]) -> np.ndarray:
            self.texts.extend(texts)
            return real(texts)

        monkeypatch.setattr(embedder, "encode_documents", encode)


def test_unchanged_reingest_reads_no_document_again_and_writes_nothing(
    tmp_path: Path, fake: HashingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs, directory = write_collection(tmp_path / "docs"), tmp_path / "idx"
    _, first = ingest([docs], directory, FAKE, fake)
    assert first.written and first.added == sorted(f"{t}.txt" for t in TOPICS[:4]) and first.embedded == 4
    generation = generation_id(directory)
    counting = Counting(fake, monkeypatch)
    monkeypatch.setattr("citeqa.index.update.parse_document", _fail)  # an unchanged file is not even parsed
    index, again = ingest([docs], directory, FAKE, fake)
    assert index is None and not again.written and again.unchanged == 4 and again.documents == 4
    assert counting.texts == [] and generation_id(directory) == generation


def _fail(*_: object) -> None:
    raise AssertionError("unchanged work was done again")


def test_add_change_and_remove_embed_only_the_new_text(
    tmp_path: Path, fake: HashingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs, directory = write_collection(tmp_path / "docs"), tmp_path / "idx"
    ingest([docs], directory, FAKE, fake)
    before = load_index(directory)
    (docs / "ferry.txt").write_text("The ferry opened in 1992. It sails to Arrow Island twice a day.\n")
    (docs / "museum.txt").write_text("The museum holds 4,000 paintings.\n")
    (docs / "council.txt").unlink()
    counting = Counting(fake, monkeypatch)
    index, report = ingest([docs], directory, FAKE, fake)
    assert index is not None and report.written
    assert (report.added, report.changed, report.unchanged, report.removed) == (["museum.txt"], ["ferry.txt"], 2, [])
    # The new text's chunks and nothing of the rest: no sentence is embedded (reader v2 reads passages whole).
    chunks = ["The ferry opened in 1992. It sails to Arrow Island twice a day.", "The museum holds 4,000 paintings."]
    assert sorted(counting.texts) == sorted(chunks)
    assert "council.txt" in index.documents  # still indexed: not pruned
    for source in ("harbour.txt", "library.txt"):  # untouched: same document, same chunks, same vectors
        assert index.documents[source] == before.documents[source]
    old_vectors, new_vectors = _vectors(before), _vectors(index)
    kept = [c.id for c in index.chunks.values() if c.source in ("harbour.txt", "library.txt", "council.txt")]
    assert kept and all(np.array_equal(new_vectors[i], old_vectors[i]) for i in kept)  # reused, not re-embedded
    _, pruned = ingest([docs], directory, FAKE, fake, prune=True)
    assert pruned.removed == ["council.txt"] and pruned.embedded == 0
    assert sorted(load_index(directory).documents) == ["ferry.txt", "harbour.txt", "library.txt", "museum.txt"]


def _vectors(index: SearchIndex) -> dict[int, np.ndarray]:
    assert index.embeddings is not None
    return {c.id: np.asarray(index.embeddings)[row] for row, c in enumerate(index.chunks.values())}


def test_an_updated_index_equals_a_full_rebuild(tmp_path: Path, fake: HashingEmbedder) -> None:
    docs, directory = write_collection(tmp_path / "docs"), tmp_path / "idx"
    ingest([docs], directory, FAKE, fake)
    write_collection(docs, TOPICS[3:7])  # four more, one of them rewritten
    (docs / "harbour.txt").write_text("The harbour closed in 2001.\n")
    ingest([docs], directory, FAKE, fake, prune=True)
    updated = load_index(directory)
    full = build_index(load_documents([docs]).documents, FAKE, fake)
    assert updated.manifest.documents == full.manifest.documents and updated.manifest.files == full.manifest.files
    assert list(updated.chunks) == list(full.chunks)
    assert updated.embeddings is not None and full.embeddings is not None
    np.testing.assert_allclose(np.asarray(updated.embeddings), full.embeddings, atol=1e-5)
    queries = fake.encode_queries(["When did the railway open?", "museum director"])
    assert [[p.chunk.id for p in ps] for ps in updated.search(queries, 5)] == [
        [p.chunk.id for p in ps] for ps in full.search(queries, 5)
    ]


def test_a_settings_change_rechunks_everything_but_reuses_vectors_of_the_same_text(
    tmp_path: Path, fake: HashingEmbedder
) -> None:
    docs, directory = write_collection(tmp_path / "docs"), tmp_path / "idx"
    ingest([docs], directory, FAKE, fake)
    small = IndexSettings(model=HashingEmbedder.MODEL_ID, chunking=ChunkSettings(max_tokens=12, overlap_tokens=0))
    index, report = ingest([docs], directory, small, fake)
    assert index is not None and f"chunk tokens {ChunkSettings().max_tokens} -> 12" in report.rebuilt
    assert index.manifest.settings == small and len(index.chunks) > 4
    for chunk in index.chunks.values():
        assert index.documents[chunk.source].text[chunk.start : chunk.end] == chunk.text


def test_a_file_that_turns_unreadable_keeps_its_earlier_version(tmp_path: Path, fake: HashingEmbedder) -> None:
    docs, directory = write_collection(tmp_path / "docs"), tmp_path / "idx"
    ingest([docs], directory, FAKE, fake)
    (docs / "ferry.txt").write_bytes(b"\x00\x01 binary now")
    _, report = ingest([docs], directory, FAKE, fake, prune=True)
    assert report.kept == ["ferry.txt"] and report.removed == [] and not report.written
    assert "ferry.txt" in load_index(directory).documents


def test_a_damaged_index_is_rebuilt_from_the_files_even_when_they_are_unchanged(
    tmp_path: Path, fake: HashingEmbedder
) -> None:
    docs, directory = write_collection(tmp_path / "docs"), tmp_path / "idx"
    ingest([docs], directory, FAKE, fake)
    (current_generation(directory) / "chunks.npy").write_text("not a table\n")
    write_collection(docs, ["museum"])  # one new file, so the run writes and must read the old index
    index, report = ingest([docs], directory, FAKE, fake)
    assert index is not None and "could not be read" in report.rebuilt
    assert sorted(load_index(directory).documents) == sorted(f"{t}.txt" for t in [*TOPICS[:4], "museum"])


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_a_plan_says_what_an_ingest_would_do_and_writes_nothing(tmp_path: Path, fake: HashingEmbedder) -> None:
    docs, directory = write_collection(tmp_path / "docs"), tmp_path / "idx"
    ingest([docs], directory, FAKE, fake)
    before = _snapshot(directory)
    write_collection(docs, ["museum"])
    (docs / "ferry.txt").write_text("The ferry closed in 2001.\n", encoding="utf-8")
    (docs / "library.txt").unlink()
    smaller = IndexSettings(model=HashingEmbedder.MODEL_ID, chunking=ChunkSettings(max_tokens=64))
    skipped: list[Skipped] = []
    files = list_files([docs], skipped)
    plan = plan_ingest(directory, files, smaller, "", skipped, MAX_FILE_BYTES, prune=True)
    assert (plan.added, plan.changed, plan.removed) == (["museum.txt"], ["ferry.txt"], ["library.txt"])
    assert sorted(plan.unchanged) == ["council.txt", "harbour.txt"] and plan.needs_writing
    assert plan.reasons == [
        f"the settings changed (chunk tokens {ChunkSettings().max_tokens} -> 64): re-chunking every document"
    ]
    assert _snapshot(directory) == before  # planning read the files and the manifest, and wrote nothing


def test_every_reason_for_a_rebuild_is_kept(tmp_path: Path, fake: HashingEmbedder) -> None:
    docs, directory = write_collection(tmp_path / "docs"), tmp_path / "idx"
    ingest([docs], directory, FAKE, fake)
    (current_generation(directory) / "chunks.npy").write_text("not a table\n")  # found only when applying
    smaller = IndexSettings(model=HashingEmbedder.MODEL_ID, chunking=ChunkSettings(max_tokens=64, overlap_tokens=0))
    _, report = ingest([docs], directory, smaller, fake)
    first, second = report.rebuilt.split("; ")
    assert first.startswith("the settings changed") and second.startswith("the index could not be read")
    assert report.written and sorted(load_index(directory).documents) == sorted(f"{t}.txt" for t in TOPICS[:4])


def test_rebuild_starts_from_scratch(tmp_path: Path, fake: HashingEmbedder, monkeypatch: pytest.MonkeyPatch) -> None:
    docs, directory = write_collection(tmp_path / "docs"), tmp_path / "idx"
    ingest([docs], directory, FAKE, fake)
    (docs / "ferry.txt").unlink()
    counting = Counting(fake, monkeypatch)
    _, report = ingest([docs], directory, FAKE, fake, rebuild=True)
    # Every chunk (3) embedded again: nothing is taken from the old index.
    assert report.written and "from scratch" in report.rebuilt and len(counting.texts) == 3
    assert sorted(load_index(directory).documents) == ["council.txt", "harbour.txt", "library.txt"]


def test_new_readers_read_every_file_again_but_embed_only_text_that_changed(
    tmp_path: Path, fake: HashingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs, directory = write_collection(tmp_path / "docs"), tmp_path / "idx"
    ingest([docs], directory, FAKE, fake)
    monkeypatch.setattr("citeqa.index.update.READERS_VERSION", "next")
    monkeypatch.setattr("citeqa.index.build.READERS_VERSION", "next")
    monkeypatch.setattr("citeqa.index.update.chunk_documents", _fail)  # the same text keeps its sentences and chunks
    counting = Counting(fake, monkeypatch)
    _, report = ingest([docs], directory, FAKE, fake)
    assert report.written and report.unchanged == 4 and report.embedded == 0 and counting.texts == []
    assert load_index(directory).manifest.readers == "next"


@pytest.mark.slow
def test_cli_ingest_summary_docs_list_and_remove(tmp_path: Path, cli: CliRun) -> None:
    docs, directory = write_collection(tmp_path / "docs"), str(tmp_path / "idx")
    code, out, _ = cli("ingest", str(docs), "--index", directory)
    assert code == 0 and "Indexed 4 documents (4 chunks)" in out and "4 new, 0 changed, 0 unchanged" in out
    code, out, _ = cli("ingest", str(docs), "--index", directory)
    assert code == 0 and "4 unchanged" in out and "nothing changed" in out
    code, out, _ = cli("docs", "list", "--index", directory, "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["source"] for r in rows] == ["council.txt", "ferry.txt", "harbour.txt", "library.txt"]
    assert rows[0]["chunks"] == 1 and rows[0]["pages"] is None
    code, out, _ = cli("docs", "remove", "ferry.txt", "harbour.txt", "--index", directory)
    assert code == 0 and "Removed 2 documents" in out
    code, out, _ = cli("docs", "list", "--index", directory)
    assert code == 0 and "ferry.txt" not in out and "council.txt" in out and "library.txt" in out
    code, _, err = cli("docs", "remove", "nope.txt", "--index", directory)
    assert code == 1 and "holds no document 'nope.txt'" in err and "citeqa docs list" in err
    assert len(load_index(Path(directory)).chunks) == 2


def test_the_watcher_loads_a_new_generation_and_keeps_the_old_one_if_it_cannot(
    tmp_path: Path, fake: HashingEmbedder
) -> None:
    docs, directory = write_collection(tmp_path / "docs"), tmp_path / "idx"
    ingest([docs], directory, FAKE, fake)
    watcher = IndexWatcher(directory, interval=0)
    first = watcher.refresh()
    assert watcher.refresh() is first  # nothing changed: the same object, nothing reloaded
    write_collection(docs, ["museum"])
    ingest([docs], directory, FAKE, fake)
    second = watcher.refresh()
    assert second is not first and "museum.txt" in second.documents
    assert watcher.generation == generation_id(directory)
    broken = directory / "gen-29990101T000000-broken"  # a generation that does not load
    broken.mkdir()
    (directory / "CURRENT").write_text(broken.name + "\n")
    assert watcher.refresh() is second and watcher.error is not None


def test_the_watcher_thread_calls_back_with_each_new_index(tmp_path: Path, fake: HashingEmbedder) -> None:
    import threading

    docs, directory = write_collection(tmp_path / "docs"), tmp_path / "idx"
    ingest([docs], directory, FAKE, fake)
    watcher = IndexWatcher(directory, interval=0.05)
    seen: list[SearchIndex] = []
    loaded = threading.Event()

    def changed(index: SearchIndex) -> None:
        seen.append(index)
        loaded.set()

    watcher.watch(changed)
    try:
        write_collection(docs, ["railway"])
        ingest([docs], directory, FAKE, fake)
        assert loaded.wait(10)
        assert "railway.txt" in seen[0].documents and watcher.index is seen[0]
    finally:
        watcher.stop()


KILLED_INGEST = """
import sys, time
moment = sys.argv[1]
if moment == "writing":  # pause inside the new generation, after its vectors are written, until killed
    import citeqa.index.build as build
    real = build.write_vectors
    def slow(*args):
        real(*args)
        print("WRITING", file=sys.stderr, flush=True)
        time.sleep(300)
    build.write_vectors = slow
from citeqa.cli import main
sys.argv = ["citeqa", *sys.argv[2:]]
main()
"""


def _ingest_process(moment: str, docs: Path, directory: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    command = [sys.executable, "-c", KILLED_INGEST, moment, "ingest", str(docs), "--index", str(directory)]
    return subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env)


def _kill_when(process: subprocess.Popen[str], marker: str, delay: float = 0.0) -> None:
    assert process.stderr is not None
    for line in process.stderr:
        if marker in line:
            time.sleep(delay)
            process.send_signal(signal.SIGKILL)
            process.wait(30)
            return
    raise AssertionError(f"the ingest ended before {marker!r} (exit code {process.wait()})")


@pytest.mark.slow
def test_an_ingest_killed_at_any_moment_leaves_the_previous_index_answering(tmp_path: Path, embedder: Embedder) -> None:
    docs, directory = write_collection(tmp_path / "docs"), tmp_path / "idx"
    ingest([docs], directory, IndexSettings(), embedder)
    before = generation_id(directory)
    big = tmp_path / "docs" / "big"  # enough new text for the embedding to take a while
    big.mkdir()
    for n in range(40):
        sentences = " ".join(f"Report {n} notes that site {n}-{k} recorded {k * 37 + n} visitors." for k in range(30))
        (big / f"report{n:02}.txt").write_text(sentences + "\n")

    for moment, marker, delay in (("embedding", "embedded 0/", 0.5), ("writing", "WRITING", 0.0)):
        process = _ingest_process(moment, docs, directory)
        _kill_when(process, marker, delay)
        assert process.returncode == -signal.SIGKILL
        assert generation_id(directory) == before  # the swap never happened
        index = load_index(directory)
        assert sorted(index.documents) == sorted(f"{t}.txt" for t in TOPICS[:4])
        answer = Answerer(index, embedder).answer("How many employees does the ferry have?")
        assert answer.text is not None and answer.text.startswith("102")
    leftovers = [p.name for p in directory.iterdir() if p.name.startswith("gen-") and p.name != before]
    assert leftovers  # the killed writer's half-written generation is still there ...

    _, report = ingest([docs], directory, IndexSettings(), embedder)  # ... until the next run
    assert report.written and len(report.added) == 40
    assert [p.name for p in directory.iterdir() if p.name.startswith("gen-")] == [current_generation(directory).name]
    assert len(load_index(directory).documents) == 44


def test_a_damaged_current_is_explained_rebuilt_and_survived_by_the_watcher(
    tmp_path: Path, fake: HashingEmbedder, cli: CliRun
) -> None:
    docs, directory = write_collection(tmp_path / "docs"), tmp_path / "idx"
    ingest([docs], directory, FAKE, fake)
    watcher = IndexWatcher(directory, interval=0)
    first = watcher.refresh()
    (directory / "CURRENT").write_bytes(b"\xff\xfe\x00garbage")
    assert watcher.refresh() is first and watcher.error is not None  # the watcher keeps answering, says why
    code, _, err = cli("docs", "list", "--index", str(directory))
    assert code == 1 and "CURRENT cannot be read" in err and "Traceback" not in err
    index, report = ingest([docs], directory, FAKE, fake, rebuild=True)  # the documented fix works
    assert index is not None and report.written and "could not be updated" in report.rebuilt
    assert watcher.refresh() is not first and watcher.error is None  # and the watcher picks the new one up


def test_an_empty_embeddings_file_is_a_damaged_index_not_a_crash(tmp_path: Path, fake: HashingEmbedder) -> None:
    docs, directory = write_collection(tmp_path / "docs"), tmp_path / "idx"
    ingest([docs], directory, FAKE, fake)
    (current_generation(directory) / "embeddings.npy").write_bytes(b"")
    with pytest.raises(IndexDamagedError, match="embeddings"):
        load_index(directory)
    write_collection(docs, ["museum"])
    index, report = ingest([docs], directory, FAKE, fake)  # a plain ingest rebuilds it, saying why
    assert index is not None and "could not be read" in report.rebuilt and len(index.documents) == 5


@pytest.mark.parametrize(
    "name", ["vectors.faiss", "embeddings.npy", "bm25/params.index.json", "members.json", "chunks.npy"]
)
def test_a_generation_file_that_changed_size_is_refused_by_name(
    tmp_path: Path, fake: HashingEmbedder, name: str
) -> None:
    docs, directory = write_collection(tmp_path / "docs"), tmp_path / "idx"
    ingest([docs], directory, FAKE, fake)
    target = current_generation(directory) / name
    assert target.is_file(), sorted(p.name for p in target.parent.rglob("*"))
    with target.open("ab") as damaged:
        damaged.write(os.urandom(64))  # garbage after a valid file: FAISS and numpy would load it silently
    with pytest.raises(IndexDamagedError, match=name.split("/")[-1]):
        load_index(directory)


def test_a_full_disk_is_one_message_and_the_index_is_unchanged(
    tmp_path: Path, fake: HashingEmbedder, cli: CliRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs, directory = write_collection(tmp_path / "docs"), tmp_path / "idx"
    ingest([docs], directory, FAKE, fake)
    before = generation_id(directory)

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(directory / "store-new.sqlite"))

    monkeypatch.setattr("citeqa.index.build.write_records", full)
    code, _, err = cli("docs", "remove", "ferry.txt", "--index", str(directory))
    assert code == 1 and "No space left on device" in err and "free some space" in err and "Traceback" not in err
    assert generation_id(directory) == before and "ferry.txt" in load_index(directory).documents


def test_an_atomic_write_that_fails_leaves_no_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from citeqa.index.store import write_atomically

    target = tmp_path / "metrics.json"
    target.write_text("old", encoding="utf-8")

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("citeqa.index.store._fsync", full)
    with pytest.raises(OSError, match="No space"):
        write_atomically(target, "new")
    assert target.read_text(encoding="utf-8") == "old" and [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_a_same_size_edit_is_found_and_a_verified_generation_is_not_hashed_again(
    tmp_path: Path, fake: HashingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs, directory = write_collection(tmp_path / "docs"), tmp_path / "idx"
    ingest([docs], directory, FAKE, fake)  # the writer hashed every file as written, and remembers it

    def no_hashing(path: Path) -> str:
        raise AssertionError(f"{path} hashed again")

    with monkeypatch.context() as patched:
        patched.setattr("citeqa.index.integrity.file_sha256", no_hashing)
        load_index(directory)  # sizes and times unchanged: nothing is read again, not even on the first load
        load_index(directory)
    members = current_generation(directory) / "members.json"
    text = members.read_text(encoding="utf-8")
    members.write_text(text.replace("harbour.txt", "harbour.TXT"), encoding="utf-8")  # same size, another source
    with pytest.raises(IndexDamagedError, match=r"members\.json is damaged \(its contents changed"):
        load_index(directory)


def test_a_file_copied_over_after_the_write_is_hashed_and_refused(tmp_path: Path, fake: HashingEmbedder) -> None:
    docs, directory = write_collection(tmp_path / "docs"), tmp_path / "idx"
    ingest([docs], directory, FAKE, fake)
    chunks = current_generation(directory) / "chunks.npy"
    data = bytearray(chunks.read_bytes())
    written = chunks.stat().st_mtime_ns
    data[-1] ^= 0xFF  # the same size, one byte changed, and (as a later copy has) a later modification time
    chunks.write_bytes(bytes(data))
    os.utime(chunks, ns=(written + 10**9, written + 10**9))
    with pytest.raises(IndexDamagedError, match=r"chunks\.npy is damaged \(its contents changed"):
        load_index(directory)
