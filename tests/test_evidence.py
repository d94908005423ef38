"""Sentence evidence: the question's phrases count beyond its scattered words; headings do not profit."""

from __future__ import annotations

from pathlib import Path

from citeqa.chat.answerer import _rerank
from citeqa.chat.evidence import Evidence, TermWeights, find_evidence, pairs_of, stems_of
from citeqa.chat.question import analyze
from citeqa.chat.settings import Component
from citeqa.index import Embedder, IndexSettings, build_index
from citeqa.index.retrieval import retrieve
from citeqa.index.search import Passage
from citeqa.ingest import load_documents
from citeqa.ingest.chunking import Chunk
from citeqa.ingest.sentences import Span

TEXT = """Field notes

The rate of mortality in the clinics was high, the survey teams wrote after the winter outbreak.
The mortality rate in the clinics reached 12 percent during the winter outbreak.
Mortality Rate And Winter Outbreaks
"""


def test_phrases_are_ordered_pairs_of_content_stems() -> None:
    assert pairs_of("The mortality rate rose") == {("mortality", "rate"), ("rate", "rose")}
    assert ("mortality", "rate") not in pairs_of("the rate of mortality")
    assert stems_of("the rate of mortality") == {"rate", "mortality"}


PHRASES_OFF: tuple[Component, ...] = ("phrases",)


def test_the_sentence_holding_the_questions_phrase_ranks_first(tmp_path: Path, embedder: Embedder) -> None:
    (tmp_path / "notes.txt").write_text(TEXT, encoding="utf-8")
    index = build_index(load_documents([tmp_path]).documents, IndexSettings(), embedder)
    question = "What was the mortality rate in the clinics?"
    passages = retrieve(index, [question], embedder.encode_queries([question]), 5)[0]
    text = index.documents["notes.txt"].text
    weights = TermWeights(text[s.start : s.end] for s in index.sentences["notes.txt"])

    def ranked(disabled: tuple[Component, ...]) -> list[str]:
        found = find_evidence(analyze(question), passages, index, weights, lambda _: set(), disabled)
        return [text[e.sentence.start : e.sentence.end] for e in found]

    with_phrases = ranked(())
    assert with_phrases[0].startswith("The mortality rate in the clinics reached")
    # The heading repeats the phrase but states nothing: it gains nothing from it.
    assert with_phrases.index("Mortality Rate And Winter Outbreaks") > 0
    scores = {
        flag: {
            e.sentence.start: e.score
            for e in find_evidence(analyze(question), passages, index, weights, lambda _: set(), flag)
        }
        for flag in ((), PHRASES_OFF)
    }
    phrased, scattered, heading = (text.index(s) for s in ("The mortality rate", "The rate of", "Mortality Rate And"))
    assert scores[()][phrased] - scores[()][scattered] > scores[("phrases",)][phrased] - scores[("phrases",)][scattered]
    assert scores[()][heading] == scores[("phrases",)][heading]


def test_passages_without_the_answer_rank_by_evidence_then_by_how_much_of_the_question_they_cover() -> None:
    def passage(start: int, text: str, score: float) -> Passage:
        return Passage(Chunk(start, "d.txt", start, start + len(text), text), score)

    answer = passage(0, "The clinic reported the rate.", 0.5)
    covering = passage(100, "Mortality rate and clinic staffing were both studied.", 0.5)
    sparse = passage(200, "Staffing was studied.", 0.5)
    evidence = [
        Evidence("d.txt", Span(0, 29), 0.9, 0.5, 0.5, True),
        Evidence("d.txt", Span(100, 153), 0.3, 0.5, 0.5, True),
        Evidence("d.txt", Span(200, 221), 0.3, 0.5, 0.5, True),
    ]
    asked = {"mortality", "rate", "clinic"}

    def coverage(text: str) -> float:
        return len(asked & stems_of(text)) / len(asked)

    ranked = _rerank([sparse, covering, answer], evidence, "d.txt", Span(0, 29), coverage)
    assert ranked == (answer, covering, sparse)
