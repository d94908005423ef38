"""`citeqa train`: fine-tune the span reader on the shared training sets, or on your own question set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from citeqa.chat.reader import READER_DIR
from citeqa.errors import CiteqaError

from .reader_data import SPLITS, Corpus, Example, load_corpus, load_squad, make_examples, select, split_of

SHARED_BENCH = Path(__file__).resolve().parents[2] / "shared" / "bench"
DEFAULT_SQUAD = SHARED_BENCH / "squad2-train" / "squad2-train-10-articles.json"
DEFAULT_COVIDQA = SHARED_BENCH / "covidqa" / "200423_covidQA.json"
# The shared SQuAD subset has only 10 articles, too few for a hashed split: these are held out by name. The test
# articles include Spectre (188 unanswerable questions); the reader still trains on Zelda's 160.
SQUAD_HELD_OUT = {"Spectre (2015 film)": "test", "To Kill a Mockingbird": "test", "Solar energy": "calibrate"}


def split_corpus(corpus: Corpus, held_out: dict[str, str] | None = None) -> dict[str, Corpus]:
    """The corpus's documents in train/calibrate/test: by title where `held_out` names it, else by hash."""
    named = held_out or {}

    def split(source: str) -> str:
        title = corpus.texts[source].split("\n", 1)[0].strip()
        return named.get(title, "train") if named else split_of(source)

    return {name: select(corpus, [s for s in corpus.texts if split(s) == name]) for name in SPLITS}


def default_corpora() -> list[tuple[Corpus, dict[str, str] | None]]:
    for path in (DEFAULT_SQUAD, DEFAULT_COVIDQA):
        if not path.is_file():
            raise CiteqaError(f"the training file {path} is missing", "put ../shared beside the repository")
    return [(load_squad(DEFAULT_SQUAD, "squad2-train"), SQUAD_HELD_OUT), (load_squad(DEFAULT_COVIDQA, "covidqa"), None)]


