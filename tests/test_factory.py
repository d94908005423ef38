"""The FAISS index a collection gets: the automatic choice, an approximate index's recall, and the search setting
that must survive a save and a load (FAISS does not keep it in its file)."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import pytest
from fakes import HashingEmbedder

from citeqa.index import IndexSettings, build_index, load_index, save_index
from citeqa.index import factory as factory_module
from citeqa.index.factory import AUTO, EXACT, EXACT_UP_TO, plan_vectors
from citeqa.index.vectors import build_vectors, search_vectors
from citeqa.ingest import Document


def test_auto_is_exact_for_small_collections_and_ivf_past_the_threshold() -> None:
    assert plan_vectors(AUTO, 16).factory == EXACT and plan_vectors(AUTO, EXACT_UP_TO).search == ""
    large = plan_vectors(AUTO, 1_000_000)
    assert large.factory == "IDMap2,IVF4096,Flat" and large.search == "nprobe=32"
    assert plan_vectors("HNSW32", 1_000_000).factory == "HNSW32"  # a factory the user names is built as named


def _clustered(count: int, dimension: int = 32, clusters: int = 50, seed: int = 3) -> np.ndarray:
    """Unit vectors around `clusters` topics: the structure that makes approximate search non-trivial."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dimension))
    vectors = centres[rng.integers(0, clusters, count)] + 0.6 * rng.normal(size=(count, dimension))
    unit: np.ndarray = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    return unit


def test_an_ivf_index_with_the_chosen_nprobe_finds_the_exact_neighbours() -> None:
    vectors, queries = _clustered(20_000), _clustered(200, seed=4)
    ids = np.arange(len(vectors), dtype=np.int64)
    exact = build_vectors(vectors, ids, EXACT)
    approximate = build_vectors(vectors, ids, "IVF256,Flat")
    _, truth = search_vectors(exact, queries, 10)
    found: dict[int, float] = {}
    for nprobe in (1, 32):
        faiss.extract_index_ivf(approximate).nprobe = nprobe
        _, hits = search_vectors(approximate, queries, 10)
        found[nprobe] = float(np.mean([len(set(h) & set(t)) / 10 for h, t in zip(hits, truth, strict=True)]))
    assert found[32] >= 0.95 and found[1] < found[32]  # the setting is what buys the recall


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
