"""Command-line options several stages' commands share, so that they read the same everywhere."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from citeqa.precision import PRECISIONS

F = TypeVar("F", bound=Callable[..., Any])


def precision_option(function: F) -> F:
    """--precision fp32|bf16|auto (or CITEQA_PRECISION): what the models compute in (citeqa.precision)."""
    return click.option(
        "--precision",
        type=click.Choice(PRECISIONS),
        envvar="CITEQA_PRECISION",
        default="auto",
        show_default=True,
        help="What the models compute in: auto is bf16 where the CPU computes it natively (AVX-512 BF16 or AMX, "
        "about 2.5x faster) and fp32 elsewhere; bf16 on a CPU without it is refused.",
    )(function)


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
