"""What an ingest did, for people: one warning per file skipped, then one summary line."""

from __future__ import annotations

from collections import Counter

import click

from citeqa.terminal import printable

from .update import IngestReport


def print_report(report: IngestReport) -> None:
    if report.rebuilt:
        click.echo(f"citeqa: {report.rebuilt}", err=True)
    for skipped in report.skipped:
        click.echo(f"citeqa: warning: skipped {skipped.path}: {skipped.reason}", err=True)
    for source in report.kept:
        click.echo(f"citeqa: warning: {source} could not be read again: its earlier version stays indexed", err=True)
    for note in report.notes:
        click.echo(f"citeqa: note: {note.path}: {note.reason}", err=True)
    if report.gone:
        click.echo(gone_line(report.gone), err=True)
    if report.written and report.stages:
        click.echo(stages_line(report), err=True)
    click.echo(summary_line(report))


def stages_line(report: IngestReport) -> str:
    """Where the run's time went, stage by stage, and the precision it embedded in."""
    parts = []
    for stage, seconds in report.stages.items():
        precision = f" in {report.precision}" if stage == "embed" and report.precision else ""
        parts.append(f"{stage} {seconds:.1f} s{precision}")
    return "citeqa: time by stage: " + ", ".join(parts)


GONE_SHOWN = 10


def gone_line(gone: list[str]) -> str:
    """The indexed documents PATHS no longer hold, by name, and how to take them out."""
    n = len(gone)
    names = ", ".join(printable(s) for s in gone[:GONE_SHOWN])
    if n > GONE_SHOWN:
        names += f" and {n - GONE_SHOWN} more"
    return (
        f"citeqa: {n} indexed document{_s(n)} no longer under the given paths (deleted or moved?): {names}. "
        f"{'They stay' if n != 1 else 'It stays'} in the index and can still be cited; "
        "to remove them, run the same command with --prune"
    )


def summary_line(report: IngestReport) -> str:
    n = report.documents
    head = f"Indexed {n} document{_s(n)} ({report.chunks} chunks) into {report.directory} in {report.seconds:.1f} s"
    parts = [
        f"{len(report.added)} new",
        f"{len(report.changed)} changed",
        f"{report.unchanged} unchanged",
        f"{len(report.removed)} removed",
    ]
    if report.gone:
        parts.append(f"{len(report.gone)} gone from the paths but kept (see --prune)")
    line = head + ": " + ", ".join(parts)
    if report.written:
        line += f"; {report.embedded} chunks embedded, {report.reused} reused"
    elif report.gone:
        line += "; no file changed, the index is as it was"
    else:
        line += "; nothing changed, the index is as it was"
    if report.skipped:
        kinds = Counter(s.kind for s in report.skipped)
        why = ", ".join(f"{count} {kind}" for kind, count in kinds.most_common())
        line += f"; skipped {len(report.skipped)} file{_s(len(report.skipped))} ({why})"
    return line


def _s(count: int) -> str:
    return "s" * (count != 1)
