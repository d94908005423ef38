"""The one object the web layer talks to: the loaded index and model, and a worker that answers in batches.

Everything that answers a question on the server (the JSON API and the chat) goes through `ChatService.ask`.
Questions that arrive together are answered together: one worker thread takes whatever is waiting and calls
`Answerer.answer_batch`, which embeds all of them in one pass (several times cheaper per question than one
by one). With nothing waiting, a question is answered at once, so batching adds no latency to a lone user.
The model is CPU-bound; one worker keeps it from fighting itself for the cores.

No question can stop that worker: whatever one raises while it is answered, `BaseException`s from native code
included (a tokenizer's `PanicException`), becomes that request's `AnswerFailedError`, and the worker takes the
next. Only `SystemExit` and `KeyboardInterrupt` end it; the jobs it held are failed first, and `SupervisedThread`
starts a new worker (`serving` is False meanwhile, which `/api/health` reports).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from citeqa.errors import CiteqaError
from citeqa.index.search import SearchIndex
from citeqa.ingest.documents import Document

from ..answer import Answer
from ..answerer import Answerer
from ..conversation import MAX_HISTORY, Turn
from ..failures import SHUTDOWN, AnswerFailedError, answer_failed
from ..question import check_question
from ..settings import check_passages
from .worker import RESTART_DELAY_S, SupervisedThread

if TYPE_CHECKING:
    from citeqa.index.reload import IndexWatcher

log = logging.getLogger("citeqa.serve")

MAX_BATCH = 32  # questions answered in one pass
MAX_WAITING = 256  # questions queued behind the worker; past that a request is turned away at once (503)


CLOSE_WAIT_S = 3.0  # how long closing waits for questions in hand; the rest are failed, so no caller waits on


class ServiceBusyError(CiteqaError):
    """More questions are waiting than the server will queue."""


class ServiceClosingError(ServiceBusyError):
    """The server is shutting down (a 503 like a full queue: another server, or this one restarted, can answer)."""

    def __init__(self) -> None:
        super().__init__("the server is shutting down", "ask again in a moment")


@dataclass(frozen=True, slots=True)
class _Job:
    question: str
    k: int | None
    history: tuple[Turn, ...]
    result: Future[Answer]


class ChatService:
    """Holds the current Answerer; answers questions from every request through one batching worker."""

    def __init__(
        self,
        answerer: Answerer,
        examples: Sequence[str] = (),
        max_batch: int = MAX_BATCH,
        max_waiting: int = MAX_WAITING,
        restart_delay: float = RESTART_DELAY_S,
    ) -> None:
        self._answerer = answerer
        self._lock = threading.Lock()
        self.examples = tuple(examples)
        self.max_batch = max_batch
        self.max_waiting = max_waiting
        # Unbounded, with the limit kept by submit: closing can always queue its stop without blocking.
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._queueing = threading.Lock()
        self._closed = False
        self._watcher: IndexWatcher | None = None
        self._in_hand: list[_Job] = []  # the batch the worker is answering
        self._worker = SupervisedThread(self._work, name="citeqa-answerer", restart_delay=restart_delay)
        self._worker.start()

    @classmethod
    def open(cls, index_dir: Path | None, examples: Sequence[str] = (), precision: str = "auto") -> ChatService:
        """Load the index and its models once (the default index is built on first use); the models compute in
        `precision` (citeqa.precision)."""
        from citeqa.index import open_index

        from ..settings import AnswerSettings

        index, embedder = open_index(index_dir, precision)
        return cls(Answerer(index, embedder, AnswerSettings.for_index(index, precision=precision)), examples)

    # The seam for reloading: callers always go through answerer(), never keep their own reference.
    def answerer(self) -> Answerer:
        with self._lock:
            return self._answerer

    def replace_answerer(self, answerer: Answerer) -> None:
        """Answer from now on with `answerer` (a reloaded index); questions already taken finish on the old one."""
        with self._lock:
            self._answerer = answerer

    @property
    def index(self) -> SearchIndex:
        return self.answerer().index

    def document(self, source: str) -> Document | None:
        """An ingested document by its source name; never a file looked up on disk."""
        return self.index.documents.get(source)

    def ask(
        self, question: str, k: int | None = None, timeout: float | None = None, history: Sequence[Turn] = ()
    ) -> Answer:
        """The answer to one question, a follow-up of `history` (earlier turns, oldest first). A bad question
        raises QuestionError at once, before queueing."""
        return self.submit(question, k, history).result(timeout)

    def submit(self, question: str, k: int | None = None, history: Sequence[Turn] = ()) -> Future[Answer]:
        """Queue one question; the future holds its answer. Async callers await it without holding a thread."""
        limit = self.answerer().settings.max_question_chars
        checked = check_question(question, limit)
        turns = tuple(history)[-MAX_HISTORY:]
        for turn in turns:
            check_question(turn.question, limit)
        if k is not None:
            check_passages(k)
        job = _Job(checked, k, turns, Future())
        with self._queueing:
            if self._closed:
                raise ServiceClosingError()
            if self._jobs.qsize() >= self.max_waiting:
                raise ServiceBusyError(f"{self.max_waiting} questions are already waiting", "ask again in a moment")
            self._jobs.put_nowait(job)
        return job.result

    @property
    def serving(self) -> bool:
        """Whether a worker is answering questions now (False briefly after one died, until its replacement runs)."""
        return self._worker.alive

    @property
    def generation(self) -> str | None:
        """The index generation answering now, when the service follows an index folder."""
        return self._watcher.generation if self._watcher is not None else None

    @property
    def index_error(self) -> str | None:
        """Why the newest index generation could not be loaded (the one in hand keeps answering), if it could not."""
        error = self._watcher.error if self._watcher is not None else None
        return str(error) if error is not None else None

    def follow(self, directory: Path, interval: float = 1.0) -> None:
        """Answer from each new index generation an ingest makes current at `directory`, without a restart.

        The new index and its Answerer are built in the watcher's thread, then swapped in; until then, and if
        the new generation fails to load, the index in hand keeps answering.
        """
        from citeqa.index.reload import IndexWatcher

        watcher = IndexWatcher(directory, interval=interval, index=self.index)
        watcher.watch(lambda index: self.replace_answerer(self._answerer_for(index)))
        self._watcher = watcher

    def _answerer_for(self, index: SearchIndex) -> Answerer:
        """An answerer of a newly loaded index, its models in the precision of the one in hand."""
        from ..settings import AnswerSettings

        current = self.answerer()
        settings = AnswerSettings.for_index(index, precision=current.settings.precision)
        return Answerer(index, current.embedder, settings)

    def close(self, wait: float = CLOSE_WAIT_S) -> None:
        """Stop taking questions; those already queued are answered first, for up to `wait` seconds. Any still
        waiting then (or held by a stuck worker) fail with "shutting down": no caller is left waiting."""
        if self._watcher is not None:
            self._watcher.stop()
        with self._queueing:
            self._closed = True
            self._worker.stop()
            self._jobs.put_nowait(None)
        self._worker.join(timeout=wait)
        left = list(self._in_hand)  # a worker stuck in a model call still holds these
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                left.append(job)
        for job in left:
            _fail(job, ServiceClosingError())

    def _work(self) -> None:
        while True:
            first = self._jobs.get()
            if first is None:
                self._jobs.put_nowait(None)  # for a worker started after this one (none, once closed)
                return
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    self._jobs.put_nowait(None)  # stop after this batch
                    break
                batch.append(job)
            self._in_hand = batch
            try:
                self._answer([job for job in batch if not job.result.cancelled()])  # (a client that went away)
            finally:  # a worker ended by SystemExit still answers every request it took
                for job in batch:
                    _fail(job, AnswerFailedError("the answering worker stopped", "ask again in a moment"))
                self._in_hand = []

    def _answer(self, batch: list[_Job]) -> None:
        answerer = self.answerer()
        by_k: dict[int | None, list[_Job]] = {}
        for job in batch:
            by_k.setdefault(job.k, []).append(job)
        for k, jobs in by_k.items():
            try:
                answers = answerer.answer_batch([j.question for j in jobs], k, [j.history for j in jobs])
            except SHUTDOWN:
                raise
            except BaseException:
                log.exception("a batch of %d questions failed; answering them one by one", len(jobs))
                for job in jobs:
                    _settle_one(answerer, job)
                continue
            for job, answer in zip(jobs, answers, strict=True):
                _settle(job, answer)


def _settle_one(answerer: Answerer, job: _Job) -> None:
    try:
        answer = answerer.answer(job.question, job.k, job.history)
    except SHUTDOWN:
        raise
    except CiteqaError as exc:  # one of citeqa's own, for people: handed to the request that asked
        _fail(job, exc)
        return
    except BaseException as exc:  # a fault, maybe from native code (a PanicException): logged, the request told
        log.exception("answering a question of %d characters failed", len(job.question))  # with its traceback
        _fail(job, answer_failed(exc))
        return
    _settle(job, answer)


def _settle(job: _Job, answer: Answer) -> None:
    with contextlib.suppress(InvalidStateError):  # cancelled meanwhile: its client went away
        job.result.set_result(answer)


def _fail(job: _Job, error: CiteqaError) -> None:
    """Settle `job` with `error` unless it is settled already."""
    with contextlib.suppress(InvalidStateError):  # settled or cancelled already
        job.result.set_exception(error)
