"""Ask a running `citeqa serve` instead of loading the model: a cold `citeqa ask --server URL` answers in well
under a second, where loading torch, the embedding model and the reader takes several.

Standard library only (urllib), so that asking imports nothing heavy.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

from citeqa.errors import CiteqaError

from .answer import Answer
from .conversation import Turn
from .failures import AnswerFailedError
from .question import QuestionError

TIMEOUT_S = 60.0


def ask_server(
    url: str, question: str, k: int | None = None, history: Sequence[Turn] = (), timeout: float = TIMEOUT_S
) -> Answer:
    """The answer of the server at `url` (its root, e.g. http://127.0.0.1:7860) to `question`, a follow-up of
    `history` (earlier turns, oldest first)."""
    body: dict[str, Any] = {"question": question} if k is None else {"question": question, "k": k}
    if history:
        body["history"] = [{"question": t.question, "answer": t.answer} for t in history]
    request = urllib.request.Request(
        url.rstrip("/") + "/api/ask",
        data=json.dumps(body).encode("utf-8"),
        headers={"content-type": "application/json", "accept": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Answer.from_dict(json.loads(response.read().decode("utf-8")))
    except urllib.error.HTTPError as exc:
        raise _server_error(url, exc) from exc
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise CiteqaError(
            f"no citeqa server answers at {url} ({reason})", "start one with `citeqa serve`, or ask without --server"
        ) from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CiteqaError(f"{url} did not answer with JSON: is it a citeqa server?", "check --server") from exc


def _server_error(url: str, exc: urllib.error.HTTPError) -> CiteqaError:
    """The server's own message for a question it refused (4xx JSON), else the HTTP status."""
    try:
        data = json.loads(exc.read().decode("utf-8"))
        # A session goes on after either; and a question the server failed on would fail here too, so neither is
        # asked again locally.
        kinds = {"bad_question": QuestionError, "answer_failed": AnswerFailedError}
        return kinds.get(data.get("error"), CiteqaError)(str(data["message"]), str(data.get("hint", "")))
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        hint = "check the URL (and --root-path)" if exc.code == 404 else "see the server's log"
        return CiteqaError(f"the server at {url} answered HTTP {exc.code}", hint)
