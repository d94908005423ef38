"""A running server answers from a new index generation as soon as an ingest makes it current."""

from __future__ import annotations

import time
from pathlib import Path

from citeqa.chat import Answerer
from citeqa.chat.web.service import ChatService
from citeqa.index import Embedder, IndexSettings, load_index
from citeqa.index.update import ingest

QUESTION = "In which year did the ferry company buy the Heron?"


def test_the_service_follows_a_new_generation_without_a_restart(tmp_path: Path, embedder: Embedder) -> None:
    docs, directory = tmp_path / "docs", tmp_path / "index"
    docs.mkdir()
    (docs / "lighthouse.txt").write_text("The lighthouse keeper lit the lamp every evening at dusk.\n")
    ingest([docs], directory, IndexSettings(), embedder)
    service = ChatService(Answerer(load_index(directory), embedder))
    try:
        service.follow(directory, interval=0.1)
        assert service.ask(QUESTION).abstained
        (docs / "ferry.txt").write_text("The ferry company bought the Heron in 1987 and sailed her for decades.\n")
        ingest([docs], directory, IndexSettings(), embedder)
        deadline = time.monotonic() + 30
        while len(service.index.documents) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        answer = service.ask(QUESTION)
        assert sorted(service.index.documents) == ["ferry.txt", "lighthouse.txt"]
        assert answer.text == "1987" and answer.citations[0].source == "ferry.txt"
    finally:
        service.close()
