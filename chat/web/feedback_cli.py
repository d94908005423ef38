"""`citeqa feedback export`: the chat's likes and dislikes for analysts, as JSON lines or CSV."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import click

from citeqa.options import index_option

# One CSV row per record: the verdict, what was asked and answered, and where the answer stands.
CSV_COLUMNS = (
    "time",
    "answer_id",
    "verdict",
    "reason",
    "question",
    "asked",
    "answer",
    "abstained",
    "confidence",
    "source",
    "start",
    "end",
    "quote",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run a cell starting so as a formula


@click.group("feedback")
def feedback_group() -> None:
    """The likes and dislikes given in the chat."""


@feedback_group.command("export")
@index_option
@click.option(
    "--feedback",
    "path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Feedback file (default: the one `citeqa serve` writes for this index).",
)
@click.option("--format", "kind", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@click.option("--all", "whole_log", is_flag=True, help="Every record, not only the verdict in force on each answer.")
@click.option("-o", "--out", type=click.Path(path_type=Path, dir_okay=False), default=None, help="Write here.")
def export_command(index_dir: Path | None, path: Path | None, kind: str, whole_log: bool, out: Path | None) -> None:
    """Write the verdicts in force (the last record of each answer; withdrawn ones left out), or with --all the
    whole log, as JSON lines or CSV (spreadsheet-safe: no cell is read as a formula)."""
    from citeqa.errors import CiteqaError

    from .feedback import FeedbackLog, default_feedback_path

    log = FeedbackLog(path or default_feedback_path(index_dir))
    if not log.path.is_file():
        raise CiteqaError(f"no feedback has been recorded at {log.path}", "give the file with --feedback FILE")
    records = log.read() if whole_log else log.latest()
    text = as_csv(records) if kind == "csv" else "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(f"{len(records)} records written to {out}", err=True)


def as_csv(records: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for record in records:
        citation = record.get("citation") or {}
        row = {**record, **{k: citation.get(k) for k in ("source", "start", "end", "quote")}}
        writer.writerow({k: _cell(row.get(k)) for k in CSV_COLUMNS})
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value
