"""A worker thread that is started again when it dies: the answering worker must outlive any one question.

The service already turns every failure of one request into that request's error; this is the second line, for
a worker ended anyway (a `SystemExit` a library raised in it, a fault in the service's own bookkeeping). While
no worker runs, `alive` is False, which `/api/health` reports.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("citeqa.serve")

RESTART_DELAY_S = 0.5  # between a worker's death and its replacement: a worker that dies at once cannot spin


class SupervisedThread:
    """Runs `target` in a daemon thread named `name`, and again in a new one each time it ends, until `stop`."""

    def __init__(self, target: Callable[[], None], name: str, restart_delay: float = RESTART_DELAY_S) -> None:
        self._target = target
        self._name = name
        self._restart_delay = restart_delay
        self._stopping = threading.Event()
        self._current: threading.Thread | None = None
        self.restarts = 0
        self._supervisor = threading.Thread(target=self._supervise, name=f"{name}-supervisor", daemon=True)

    def start(self) -> None:
        self._spawn()  # running before start returns: the service is healthy from the first moment
        self._supervisor.start()

    @property
    def alive(self) -> bool:
        """Whether a worker thread is running now."""
        current = self._current
        return current is not None and current.is_alive()

    def stop(self) -> None:
        """Start no new worker; the running one ends when its target returns."""
        self._stopping.set()

    def join(self, timeout: float) -> None:
        current = self._current
        if current is not None:
            current.join(timeout)

    def _run(self) -> None:
        try:
            self._target()
        except BaseException:  # the thread ends either way; its cause goes to the log (SystemExit would go nowhere)
            log.exception("the %s thread failed", self._name)

    def _spawn(self) -> threading.Thread:
        worker = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._current = worker
        worker.start()
        return worker

    def _supervise(self) -> None:
        worker = self._current
        while worker is not None:
            worker.join()
            if self._stopping.is_set():
                return
            self.restarts += 1
            log.error("the %s thread ended unexpectedly; starting it again (restart %d)", self._name, self.restarts)
            if self._stopping.wait(self._restart_delay):
                return
            worker = self._spawn()
