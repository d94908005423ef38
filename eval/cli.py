"""`citeqa eval`: run a question set (the default subcommand), compare two runs, import SQuAD files."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from citeqa.chat.confidence import FEATURE_NAMES
from citeqa.chat.settings import COMPONENTS, DEFAULT_PASSAGES, MAX_PASSAGES, MAX_READ_PASSAGES, PASSAGES_HELP
from citeqa.index import open_index
from citeqa.index.retrieval import RETRIEVAL_MODES
from citeqa.options import index_option
from citeqa.precision import PRECISIONS

EVAL_PASSAGES = 10  # passages shown per answer in an eval run: the retrieval metrics go up to hit@10

if TYPE_CHECKING:
    from citeqa.index.embedder import Embedder
    from citeqa.index.search import SearchIndex


class _EvalGroup(click.Group):
    """`citeqa eval QUESTIONS ...` means `citeqa eval run QUESTIONS ...`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group("eval", cls=_EvalGroup)
def eval_command() -> None:
    """Evaluate on a question set: `citeqa eval QUESTIONS --out DIR` (run), compare, import-squad."""


@eval_command.command("run")
@click.argument("questions", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path, file_okay=False), help="Run folder.")
@click.option("--corpus", type=click.Path(path_type=Path), help="Ingest this collection for the run.")
@index_option
@click.option(
    "-k",
    type=click.IntRange(1, MAX_PASSAGES),
    default=EVAL_PASSAGES,
    show_default=True,
    help=f"{PASSAGES_HELP} Eval shows {EVAL_PASSAGES} (the chat {DEFAULT_PASSAGES}): its metrics go to hit@10.",
)
@click.option(
    "--read-passages",
    type=click.IntRange(1, MAX_READ_PASSAGES),
    help="Retrieved passages the reader reads whole, best first (default 5).",
)
@click.option("--retrieval", type=click.Choice(RETRIEVAL_MODES), help="Retrieval mode (default hybrid).")
@click.option("--min-confidence", type=click.FloatRange(0, 1), help="Abstention threshold (default: the index's).")
@click.option(
    "--disable",
    multiple=True,
    type=click.Choice(COMPONENTS),
    help="Switch a part of the answerer off, for an ablation (repeatable).",
)
@click.option(
    "--disable-feature",
    multiple=True,
    type=click.Choice(FEATURE_NAMES),
    help="Hold a confidence feature at its mean, for an ablation (repeatable).",
)
@click.option(
    "--precision", type=click.Choice(PRECISIONS), help="The reader's precision (default auto: bf16 if the CPU has it)."
)
@click.option(
    "--reader",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    envvar="CITEQA_READER",
    help="Folder of a reader trained with `citeqa train --out` (default: the shipped one).",
)
@click.option("--chunk-tokens", type=int, help="Chunk size for --corpus (default 256).")
@click.option("--overlap-tokens", type=int, help="Chunk overlap for --corpus (default 32).")
@click.option("--calibrate", is_flag=True, help="Sweep the abstention threshold and choose an operating point.")
@click.option("--save", "save_threshold", is_flag=True, help="With --calibrate: save the threshold into the index.")
@click.option("--strict", is_flag=True, help="Fail on a bad question line instead of skipping it.")
def run_command(
    questions: Path,
    out_dir: Path,
    corpus: Path | None,
    index_dir: Path | None,
    k: int,
    read_passages: int | None,
    retrieval: str | None,
    min_confidence: float | None,
    disable: tuple[str, ...],
    disable_feature: tuple[str, ...],
    precision: str | None,
    reader: Path | None,
    chunk_tokens: int | None,
    overlap_tokens: int | None,
    calibrate: bool,
    save_threshold: bool,
    strict: bool,
) -> None:
    """Answer every question of QUESTIONS (JSONL) and write predictions, metrics and a report to OUT."""
    from citeqa.chat.settings import AnswerSettings
    from citeqa.errors import CiteqaError

    from .calibrate import choose, sweep
    from .questions import QuestionSetError, read_questions
    from .reliability import reliability
    from .report import write_report
    from .run import Sources, evaluate, run_metrics, write_run
    from .summary import headline_lines

    if save_threshold and not calibrate:
        raise CiteqaError("--save saves a calibrated threshold", "add --calibrate")
    if (chunk_tokens or overlap_tokens) and corpus is None:
        raise CiteqaError("chunk settings apply to a collection the eval ingests", "add --corpus DIR")
    question_set = read_questions(questions)  # a bad set fails before the model loads
    problems = list(question_set.problems)
    _fail_if_strict(strict, problems)
    if corpus is not None:
        index, embedder = _corpus_index(corpus, index_dir, chunk_tokens, overlap_tokens)
    else:
        index, embedder = open_index(index_dir)
    unknown = Sources(index).unknown(question_set.items)
    problems += [f"{questions}:{i.line}: source {i.source!r} is not in the index" for i in unknown]
    _fail_if_strict(strict, problems)
    for problem in problems:
        click.echo(f"citeqa: skipped {problem}", err=True)
    items = [i for i in question_set.items if i not in unknown]
    if not items:
        raise QuestionSetError(f"no question of {questions} can be asked of this index", "check the sources")

    overrides: dict[str, Any] = {"k": k}
    if read_passages is not None:
        overrides["read_passages"] = read_passages
    if precision is not None:
        overrides["precision"] = precision
    if min_confidence is not None:
        overrides["min_confidence"] = min_confidence
    if retrieval is not None:
        overrides["retrieval"] = retrieval
    if disable:
        overrides["disabled"] = tuple(sorted(set(disable)))
    if reader is not None:
        overrides["reader"] = str(reader)
    if disable_feature:
        overrides["disabled_features"] = tuple(sorted(set(disable_feature)))
    settings = AnswerSettings.for_index(index, **overrides)
    with click.progressbar(length=len(items), label="answering", file=sys.stderr) as bar:
        run = evaluate(index, embedder, settings, items, bar.update)
    curve = sweep(run.raw_outcomes)
    metrics = run_metrics(run, settings, index, questions_file=str(questions), corpus=corpus and str(corpus))
    metrics["counts"]["skipped"] = len(problems)
    metrics["curve"] = [p.to_dict() for p in curve]
    metrics["reliability"] = reliability(run.raw_outcomes)
    metrics["calibration"] = None
    if calibrate:
        chosen = choose(curve)
        saved = _save_threshold(index, chosen.threshold, questions) if save_threshold else None
        metrics["calibration"] = {"chosen": chosen.to_dict(), "saved_to": saved and str(saved)}
    write_run(out_dir, run, metrics)
    html, _ = write_report(out_dir, metrics, [o.to_dict() for o in run.outcomes])
    for line in headline_lines(metrics):
        click.echo(line)
    if metrics["calibration"]:
        _print_calibration(metrics["calibration"], run.threshold)
    click.echo(f"run written to {out_dir} (report: {html})")


