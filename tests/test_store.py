"""The document store: SQLite beside the generations, read when asked, appended to by ingests; damage refused."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import count_documents_read
from fakes import HashingEmbedder
from test_incremental import FAKE, TOPICS, write_collection

from citeqa.index import FORMAT_VERSION, IndexDamagedError, IndexMismatchError, build_index, ingest, load_index
from citeqa.index.integrity import VERIFIED_FILE, fingerprints
from citeqa.index.legacy import CHUNKS_FILE, DOCUMENTS_FILE, write_legacy_records
from citeqa.index.store import current_generation, generation_id
from citeqa.ingest import load_documents


def store_of(directory: Path) -> Path:
    name = json.loads((current_generation(directory) / "members.json").read_text())["store"]
    return directory / str(name)


def rewrite_manifest(directory: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    """Change the current generation's manifest by hand as an older citeqa would have written it: `edit` it, then
    fingerprint the generation's files again and forget that they were verified."""
    generation = current_generation(directory)
    (generation / VERIFIED_FILE).unlink(missing_ok=True)
    manifest = json.loads((generation / "manifest.json").read_text())
    edit(manifest)
    manifest["fingerprints"] = fingerprints(generation)
    (generation / "manifest.json").write_text(json.dumps(manifest))


def rows(store: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(store) as db:
        return sorted(db.execute("SELECT source, checksum FROM documents").fetchall())


def test_a_saved_index_loads_back_the_same_documents_sentences_and_chunks(
    tmp_path: Path, fake: HashingEmbedder
) -> None:
    docs, directory = write_collection(tmp_path / "docs"), tmp_path / "idx"
    built, _ = ingest([docs], directory, FAKE, fake)
    loaded = load_index(directory)
    assert built is not None and isinstance(loaded.documents, Mapping)
    assert loaded.chunks == built.chunks and loaded.sentences == built.sentences
    assert dict(loaded.documents) == dict(built.documents)
    assert loaded.manifest.format_version == FORMAT_VERSION == 4
    for chunk in loaded.chunks.values():
        assert loaded.documents[chunk.source].text[chunk.start : chunk.end] == chunk.text  # verbatim
    assert list(loaded.chunks) == [c.id for c in loaded.chunks.values()] and 12345 not in loaded.chunks
    with pytest.raises(KeyError):
        loaded.documents["nope.txt"]


def test_loading_reads_no_document_until_one_is_asked_for(
    tmp_path: Path, fake: HashingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs, directory = write_collection(tmp_path / "docs", TOPICS), tmp_path / "idx"
    ingest([docs], directory, FAKE, fake)
    read = count_documents_read(monkeypatch)
    index = load_index(directory)
    assert len(read) <= 2 and len(index.documents) == len(TOPICS)  # the first and last rows, checked on load
    passage = index.search(fake.encode_queries(["When did the museum open?"]), 1)[0][0]
    assert passage.chunk.source == "museum.txt" and "museum.txt" in read


def test_threads_read_one_index_at_once(tmp_path: Path, fake: HashingEmbedder) -> None:
    docs, directory = write_collection(tmp_path / "docs", TOPICS), tmp_path / "idx"
    ingest([docs], directory, FAKE, fake)
    index = load_index(directory)
    expected = {s: d.text for s, d in build_index(load_documents([docs]).documents, FAKE, fake).documents.items()}
    failures: list[BaseException] = []

    def read() -> None:
        try:
            for _ in range(50):
                for source, text in expected.items():
                    assert index.documents[source].text == text
                    assert [c.text for c in index.chunks.values() if c.source == source]
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=read) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_an_incremental_ingest_appends_to_the_store_and_collects_what_no_generation_needs(
    tmp_path: Path, fake: HashingEmbedder
) -> None:
    docs, directory = write_collection(tmp_path / "docs"), tmp_path / "idx"
    ingest([docs], directory, FAKE, fake)
    store = store_of(directory)
    inode = store.stat().st_ino
    first = rows(store)
    serving = load_index(directory)  # a server that has not loaded the next generation yet
    (docs / "ferry.txt").write_text("The ferry closed in 2001.\n", encoding="utf-8")
    ingest([docs], directory, FAKE, fake)
    assert serving.documents["ferry.txt"].text.startswith("The ferry opened in 1992.")  # its rows are still there
    assert store_of(directory) == store and store.stat().st_ino == inode  # the same file, appended to
    second = rows(store)
    assert len(second) == 5 and set(first) < set(second)  # the old ferry stays for the previous generation ...
    (docs / "ferry.txt").write_text("The ferry reopened in 2003.\n", encoding="utf-8")
    ingest([docs], directory, FAKE, fake)
    third = rows(store)
    assert len(third) == 5 and not set(first) - set(second) and set(first) - set(third)  # ... and goes after
    assert load_index(directory).documents["ferry.txt"].text == "The ferry reopened in 2003.\n"


def test_a_rebuild_starts_a_new_store_and_removes_the_old_one(tmp_path: Path, fake: HashingEmbedder) -> None:
    docs, directory = write_collection(tmp_path / "docs"), tmp_path / "idx"
    ingest([docs], directory, FAKE, fake)
    old = store_of(directory)
    serving = load_index(directory)  # a server on the old generation, nothing read yet but the first and last rows
    ingest([docs], directory, FAKE, fake, rebuild=True)
    assert store_of(directory) != old and not old.exists()
    assert serving.documents["harbour.txt"].text.startswith("The harbour opened")  # its open store still reads
    assert sorted(p.name for p in directory.iterdir() if p.name.endswith(".sqlite")) == [store_of(directory).name]


def test_an_edited_row_is_refused_with_the_fix_and_rebuild_repairs_it(
    tmp_path: Path, fake: HashingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs, directory = write_collection(tmp_path / "docs", TOPICS), tmp_path / "idx"
    ingest([docs], directory, FAKE, fake)
    with sqlite3.connect(store_of(directory)) as db:  # a middle row: not among those checked on load
        db.execute("UPDATE documents SET text = replace(text, '1992', '1892') WHERE source = 'ferry.txt'")
    index = load_index(directory)
    with pytest.raises(IndexDamagedError, match=r"ferry\.txt") as caught:
        index.documents["ferry.txt"]
    assert "citeqa ingest --rebuild" in caught.value.hint
    code, err = _cli(["docs", "list", "--index", str(directory)], monkeypatch)
    assert code == 1 and "changed since it was written" in err and "--rebuild" in err and "Traceback" not in err
    (docs / "museum.txt").write_text("The museum opened in 1994 and holds 4,000 paintings.\n", encoding="utf-8")
    ingest([docs], directory, FAKE, fake)  # an update reads no kept document: the damaged row is still refused
    with pytest.raises(IndexDamagedError, match=r"ferry\.txt"):
        load_index(directory).documents["ferry.txt"]
    _, report = ingest([docs], directory, FAKE, fake, rebuild=True)  # the fix the message names
    assert report.written and load_index(directory).documents["ferry.txt"].text.startswith("The ferry opened in 1992.")


def test_a_truncated_or_missing_store_is_refused_on_load(tmp_path: Path, fake: HashingEmbedder) -> None:
    docs, directory = write_collection(tmp_path / "docs", TOPICS), tmp_path / "idx"
    ingest([docs], directory, FAKE, fake)
    store = store_of(directory)
    with sqlite3.connect(store) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = store.stat().st_size
    with store.open("r+b") as f:
        f.truncate(size // 2)
    with pytest.raises(IndexDamagedError, match="shorter than its header says") as caught:
        load_index(directory)
    assert "citeqa ingest --rebuild" in caught.value.hint
    store.write_bytes(b"")
    with pytest.raises(IndexDamagedError, match="not a SQLite database"):
        load_index(directory)
    store.unlink()
    with pytest.raises(IndexDamagedError, match="cannot be read"):
        load_index(directory)
    (docs / "museum.txt").write_text("The museum opened in 1994.\n", encoding="utf-8")
    index, report = ingest([docs], directory, FAKE, fake)  # a plain ingest rebuilds it, saying why
    assert index is not None and "could not be read" in report.rebuilt and len(load_index(directory).documents) == 8


def make_legacy(directory: Path) -> None:
    """Turn the current generation into format 3 as citeqa wrote it before the store: JSONL documents and chunks."""
    index = load_index(directory)
    generation = current_generation(directory)
    write_legacy_records(
        generation / DOCUMENTS_FILE,
        (
            {
                "source": d.source,
                "title": d.title,
                "date": d.date,
                "checksum": d.checksum,
                "file_checksum": d.file_checksum,
                "pages": list(d.pages),
                "sentences": [list(s) for s in index.sentences[d.source]],
                "text": d.text,
            }
            for d in index.documents.values()
        ),
    )
    write_legacy_records(
        generation / CHUNKS_FILE,
        ({"id": c.id, "source": c.source, "start": c.start, "end": c.end} for c in index.chunks.values()),
    )
    store = store_of(directory)
    for name in ("members.json", "chunks.npy"):
        (generation / name).unlink(missing_ok=True)
    for path in directory.glob(store.name + "*"):
        path.unlink()
    rewrite_manifest(directory, lambda manifest: manifest.update(format_version=3))


def test_an_index_of_the_jsonl_format_is_refused_with_the_upgrade_and_upgraded_by_ingest(
    tmp_path: Path, fake: HashingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs, directory = write_collection(tmp_path / "docs"), tmp_path / "idx"
    ingest([docs], directory, FAKE, fake)
    before = load_index(directory)
    make_legacy(directory)
    with pytest.raises(IndexMismatchError, match="JSONL files of format 3") as caught:
        load_index(directory)
    assert f"citeqa ingest PATH... --index {directory}" in caught.value.hint
    code, err = _cli(["docs", "list", "--index", str(directory)], monkeypatch)
    assert code == 1 and "upgrade it in place" in err and "Traceback" not in err
    index, report = ingest([docs], directory, FAKE, fake)
    assert index is not None and report.written and "upgrading the index from format 3" in report.rebuilt
    assert report.embedded == 0 and report.unchanged == 4  # nothing read again, nothing embedded
    after = load_index(directory)
    assert after.manifest.format_version == 4 and after.chunks == before.chunks
    assert np.array_equal(np.asarray(after.embeddings), np.asarray(before.embeddings))


KILLED = """
import sys, time
sys.path.insert(0, sys.argv[3])
from pathlib import Path
from typing import Any
from fakes import HashingEmbedder
from citeqa.index import IndexSettings, ingest
import citeqa.index.build as build
moment = sys.argv[4]
if moment == "store":  # inside the store's transaction, after two rows
    real = build.write_records
    def slow(path, records, *rest):
        def paused():
            for n, record in enumerate(records):
                yield record
                if n == 1:
                    print("PAUSED", file=sys.stderr, flush=True)
                    time.sleep(300)
        return real(path, paused(), *rest)
    build.write_records = slow
else:  # the store committed, the generation not finished
    real_members = build.write_members
    def slow_members(*args):
        real_members(*args)
        print("PAUSED", file=sys.stderr, flush=True)
        time.sleep(300)
    build.write_members = slow_members
ingest([Path(sys.argv[1])], Path(sys.argv[2]), IndexSettings(model=HashingEmbedder.MODEL_ID), HashingEmbedder())
"""


@pytest.mark.parametrize("moment", ["store", "members"])
def test_an_ingest_killed_while_writing_the_store_leaves_the_index_whole(
    tmp_path: Path, fake: HashingEmbedder, moment: str
) -> None:
    docs, directory = write_collection(tmp_path / "docs"), tmp_path / "idx"
    ingest([docs], directory, FAKE, fake)
    before, held = generation_id(directory), rows(store_of(directory))
    write_collection(docs, TOPICS[4:])
    tests = str(Path(__file__).parent)
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED, str(docs), str(directory), tests, moment],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert process.stderr is not None
    for line in process.stderr:
        if "PAUSED" in line:
            process.send_signal(signal.SIGKILL)
            break
    assert process.wait(30) == -signal.SIGKILL
    assert generation_id(directory) == before
    index = load_index(directory)
    assert sorted(index.documents) == sorted(f"{t}.txt" for t in TOPICS[:4])
    assert index.search(fake.encode_queries(["ferry employees"]), 1)[0][0].chunk.source == "ferry.txt"
    if moment == "store":
        assert rows(store_of(directory)) == held  # the transaction never committed
    _, report = ingest([docs], directory, FAKE, fake)
    assert report.written and len(report.added) == 4 and len(rows(store_of(directory))) == 8
    assert len(load_index(directory).documents) == 8


def _cli(args: list[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    from citeqa.cli import main

    monkeypatch.setattr("citeqa.index.update.Embedder", lambda model, **_: HashingEmbedder())
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    return result.exit_code, result.stdout + result.stderr


def test_ingest_names_the_files_gone_from_disk_and_suggests_prune(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs, directory = write_collection(tmp_path / "docs"), str(tmp_path / "idx")
    model = ["--model", HashingEmbedder.MODEL_ID, "--index", directory]
    code, out = _cli(["ingest", str(docs), *model], monkeypatch)
    assert code == 0 and "4 new" in out
    (docs / "ferry.txt").unlink()
    code, out = _cli(["ingest", str(docs), *model], monkeypatch)
    assert code == 0 and "nothing changed" not in out
    assert "1 indexed document no longer under the given paths (deleted or moved?): ferry.txt" in out
    assert "--prune" in out and "1 gone from the paths but kept" in out
    code, out = _cli(["ingest", str(docs), "--prune", *model], monkeypatch)
    assert code == 0 and "1 removed" in out and "no longer under" not in out
    code, out = _cli(["ingest", str(docs), *model], monkeypatch)
    assert code == 0 and "nothing changed, the index is as it was" in out


@pytest.mark.parametrize("page", [10_000, 3])  # the stored terms read in one page, and in several
def test_bm25_terms_are_stored_so_a_reingest_of_an_index_without_counts_analyzes_only_new_text(
    tmp_path: Path, fake: HashingEmbedder, monkeypatch: pytest.MonkeyPatch, page: int
) -> None:
    from citeqa.index.lexical import analyze as real

    monkeypatch.setattr("citeqa.index.docstore.TERMS_PAGE", page)
    docs, directory = write_collection(tmp_path / "docs", TOPICS), tmp_path / "idx"
    ingest([docs], directory, FAKE, fake)
    for name in ("counts.npy", "lengths.npy"):  # as written before citeqa kept BM25's term counts
        (current_generation(directory) / "bm25" / name).unlink()
    rewrite_manifest(directory, lambda manifest: None)
    analyzed: list[str] = []

    def counted(text: str) -> list[str]:
        analyzed.append(text)
        return real(text)

    monkeypatch.setattr("citeqa.index.build.analyze", counted)
    (docs / "ferry.txt").write_text("The ferry closed in 2001.\n", encoding="utf-8")
    with sqlite3.connect(store_of(directory)) as db:  # a tampered cache entry is not trusted: analyzed again
        db.execute("UPDATE chunk_terms SET words = 'museum' WHERE id = (SELECT min(id) FROM chunk_terms)")
    updated, _ = ingest([docs], directory, FAKE, fake)
    assert updated is not None and len(analyzed) == 2 and "The ferry closed in 2001." in analyzed
    full = build_index(load_documents([docs]).documents, FAKE, fake)
    for query in ("ferry closed", "museum director", "railway employees"):
        assert updated.lexical.search([query], 3) == full.lexical.search([query], 3)
    assert (current_generation(directory) / "bm25" / "counts.npy").is_file()  # the next update starts from them


def test_an_update_scores_bm25_from_the_term_counts_it_keeps_and_analyzes_only_new_text(
    tmp_path: Path, fake: HashingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from citeqa.index.lexical import analyze

    docs, directory = write_collection(tmp_path / "docs", TOPICS), tmp_path / "idx"
    ingest([docs], directory, FAKE, fake)
    assert {"museum", "1994", "104"} <= set(load_index(directory).lexical.vocabulary())
    analyzed: list[str] = []

    def counted(text: str) -> list[str]:
        analyzed.append(text)
        return analyze(text)

    def unread(*args: object) -> None:
        raise AssertionError("the stored terms were read")

    monkeypatch.setattr("citeqa.index.build.analyze", counted)
    monkeypatch.setattr("citeqa.index.docstore.StoreReader.terms", unread)
    (docs / "ferry.txt").write_text("The ferry closed in 2001.\n", encoding="utf-8")
    (docs / "museum.txt").unlink()  # its terms (some its own alone) leave the vocabulary
    updated, _ = ingest([docs], directory, FAKE, fake, prune=True)
    assert updated is not None and analyzed == ["The ferry closed in 2001."]
    full = build_index(load_documents([docs]).documents, FAKE, fake)
    assert sorted(updated.lexical.vocabulary()) == sorted(full.lexical.vocabulary())
    assert not {"museum", "1994", "104"} & set(updated.lexical.vocabulary())
    reloaded = load_index(directory)
    for query in ("ferry closed", "museum director", "railway employees", "the stadium opened"):
        words = analyze(query)
        theirs = dict(zip(full.lexical.chunk_ids.tolist(), full.lexical._bm25.get_scores(words), strict=True))  # type: ignore[attr-defined]
        ours = reloaded.lexical._bm25.get_scores(words)  # type: ignore[attr-defined]
        mine = [theirs[chunk_id] for chunk_id in reloaded.lexical.chunk_ids.tolist()]
        np.testing.assert_allclose(ours, mine, rtol=1e-6)


def test_an_update_reuses_the_ivf_training_of_the_index_it_updates_and_its_lists(
    tmp_path: Path, fake: HashingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    import faiss

    from citeqa.index import IndexSettings
    from citeqa.index import vectors as vectors_module
    from citeqa.index.vectors import build_vectors

    ivf = IndexSettings(model=HashingEmbedder.MODEL_ID, factory="IVF4,Flat")
    docs, directory = write_collection(tmp_path / "docs", TOPICS[:6]), tmp_path / "idx"
    ingest([docs], directory, ivf, fake)
    preassigned: list[np.ndarray] = []
    real = vectors_module._add_preassigned

    def recorded(*args: Any) -> None:
        preassigned.append(args[-1])
        real(*args)

    monkeypatch.setattr(vectors_module, "_add_preassigned", recorded)

    def centroids(index: Any) -> np.ndarray:
        quantizer = faiss.extract_index_ivf(index).quantizer
        return np.asarray(quantizer.reconstruct_n(0, quantizer.ntotal))

    before = load_index(directory, searchable=False)  # (an update's view: FAISS read, not mapped)
    write_collection(docs, TOPICS[6:])
    updated, _ = ingest([docs], directory, ivf, fake)
    assert updated is not None and updated.vectors.ntotal == 8
    assert np.array_equal(centroids(updated.vectors), centroids(before.vectors))  # not trained again
    anew = build_vectors(np.asarray(updated.embeddings), updated.table.rows["id"], "IVF4,Flat", before.vectors)
    assert np.array_equal(faiss.serialize_index(updated.vectors), faiss.serialize_index(anew))
    assert [(lists >= 0).sum() for lists in preassigned] == [6]  # the six kept chunks went back to their lists
    query = fake.encode_queries(["When did the stadium open?"])
    faiss.extract_index_ivf(updated.vectors).nprobe = 4  # every list: exact over what it holds
    assert updated.search(query, 1)[0][0].chunk.source == "stadium.txt"


def test_an_update_opens_only_what_it_reuses_and_still_finds_damage(tmp_path: Path, fake: HashingEmbedder) -> None:
    from citeqa.index import IndexSettings
    from citeqa.index.store import current_generation

    docs, directory = write_collection(tmp_path / "docs", TOPICS[:4]), tmp_path / "idx"
    ingest([docs], directory, FAKE, fake)
    reused = load_index(directory, searchable=False)
    assert reused.vectors is None and reused.lexical._bm25 is None  # exact FAISS and BM25 scores: rebuilt anyway
    assert len(reused.lexical.chunk_ids) == len(reused.table) == 4 and reused.embeddings is not None
    ivf = tmp_path / "ivf"
    ingest([docs], ivf, IndexSettings(model=HashingEmbedder.MODEL_ID, factory="IVF2,Flat"), fake)
    assert load_index(ivf, searchable=False).vectors.ntotal == 4  # its training is reused by an update
    scores = current_generation(directory) / "bm25" / "data.csc.index.npy"
    scores.write_bytes(scores.read_bytes()[:-8])  # a file the update does not open is still checked
    with pytest.raises(IndexDamagedError, match=r"data\.csc\.index\.npy"):
        load_index(directory, searchable=False)
