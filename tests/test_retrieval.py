"""Hybrid retrieval: BM25 beside FAISS, saved and checked with the index; every mode returns real passages."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from citeqa.index import Embedder, IndexMismatchError, SearchIndex, load_index
from citeqa.index.lexical import LexicalBuilder, LexicalIndex, Postings, analyze
from citeqa.index.retrieval import RETRIEVAL_MODES, retrieve
from citeqa.index.store import current_generation

DATA = Path(__file__).resolve().parents[1] / "data" / "interviews"


def test_the_analyzer_matches_word_forms_and_drops_function_words() -> None:
    assert analyze("The ministers signed agreements in 2024") == analyze("minister signs the agreement, 2024")
    assert "the" not in analyze("the the the")


def test_bm25_finds_the_chunk_with_the_rare_exact_word() -> None:
    lexical = LexicalIndex.build(["cats purr softly", "dogs bark at night", "", "the MTT-WOP pipeline"], [1, 2, 3, 4])
    assert [chunk_id for chunk_id, _ in lexical.search(["which pipeline is MTT-WOP?"], 3)[0]] == [4]
    assert lexical.search(["zebra"], 3) == [[]]  # nothing shares a word: nothing is returned


def test_bm25_built_chunk_by_chunk_scores_as_bm25s_own_index_does() -> None:
    import bm25s
    import numpy as np

    from citeqa.index.lexical import K1, METHOD, B, LexicalBuilder

    texts = [
        line
        for path in sorted(DATA.glob("*.txt"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ] + ["", "the and of"]  # chunks with no term keep their row
    builder = LexicalBuilder()
    for row in reversed(range(len(texts))):  # any order
        builder.add(row, analyze(texts[row]))
    ours = builder.finish(list(range(len(texts))))
    theirs = bm25s.BM25(k1=K1, b=B, method=METHOD)
    theirs.index([analyze(t) or [""] for t in texts], show_progress=False)
    for question in ["How many Pakistani tourists visited Azerbaijan?", "flights Baku Lahore", "the 2024 forum"]:
        words = analyze(question)
        mine, reference = ours._bm25.get_scores(words), theirs.get_scores(words)  # type: ignore[attr-defined]
        assert np.asarray(reference).max() > 0
        np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=1e-6)


def test_bm25_carried_over_an_update_scores_as_built_anew(tmp_path: Path) -> None:
    """An update takes over the term counts of the chunks it keeps, at new rows in any order, and adds new chunks:
    the scores, the vocabulary and the saved counts are those of an index built from every chunk's text."""
    texts = [line for path in sorted(DATA.glob("*.txt")) for line in path.read_text(encoding="utf-8").splitlines()]
    texts = [t for t in texts if t.strip()] + ["", "the and of"]
    before = LexicalIndex.build(texts, list(range(len(texts))))
    before.save(tmp_path / "bm25")
    postings = LexicalIndex.load(tmp_path / "bm25", scores=False).postings()
    assert postings is not None
    rng = np.random.default_rng(3)
    kept = rng.permutation(len(texts))[: len(texts) * 2 // 3]  # a third of the chunks gone; the rest shuffled
    new_texts = [texts[i] for i in kept] + ["Baku and Lahore signed a zebra accord.", ""]
    new_rows = np.full(len(texts), -1)
    new_rows[kept] = np.arange(len(kept))
    builder = LexicalBuilder()
    filled = builder.carry(postings, new_rows)
    assert sorted(filled.tolist()) == list(range(len(kept)))
    for row in range(len(kept), len(new_texts)):
        builder.add(row, analyze(new_texts[row]))
    ids = list(range(100, 100 + len(new_texts)))
    carried, anew = builder.finish(ids), LexicalIndex.build(new_texts, ids)
    assert sorted(carried.vocabulary()) == sorted(anew.vocabulary()) and "zebra" in carried.vocabulary()
    for question in ["How many Pakistani tourists visited Azerbaijan?", "zebra accord", "the 2024 forum"]:
        words = analyze(question)
        np.testing.assert_allclose(carried._bm25.get_scores(words), anew._bm25.get_scores(words), rtol=1e-6)  # type: ignore[attr-defined]
    mine, theirs = carried.postings(), anew.postings()
    assert mine is not None and theirs is not None and np.array_equal(mine.lengths, theirs.lengths)
    assert triples(mine) == triples(theirs)


def triples(postings: Postings) -> set[tuple[str, int, int]]:
    """(term, row, count) of every posting: the same whatever ids the terms got."""
    words = {i: word for word, i in postings.vocabulary.items()}
    terms = np.repeat(np.arange(len(postings.indptr) - 1), np.diff(postings.indptr))
    return {(words[int(t)], int(r), int(c)) for t, r, c in zip(terms, postings.rows, postings.counts, strict=True)}


def test_bm25_saved_without_term_counts_or_with_disagreeing_ones_offers_none(tmp_path: Path) -> None:
    LexicalIndex.build(["cats purr", "dogs bark"], [1, 2]).save(tmp_path / "bm25")
    (tmp_path / "bm25" / "counts.npy").unlink()  # an index written before citeqa kept them
    assert LexicalIndex.load(tmp_path / "bm25").postings() is None
    LexicalIndex.build(["cats purr", "dogs bark"], [1, 2]).save(tmp_path / "other")
    assert LexicalIndex.load(tmp_path / "other").postings() is not None
    np.save(tmp_path / "other" / "lengths.npy", np.array([2, 2, 2], dtype=np.int32))  # three chunks' lengths for two
    assert LexicalIndex.load(tmp_path / "other").postings() is None  # the update then analyzes the chunks again


def test_a_chunk_table_finds_the_rows_of_many_ids_at_once() -> None:
    from citeqa.index.views import CHUNK_DTYPE, ChunkTable

    rows = np.zeros(4, dtype=CHUNK_DTYPE)
    rows["id"] = [40, 10, 30, 20]
    table = ChunkTable(rows, ["a.txt"])
    assert table.rows_of(np.array([20, 99, 40, 5], dtype=np.int64)).tolist() == [3, -1, 0, -1]
    assert [table.row_of(i) for i in (20, 99)] == [3, None]
    empty = ChunkTable(np.zeros(0, dtype=CHUNK_DTYPE), [])
    assert empty.rows_of(np.array([1, 2], dtype=np.int64)).tolist() == [-1, -1]


def test_the_bm25_index_is_saved_in_the_generation_and_loads_identically(
    interviews: SearchIndex, interviews_dir: Path
) -> None:
    assert (current_generation(interviews_dir) / "bm25" / "chunk_ids.json").is_file()
    question = ["How many Pakistani citizens visited Azerbaijan in 2024?"]
    assert load_index(interviews_dir).lexical.search(question, 5) == interviews.lexical.search(question, 5)


def test_an_index_with_another_analyzer_is_refused(tmp_path: Path, interviews_dir: Path) -> None:
    copy = tmp_path / "index"
    shutil.copytree(interviews_dir, copy)
    manifest = current_generation(copy) / "manifest.json"
    data = json.loads(manifest.read_text())
    data["lexical"]["analyzer"] = "something-else"
    manifest.write_text(json.dumps(data))
    with pytest.raises(IndexMismatchError, match="another word analyzer"):
        load_index(copy)


@pytest.mark.parametrize("mode", RETRIEVAL_MODES)
def test_every_mode_returns_k_distinct_passages_scored_by_cosine(
    interviews: SearchIndex, embedder: Embedder, mode: str
) -> None:
    question = "When did APP and AZERTAC sign their memorandum of cooperation?"
    vectors = embedder.encode_queries([question])
    passages = retrieve(interviews, [question], vectors, 8, mode)[0]  # type: ignore[arg-type]
    assert len(passages) == 8 and len({p.chunk.id for p in passages}) == 8
    for passage in passages:  # the score is the chunk's cosine, whichever list found it
        stored = interviews.vectors.reconstruct(passage.chunk.id)
        assert passage.score == pytest.approx(float(stored @ vectors[0]), abs=1e-4)


def test_hybrid_keeps_what_either_list_ranks_first(interviews: SearchIndex, embedder: Embedder) -> None:
    question = "How many national incubation centers does Pakistan have?"
    vectors = embedder.encode_queries([question])
    dense = retrieve(interviews, [question], vectors, 5, "dense")[0][0].chunk.id
    lexical = retrieve(interviews, [question], vectors, 5, "bm25")[0][0].chunk.id
    fused = {p.chunk.id for p in retrieve(interviews, [question], vectors, 5, "hybrid")[0]}
    assert {dense, lexical} <= fused


def test_an_ivf_index_loaded_mapped_gives_bm25_passages_their_own_cosine(tmp_path: Path, embedder: Embedder) -> None:
    """Past 50,000 chunks the index is IVF, which cannot give a vector back: a passage only BM25 found still
    scores its chunk's cosine (from the stored vectors), and the index loaded for search (its inverted lists and
    BM25 scores mapped from their files) answers as the one built in memory."""
    import faiss

    from citeqa.index import IndexSettings, build_index, save_index
    from citeqa.ingest import load_documents

    settings = IndexSettings(factory="IVF2,Flat")
    built = build_index(load_documents([DATA]).documents, settings, embedder)
    save_index(built, tmp_path / "idx")
    loaded = load_index(tmp_path / "idx")
    invlists = faiss.downcast_InvertedLists(faiss.extract_index_ivf(loaded.vectors).invlists)  # type: ignore[arg-type]
    assert isinstance(invlists, faiss.OnDiskInvertedLists)  # mapped from the file, not read
    assert isinstance(loaded.lexical._bm25.scores["data"], np.memmap)  # type: ignore[attr-defined]
    question = "How many national incubation centers does Pakistan have?"
    vectors = embedder.encode_queries([question])
    for index in (built, loaded):
        for passage in retrieve(index, [question], vectors, 6, "bm25")[0]:
            row = index.table.row_of(passage.chunk.id)
            assert row is not None
            assert passage.score == pytest.approx(float(np.asarray(index.embeddings)[row] @ vectors[0]), abs=1e-5)
    for mode in RETRIEVAL_MODES:
        ours = [(p.chunk.id, round(p.score, 5)) for p in retrieve(loaded, [question], vectors, 6, mode)[0]]  # type: ignore[arg-type]
        theirs = [(p.chunk.id, round(p.score, 5)) for p in retrieve(built, [question], vectors, 6, mode)[0]]  # type: ignore[arg-type]
        assert ours == theirs and ours