def build(
    corpora: list[tuple[Corpus, dict[str, str] | None]], seed: int, limit: int | None = None
) -> tuple[list[Example], dict[str, list[Example]], dict[str, Any]]:
    """Training windows, validation windows per corpus (its test split), and the data record for the manifest."""
    train: list[Example] = []
    validation: dict[str, list[Example]] = {}
    record: dict[str, Any] = {}
    for corpus, held_out in corpora:
        parts = split_corpus(corpus, held_out)
        examples = make_examples(parts["train"], seed)
        train.extend(examples[:limit])
        validation[corpus.name] = make_examples(parts["test"], seed)[: limit and max(limit // 4, 8)]
        record[corpus.name] = {
            name: {"documents": len(part.texts), "questions": len(part.items)} for name, part in parts.items()
        }
        record[corpus.name]["held_out_by_name"] = held_out
        record[corpus.name]["train_windows"] = len(examples)
    return train, validation, {"data": record}


def write_training(corpora: list[tuple[Corpus, dict[str, str] | None]], work: Path) -> dict[str, Path]:
    """Each corpus's train split as a question set on disk (the sentence model learns from it)."""
    from .splits import write_split

    written: dict[str, Path] = {}
    for corpus, held_out in corpora:
        part = split_corpus(corpus, held_out)["train"]
        if part.items:
            write_split(part, work / f"{corpus.name}-train")
            written[f"{corpus.name}-train"] = work / f"{corpus.name}-train"
    return written


def write_held_out(corpora: list[tuple[Corpus, dict[str, str] | None]], work: Path, seed: int) -> dict[str, Path]:
    """Each corpus's calibrate and test splits as question sets on disk, each also with answers cut out."""
    from .splits import without_answers, write_split

    written: dict[str, Path] = {}
    for corpus, held_out in corpora:
        parts = split_corpus(corpus, held_out)
        for split in ("calibrate", "test"):
            part = parts[split]
            if not part.items:
                continue
            for name, variant in ((f"{corpus.name}-{split}", part), (f"{corpus.name}-{split}-cut", None)):
                chosen = variant if variant is not None else without_answers(part, seed)
                if chosen.items:
                    write_split(chosen, work / name)
                    written[name] = work / name
    return written


@click.command("train")
@click.argument("questions", required=False, type=click.Path(path_type=Path))
@click.option("--corpus", type=click.Path(path_type=Path), help="Folder the question set's sources are in.")
@click.option("--out", type=click.Path(path_type=Path), default=READER_DIR, show_default=True)
@click.option(
    "--work", type=click.Path(path_type=Path), default=Path("build/train"), show_default=True,
    help="Where the held-out question sets and their indexes are written.",
)  # fmt: skip
@click.option("--epochs", type=click.IntRange(1, 20), default=2, show_default=True)
@click.option("--seed", type=int, default=13, show_default=True)
@click.option("--max-steps", type=click.IntRange(1), help="Stop after this many batches (a quick try).")
@click.option("--limit", type=click.IntRange(1), help="Use at most this many training windows per corpus.")
@click.option("--with-shared/--without-shared", default=True, help="Also train on ../shared's SQuAD and COVID-QA.")
@click.option(
    "--keep-reader", is_flag=True, help="Keep the reader in --out; fit only the sentence and confidence models."
)
def train_command(
    questions: Path | None,
    corpus: Path | None,
    out: Path,
    work: Path,
    epochs: int,
    seed: int,
    max_steps: int | None,
    limit: int | None,
    with_shared: bool,
    keep_reader: bool,
) -> None:
    """Fine-tune the span reader, fit the sentence model on the training documents, then the confidence model on
    held-out ones.

    Trains on ../shared's SQuAD 2.0 subset and COVID-QA (about 35 minutes on two CPU cores). With QUESTIONS
    (a citeqa question set whose lines name their `source` and answers) and --corpus, the reader also learns
    your own documents; every set is split by document, never by question, and the manifest records it."""
    from .fit_confidence import fit_confidence
    from .fit_sentences import fit_sentence_model, report_ranking
    from .train_reader import TrainSettings, train

    if (questions is None) != (corpus is None):
        raise click.UsageError("give QUESTIONS and --corpus together")
    corpora = default_corpora() if with_shared else []
    if questions is not None and corpus is not None:
        corpora.append((load_corpus(questions, corpus, questions.stem), None))
    if not corpora:
        raise click.UsageError("nothing to train on: give QUESTIONS --corpus DIR, or keep --with-shared")
    if not keep_reader:
        train_examples, validation, data = build(corpora, seed, limit)
        settings = TrainSettings(seed=seed, epochs=epochs, max_steps=max_steps)
        manifest = train(train_examples, validation, out, settings, data, say=click.echo)
        click.echo(f"reader written to {out} (sha256 {manifest.sha256[:12]}...)")
    sentences = fit_sentence_model(_sets(write_training(corpora, work)), work, out, say=click.echo)
    held_out = write_held_out(corpora, work, seed)
    report_ranking(_sets({n: path for n, path in held_out.items() if "-cut" not in n}), work, sentences, click.echo)
    fit_confidence(_sets({n: path for n, path in held_out.items() if "-calibrate" in n}), work, out, say=click.echo)
    click.echo(f"sentence and confidence models written to {out}; held-out test sets in {work}:")
    for name, path in held_out.items():
        if "-test" in name:
            questions, corpus, index = path / "questions.jsonl", path / "corpus", work / f"index-{name}"
            click.echo(f"  citeqa eval {questions} --corpus {corpus} --index {index} --out runs/{name}")


def _sets(written: dict[str, Path]) -> list[tuple[str, Path, Path]]:
    """(name, questions, corpus) of each question set written on disk."""
    return [(name, path / "questions.jsonl", path / "corpus") for name, path in written.items()]
