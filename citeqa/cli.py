"""citeqa: the one command line over the four stages. Each stage owns its commands; this module wires them.

Nothing heavy is imported here: `citeqa --help` must answer at once.
"""

from __future__ import annotations

import errno
from typing import Any

import click

from citeqa.chat.cli import ask_command
from citeqa.chat.web.feedback_cli import feedback_group
from citeqa.chat.web.serve_cli import serve_command
from citeqa.errors import CiteqaError
from citeqa.eval.cli import eval_command
from citeqa.eval.train_cli import train_command
from citeqa.index.cli import ingest_command
from citeqa.index.docs_cli import docs_group
from citeqa.memory import return_large_buffers_to_the_system


class _Citeqa(click.Group):
    """Turns citeqa's own errors into a message and exit code 1: never a traceback for a user mistake."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CiteqaError as exc:
            click.echo(f"citeqa: error: {exc.message}", err=True)
            if exc.hint:
                click.echo(f"citeqa: hint: {exc.hint}", err=True)
            ctx.exit(1)
        except KeyboardInterrupt:
            click.echo("citeqa: interrupted", err=True)
            ctx.exit(130)
        except OSError as exc:  # the machine's, not citeqa's: a full disk, a permission, a vanished folder
            where = f" ({exc.filename})" if exc.filename else ""
            click.echo(f"citeqa: error: {exc.strerror or exc}{where}", err=True)
            hint = "free some space and run it again" if exc.errno == errno.ENOSPC else "check the path and rights"
            click.echo(f"citeqa: hint: {hint}; what was there before is unchanged", err=True)
            ctx.exit(1)


@click.group(cls=_Citeqa, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="citeqa")
def main() -> None:
    """Ask questions of your documents; get answers in their own words, with exact citations.

    With no --index, citeqa uses its default index, built from the bundled interviews on first use.
    """
    return_large_buffers_to_the_system()  # before any model loads: memory that holds steady under load


main.add_command(ingest_command)
main.add_command(docs_group)
main.add_command(ask_command)
main.add_command(serve_command)
main.add_command(feedback_group)
main.add_command(eval_command)
main.add_command(train_command)


if __name__ == "__main__":
    main()
