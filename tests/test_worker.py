"""The answering worker outlives any one question: a native fault (a tokenizer's PanicException, a BaseException)
answers that request with an error and the next is answered; a worker ended anyway is started again, and
`/api/health` says 503 while none serves; closing never leaves a caller waiting (issue 24)."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from citeqa.chat.answer import Answer
from citeqa.chat.answerer import Answerer
from citeqa.chat.failures import AnswerFailedError
from citeqa.chat.web.api import api_router, install_error_handlers
from citeqa.chat.web.service import ChatService, ServiceClosingError
from citeqa.chat.web.worker import SupervisedThread


class FakePanic(BaseException):
    """What pyo3 raises when Rust code panics: a BaseException, not an Exception."""


@dataclass
class _Settings:
    max_question_chars: int = 1000


class _Index:
    def __init__(self) -> None:
        self.documents: dict[str, Any] = {}
        self.chunks: list[Any] = []

    class manifest:  # noqa: N801 (the shape health reads)
        class settings:  # noqa: N801
            model = "fake-model"


class FaultyAnswerer:
    """Answers by echoing; a question starting with PANIC raises a BaseException, EXIT raises SystemExit (which ends
    the worker thread), HANG blocks until `release` is set."""

    def __init__(self) -> None:
        self.settings = _Settings()
        self.index = _Index()
        self.release = threading.Event()

    def describe(self) -> dict[str, str]:
        return {"reader": "fake"}

    def answer_batch(self, questions: Sequence[str], k: int | None, histories: Sequence[Any]) -> list[Answer]:
        return [self.answer(q, k) for q in questions]

    def answer(self, question: str, k: int | None = None, history: Any = ()) -> Answer:
        if question.startswith("PANIC"):
            raise FakePanic("'stride' must be strictly less than 'max_len=40'")
        if question.startswith("EXIT"):
            raise SystemExit(1)
        if question.startswith("HANG"):
            self.release.wait(30)
        return Answer(question, None, 0.0)


@pytest.fixture
def faulty() -> Iterator[tuple[ChatService, FaultyAnswerer]]:
    answerer = FaultyAnswerer()
    service = ChatService(cast(Answerer, answerer), restart_delay=0.3)
    yield service, answerer
    answerer.release.set()
    service.close(wait=1)


def _client(service: ChatService) -> TestClient:
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(api_router(service))
    return TestClient(app)


def test_a_panic_answers_that_request_with_an_error_and_the_worker_answers_the_next(
    faulty: tuple[ChatService, FaultyAnswerer], caplog: pytest.LogCaptureFixture
) -> None:
    service, _ = faulty
    with caplog.at_level("ERROR", logger="citeqa.serve"), pytest.raises(AnswerFailedError, match="FakePanic"):
        service.ask("PANIC zorblat reactr comissioned", timeout=10)
    assert "FakePanic" in caplog.text  # the traceback is in the server's log
    assert service.ask("And now?", timeout=10).question == "And now?"
    assert service.serving and service._worker.restarts == 0


def test_a_panic_in_a_batch_fails_only_its_own_question(faulty: tuple[ChatService, FaultyAnswerer]) -> None:
    service, answerer = faulty
    blocker = service.submit("HANG until the others queue up")
    time.sleep(0.2)
    futures = [service.submit(q) for q in ("first", "PANIC in the middle", "last")]
    answerer.release.set()
    blocker.result(10)
    assert futures[0].result(10).question == "first" and futures[2].result(10).question == "last"
    with pytest.raises(AnswerFailedError):
        futures[1].result(10)


def test_the_api_answers_a_panic_with_a_json_500_and_goes_on(faulty: tuple[ChatService, FaultyAnswerer]) -> None:
    service, _ = faulty
    with _client(service) as client:
        failed = client.post("/api/ask", json={"question": "PANIC " + "zorblat reactr comissioned " * 18})
        assert failed.status_code == 500
        assert failed.json()["error"] == "answer_failed" and "could not answer" in failed.json()["message"]
        assert client.post("/api/ask", json={"question": "Next?"}).status_code == 200
        assert client.get("/api/health").json()["status"] == "ok"


def test_a_worker_ended_anyway_is_restarted_and_health_says_down_meanwhile(
    faulty: tuple[ChatService, FaultyAnswerer],
) -> None:
    service, _ = faulty
    with _client(service) as client:
        with pytest.raises(AnswerFailedError, match="worker stopped"):  # the request it held is answered
            service.ask("EXIT the worker", timeout=10)
        down = client.get("/api/health")
        assert down.status_code == 503 and down.json()["status"] == "down" and down.json()["answering"] is False
        queued = service.submit("asked while no worker runs")
        assert queued.result(10).question == "asked while no worker runs"  # by the new worker
        assert client.get("/api/health").status_code == 200 and service._worker.restarts == 1


def test_closing_fails_every_waiting_question_even_behind_a_stuck_worker(
    faulty: tuple[ChatService, FaultyAnswerer],
) -> None:
    service, _ = faulty
    stuck = service.submit("HANG forever")
    time.sleep(0.2)
    waiting = service.submit("behind it")
    began = time.monotonic()
    service.close(wait=0.5)
    assert time.monotonic() - began < 3
    for future in (stuck, waiting):
        with pytest.raises(ServiceClosingError):
            future.result(1)
    with pytest.raises(ServiceClosingError):
        service.submit("after closing")


def test_a_question_whose_client_went_away_does_not_stop_the_worker(
    faulty: tuple[ChatService, FaultyAnswerer],
) -> None:
    service, answerer = faulty
    blocker = service.submit("HANG a moment")
    time.sleep(0.2)
    gone = service.submit("its client disconnected")
    assert gone.cancel()  # what asyncio.wrap_future does when the request is cancelled
    answerer.release.set()
    blocker.result(10)
    assert service.ask("still answering?", timeout=10).question == "still answering?"
    assert service._worker.restarts == 0


def test_a_supervised_thread_that_keeps_dying_is_restarted_after_a_pause_each_time() -> None:
    runs: list[float] = []

    def dies() -> None:
        runs.append(time.monotonic())
        raise SystemExit

    thread = SupervisedThread(dies, "dies", restart_delay=0.2)
    thread.start()
    time.sleep(0.9)
    thread.stop()
    assert 3 <= len(runs) <= 6  # restarted, but not in a tight loop
    assert all(b - a >= 0.19 for a, b in itertools.pairwise(runs))
