"""`citeqa ask`: one question from the command line, or a session of them from the terminal."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import click

from citeqa.errors import CiteqaError
from citeqa.index import open_index
from citeqa.index.retrieval import RETRIEVAL_MODES
from citeqa.options import index_option, precision_option
from citeqa.paths import default_index
from citeqa.terminal import printable

from .answer import Answer
from .conversation import MAX_HISTORY, Turn
from .failures import SHUTDOWN, AnswerFailedError, answer_failed
from .settings import DEFAULT_PASSAGES, MAX_PASSAGES, PASSAGES_HELP

Ask = Callable[[str, Sequence[Turn]], Answer]  # a question and the turns before it -> its answer


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
@precision_option
def ask_command(
    question: str | None,
    as_json: bool,
    k: int,
    retrieval: str,
    index_dir: Path | None,
    server: str | None,
    precision: str,
) -> None:
    """Answer QUESTION from the documents. Without QUESTION, read questions line by line: a session, in which a
    follow-up ("And in 2025?", "Who signed it?") builds on the answer before it."""
    from .question import QuestionError, check_question

    if question is not None:
        check_question(question)  # a bad question fails before the model loads
    if server:
        answer = _remote(server, k, retrieval, index_dir, precision)
    else:
        answer = _running_or_local(index_dir, k, retrieval, precision)
    answer = _one_message_on_failure(answer)
    if question is not None:
        _show(answer(question, ()), as_json)
        return
    interactive = sys.stdin.isatty()
    history: list[Turn] = []
    if isinstance(sys.stdin, io.TextIOWrapper):
        sys.stdin.reconfigure(errors="surrogateescape")  # a line that is not UTF-8 is refused, not a crash
    while True:
        line = _read_question(interactive)
        if line is None:
            return
        if not line.strip():
            continue
        try:
            reply = answer(line, history)
        except (QuestionError, AnswerFailedError) as exc:  # that question's trouble: the session goes on
            click.echo(f"citeqa: {exc}", err=True)
            continue
        _show(reply, as_json)
        history = [*history, Turn(reply.question, reply.text)][-MAX_HISTORY:]


def _one_message_on_failure(answer: Ask) -> Ask:
    """`answer`, with a fault while answering one question (a tokenizer's PanicException, a BaseException) turned
    into AnswerFailedError: one message, not a traceback, and a session goes on to the next question."""

    def answered(question: str, history: Sequence[Turn]) -> Answer:
        try:
            return answer(question, history)
        except (CiteqaError, *SHUTDOWN):
            raise
        except BaseException as exc:
            raise answer_failed(exc) from exc

    return answered


def _local(index_dir: Path | None, k: int, retrieval: str, precision: str = "auto") -> Ask:
    from citeqa.precision import resolve

    resolve(precision)  # a bf16 this CPU lacks is refused before anything loads
    # Loading torch, the embedding model and the reader takes seconds: say so, on stderr, only to a person.
    loading = sys.stderr.isatty()
    if loading:
        click.echo("citeqa: loading the index and models…", err=True, nl=False)
    from .answerer import Answerer
    from .settings import AnswerSettings

    index, embedder = open_index(index_dir, precision)  # the question and the reader in one precision
    settings = AnswerSettings.for_index(index, k=k, retrieval=retrieval, precision=precision)
    answerer = Answerer(index, embedder, settings)
    if loading:
        click.echo(" ready.", err=True)
    return lambda question, history: answerer.answer(question, history=history)


def _running_or_local(index_dir: Path | None, k: int, retrieval: str, precision: str = "auto") -> Ask:
    """A `citeqa serve` announced on this index answers (it retrieves the same way, in its own precision, unless
    --retrieval or --precision say otherwise); else, or once it stops answering, the index and models load here."""
    from citeqa.servers import running_server

    from .question import QuestionError
    from .remote import ask_server

    as_served = retrieval == "hybrid" and precision == "auto"
    url = running_server(index_dir or default_index()) if as_served else None
    if url is None:
        return _local(index_dir, k, retrieval, precision)
    if sys.stderr.isatty():
        click.echo(f"citeqa: asking the server running on this index at {url}", err=True)
    here: list[Ask] = []

    def ask(question: str, history: Sequence[Turn]) -> Answer:
        if not here:
            try:
                return ask_server(url, question, k, history)
            except (QuestionError, AnswerFailedError):  # the question's trouble, not the server's
                raise
            except CiteqaError:  # gone, busy or changed since it announced itself: answer here instead
                here.append(_local(index_dir, k, retrieval, precision))
        return here[0](question, history)

    return ask


def _remote(server: str, k: int, retrieval: str, index_dir: Path | None, precision: str = "auto") -> Ask:
    from .remote import ask_server

    if index_dir is not None or retrieval != "hybrid" or precision != "auto":
        raise CiteqaError(
            "--server asks a running server, which answers from its own index, retrieval and precision",
            "drop --index, --retrieval and --precision, or ask without --server",
        )
    return lambda question, history: ask_server(server, question, k, history)


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
    lines = []
    if answer.asked is not None:
        lines.append(f"(Understood as: {printable(answer.question)})")
    if answer.searched_for is not None:
        lines.append(f"(Searched for: {printable(answer.searched_for)})")
    if answer.notice is not None:
        return "\n".join([*lines, answer.notice.message])
    if answer.text is None:
        lines.append(f"The documents don't answer this (confidence {answer.confidence:.2f}).")
        if answer.passages:
            best = answer.passages[0].chunk
            lines.append(f"Closest passage ({printable(best.source)}, chars {best.start}-{best.end}):")
            lines.append("  " + printable(" ".join(best.text.split())[:400]))
        return "\n".join(lines)
    citation = answer.citations[0]
    also = [
        f"  Also in {printable(c.title)} ({printable(c.source)}, chars {c.start}-{c.end}): {printable(c.text)}"
        for c in answer.citations[1:]
    ]
    text = printable(answer.text)
    before = printable(citation.quote[: citation.start - citation.quote_start])
    after = printable(citation.quote[citation.end - citation.quote_start :])
    marked = click.style(text, bold=True, underline=True) if color else f"«{text}»"
    return "\n".join(
        [
            *lines,
            f"Answer: {click.style(text, bold=True) if color else text}   (confidence {answer.confidence:.2f})",
            "",
            "  " + " ".join((before + marked + after).split()),
            "",
            f"  — {printable(citation.title)}",
            f"    {printable(citation.source)}, chars {citation.start}-{citation.end}",
            *(["", *also] if also else []),
        ]
    )
