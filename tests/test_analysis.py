"""Sentence analysis stored at ingest: the same words and term weights as analyzing the text, read without touching
every document; kept right by updates; an index written before it answers the same and is filled in by ingest."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from conftest import count_documents_read
from fakes import HashingEmbedder
from hypothesis import given, settings
from hypothesis import strategies as st
from test_incremental import FAKE, TOPICS, write_collection
from test_store import rewrite_manifest, store_of

from citeqa.chat import Answerer
from citeqa.chat.settings import AnswerSettings
from citeqa.eval import load_questions
from citeqa.index import SearchIndex, ingest, load_index
from citeqa.index.analysis import (
    ANALYSIS,
    COUNTS_FILE,
    StemCounts,
    TermWeights,
    encode,
    row_checksum,
    sentence_words,
    stems_of,
)
from citeqa.index.store import current_generation
from citeqa.index.update import remove_documents
from citeqa.ingest import load_documents
from citeqa.ingest.words import content_terms, terms, tokenize
from citeqa.paths import BUNDLED_CORPUS, BUNDLED_QUESTIONS

ANSWERING = AnswerSettings(min_confidence=0.0)


def from_text(index: SearchIndex) -> TermWeights:
    """The term weights as the answerer computed them before they were stored: from every sentence's text."""
    return TermWeights(
        index.documents[source].text[s.start : s.end] for source, spans in index.sentences.items() for s in spans
    )


def analysed_now(index: SearchIndex, source: str) -> list[object]:
    text = index.documents[source].text
    return [sentence_words(text[s.start : s.end]) for s in index.sentences[source]]


def answers(index: SearchIndex, fake: HashingEmbedder) -> list[Any]:
    questions = [q.question for q in load_questions(BUNDLED_QUESTIONS)]
    return [a.to_dict() for a in Answerer(index, fake, ANSWERING).answer_batch(questions)]


def test_the_stored_analysis_is_what_analyzing_the_text_gives(tmp_path: Path, fake: HashingEmbedder) -> None:
    directory = tmp_path / "idx"
    ingest([BUNDLED_CORPUS], directory, FAKE, fake)
    index = load_index(directory)
    assert index.manifest.analysis == ANALYSIS and (current_generation(directory) / COUNTS_FILE).is_file()
    for source in index.documents:
        assert index.store.analysis(source)[1]  # read from the store, not analyzed now
        assert index.sentence_words[source] == analysed_now(index, source)
        assert index.store.stems(source) == stems_of(index.documents[source].text)  # the pins' document stems
    assert TermWeights.from_counts(index.store.stem_counts()) == from_text(index)


TRICKY = """Notes on the ferry
-Answer: the ferry's route (Baku–Aktau) cost $1,250.50, i.e. 12% more than in Jan. 2020.
• Item one;  *second item*   — third‑item	"quoted."  He said: “No!” Then
wrapped line continues here... ?! 3. 5 more
    ## Heading Of Things
Dr. A. B. Smith & co-founders’ plan: rock'n'roll.
"""


def test_a_documents_stems_are_its_sentences_and_the_text_between_them(tmp_path: Path, fake: HashingEmbedder) -> None:
    docs, directory = tmp_path / "docs", tmp_path / "idx"
    docs.mkdir()
    (docs / "tricky.txt").write_text(TRICKY, encoding="utf-8")
    (docs / "notes.md").write_text("# Notes\n\n- first: the *ferry*\n- second, the **harbour**\n", encoding="utf-8")
    ingest([docs], directory, FAKE, fake)
    index = load_index(directory)
    for source in index.documents:
        assert index.sentence_words[source] == analysed_now(index, source)
        assert index.store.stems(source) == stems_of(index.documents[source].text)


@given(st.text(alphabet=st.sampled_from(list("aAbZ09$,.-'’&_ \n\u2013\u2028éİ%")), max_size=60))
@settings(max_examples=300, deadline=None)
def test_the_fast_analyzer_is_terms_of_tokens(text: str) -> None:
    assert content_terms(text) == terms(tokenize(text))


def test_the_fast_analyzer_is_terms_of_tokens_on_real_text() -> None:
    for text in [TRICKY, *(d.text for d in load_documents([BUNDLED_CORPUS]).documents)]:
        assert content_terms(text) == terms(tokenize(text))


