"""Command-line options several stages' commands share, so that they read the same everywhere."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def index_option(function: F) -> F:
    """--index DIR (or CITEQA_INDEX); absent, the default index of the bundled interviews."""
    return click.option(
        "--index",
        "index_dir",
        type=click.Path(path_type=Path, file_okay=False),
        envvar="CITEQA_INDEX",
        default=None,
        help="Index folder. Default: $CITEQA_HOME/index (~/.local/share/citeqa/index), built from the bundled "
        "interviews on first use.",
    )(function)
