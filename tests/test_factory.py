"""The FAISS index a collection gets: the automatic choice, an approximate index's recall, and the search setting
that must survive a save and a load (FAISS does not keep it in its file)."""

from __future__ import annotations

import json
from pathlib import Path

import faiss
import numpy as np
import pytest
from fakes import HashingEmbedder

from citeqa.index import IndexSettings, build_index, load_index, save_index
from citeqa.index import factory as factory_module
from citeqa.index import vectors as vectors_module
from citeqa.index.factory import AUTO, EXACT, EXACT_UP_TO, apply_search, plan_vectors
from citeqa.index.vectors import build_vectors, ivf_lists, search_vectors
from citeqa.ingest import Document


def test_auto_is_exact_for_small_collections_and_ivf_past_the_threshold() -> None:
    assert plan_vectors(AUTO, 16).factory == EXACT and plan_vectors(AUTO, EXACT_UP_TO).search == ""
    large = plan_vectors(AUTO, 1_000_000)
    assert large.factory == "IDMap2,IVF4096,Flat" and large.search == "nprobe=16"
    assert plan_vectors("HNSW32", 1_000_000).factory == "HNSW32"  # a factory the user names is built as named


def _clustered(count: int, seed: int, dimension: int = 32, topics: int = 100) -> np.ndarray:
    """Unit vectors around the same `topics` centres (whatever the seed): passages and the questions asked of them
    are about a collection's topics, the structure that approximate search relies on and must not lose."""
    centres = np.random.default_rng(0).normal(size=(topics, dimension))
    rng = np.random.default_rng(seed)
    vectors = centres[rng.integers(0, topics, count)] + 0.4 * rng.normal(size=(count, dimension))
    unit: np.ndarray = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    return unit


