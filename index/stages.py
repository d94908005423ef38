"""Where an ingest's time goes: seconds per stage (read, load model, chunk, embed, index, write), for its report and
the benchmarks. Embedding should be nearly all of a first ingest; the rest is what citeqa adds to the model."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


class StageTimes:
    """Seconds spent in each stage, in the order the stages were first entered."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        began = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - began)

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    def move(self, source: str, target: str, seconds: float) -> None:
        """Count `seconds` of `source`'s time as `target`'s (a model loaded on first use inside another stage)."""
        if seconds > 0:
            self.add(source, -seconds)
            self.add(target, seconds)
