"""The BM25 analyzer's fast path: the same terms as tokenizing and then filtering, on any text; and an answerer that
starts without reading a document."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import count_documents_read
from fakes import HashingEmbedder
from hypothesis import given, settings
from hypothesis import strategies as st
from test_incremental import FAKE, TOPICS, write_collection

from citeqa.chat import Answerer
from citeqa.chat.settings import AnswerSettings
from citeqa.index import ingest, load_index
from citeqa.ingest import load_documents
from citeqa.ingest.words import content_terms, terms, tokenize
from citeqa.paths import BUNDLED_CORPUS

TRICKY = """Notes on the ferry
-Answer: the ferry's route (Baku–Aktau) cost $1,250.50, i.e. 12% more than in Jan. 2020.
• Item one;  *second item*   — third‑item	"quoted."  He said: “No!” Then
wrapped line continues here... ?! 3. 5 more
    ## Heading Of Things
Dr. A. B. Smith & co-founders’ plan: rock'n'roll.
"""


@given(st.text(alphabet=st.sampled_from(list("aAbZ09$,.-'’&_ \n\u2013\u2028éİ%")), max_size=60))
@settings(max_examples=300, deadline=None)
def test_the_fast_analyzer_is_terms_of_tokens(text: str) -> None:
    assert content_terms(text) == terms(tokenize(text))


def test_the_fast_analyzer_is_terms_of_tokens_on_real_text() -> None:
    for text in [TRICKY, *(d.text for d in load_documents([BUNDLED_CORPUS]).documents)]:
        assert content_terms(text) == terms(tokenize(text))


@pytest.mark.slow  # the reader loads
def test_the_answerer_starts_without_reading_a_document(
    tmp_path: Path, fake: HashingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs, directory = write_collection(tmp_path / "docs", TOPICS), tmp_path / "idx"
    ingest([docs], directory, FAKE, fake)
    index = load_index(directory)
    read = count_documents_read(monkeypatch)
    Answerer(index, fake, AnswerSettings(min_confidence=0.0))
    assert read == []