def test_the_automatic_ivf_index_finds_the_exact_neighbours(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(factory_module, "EXACT_UP_TO", 0)  # the choice past the threshold, at a testable size
    vectors, queries = _clustered(20_000, seed=1), _clustered(200, seed=2)
    ids = np.arange(len(vectors), dtype=np.int64)
    plan = plan_vectors(AUTO, len(vectors))
    assert plan.factory == "IDMap2,IVF512,Flat"
    _, truth = search_vectors(build_vectors(vectors, ids, EXACT), queries, 10)
    approximate = build_vectors(vectors, ids, plan.factory)

    def recall() -> float:
        _, hits = search_vectors(approximate, queries, 10)
        return float(np.mean([len(set(h) & set(t)) / 10 for h, t in zip(hits, truth, strict=True)]))

    apply_search(approximate, "nprobe=1")
    one_list = recall()
    apply_search(approximate, plan.search)
    assert recall() >= 0.95 and one_list < 0.9  # the chosen nprobe is what buys the recall


def test_an_update_puts_kept_vectors_back_in_their_lists_and_gets_the_index_filled_anew(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    vectors, ids = _clustered(3_000, seed=4), np.random.default_rng(5).permutation(10**6)[:3_000].astype(np.int64)
    before = build_vectors(vectors[:2_000], ids[:2_000], "IVF16,Flat")
    held = ivf_lists(before, ids[:2_000])
    assert held is not None and set(held.tolist()) == set(range(16))
    assert ivf_lists(before, ids[1:2_001]) is None  # not the ids it holds, in their order: no lists
    assert ivf_lists(build_vectors(vectors, ids, "Flat"), ids) is None  # no inverted lists at all
    # The update keeps 1,500 of the chunks, in a new order, and adds 1,000: their lists come from `held`.
    kept = np.random.default_rng(6).permutation(2_000)[:1_500]
    rows = np.concatenate([kept, np.arange(2_000, 3_000)])
    lists = np.concatenate([held[kept], np.full(1_000, -1)])
    assigned: list[int] = []
    real = vectors_module._add_preassigned

    def counted(index: object, inner: object, added: np.ndarray, *args: object) -> None:
        assigned.append(len(added))
        real(index, inner, added, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(vectors_module, "_add_preassigned", counted)
    updated = build_vectors(vectors[rows], ids[rows], "IVF16,Flat", trained=before, lists=lists)
    anew = build_vectors(vectors[rows], ids[rows], "IVF16,Flat", trained=before)
    assert assigned == [2_500]
    assert np.array_equal(faiss.serialize_index(updated), faiss.serialize_index(anew))
    faiss.extract_index_ivf(updated).nprobe = 16
    assert search_vectors(updated, vectors[rows[:50]], 1)[1][:, 0].tolist() == ids[rows[:50]].tolist()


def test_a_mapped_ivf_index_searches_as_read_and_cannot_lend_its_training(tmp_path: Path) -> None:
    from citeqa.index.vectors import read_vectors, write_vectors

    vectors, ids = _clustered(2_000, seed=7), np.arange(2_000, dtype=np.int64)
    built = build_vectors(vectors, ids, "IVF16,Flat")
    write_vectors(built, tmp_path / "vectors.faiss")
    mapped, read = read_vectors(tmp_path / "vectors.faiss", mapped=True), read_vectors(tmp_path / "vectors.faiss")
    for index in (mapped, read):
        faiss.extract_index_ivf(index).nprobe = 4
    assert np.array_equal(search_vectors(mapped, vectors[:20], 5)[1], search_vectors(read, vectors[:20], 5)[1])
    again = build_vectors(vectors[:1_000], ids[:1_000], "IVF16,Flat", trained=mapped)  # trained anew, not copied
    assert again.ntotal == 1_000 and ivf_lists(mapped, ids) is None


def test_the_chosen_index_and_its_search_setting_survive_save_and_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(factory_module, "EXACT_UP_TO", 10)  # so that a small collection gets the IVF index
    fake = HashingEmbedder()
    documents = [
        Document(f"note{n}.txt", f"Note {n} records {n * 7} visitors at site {n}.", f"Note {n}", None, f"c{n}")
        for n in range(300)
    ]
    settings = IndexSettings(model=HashingEmbedder.MODEL_ID)
    index = build_index(documents, settings, fake)
    plan = index.manifest.vector_plan
    assert plan.factory.startswith("IDMap2,IVF") and plan.search.startswith("nprobe=")
    save_index(index, tmp_path / "idx")
    loaded = load_index(tmp_path / "idx")
    assert loaded.manifest.vector_plan == plan and loaded.manifest.settings.factory == AUTO
    assert f"nprobe={faiss.extract_index_ivf(loaded.vectors).nprobe}" == plan.search
    query = fake.encode_queries(["Note 42 records 294 visitors at site 42."])
    assert loaded.search(query, 1)[0][0].chunk.source == "note42.txt"


def test_an_index_written_before_the_choice_was_recorded_still_loads(tmp_path: Path) -> None:
    """Format-3 manifests from before `built`/`search` existed: what they built is what their settings named."""
    fake = HashingEmbedder()
    documents = [Document("a.txt", "The harbour opened in 1990.", "a"), Document("b.txt", "The ferry left.", "b")]
    save_index(build_index(documents, IndexSettings(model=HashingEmbedder.MODEL_ID, factory=EXACT), fake), tmp_path)
    manifest_file = next(tmp_path.glob("gen-*")) / "manifest.json"
    data = json.loads(manifest_file.read_text())
    del data["faiss"]["built"], data["faiss"]["search"]
    manifest_file.write_text(json.dumps(data))
    loaded = load_index(tmp_path)
    assert loaded.manifest.vector_plan.factory == EXACT and loaded.manifest.vector_plan.search == ""


def test_the_ray_engine_without_ray_installed_says_which_extra_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from citeqa.errors import CiteqaError
    from citeqa.index.ray_engine import ray_ingest

    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed
    with pytest.raises(CiteqaError, match="needs Ray") as refused:
        ray_ingest([tmp_path], tmp_path / "idx", IndexSettings())
    assert "citeqa[scale]" in refused.value.hint
