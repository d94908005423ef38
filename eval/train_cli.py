"""`citeqa train`: fine-tune the span reader on the shared training sets, or on your own question set."""

from __future__ import annotations

import random
from collections.abc import Callable, Collection
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from citeqa.chat.reader import READER_DIR
from citeqa.errors import CiteqaError
from citeqa.precision import PRECISIONS

from .reader_data import SPLITS, Corpus, Example, load_corpus, make_examples, select, split_of
from .reader_sources import SOURCES, gold_paragraphs, load_source
from .train_reader import DEFAULT_MAX_FEATURES, TrainSettings

CHUNK_PIECES = 256  # all-MiniLM-L6-v2's limit, which ingest's chunks keep to
NEGATIVE_RATE = 0.4  # answerable questions that also get a retrieved passage not holding their answer

VALIDATION_PASSAGES = 200  # per source, read after training (minutes, not the hour a whole test split would take)
GOLD_PARAGRAPHS = 400  # per source: the reader alone on each question's own paragraph
# Questions answered end to end per source: to fit the confidence model (calibrate) and to judge (test).
HELD_OUT_QUESTIONS = {"calibrate": 60, "test": 100}
# What a continued reader's manifest keeps of each earlier stage of its training.
STAGE_RECORD = (
    "features_available", "features", "steps", "settings", "precision", "first_loss", "last_loss", "minutes",
)  # fmt: skip


def split_corpus(corpus: Corpus, held_out: dict[str, str] | None = None) -> dict[str, Corpus]:
    """A user's corpus in train/calibrate/test: by title where `held_out` names it, else by its name's hash."""
    named = held_out or {}

    def split(source: str) -> str:
        title = corpus.texts[source].split("\n", 1)[0].strip()
        return named.get(title, "train") if named else split_of(source)

    return {name: select(corpus, [s for s in corpus.texts if split(s) == name]) for name in SPLITS}


def shared_corpora() -> list[dict[str, Corpus]]:
    """Every shared source's splits (see eval.reader_sources)."""
    return [load_source(source) for source in SOURCES]


def build(
    corpora: list[dict[str, Corpus]],
    seed: int,
    fits: Callable[[str], bool],
    limit: int | None = None,
    negative_rate: float = NEGATIVE_RATE,
    say: Callable[[str], None] = click.echo,
) -> tuple[list[Example], dict[str, list[Example]], dict[str, Any]]:
    """Training passages, validation passages per corpus (its test split), and the data record for the manifest."""
    rng = random.Random(seed)
    train: list[Example] = []
    validation: dict[str, list[Example]] = {}
    record: dict[str, Any] = {}
    for parts in corpora:
        name = parts["train"].name
        examples = make_examples(parts["train"], seed, fits, negative_rate)
        train.extend(examples[:limit])
        tests = make_examples(parts["test"], seed, fits, negative_rate)
        validation[name] = rng.sample(tests, min(len(tests), limit or VALIDATION_PASSAGES))
        record[name] = {split: {"documents": len(p.texts), "questions": len(p.items)} for split, p in parts.items()}
        record[name]["train_passages"] = len(examples)
        record[name]["train_null_passages"] = sum(e.answer is None for e in examples)
        say(f"{name}: {len(examples)} training passages ({record[name]['train_null_passages']} not answering)")
    return train, validation, {"data": record, "negative_rate": negative_rate}


def gold_sets(limit: int | None, seed: int) -> dict[str, list[tuple[str, str, tuple[str, ...]]]]:
    """Each shared source's test questions with their own paragraphs, a fixed sample per source."""
    out = {}
    for source in SOURCES:
        items = gold_paragraphs(source)
        out[source.name] = random.Random(seed).sample(items, min(len(items), limit or GOLD_PARAGRAPHS))
    return out


def write_training(corpora: list[dict[str, Corpus]], work: Path) -> dict[str, Path]:
    """Each corpus's train split as a question set on disk."""
    from .splits import write_split

    written: dict[str, Path] = {}
    for parts in corpora:
        part = parts["train"]
        if part.items:
            write_split(part, work / f"{part.name}-train")
            written[f"{part.name}-train"] = work / f"{part.name}-train"
    return written