def test_the_answerer_starts_without_reading_a_document(
    tmp_path: Path, fake: HashingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs, directory = write_collection(tmp_path / "docs", TOPICS), tmp_path / "idx"
    ingest([docs], directory, FAKE, fake)
    index = load_index(directory)
    read = count_documents_read(monkeypatch)
    Answerer(index, fake, ANSWERING)
    assert read == []


def test_updates_keep_the_counts_a_full_count_gives(tmp_path: Path, fake: HashingEmbedder) -> None:
    docs, directory = write_collection(tmp_path / "docs", TOPICS[:6]), tmp_path / "idx"
    ingest([docs], directory, FAKE, fake)
    (docs / "ferry.txt").write_text("The ferry closed in 2001. Its last captain was Ada Smith.\n", encoding="utf-8")
    (docs / "harbour.txt").unlink()
    write_collection(docs, TOPICS[6:])
    updated, _ = ingest([docs], directory, FAKE, fake, prune=True)
    assert updated is not None and "harbour.txt" not in updated.documents
    assert TermWeights.from_counts(updated.store.stem_counts()) == from_text(updated)
    loaded = load_index(directory)
    assert loaded.store.stem_counts() == updated.store.stem_counts()
    assert all(loaded.sentence_words[s] == analysed_now(loaded, s) for s in loaded.documents)
    smaller = remove_documents(directory, ["museum.txt", "ferry.txt"])
    assert TermWeights.from_counts(load_index(directory).store.stem_counts()) == from_text(smaller)


def strip_analysis(directory: Path) -> None:
    """Make the current generation as citeqa wrote it before sentence analyses were stored."""
    with sqlite3.connect(store_of(directory)) as db:
        db.execute("DROP TABLE sentence_words")
    (current_generation(directory) / COUNTS_FILE).unlink()
    rewrite_manifest(directory, lambda manifest: manifest.pop("sentence_analysis"))


def test_an_index_written_before_the_analysis_answers_the_same_and_ingest_fills_it_in(
    tmp_path: Path, fake: HashingEmbedder
) -> None:
    directory = tmp_path / "idx"
    ingest([BUNDLED_CORPUS], directory, FAKE, fake)
    stored = load_index(directory)
    expected = answers(stored, fake)
    strip_analysis(directory)
    old = load_index(directory)
    assert old.manifest.analysis == "" and old.store.stored_counts() is None
    assert answers(old, fake) == expected  # analyzed on the fly, silently
    assert old.store.stem_counts() == stored.store.stem_counts()
    index, report = ingest([BUNDLED_CORPUS], directory, FAKE, fake)
    assert index is not None and report.written and report.embedded == 0 and report.unchanged == len(stored.documents)
    assert "storing the analysis of every sentence" in report.rebuilt
    upgraded = load_index(directory)
    assert upgraded.manifest.analysis == ANALYSIS and upgraded.store.stored_counts() == stored.store.stem_counts()
    assert all(upgraded.store.analysis(s)[1] for s in upgraded.documents)
    assert answers(upgraded, fake) == expected
    assert ingest([BUNDLED_CORPUS], directory, FAKE, fake)[0] is None  # then nothing to do


def test_a_damaged_analysis_row_is_analyzed_again(tmp_path: Path, fake: HashingEmbedder) -> None:
    docs, directory = write_collection(tmp_path / "docs", TOPICS), tmp_path / "idx"
    ingest([docs], directory, FAKE, fake)
    members = load_index(directory).store.members
    ferry, museum, library = (members[f"{t}.txt"].digest for t in ("ferry", "museum", "library"))
    wrong = encode([["museum"]] * 50)  # well formed, checksummed, but not as many sentences as the document has
    assert wrong is not None
    with sqlite3.connect(store_of(directory)) as db:
        db.execute(
            "UPDATE sentence_words SET words = (SELECT words FROM sentence_words WHERE digest = ?) WHERE digest = ?",
            (museum, ferry),
        )  # another document's row: its checksum does not match
        db.execute(
            "UPDATE sentence_words SET words = ?, checksum = ? WHERE digest = ?",
            (wrong, row_checksum(library, ANALYSIS, wrong), library),
        )
    index = load_index(directory)
    for source in ("ferry.txt", "library.txt"):
        assert not index.store.analysis(source)[1]
        assert index.sentence_words[source] == analysed_now(index, source)
    assert index.store.analysis("museum.txt")[1]


def test_counts_that_never_held_a_removed_document_are_counted_again() -> None:
    counts = StemCounts()
    counts.add([["ferry", "closed"], ["ferry"]])
    assert counts == StemCounts(2, {"ferry": 2, "closed": 1})
    with pytest.raises(ValueError, match="never counted"):
        counts.copy().remove([["museum"]])
    counts.remove([["ferry"]])
    assert counts == StemCounts(1, {"ferry": 1, "closed": 1})


def test_removing_a_damaged_document_counts_the_rest_again(tmp_path: Path, fake: HashingEmbedder) -> None:
    docs, directory = write_collection(tmp_path / "docs", TOPICS), tmp_path / "idx"
    ingest([docs], directory, FAKE, fake)
    with sqlite3.connect(store_of(directory)) as db:
        db.execute("UPDATE documents SET text = replace(text, '1992', '1892') WHERE source = 'ferry.txt'")
    smaller = remove_documents(directory, ["ferry.txt"])  # its analysis cannot be trusted to be taken out
    assert "ferry.txt" not in smaller.documents
    assert TermWeights.from_counts(load_index(directory).store.stem_counts()) == from_text(smaller)
