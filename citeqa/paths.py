"""Where citeqa keeps things: its home folder (CITEQA_HOME overrides it) and the data it ships with."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
BUNDLED_CORPUS = PACKAGE / "data" / "interviews"  # the two interviews the default index is built from
BUNDLED_QUESTIONS = PACKAGE / "eval" / "questions" / "dev.jsonl"  # the question set written from them
EMBED_EXAMPLE = PACKAGE / "docs" / "intranet-example.html"  # an intranet page with the chat in it


def citeqa_home() -> Path:
    """The folder for the default index and its feedback: $CITEQA_HOME, else ~/.local/share/citeqa."""
    configured = os.environ.get("CITEQA_HOME")
    return Path(configured).expanduser() if configured else Path.home() / ".local" / "share" / "citeqa"


def default_index() -> Path:
    return citeqa_home() / "index"
