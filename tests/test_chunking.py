from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes import HashingEmbedder
from hypothesis import given, settings
from hypothesis import strategies as st

from citeqa.index import Embedder, IndexSettings, ingest
from citeqa.ingest import (
    Chunker,
    ChunkSettings,
    CiteqaError,
    Document,
    load_documents,
    load_encoding,
    split_sentences,
)
from citeqa.paths import BUNDLED_CORPUS

ENCODING = load_encoding("cl100k_base")


def chunker(max_tokens: int, overlap: int) -> Chunker:
    return Chunker(ChunkSettings(max_tokens=max_tokens, overlap_tokens=overlap), ENCODING)


_WORDS = st.sampled_from(
    [
        "alpha",
        "beta",
        "Gamma",
        "3.3",
        "Ms.",
        "tons",
        "x" * 60,
        "end.",
        "Why?",
        "\n\n",
        "—",
        "“quoted”",
        "e.g.",
    ]
)
_DOCUMENT = st.lists(_WORDS, min_size=1, max_size=250).map(" ".join).filter(lambda t: bool(t.strip()))


@settings(max_examples=60, deadline=None)
@given(_DOCUMENT, st.integers(min_value=8, max_value=64), st.integers(min_value=0, max_value=4))
def test_chunks_are_slices_within_bounds_that_cover_every_sentence(text: str, size: int, overlap_part: int) -> None:
    overlap = size * overlap_part // 8
    doc = Document("doc.txt", text, "t")
    chunks = chunker(size, overlap).chunk(doc)
    assert chunks
    for chunk in chunks:
        assert text[chunk.start : chunk.end] == chunk.text
        assert len(ENCODING.encode_ordinary(chunk.text)) <= size
    for before, after in itertools.pairwise(chunks):
        assert before.start < after.start and before.end < after.end  # always moving forward
        if after.start < before.end:
            assert len(ENCODING.encode_ordinary(text[after.start : before.end])) <= overlap
    for sentence in split_sentences(text):  # every visible character of every sentence is in some chunk
        for i in range(sentence.start, sentence.end):
            assert text[i].isspace() or any(c.start <= i < c.end for c in chunks)


def test_chunk_ids_come_from_content_and_repeat_on_reingest() -> None:
    doc = load_documents([BUNDLED_CORPUS]).documents[1]
    first = chunker(64, 16).chunk(doc)
    again = chunker(64, 16).chunk(Document(doc.source, doc.text, doc.title))
    assert [c.id for c in first] == [c.id for c in again]
    assert len({c.id for c in first}) == len(first)


def test_a_sentence_longer_than_a_chunk_is_split_at_words() -> None:
    text = " ".join(f"word{i}" for i in range(400)) + "."
    chunks = chunker(32, 0).chunk(Document("long.txt", text, "t"))
    assert len(chunks) > 5
    for chunk in chunks:
        assert not chunk.text.startswith(" ") and not chunk.text.endswith(" ")
        assert chunk.end == len(text) or text[chunk.end] == " "


def test_a_giant_word_is_cut_at_characters() -> None:
    text = "a" * 5000
    chunks = chunker(16, 0).chunk(Document("blob.txt", text, "t"))
    assert "".join(c.text for c in chunks) == text


@pytest.mark.parametrize(("size", "overlap"), [(4, 0), (100, 60), (10000, 0), (100, -1)])
def test_bad_settings_are_refused_with_the_valid_range(size: int, overlap: int) -> None:
    with pytest.raises(CiteqaError, match="out of range"):
        ChunkSettings(max_tokens=size, overlap_tokens=overlap)


def test_no_chunk_exceeds_what_the_model_reads(embedder: Embedder) -> None:
    # Digits and rare words cost far more word pieces than tiktoken tokens: the model's own limit must hold.
    text = " ".join(f"{n:09d}ZQX" for n in range(300)) + "."
    fitted = Chunker(ChunkSettings(max_tokens=1024, overlap_tokens=0), ENCODING, fits=embedder.fits)
    chunks = fitted.chunk(Document("digits.txt", text, "t"))
    tokenizer = embedder.model.tokenizer
    for chunk in chunks:
        assert len(tokenizer(chunk.text)["input_ids"]) <= embedder.max_tokens == 256
    assert "".join(c.text for c in chunks).replace(" ", "") == text.replace(" ", "")


