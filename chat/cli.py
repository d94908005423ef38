"""`citeqa ask`: one question from the command line, or a session of them from the terminal."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable
from pathlib import Path

import click

from citeqa.errors import CiteqaError
from citeqa.index import open_index
from citeqa.index.retrieval import RETRIEVAL_MODES
from citeqa.options import index_option
from citeqa.terminal import printable

from .answer import Answer
from .settings import DEFAULT_PASSAGES, MAX_PASSAGES, PASSAGES_HELP


@click.command("ask")
@click.argument("question", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the answer contract as JSON.")
@click.option(
    "-k", type=click.IntRange(1, MAX_PASSAGES), default=DEFAULT_PASSAGES, show_default=True, help=PASSAGES_HELP
)
@click.option("--retrieval", type=click.Choice(RETRIEVAL_MODES), default="hybrid", show_default=True)
@index_option
@click.option(
    "--server",
    envvar="CITEQA_SERVER",
    help="Ask the citeqa serve running at this URL (e.g. http://127.0.0.1:7860) instead of loading the model here: "
    "answers at once. It answers from its own index and settings.",
)
def ask_command(
    question: str | None, as_json: bool, k: int, retrieval: str, index_dir: Path | None, server: str | None
) -> None:
    """Answer QUESTION from the documents. Without QUESTION, read questions line by line."""
    from .question import QuestionError, check_question

    if question is not None:
        check_question(question)  # a bad question fails before the model loads
    answer = _remote(server, k, retrieval, index_dir) if server else _local(index_dir, k, retrieval)
    if question is not None:
        _show(answer(question), as_json)
        return
    interactive = sys.stdin.isatty()
    if isinstance(sys.stdin, io.TextIOWrapper):
        sys.stdin.reconfigure(errors="surrogateescape")  # a line that is not UTF-8 is refused, not a crash
    while True:
        line = _read_question(interactive)
        if line is None:
            return
        if not line.strip():
            continue
        try:
            _show(answer(line), as_json)
        except QuestionError as exc:
            click.echo(f"citeqa: {exc}", err=True)


def _local(index_dir: Path | None, k: int, retrieval: str) -> Callable[[str], Answer]:
    from .answerer import Answerer
    from .settings import AnswerSettings

    index, embedder = open_index(index_dir)
    return Answerer(index, embedder, AnswerSettings.for_index(index, k=k, retrieval=retrieval)).answer


def _remote(server: str, k: int, retrieval: str, index_dir: Path | None) -> Callable[[str], Answer]:
    from .remote import ask_server

    if index_dir is not None or retrieval != "hybrid":
        raise CiteqaError(
            "--server asks a running server, which answers from its own index and retrieval",
            "drop --index and --retrieval, or ask without --server",
        )
    return lambda question: ask_server(server, question, k)


def _read_question(interactive: bool) -> str | None:
    try:
        return input("question> ") if interactive else next(sys.stdin)
    except (EOFError, StopIteration):
        return None


def _show(answer: Answer, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(answer.to_dict(), ensure_ascii=False))
        return
    click.echo(format_answer(answer, color=sys.stdout.isatty()))


def format_answer(answer: Answer, color: bool = False) -> str:
    """The answer for people: the span, its sentence with the span marked, and where it stands."""
    # Every piece of document text goes through `printable`: a title or quote never commands the terminal.
    if answer.text is None:
        lines = [f"The documents don't answer this (confidence {answer.confidence:.2f})."]
        if answer.passages:
            best = answer.passages[0].chunk
            lines.append(f"Closest passage ({printable(best.source)}, chars {best.start}-{best.end}):")
            lines.append("  " + printable(" ".join(best.text.split())[:400]))
        return "\n".join(lines)
    citation = answer.citations[0]
    text = printable(answer.text)
    before = printable(citation.quote[: citation.start - citation.quote_start])
    after = printable(citation.quote[citation.end - citation.quote_start :])
    marked = click.style(text, bold=True, underline=True) if color else f"«{text}»"
    return "\n".join(
        [
            f"Answer: {click.style(text, bold=True) if color else text}   (confidence {answer.confidence:.2f})",
            "",
            "  " + " ".join((before + marked + after).split()),
            "",
            f"  — {printable(citation.title)}",
            f"    {printable(citation.source)}, chars {citation.start}-{citation.end}",
        ]
    )