def _fail_if_strict(strict: bool, problems: list[str]) -> None:
    from .questions import QuestionSetError

    if strict and problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise QuestionSetError(problems[0] + more, "fix the question set, or leave out --strict to skip bad lines")


def _corpus_index(
    corpus: Path, index_dir: Path | None, chunk_tokens: int | None, overlap_tokens: int | None
) -> tuple[SearchIndex, Embedder]:
    """An index of `corpus` for this run: in memory, or at --index (reused while the collection is unchanged)."""
    from citeqa.index.corpus import index_corpus
    from citeqa.index.embedder import Embedder
    from citeqa.index.manifest import IndexSettings
    from citeqa.ingest.chunking import ChunkSettings

    chunking = ChunkSettings()
    if chunk_tokens:
        chunking = replace(chunking, max_tokens=chunk_tokens)
    if overlap_tokens:
        chunking = replace(chunking, overlap_tokens=overlap_tokens)
    settings = IndexSettings(chunking=chunking)
    embedder = Embedder(settings.model)
    click.echo(f"indexing {corpus} ...", err=True)
    index, report = index_corpus(corpus, settings, embedder, index_dir)
    for skipped in report.skipped:
        click.echo(f"citeqa: skipped {skipped.path}: {skipped.reason}", err=True)
    return index, embedder


def _save_threshold(index: SearchIndex, threshold: float, questions: Path) -> Path:
    from citeqa.errors import CiteqaError
    from citeqa.index.config import update_config

    if index.path is None:
        raise CiteqaError("an index built in memory for --corpus has nowhere to keep a threshold", "add --index DIR")
    return update_config(index.path, min_confidence=threshold, calibrated_on=str(questions))


def _print_calibration(calibration: dict[str, Any], current: float) -> None:
    chosen = calibration["chosen"]
    click.echo(
        f"calibration: threshold {chosen['threshold']:.3f} gives overall f1 {chosen['overall_f1']:.3f}, "
        f"coverage {chosen['coverage']:.3f}, precision {chosen['precision'] or 0:.3f} (this run used {current:.3f})"
    )
    if calibration["saved_to"]:
        click.echo(f"saved to {calibration['saved_to']}: the chat abstains below {chosen['threshold']:.3f} now")


@eval_command.command("compare")
@click.argument("run_a", type=click.Path(path_type=Path, file_okay=False))
@click.argument("run_b", type=click.Path(path_type=Path, file_okay=False))
def compare_command(run_a: Path, run_b: Path) -> None:
    """Print each metric's change from RUN_A to RUN_B and the questions whose outcome changed."""
    from .compare import read_run, report_lines

    for line in report_lines(read_run(run_a), read_run(run_b)):
        click.echo(line)


@eval_command.command("import-squad")
@click.argument("squad_file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path, file_okay=False), help="New folder.")
def import_squad_command(squad_file: Path, out_dir: Path) -> None:
    """Turn a SQuAD v1.1/v2.0 FILE into OUT/corpus/ (one document per article) and OUT/questions.jsonl."""
    from .squad import import_squad

    result = import_squad(squad_file, out_dir)
    click.echo(
        f"{result.documents} documents in {result.corpus_dir}, {result.questions} questions "
        f"({result.unanswerable} unanswerable) in {result.questions_path}; "
        f"{result.repaired_offsets} answer offsets repaired"
    )
    click.echo(f"next: citeqa eval {result.questions_path} --corpus {result.corpus_dir} --out RUN_DIR")