def test_the_longest_fitting_end_reads_no_further_than_about_twice_the_answer() -> None:
    """What keeps chunking linear in a line with no sentence end: a piece's search looks about as far ahead as the
    piece is long, however much text follows it (it used to read, and tokenise, up to the end of the line)."""
    from citeqa.ingest.chunking import _longest

    read: list[int] = []

    def ends() -> Iterator[int]:
        for end in range(1, 10_000_000):
            read.append(end)
            yield end

    assert _longest(ends(), lambda end: end <= 300) == 300
    assert len(read) <= 2 * 300 + 1
    assert _longest(iter([5, 9]), lambda end: end <= 100) == 9  # ends that run out before the limit
    assert _longest(iter([5, 9]), lambda end: end < 5) is None


def test_a_megabyte_line_without_a_sentence_end_is_cut_into_fitting_word_aligned_chunks() -> None:
    words = ("alpha", "beta,", "gamma", "delta;", "epsilon")
    text = " ".join(words[i % 5] for i in range(200_000))  # ~1.2 MB, one "sentence"
    chunker = Chunker(ChunkSettings(), load_encoding())
    chunks = chunker.chunk(Document("line.txt", text, "line"))
    assert chunks[0].start == 0 and chunks[-1].end == len(text)
    for before, after in itertools.pairwise(chunks):
        assert text[after.start - 1] == " " and not text[before.end : after.start].strip()  # word-aligned, no text lost
    assert all(chunker.tokens(c.text) <= ChunkSettings().max_tokens for c in chunks)


class _CountingChunker(Chunker):
    """Records the length of every text it tokenises: the work chunking does."""

    def __init__(self) -> None:
        super().__init__(ChunkSettings(), ENCODING)
        self.tokenised: list[int] = []

    def tokens(self, text: str) -> int:
        self.tokenised.append(len(text))
        return super().tokens(text)


_LONG_RUNS = {
    "one word": lambda n: "x" * n,
    "words without a sentence end": lambda n: "lorem ipsum dolor " * (n // 18),
    "CSV": lambda n: "12,34,alpha,beta\n" * (n // 17),
}


@pytest.mark.parametrize("kind", list(_LONG_RUNS))
def test_chunking_long_runs_does_work_in_proportion_to_their_length(kind: str) -> None:
    """Linear for any input: no text longer than a chunk can be is ever tokenised (byte-pair encoding is quadratic
    in a word's length: a 10 MB "word" given whole to tiktoken took half an hour), and the characters tokenised
    per character of input stay the same when the input doubles. `python bench/chunking.py` times 10 MB runs."""
    work = {}
    for size in (100_000, 200_000):
        counting = _CountingChunker()
        text = _LONG_RUNS[kind](size)
        chunks = counting.chunk(Document("long.txt", text, "long"))
        assert chunks[0].start == 0 and chunks[-1].end == len(text.rstrip())
        assert max(counting.tokenised) <= counting.max_chars + 1
        work[size] = sum(counting.tokenised) / len(text)
    assert work[200_000] <= 1.1 * work[100_000]
    assert work[200_000] < 40  # characters tokenised per character chunked


def test_a_long_document_reports_its_chunking_in_tenths_and_a_short_one_stays_quiet() -> None:
    reported: list[float] = []
    long = Document("long.txt", "Lorem ipsum dolor. " * 30_000 + "x" * 600_000, "long")  # 1.2 MB, half one word
    chunker(256, 32).chunk(long, progress=reported.append)
    assert len(reported) >= 10 and reported == sorted(reported) and reported[-1] == 1.0
    assert all(later - earlier >= 0.09 for earlier, later in itertools.pairwise(reported))
    quiet: list[float] = []
    chunker(256, 32).chunk(Document("short.txt", "lorem ipsum dolor. " * 1_000, "short"), progress=quiet.append)
    assert quiet == []


def test_ingest_passes_each_long_documents_chunking_progress_on(tmp_path: Path, fake: HashingEmbedder) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "long.txt").write_text("The harbour opened in 1911. " * 40_000, encoding="utf-8")  # 1.1 MB
    (docs / "short.txt").write_text("The ferry runs hourly.", encoding="utf-8")
    heard: list[tuple[str, float]] = []
    ingest([docs], tmp_path / "idx", IndexSettings(model=fake.MODEL_ID), fake, chunking=lambda *s: heard.append(s))
    assert {source for source, _ in heard} == {"long.txt"} and heard[-1] == ("long.txt", 1.0) and len(heard) >= 10
