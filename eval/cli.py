"""`citeqa eval`: answer a question set in one batch and write predictions.jsonl."""

from __future__ import annotations

from pathlib import Path

import click

from index.cli import index_option, open_index


@click.command("eval")
@click.argument("questions", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder for predictions.jsonl.",
)
@click.option("-k", type=click.IntRange(1, 100), default=5, show_default=True, help="Passages to retrieve.")
@index_option
def eval_command(questions: Path, out_dir: Path, k: int, index_dir: Path | None) -> None:
    """Answer every question of QUESTIONS (JSONL) and write OUT/predictions.jsonl."""
    from chat.answerer import Answerer
    from chat.settings import AnswerSettings

    from .questions import load_questions
    from .run import predict, summarize, write_predictions

    items = load_questions(questions)  # a bad set fails before the model loads
    index, embedder = open_index(index_dir)
    predictions = predict(Answerer(index, embedder, AnswerSettings(k=k)), items)
    path = write_predictions(predictions, out_dir)
    for line in summarize(items, predictions).lines():
        click.echo(line)
    click.echo(f"predictions: {path}")
