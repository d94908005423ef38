"""Sentence evidence: the question's phrases count beyond its scattered words; headings do not profit."""

from __future__ import annotations

from pathlib import Path

from chat.evidence import TermWeights, find_evidence, pairs_of, stems_of
from chat.question import analyze
from index import Embedder, IndexSettings, build_index
from index.retrieval import retrieve
from ingest import load_documents

TEXT = """Field notes

The rate of mortality in the clinics was high, the survey teams wrote after the winter outbreak.
The mortality rate in the clinics reached 12 percent during the winter outbreak.
Mortality Rate And Winter Outbreaks
"""


def test_phrases_are_ordered_pairs_of_content_stems() -> None:
    assert pairs_of("The mortality rate rose") == {("mortality", "rate"), ("rate", "rose")}
    assert ("mortality", "rate") not in pairs_of("the rate of mortality")
    assert stems_of("the rate of mortality") == {"rate", "mortality"}


def test_the_sentence_holding_the_questions_phrase_ranks_first(tmp_path: Path, embedder: Embedder) -> None:
    (tmp_path / "notes.txt").write_text(TEXT, encoding="utf-8")
    index = build_index(load_documents([tmp_path]).documents, IndexSettings(), embedder)
    question = "What was the mortality rate in the clinics?"
    passages = retrieve(index, [question], embedder.encode_queries([question]), 5)[0]
    text = index.documents["notes.txt"].text
    weights = TermWeights(text[s.start : s.end] for s in index.sentences["notes.txt"])

    def ranked(disabled: tuple[str, ...]) -> list[str]:
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
        for flag in ((), ("phrases",))
    }
    phrased, scattered, heading = (text.index(s) for s in ("The mortality rate", "The rate of", "Mortality Rate And"))
    assert scores[()][phrased] - scores[()][scattered] > scores[("phrases",)][phrased] - scores[("phrases",)][scattered]
    assert scores[()][heading] == scores[("phrases",)][heading]
