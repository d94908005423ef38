"""Sentence vectors embedded once at ingest and stored beside their documents: each sentence's vector as the
embedder gives it, kept by updates, copied into a new store, filled in for an index written before them, and
never trusted when damaged."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
from fakes import HashingEmbedder
from hypothesis import given, settings
from hypothesis import strategies as st
from test_incremental import FAKE, TOPICS, Counting, write_collection
from test_store import rewrite_manifest, store_of

from citeqa.index import SearchIndex, build_index, ingest, load_index, views
from citeqa.index.analysis import row_checksum
from citeqa.index.docstore import Pieces
from citeqa.index.sentence_vectors import (
    SENTENCES_PER_BATCH,
    SpilledBlobs,
    decode_vectors,
    embed_sentences,
    encode_vectors,
    vectors_key,
)
from citeqa.index.store import generation_id
from citeqa.index.update import remove_documents
from citeqa.ingest import load_documents
from citeqa.ingest.sentences import Span

KEY = vectors_key(HashingEmbedder.MODEL_ID)
TOLERANCE = 2e-3  # float16 storage


def assert_vectors_are_the_embedders(index: SearchIndex, fake: HashingEmbedder) -> None:
    for source, spans in index.sentences.items():
        text = index.documents[source].text
        stored = index.store.sentence_vectors(source, fake.dimension)
        assert stored is not None, source
        expected = fake.encode_documents([text[s.start : s.end] for s in spans])
        assert stored.shape == expected.shape and np.abs(stored - expected).max() < TOLERANCE


def vector_rows(directory: Path) -> dict[str, bytes]:
    with sqlite3.connect(store_of(directory)) as db:
        return dict(db.execute("SELECT digest, vectors FROM sentence_vectors WHERE model = ?", (KEY,)).fetchall())


def test_an_ingest_stores_each_sentences_vector(tmp_path: Path, fake: HashingEmbedder) -> None:
    docs, directory = write_collection(tmp_path / "docs", TOPICS), tmp_path / "idx"
    ingest([docs], directory, FAKE, fake)
    index = load_index(directory)
    assert index.manifest.sentence_vectors == KEY == index.store.vectors_key
    assert_vectors_are_the_embedders(index, fake)
    in_memory = build_index(load_documents([docs]).documents, FAKE, fake)  # never saved: held in memory
    assert_vectors_are_the_embedders(in_memory, fake)


def test_updates_embed_only_new_documents_sentences_and_drop_removed_ones(
    tmp_path: Path, fake: HashingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs, directory = write_collection(tmp_path / "docs", TOPICS[:4]), tmp_path / "idx"
    ingest([docs], directory, FAKE, fake)
    before = vector_rows(directory)
    (docs / "museum.txt").write_text("The museum holds 4,000 paintings. It opens at nine.\n", encoding="utf-8")
    counting = Counting(fake, monkeypatch)
    ingest([docs], directory, FAKE, fake)
    # The new document's one chunk, then its two sentences: no sentence of a document already held.
    assert counting.texts[1:] == ["The museum holds 4,000 paintings.", "It opens at nine."]
    after = vector_rows(directory)
    assert set(before) < set(after) and all(after[d] == v for d, v in before.items())
    assert_vectors_are_the_embedders(load_index(directory), fake)
    ferry = load_index(directory).store.members["ferry.txt"].digest
    remove_documents(directory, ["ferry.txt"])
    assert ferry in vector_rows(directory)  # the previous generation's rows stay for a server still on it
    remove_documents(directory, ["council.txt"])
    kept = {m.digest for m in load_index(directory).store.members.values()}
    assert ferry not in vector_rows(directory) and kept < set(vector_rows(directory))
    assert_vectors_are_the_embedders(load_index(directory), fake)


def test_a_rebuild_into_a_new_store_keeps_every_documents_vectors(tmp_path: Path, fake: HashingEmbedder) -> None:
    docs, directory = write_collection(tmp_path / "docs", TOPICS[:3]), tmp_path / "idx"
    ingest([docs], directory, FAKE, fake)
    ingest([docs], directory, FAKE, fake, rebuild=True)
    assert_vectors_are_the_embedders(load_index(directory), fake)


def strip_vectors(directory: Path) -> None:
    """Make the current generation as citeqa wrote it before sentence vectors were stored."""
    with sqlite3.connect(store_of(directory)) as db:
        db.execute("DELETE FROM sentence_vectors WHERE model = ?", (KEY,))
    rewrite_manifest(directory, lambda manifest: manifest.pop("sentence_vectors"))


def test_an_index_written_before_them_has_none_and_ingest_embeds_only_sentences(
    tmp_path: Path, fake: HashingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs, directory = write_collection(tmp_path / "docs", TOPICS[:3]), tmp_path / "idx"
    ingest([docs], directory, FAKE, fake)
    strip_vectors(directory)
    old = load_index(directory)
    assert old.manifest.sentence_vectors == "" and all(
        old.store.sentence_vectors(s, fake.dimension) is None for s in old.documents
    )
    counting = Counting(fake, monkeypatch)
    index, report = ingest([docs], directory, FAKE, fake)
    assert index is not None and report.written and report.embedded == 0  # no chunk embedded again
    assert "embedding every sentence once" in report.rebuilt
    assert sorted(counting.texts) == sorted(
        old.documents[s].text[span.start : span.end] for s in old.documents for span in old.sentences[s]
    )
    assert_vectors_are_the_embedders(load_index(directory), fake)
    assert ingest([docs], directory, FAKE, fake)[0] is None  # then nothing to do


def test_a_damaged_or_misshapen_row_is_not_used(tmp_path: Path, fake: HashingEmbedder) -> None:
    docs, directory = write_collection(tmp_path / "docs", TOPICS[:3]), tmp_path / "idx"
    ingest([docs], directory, FAKE, fake)
    members = load_index(directory).store.members
    ferry, museum = members["ferry.txt"].digest, members["harbour.txt"].digest
    short = encode_vectors(np.ones((1, fake.dimension)))  # checksummed, but one vector for three sentences
    with sqlite3.connect(store_of(directory)) as db:
        db.execute("UPDATE sentence_vectors SET checksum = checksum + 1 WHERE digest = ? AND model = ?", (ferry, KEY))
        db.execute(
            "UPDATE sentence_vectors SET vectors = ?, checksum = ? WHERE digest = ? AND model = ?",
            (short, row_checksum(museum, KEY, short), museum, KEY),
        )
    index = load_index(directory)
    assert index.store.sentence_vectors("ferry.txt", fake.dimension) is None
    assert index.store.sentence_vectors("harbour.txt", fake.dimension) is None
    assert index.store.sentence_vectors("library.txt", fake.dimension) is not None


def test_stored_vectors_decode_only_to_their_own_shape() -> None:
    vectors = np.random.default_rng(3).normal(size=(4, 8)).astype(np.float32)
    blob = encode_vectors(vectors)
    decoded = decode_vectors(blob, 4, 8)
    assert decoded is not None and np.abs(decoded - vectors).max() < 5e-3
    assert decode_vectors(blob, 3, 8) is None and decode_vectors(blob, 4, 16) is None
    assert decode_vectors(encode_vectors(np.full((1, 8), np.inf)), 1, 8) is None
    assert decode_vectors(b"", 0, 8) is not None  # a document without sentences


@given(st.lists(st.integers(min_value=0, max_value=SENTENCES_PER_BATCH + 40), min_size=1, max_size=6))
@settings(max_examples=40, deadline=None)
def test_sentences_are_embedded_in_bounded_batches_and_each_document_gets_its_own(counts: list[int]) -> None:
    """Batches cut across documents; every document still gets exactly its sentences' vectors, in order."""
    texts = {f"d{n}": (" ".join(f"s{n}x{i}." for i in range(c)), c) for n, c in enumerate(counts)}

    def document(source: str) -> tuple[str, list[Span]]:
        text, count = texts[source]
        spans, start = [], 0
        for _ in range(count):
            end = text.index(".", start) + 1
            spans.append(Span(start, end))
            start = end + 1
        return text, spans

    batches: list[int] = []

    def encode(batch: list[str]) -> np.ndarray:
        batches.append(len(batch))  # each sentence's vector says which document and sentence it is
        return np.array([[float(part) for part in s[1:-1].split("x")] for s in batch])

    pieces = list(embed_sentences(list(texts), document, encode))
    order = [source for n, (source, _) in enumerate(pieces) if n == 0 or pieces[n - 1][0] != source]
    assert order == list(texts), "each document's pieces come together, the documents in order"
    assert max(batches, default=0) <= SENTENCES_PER_BATCH
    for n, count in enumerate(counts):
        mine = [vectors for source, vectors in pieces if source == f"d{n}" and len(vectors)]
        rows = np.concatenate(mine).tolist() if mine else []
        assert rows == [[float(n), float(i)] for i in range(count)]


