"""Run `citeqa serve ARGS...` with the answerer replaced by tests/test_worker.py's FaultyAnswerer: no model loads,
and a question can make the worker panic (PANIC...), end (EXIT...) or hang for 30 s (HANG...). The SIGTERM tests
start servers through this to put them in each state quickly."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import cast

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_worker import FaultyAnswerer

from citeqa.chat.answerer import Answerer
from citeqa.chat.web.service import ChatService


def _open(
    cls: type[ChatService], index_dir: Path | None, examples: Sequence[str] = (), precision: str = "auto"
) -> ChatService:
    answerer = FaultyAnswerer()
    answerer.index.path = index_dir  # type: ignore[attr-defined]
    return cls(cast(Answerer, answerer), examples)


def _follow_nothing(self: ChatService, directory: Path, interval: float = 1.0) -> None:
    """No index folder to follow: the stand-in answerer has none."""


if __name__ == "__main__":
    ChatService.open = classmethod(_open)  # type: ignore[method-assign, assignment]
    ChatService.follow = _follow_nothing  # type: ignore[method-assign]
    from citeqa.cli import main

    main(sys.argv[1:], prog_name="citeqa")