def sample_documents(corpus: Corpus, questions: int, seed: int) -> Corpus:
    """Whole documents, drawn at random, until they hold `questions` questions, and at most that many of theirs."""
    sources = sorted(corpus.texts)
    random.Random(seed).shuffle(sources)
    asked: dict[str, int] = {}
    for item in corpus.items:
        if item.source is not None:
            asked[item.source] = asked.get(item.source, 0) + 1
    kept, total = [], 0
    for source in sources:
        if total >= questions:
            break
        if asked.get(source):
            kept.append(source)
            total += asked[source]
    chosen = select(corpus, kept)
    if len(chosen.items) > questions:  # a long article holds hundreds: its questions are drawn too
        drawn = set(random.Random(seed).sample(range(len(chosen.items)), questions))
        chosen = Corpus(chosen.name, [item for i, item in enumerate(chosen.items) if i in drawn], chosen.texts)
    return chosen


def write_held_out(
    corpora: list[dict[str, Corpus]],
    work: Path,
    seed: int,
    questions: dict[str, int] | None = None,
    drawn_before: Collection[str] = (),
) -> dict[str, Path]:
    """Each corpus's calibrate and test splits as question sets on disk (documents sampled to hold `questions`
    of each split's questions, so the sets are answered in minutes), each also with answers cut out. Questions
    whose ids are in `drawn_before` are never drawn (another draw of the same splits, bench/fresh_held_out.py)."""
    from .splits import without_answers, write_split

    written: dict[str, Path] = {}
    for parts in corpora:
        for split in ("calibrate", "test"):
            fresh = [item for item in parts[split].items if item.id not in drawn_before]
            part = replace(parts[split], items=fresh)
            part = sample_documents(part, (questions or HELD_OUT_QUESTIONS)[split], seed)
            if not part.items:
                continue
            for name, variant in ((f"{part.name}-{split}", part), (f"{part.name}-{split}-cut", None)):
                chosen = variant if variant is not None else without_answers(part, seed)
                if chosen.items:
                    write_split(chosen, work / name)
                    written[name] = work / name
    return written


def user_corpus(questions: Path, corpus: Path) -> dict[str, Corpus]:
    """A user's question set over their documents, split by document."""
    return split_corpus(load_corpus(questions, corpus, questions.stem))


