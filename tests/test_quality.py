"""Quality floors on questions the reader and the confidence model never saw: held-out Wikipedia articles of
../shared/bench (the SQuAD 2.0 subset's test articles, with 2.0's unanswerable questions, and SQuADShifts' new
Wikipedia articles), as written and with the answering paragraphs cut out (the "documents don't say" case).

The sets are the ones `citeqa train` holds out (eval/train_cli.py, eval/reader_sources.py), rebuilt here from
../shared, so the floors measure exactly what training and calibration never touched. Each floor sits just under
what the shipped reader measures on them (below).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from citations import assert_cited_verbatim

from citeqa.chat import AnswerSettings
from citeqa.eval import evaluate, load_questions, summarize
from citeqa.eval.reader_sources import SOURCES, load_source
from citeqa.eval.summary import RunMetrics
from citeqa.eval.train_cli import write_held_out
from citeqa.index import Embedder
from citeqa.index.corpus import index_corpus
from citeqa.index.manifest import IndexSettings

pytestmark = pytest.mark.skipif(
    not all(s.path.is_file() for s in SOURCES), reason="needs ../shared/bench beside the repository"
)

QUESTIONS_PER_SET = 60  # answered end to end per set: enough for a floor, a few minutes on two cores
# set -> (f1 on answerable questions, share of unanswerable abstained, overall F1), measured minus a margin.
FLOORS: dict[str, tuple[float | None, float | None, float]] = {
    # measured on these 60 questions with reader v6 (f1 / unanswerable abstained / overall; `citeqa train`'s first
    # draw): squad2-test 0.413 / 0.115 / 0.284, squad2-test-cut 0.406 / 0.242 / 0.302, new-wiki-test 0.659 / – /
    # 0.659, new-wiki-test-cut 0.925 / 0.727 / 0.793 (reader v5: 0.441 / 0.115 / 0.300, 0.406 / 0.242 / 0.302,
    # 0.666, 0.925 / 0.727 / 0.793; v4: 0.438 / 0.154 / 0.315, 0.454 / 0.273 / 0.339, 0.671, 0.925 / 0.727 /
    # 0.793). v5's and v6's thresholds are lower than v4's (0.186 and 0.199 against 0.246), so fewer of SQuAD 2.0's
    # unanswerable questions are declined here; on the 100-question sets of the later draws each was ahead of the
    # one before (docs/training.md).
    "squad2-test": (0.40, 0.10, 0.27),
    "squad2-test-cut": (None, 0.21, 0.27),
    "new-wiki-test": (0.62, None, 0.62),
    "new-wiki-test-cut": (None, 0.66, 0.74),
}


@pytest.fixture(scope="module")
def held_out(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    work = tmp_path_factory.mktemp("held-out")
    corpora = [load_source(s) for s in SOURCES if s.name in ("squad2", "new-wiki")]
    return work, write_held_out(corpora, work, seed=13, questions={"calibrate": 0, "test": QUESTIONS_PER_SET})


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FLOORS))
def test_held_out_articles_are_answered_or_abstained(
    held_out: tuple[Path, dict[str, Path]], embedder: Embedder, name: str
) -> None:
    work, folders = held_out
    folder = folders[name]
    index, _ = index_corpus(folder / "corpus", IndexSettings(), embedder, work / f"index-{name}")
    items = load_questions(folder / "questions.jsonl")[:QUESTIONS_PER_SET]
    run = evaluate(index, embedder, AnswerSettings(), items)
    for prediction in run.predictions:  # the answer contract holds on unseen documents too
        assert_cited_verbatim(prediction, lambda source: index.documents[source].text)
    metrics: RunMetrics = summarize(run.outcomes, run.seconds)
    f1, noans, overall = FLOORS[name]
    measured = f"measured f1 {metrics.answers.f1}, noans {metrics.abstention.noans_accuracy}, overall " + str(
        metrics.abstention.overall_f1
    )
    if f1 is not None:
        assert (metrics.answers.f1 or 0) >= f1, measured
    if noans is not None:
        assert (metrics.abstention.noans_accuracy or 0) >= noans, measured
    assert (metrics.abstention.overall_f1 or 0) >= overall, measured
