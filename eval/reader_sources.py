"""The reader's training sources: every SQuAD-format set under ../shared/bench, each split into train / calibrate /
test by its own unit of independence (article, product, policy, post, review domain and split, paper), never by
question: questions on one text share its words, so a split by question would test on text the reader learned.

Each source is regrouped into documents as citeqa would hold them (an article's paragraphs in one document; a
forum post or a review as a document of its own), then imported with `eval.squad` (offsets exact) into a
`Corpus` per split.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from citeqa.errors import CiteqaError

from .reader_data import SPLITS, Corpus, load_corpus
from .squad import import_squad

SHARED_BENCH = Path(__file__).resolve().parents[2] / "shared" / "bench"
QA_TRAIN = SHARED_BENCH / "qa-train"

Split = str  # one of SPLITS
Article = dict[str, Any]  # one SQuAD "data" entry: a document once imported


def hashed_split(key: str, train: float, calibrate: float) -> Split:
    """A split fixed by the key's hash: the same text always lands in the same split."""
    u = int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:8], 16) / 0xFFFFFFFF
    if u < train:
        return "train"
    return "calibrate" if u < train + calibrate else "test"


def by_hash(train: float = 0.8, calibrate: float = 0.1) -> Callable[[Article], Split]:
    return lambda article: hashed_split(article["title"] or article["paragraphs"][0]["context"][:200], train, calibrate)


# Reader v1 was trained on these two sources' train splits; their test splits stay as they were, so both readers
# are judged on text neither saw. The SQuAD subset has only 10 articles, too few to hash: held out by name.
SQUAD_HELD_OUT = {"Spectre (2015 film)": "test", "To Kill a Mockingbird": "test", "Solar energy": "calibrate"}


def _squad_split(article: Article) -> Split:
    return SQUAD_HELD_OUT.get(article["title"], "train")


def _covidqa_split(article: Article) -> Split:
    # v1's split: the name of the file import_squad writes is keyed on the paper; hashed as v1 did (70/10/20).
    return hashed_split(article["_v1_source"], 0.7, 0.1)


def _subjqa_split(article: Article) -> Split:
    # SubjQA's own splits: "books (dev)" and the like; every review of a domain split goes the same way.
    group = article["_group"]
    return {"train": "train", "dev": "calibrate", "test": "test"}[group.rsplit("(", 1)[1].rstrip(")")]


def _each_paragraph(articles: list[Article]) -> list[Article]:
    """One document per paragraph (a forum post, a review), untitled: its own text is all a reader would see."""
    out = []
    for article in articles:
        for paragraph in article["paragraphs"]:
            out.append({"title": "", "paragraphs": [paragraph], "_group": article["title"]})
    return out


def _titled(articles: list[Article]) -> list[Article]:
    return [{**a, "title": a["title"].replace("_", " ")} for a in articles]


@dataclass(frozen=True, slots=True)
class Source:
    name: str
    path: Path
    regroup: Callable[[list[Article]], list[Article]]
    split: Callable[[Article], Split]
    wikipedia: bool = False  # judged against the Wikipedia targets


SOURCES = (
    Source("squad2", SHARED_BENCH / "squad2-train" / "squad2-train-10-articles.json", _titled, _squad_split, True),
    Source("covidqa", SHARED_BENCH / "covidqa" / "200423_covidQA.json", lambda a: a, _covidqa_split),
    Source("new-wiki", QA_TRAIN / "squadshifts-new-wiki.json", _titled, by_hash(), True),
    Source("tydiqa", QA_TRAIN / "tydiqa-en-train.json", _titled, by_hash(), True),
    Source("reddit", QA_TRAIN / "squadshifts-reddit.json", _each_paragraph, by_hash()),
    Source("amazon", QA_TRAIN / "squadshifts-amazon.json", _titled, by_hash()),
    Source("policyqa", QA_TRAIN / "policyqa.json", _titled, by_hash()),
    Source("subjqa", QA_TRAIN / "subjqa.json", _each_paragraph, _subjqa_split),
)
SOURCE_NAMES = tuple(s.name for s in SOURCES)


def read_articles(source: Source) -> list[Article]:
    if not source.path.is_file():
        raise CiteqaError(f"the training file {source.path} is missing", "put ../shared beside the repository")
    articles = source.regroup(json.loads(source.path.read_text(encoding="utf-8"))["data"])
    if source.name == "covidqa":
        # import_squad names an untitled article after its first line, numbered by its place in the file.
        width = max(4, len(str(len(articles) - 1)))
        for number, article in enumerate(articles):
            first = next(line for line in article["paragraphs"][0]["context"].splitlines() if line.strip())
            article["_v1_source"] = f"{number:0{width}d}-{_slug(first)}.txt"
    return articles


def _slug(title: str) -> str:
    from .squad import _slug as squad_slug

    return squad_slug(title)


def load_source(source: Source) -> dict[Split, Corpus]:
    """The source's documents and questions, one corpus per split."""
    articles = read_articles(source)
    parts: dict[Split, list[Article]] = {split: [] for split in SPLITS}
    for article in articles:
        parts[source.split(article)].append(article)
    out: dict[Split, Corpus] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for split, chosen in parts.items():
            if not chosen:
                out[split] = Corpus(source.name, [], {})
                continue
            raw = Path(tmp) / f"{split}.json"
            clean = [{k: v for k, v in a.items() if not k.startswith("_")} for a in chosen]
            raw.write_text(json.dumps({"version": "v2.0", "data": clean}), encoding="utf-8")
            imported = import_squad(raw, Path(tmp) / split)
            out[split] = load_corpus(imported.questions_path, imported.corpus_dir, source.name)
    return out


GOLD_MAX_CHARS = 3000  # a longer "paragraph" (a COVID-QA paper is one) is read as the sentences around the answer


def gold_paragraphs(source: Source, split: Split = "test") -> list[tuple[str, str, tuple[str, ...]]]:
    """(question, its own paragraph, gold answers) of every question of a split: the reader alone, no retrieval.
    A paragraph longer than GOLD_MAX_CHARS is cut to the whole sentences within GOLD_MAX_CHARS around the answer."""
    out = []
    for article in read_articles(source):
        if source.split(article) != split:
            continue
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                answers = () if qa.get("is_impossible") else tuple(a["text"] for a in qa.get("answers", []))
                context = paragraph["context"]
                if len(context) > GOLD_MAX_CHARS:
                    at = qa["answers"][0]["answer_start"] if answers else 0
                    context = _around(context, at)
                out.append((qa["question"], context, answers))
    return out


def _around(text: str, at: int) -> str:
    """The whole sentences of `text` that lie within GOLD_MAX_CHARS centred on offset `at`."""
    from citeqa.ingest.sentences import split_sentences

    lo, hi = max(0, at - GOLD_MAX_CHARS // 2), at + GOLD_MAX_CHARS // 2
    inside = [s for s in split_sentences(text) if lo <= s.start and s.end <= hi]
    return text[inside[0].start : inside[-1].end] if inside else text[lo:hi]