@click.command("train")
@click.argument("questions", required=False, type=click.Path(path_type=Path))
@click.option("--corpus", type=click.Path(path_type=Path), help="Folder the question set's sources are in.")
@click.option("--out", type=click.Path(path_type=Path), default=READER_DIR, show_default=True)
@click.option(
    "--work", type=click.Path(path_type=Path), default=Path("build/train"), show_default=True,
    help="Where the checkpoint, the held-out question sets and their indexes are written.",
)  # fmt: skip
@click.option("--epochs", type=click.IntRange(1, 20), default=1, show_default=True)
@click.option("--seed", type=int, default=13, show_default=True)
@click.option("--max-steps", type=click.IntRange(1), help="Stop after this many batches (a quick try).")
@click.option(
    "--max-features", type=click.IntRange(0), default=DEFAULT_MAX_FEATURES, show_default=True,
    help="Features (question + passage pieces) trained on, drawn from every source; 0: all of them. A run stops "
    "at the end of the epoch it starts in; with --continue-from past all of them, the next epoch (its own order).",
)  # fmt: skip
@click.option("--limit", type=click.IntRange(1), help="Use at most this many training passages per corpus.")
@click.option("--precision", type=click.Choice(PRECISIONS), default="auto", show_default=True)
@click.option(
    "--checkpoint-minutes", type=click.FloatRange(0), default=5.0, show_default=True,
    help="Save a checkpoint to resume from this often (0: after every step).",
)  # fmt: skip
@click.option(
    "--continue-from", type=click.Path(path_type=Path, file_okay=False),
    help="Go on training this reader (made by `citeqa train` with the same seed) on the features of the same "
    "draw it has not seen, up to --max-features.",
)  # fmt: skip
@click.option("--learning-rate", type=click.FloatRange(0, min_open=True), default=1e-4, show_default=True)
@click.option("--threads", type=click.IntRange(1), default=2, show_default=True, help="CPU threads for training.")
@click.option("--with-shared/--without-shared", default=True, help="Also train on ../shared/bench's sets.")
@click.option("--keep-reader", is_flag=True, help="Keep the reader in --out; fit only the confidence model.")
@click.option("--reader-only", is_flag=True, help="Train the reader; fit the confidence model later (--keep-reader).")
def train_command(
    questions: Path | None,
    corpus: Path | None,
    out: Path,
    work: Path,
    epochs: int,
    seed: int,
    max_steps: int | None,
    max_features: int,
    limit: int | None,
    precision: str,
    checkpoint_minutes: float,
    continue_from: Path | None,
    learning_rate: float,
    threads: int,
    with_shared: bool,
    keep_reader: bool,
    reader_only: bool,
) -> None:
    """Fine-tune the span reader, then fit the confidence model on held-out documents.

    Trains on every set under ../shared/bench (qa-train, the SQuAD 2.0 subset, COVID-QA), each split by its own
    unit (article, product, policy, post, review domain, paper). With QUESTIONS (a citeqa question set whose lines
    name their `source` and answers) and --corpus, the reader also learns your own documents, split by document.
    Killed and run again with the same options, it resumes from its last checkpoint in --work."""
    from citeqa.chat.reader import base_model_path

    from .fit_confidence import fit_confidence
    from .train_reader import train

    if (questions is None) != (corpus is None):
        raise click.UsageError("give QUESTIONS and --corpus together")
    corpora = shared_corpora() if with_shared else []
    if questions is not None and corpus is not None:
        corpora.append(user_corpus(questions, corpus))
    if not corpora:
        raise click.UsageError("nothing to train on: give QUESTIONS --corpus DIR, or keep --with-shared")
    if not keep_reader:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(base_model_path()))

        def fits(text: str) -> bool:  # the embedding model's limit, as ingest cuts chunks
            return len(tokenizer(text, verbose=False)["input_ids"]) <= CHUNK_PIECES

        train_examples, validation, data = build(corpora, seed, fits, limit)
        settings = TrainSettings(
            seed=seed,
            epochs=epochs,
            max_steps=max_steps,
            max_features=max_features or None,
            precision=precision,
            checkpoint_minutes=checkpoint_minutes,
            learning_rate=learning_rate,
            threads=threads,
        )
        start = None
        if continue_from is not None:
            settings, start, stages = continuation(continue_from, settings)
            data = {**data, "earlier_stages": stages}
        gold = gold_sets(limit, seed) if with_shared else None
        manifest = train(train_examples, validation, out, work, settings, data, click.echo, gold, start)
        click.echo(f"reader written to {out} (sha256 {manifest.sha256[:12]}...)")
    if reader_only:
        return
    held_out = write_held_out(corpora, work, seed)
    fit_confidence(_sets({n: path for n, path in held_out.items() if "-calibrate" in n}), work, out, say=click.echo)
    click.echo(f"confidence model written to {out}; held-out test sets in {work}:")
    for name, path in held_out.items():
        if "-test" in name:
            questions, corpus, index = path / "questions.jsonl", path / "corpus", work / f"index-{name}"
            click.echo(f"  citeqa eval {questions} --corpus {corpus} --index {index} --out runs/{name}")


def continuation(reader: Path, settings: TrainSettings) -> tuple[TrainSettings, dict[str, Any], list[dict[str, Any]]]:
    """`settings` continuing `reader`, its weights, and the record of every stage of training that made it (for
    the manifest: a continued reader's manifest says how all of it was made)."""
    from citeqa.chat.reader import SpanReader

    try:
        loaded = SpanReader(reader)  # checks the weights against their manifest
    except CiteqaError as exc:
        raise click.UsageError(f"--continue-from: {exc}") from exc
    manifest = loaded.manifest
    earlier = manifest.training.get("settings", {})
    seen = (earlier.get("features_seen") or 0) + manifest.training.get("features", 0)
    if earlier.get("seed") != settings.seed:
        raise click.UsageError(f"--continue-from: {reader} was trained with seed {earlier.get('seed')}; give --seed")
    if settings.max_features is None or settings.max_features <= seen:
        raise click.UsageError(
            f"--continue-from: {reader} has seen the first {seen} features of its draw; give --max-features above "
            f"{seen}"
        )
    weights = dict(loaded.model.state_dict())
    done = manifest.training
    stage = {"sha256": manifest.sha256, **{key: done.get(key) for key in STAGE_RECORD}}
    stages = [*done.get("earlier_stages", []), stage]
    return replace(settings, continued_from=manifest.sha256, features_seen=seen), weights, stages


def _sets(written: dict[str, Path]) -> list[tuple[str, Path, Path]]:
    """(name, questions, corpus) of each question set written on disk."""
    return [(name, path / "questions.jsonl", path / "corpus") for name, path in written.items()]
