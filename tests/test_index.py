from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from citeqa.chat import Answerer
from citeqa.index import (
    FORMAT_VERSION,
    Embedder,
    IndexDamagedError,
    IndexMismatchError,
    IndexNotFoundError,
    IndexSettings,
    SearchIndex,
    build_index,
    load_index,
    save_index,
)
from citeqa.index import build as build_module
from citeqa.index.store import current_generation
from citeqa.ingest import CiteqaError, Document


def test_faiss_search_equals_brute_force_numpy(interviews: SearchIndex, embedder: Embedder) -> None:
    chunks = list(interviews.chunks.values())
    vectors = embedder.encode_documents([c.text for c in chunks])
    queries = embedder.encode_queries(["trade turnover growth", "cyber security cooperation", "JF-17 jets"])
    for query, passages in zip(queries, interviews.search(queries, 5), strict=True):
        expected = np.argsort(-(vectors @ query))[:5]
        assert [p.chunk.id for p in passages] == [chunks[i].id for i in expected]
        assert [p.score for p in passages] == pytest.approx(sorted((vectors @ query)[expected], reverse=True), abs=1e-5)


def test_save_then_load_round_trips(interviews: SearchIndex, interviews_dir: Path) -> None:
    again = load_index(interviews_dir)
    # (fingerprints aside: another test saves the session's index elsewhere, which fingerprints that copy)
    assert replace(again.manifest, fingerprints={}) == replace(interviews.manifest, fingerprints={})
    assert again.chunks == interviews.chunks
    assert {s: d.text for s, d in again.documents.items()} == {s: d.text for s, d in interviews.documents.items()}
    for chunk in again.chunks.values():
        assert again.documents[chunk.source].text[chunk.start : chunk.end] == chunk.text
    manifest = json.loads((current_generation(interviews_dir) / "manifest.json").read_text())
    assert manifest["model"]["id"] == "sentence-transformers/all-MiniLM-L6-v2" and manifest["model"]["dimension"] == 384
    assert manifest["counts"]["chunks"] == len(again.chunks)
    assert set(manifest["versions"]) >= {"faiss-cpu", "sentence-transformers", "torch", "tiktoken", "python"}


def small_index(tmp_path: Path, embedder: Embedder, text: str = "Alpha is first. Beta is second.") -> Path:
    directory = tmp_path / "idx"
    save_index(build_index([Document("a.txt", text, "A")], IndexSettings(), embedder), directory)
    return directory


def edit_manifest(directory: Path, change: dict[str, object]) -> None:
    path = current_generation(directory) / "manifest.json"
    data = json.loads(path.read_text())
    data.update(change)
    path.write_text(json.dumps(data))


def test_an_index_built_with_another_model_is_a_clear_error(tmp_path: Path, embedder: Embedder) -> None:
    directory = small_index(tmp_path, embedder)
    edit_manifest(directory, {"model": {"id": "other/model-768", "dimension": 768}})
    with pytest.raises(IndexDamagedError, match="768-d"):
        load_index(directory)  # the vectors themselves are 384-d
    edit_manifest(directory, {"model": {"id": "other/model", "dimension": 384}})
    with pytest.raises(IndexMismatchError, match="built with 'other/model'"):
        Answerer(load_index(directory), embedder)


def test_an_index_of_another_format_version_is_refused(tmp_path: Path, embedder: Embedder) -> None:
    directory = small_index(tmp_path, embedder)
    edit_manifest(directory, {"format_version": 99})
    with pytest.raises(IndexMismatchError, match="format version 99"):
        load_index(directory)


def test_missing_and_unfinished_indexes_say_how_to_build_one(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFoundError, match="no citeqa index") as caught:
        load_index(tmp_path / "none")
    assert "citeqa ingest" in caught.value.hint
    (tmp_path / "half" / "gen-20260101T000000-dead").mkdir(parents=True)
    with pytest.raises(IndexNotFoundError, match="did not complete"):
        load_index(tmp_path / "half")


