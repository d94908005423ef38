"""When answering one question fails inside citeqa: a fault in a model or a library, not a mistake of the asker.

Native code can raise what is not an `Exception`: a Rust tokenizer's panic arrives as pyo3's `PanicException`, a
`BaseException`. Whoever answers many questions (the server's worker, a `citeqa ask` session) turns such a failure
into `AnswerFailedError` for that one question and goes on; only a shutdown (`SHUTDOWN`) is let through.
"""

from __future__ import annotations

from citeqa.errors import CiteqaError

SHUTDOWN = (SystemExit, KeyboardInterrupt)
FAILED_HINT = "try rewording the question; if it keeps failing, report it with the question"


class AnswerFailedError(CiteqaError):
    """Answering this one question failed inside citeqa; the next question is answered as usual."""


def answer_failed(exc: BaseException) -> AnswerFailedError:
    """The error to give the asker for `exc`, raised while their question was answered."""
    detail = (str(exc).strip().splitlines() or [""])[0][:160]
    cause = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    return AnswerFailedError(f"citeqa could not answer this question ({cause})", FAILED_HINT)