def test_spilled_vectors_read_back_as_written_and_live_on_disk() -> None:
    spilled = SpilledBlobs()
    vectors = np.random.default_rng(5).normal(size=(300, 16)).astype(np.float32)
    spilled.append("a", vectors[:100])
    spilled.append("a", vectors[100:])
    spilled["b"] = b"raw bytes"
    assert spilled["a"] == encode_vectors(vectors) and spilled["b"] == b"raw bytes"
    with pytest.raises(ValueError, match="not consecutive"):
        spilled.append("a", vectors[:1])  # "b" came between: "a" cannot grow any more
    assert "a" in spilled and "c" not in spilled and sorted(spilled) == ["a", "b"] and len(spilled) == 2
    assert spilled.get("c") is None


def test_a_passages_rows_are_read_alone_and_copied_a_piece_at_a_time(tmp_path: Path, fake: HashingEmbedder) -> None:
    docs, directory = write_collection(tmp_path / "docs", TOPICS[:3]), tmp_path / "idx"
    ingest([docs], directory, FAKE, fake)
    index = load_index(directory)
    whole = index.store.sentence_vectors("ferry.txt", fake.dimension)
    assert whole is not None and len(whole) == 3
    part = index.store.sentence_vectors("ferry.txt", fake.dimension, 1, 3)
    assert part is not None and np.array_equal(part, whole[1:3])
    with pytest.raises(IndexError):
        index.store.sentence_vectors("ferry.txt", fake.dimension, 2, 4)
    # Written into another store (the documents read from this one), each row is copied from the store, in pieces.
    copied = dict(views.vector_rows(index.store, tmp_path / "other.sqlite"))
    assert set(copied) == {m.digest for m in index.store.members.values()}
    for digest, pieces in copied.items():
        assert isinstance(pieces, Pieces) and b"".join(pieces.read()) == vector_rows(directory)[digest]


def test_the_default_index_built_before_sentence_vectors_is_built_again(tmp_path: Path, fake: HashingEmbedder) -> None:
    from citeqa.index.default import open_or_build

    docs, directory = write_collection(tmp_path / "docs", TOPICS[:2]), tmp_path / "idx"
    assert open_or_build(directory, FAKE, fake, docs).manifest.sentence_vectors == KEY
    built = generation_id(directory)
    open_or_build(directory, FAKE, fake, docs)
    assert generation_id(directory) == built  # current: opened as it is
    strip_vectors(directory)
    assert open_or_build(directory, FAKE, fake, docs).manifest.sentence_vectors == KEY
    assert generation_id(directory) != built
    assert_vectors_are_the_embedders(load_index(directory), fake)