def test_a_failed_write_leaves_the_previous_index_whole(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = small_index(tmp_path, embedder)
    before = load_index(directory)

    def crash(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(build_module, "write_vectors", crash)
    new = build_index([Document("b.txt", "Gamma is third.", "B")], IndexSettings(), embedder)
    with pytest.raises(OSError, match="disk full"):
        save_index(new, directory)
    after = load_index(directory)
    assert after.manifest == before.manifest and list(after.documents) == ["a.txt"]
    assert [p.name for p in directory.iterdir() if p.name.startswith("gen-")] == [current_generation(directory).name]


def test_a_folder_that_is_not_an_index_is_never_written(tmp_path: Path, embedder: Embedder) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "precious.txt").write_text("keep me")
    index = build_index([Document("a.txt", "Alpha.", "A")], IndexSettings(), embedder)
    with pytest.raises(IndexNotFoundError, match="not a citeqa index folder"):
        save_index(index, tmp_path / "docs")
    assert sorted(p.name for p in (tmp_path / "docs").iterdir()) == ["precious.txt"]


def test_other_factory_strings_build_and_a_bad_one_is_explained(tmp_path: Path, embedder: Embedder) -> None:
    docs = [Document(f"{i}.txt", f"Sentence number {i} talks about topic {i}.", "t") for i in range(20)]
    hnsw = build_index(docs, IndexSettings(factory="HNSW16"), embedder)
    query = embedder.encode_queries(["topic 7"])
    assert hnsw.search(query, 1)[0][0].chunk.source == "7.txt"
    with pytest.raises(CiteqaError, match="FAISS cannot build"):
        build_index(docs, IndexSettings(factory="IVF4096,Flat"), embedder)


def test_ingest_over_an_index_of_an_older_format_rebuilds_it(tmp_path: Path, embedder: Embedder) -> None:
    from citeqa.index import ingest

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("Alpha is first. Beta is second.")
    directory = tmp_path / "idx"
    ingest([tmp_path / "docs"], directory, IndexSettings(), embedder)
    edit_manifest(directory, {"format_version": 2})
    with pytest.raises(IndexMismatchError, match="rebuild"):
        load_index(directory)
    index, report = ingest([tmp_path / "docs"], directory, IndexSettings(), embedder)
    assert index is not None and report.written and "format version 2" in report.rebuilt
    assert load_index(directory).manifest.format_version == FORMAT_VERSION == 4


def test_the_bundled_default_index_of_an_older_format_is_rebuilt_on_open(tmp_path: Path, embedder: Embedder) -> None:
    from citeqa.index import open_or_build

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Alpha is first. Beta is second.")
    directory = tmp_path / "default"
    open_or_build(directory, IndexSettings(), embedder, corpus)
    edit_manifest(directory, {"format_version": 2})
    assert open_or_build(directory, IndexSettings(), embedder, corpus).manifest.format_version == FORMAT_VERSION


def test_removing_every_document_is_refused(tmp_path: Path, embedder: Embedder) -> None:
    from citeqa.index.update import remove_documents

    directory = small_index(tmp_path, embedder)
    with pytest.raises(CiteqaError, match="leave the index empty"):
        remove_documents(directory, ["a.txt"])
    assert list(load_index(directory).documents) == ["a.txt"]


def test_a_second_writer_is_refused_while_one_holds_the_lock(tmp_path: Path, embedder: Embedder) -> None:
    from citeqa.index import IndexBusyError, ingest
    from citeqa.index.store import locked

    directory = small_index(tmp_path, embedder)
    (tmp_path / "b.txt").write_text("Gamma is third.")
    with locked(directory), pytest.raises(IndexBusyError, match="another citeqa process"):
        ingest([tmp_path / "b.txt"], directory, IndexSettings(), embedder)
