"""Keep a long-running reader (the server) on the newest index without a restart.

An ingest writes a new generation and swaps `CURRENT` last. `IndexWatcher.refresh()` reads that one small
file and, when it names another generation, loads it; until the new one has loaded, and if it fails to, the
index in hand keeps answering. The object returned stays the same until a new generation is loaded, so a caller
can rebuild what depends on it when `refresh() is not previous`. `watch(on_change)` checks every `interval`
seconds in a background thread, so no request waits for a load.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from citeqa.errors import CiteqaError

from .search import SearchIndex, load_index
from .store import generation_id

log = logging.getLogger(__name__)


class IndexWatcher:
    """The current index of `directory`, reloaded when an ingest has made a newer generation current."""

    def __init__(
        self,
        directory: Path,
        interval: float = 1.0,
        loader: Callable[[Path], SearchIndex] = load_index,
        index: SearchIndex | None = None,
    ) -> None:
        self.directory = directory
        self.interval = interval
        self._loader = loader
        self._lock = threading.Lock()
        self._generation = generation_id(directory)
        self._index = loader(directory) if index is None else index  # `index`: one already loaded from there
        self.error: CiteqaError | None = None  # why the newest generation could not be loaded, if it could not
        self._stopped = threading.Event()

    @property
    def generation(self) -> str | None:
        """The generation the index in hand was loaded from."""
        return self._generation

    @property
    def index(self) -> SearchIndex:
        """The index in hand: the newest generation that loaded."""
        return self._index

    def refresh(self) -> SearchIndex:
        """Load the newest generation if an ingest has made one current since; keep the one in hand if it fails."""
        with self._lock:
            newest = generation_id(self.directory)
            if newest is None or newest == self._generation:
                return self._index
            try:
                index = self._loader(self.directory)
            except Exception as exc:  # a half-visible swap or a damaged generation, whatever it raises: try later
                self.error = exc if isinstance(exc, CiteqaError) else CiteqaError(f"{type(exc).__name__}: {exc}")
                log.warning("citeqa: keeping the loaded index; the new one at %s failed to load: %s", newest, exc)
                return self._index
            self._index, self._generation, self.error = index, newest, None
            log.info("citeqa: loaded index generation %s", newest)
            return self._index

    def watch(self, on_change: Callable[[SearchIndex], None]) -> threading.Thread:
        """Check every `interval` seconds in a daemon thread; call `on_change(index)` after each new load.

        `on_change` runs in that thread (build what depends on the index there, then swap it in); an error it
        raises is logged and watching goes on. `stop()` ends the thread.
        """

        def loop() -> None:
            while not self._stopped.wait(self.interval):
                before = self._index
                try:
                    index = self.refresh()
                except Exception:  # never let the thread die: a later, valid generation must still be loaded
                    log.exception("citeqa: checking %s for a new index generation failed", self.directory)
                    continue
                if index is not before:
                    try:
                        on_change(index)
                    except Exception:
                        log.exception("citeqa: the new index generation %s could not be put in use", self._generation)

        thread = threading.Thread(target=loop, name="citeqa-index-watcher", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stopped.set()
