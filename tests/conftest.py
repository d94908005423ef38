"""Shared fixtures: the real model, loaded once; the interviews indexed once; no network, ever."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import pytest
from click.testing import CliRunner

from chat import Answerer
from index import BUNDLED_CORPUS, Embedder, IndexSettings, SearchIndex, build_index, load_index, save_index
from ingest import load_documents


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection off this machine fails the test that made it."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else str(address)
        if isinstance(host, str) and not (host.startswith("127.") or host in ("localhost", "::1", "")):
            raise AssertionError(f"a test tried to reach {host}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return Embedder()


@pytest.fixture(scope="session")
def interviews_dir(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    """The bundled interviews, indexed and saved once for the session."""
    directory = tmp_path_factory.mktemp("index") / "interviews"
    documents = load_documents([BUNDLED_CORPUS]).documents
    save_index(build_index(documents, IndexSettings(), embedder), directory)
    return directory


@pytest.fixture(scope="session")
def interviews(interviews_dir: Path) -> SearchIndex:
    return load_index(interviews_dir)


@pytest.fixture(scope="session")
def answerer(interviews: SearchIndex, embedder: Embedder) -> Answerer:
    return Answerer(interviews, embedder)


@pytest.fixture
def index_env(interviews_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """CLI runs read the session's index through CITEQA_INDEX, never the user's default one."""
    monkeypatch.setenv("CITEQA_INDEX", str(interviews_dir))
    return interviews_dir


CliRun = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli() -> CliRun:
    """Run `citeqa ARGS...` in process: (exit code, stdout, stderr)."""
    from citeqa import main

    def run(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(main, list(args), catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    return run
