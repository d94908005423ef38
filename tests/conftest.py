"""Shared fixtures: the real model, loaded once; the interviews indexed once; no network, ever."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import pytest
from click.testing import CliRunner
from fakes import HashingEmbedder

from citeqa.chat import Answerer
from citeqa.index import Embedder, IndexSettings, SearchIndex, build_index, load_index, save_index
from citeqa.ingest import load_documents
from citeqa.paths import BUNDLED_CORPUS


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


# Fixtures that load the real embedding model or the reader: a test using one is marked `slow` by that alone.
MODEL_FIXTURES = frozenset(
    {"embedder", "interviews_dir", "interviews", "answerer", "index_env", "live_index", "live_server"}
)
WITHOUT_MODELS = "CITEQA_TESTS_WITHOUT_MODELS"  # set by `make unit-fast`


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def _no_model_in_fast_tests(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under `make unit-fast`, a test not marked slow that loads a model fails, saying so, instead of loading it."""
    if not os.environ.get(WITHOUT_MODELS) or request.node.get_closest_marker("slow"):
        return

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("this test loads a real model: mark it @pytest.mark.slow (or use tests/fakes.py)")

    monkeypatch.setattr("citeqa.index.embedder._load", refuse)
    monkeypatch.setattr("citeqa.chat.reader.base_model_path", refuse)


def count_documents_read(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """From now on in the test, the source of every document an index reads from its store, in order."""
    from citeqa.index.docstore import StoreReader

    read: list[str] = []
    real = StoreReader.record

    def counted(self: StoreReader, digest: str, source: str) -> object:
        read.append(source)
        return real(self, digest, source)

    monkeypatch.setattr(StoreReader, "record", counted)
    return read


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return Embedder()


@pytest.fixture
def fake() -> HashingEmbedder:
    """The deterministic stand-in embedder, for logic tests that need vectors but not good ones."""
    return HashingEmbedder()


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
    from citeqa.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(main, list(args), catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    return run


# --- The web server: one live `citeqa serve` for the session (tests/test_live.py, tests/test_browser.py) ---

INJECTION_SOURCE = "lighthouse.txt"  # plain text is kept verbatim; a .md file would lose its markup on ingest
INJECTION_DOCUMENT = """# Harbour lighthouse notes

The harbour lighthouse was painted red in 1911 by the keeper <script>window.__pwned = "script"</script> and \
his crew <img src=x onerror="window.__pwned = 'img'"> as the log ![tracker](http://198.51.100.7/pixel.png) shows, \
with [a link](javascript:window.__pwned='link') and **bold** `code` $$x^2$$ beside it.

The lamp of the harbour lighthouse burned whale oil until 1923, when the keeper fitted an electric lamp.
"""


@pytest.fixture(scope="session")
def live_index(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    """The interviews plus a document full of markup that must stay inert, indexed once."""
    notes = tmp_path_factory.mktemp("notes")
    (notes / INJECTION_SOURCE).write_text(INJECTION_DOCUMENT, encoding="utf-8")
    directory = tmp_path_factory.mktemp("live") / "index"
    documents = load_documents([BUNDLED_CORPUS, notes]).documents
    save_index(build_index(documents, IndexSettings(), embedder), directory)
    return directory


class LiveServer:
    def __init__(self, url: str, net_log: Path, feedback: Path, output: Path, home: Path) -> None:
        self.url = url
        self.net_log = net_log
        self.feedback = feedback
        self.output = output
        self.home = home  # its CITEQA_HOME, where it announces itself (citeqa.servers)

    def outbound(self) -> list[str]:
        """Every connection or lookup off this machine the server tried (refused by its guard)."""
        return self.net_log.read_text(encoding="utf-8").splitlines() if self.net_log.exists() else []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def serving(index: Path, work: Path, *options: str) -> Iterator[LiveServer]:
    """`citeqa serve --index INDEX OPTIONS...` in its own process on a free 127.0.0.1 port, until the block ends.

    The process runs with every outbound connection and name lookup refused and logged (tests/guarded_serve.py).
    """
    import subprocess
    import sys
    import time
    import urllib.request

    port = _free_port()
    server = LiveServer(
        f"http://127.0.0.1:{port}", work / "net.log", work / "feedback.jsonl", work / "serve.log", work / "home"
    )
    env = {**os.environ, "CITEQA_NET_LOG": str(server.net_log), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env["CITEQA_HOME"] = str(server.home)
    root = Path(__file__).resolve().parent.parent
    command = [sys.executable, str(root / "tests" / "guarded_serve.py"), "serve", "--port", str(port)]
    command += ["--index", str(index), "--feedback", str(server.feedback), *options]
    with server.output.open("w") as output:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"citeqa serve exited: {server.output.read_text()}")
            try:
                with urllib.request.urlopen(f"{server.url}/api/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"citeqa serve did not start: {server.output.read_text()}")
            time.sleep(0.5)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def live_server(live_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The interviews and the markup document served for the session's live and browser tests."""
    examples = Path(__file__).resolve().parent.parent / "eval" / "questions" / "dev.jsonl"
    with serving(live_index, tmp_path_factory.mktemp("serve"), "--examples", str(examples)) as server:
        yield server


@pytest.fixture
def without_bf16(monkeypatch: pytest.MonkeyPatch) -> None:
    """This CPU as one without native bf16 (citeqa.precision's detection says no)."""
    from citeqa import precision

    monkeypatch.setattr(precision, "bf16_supported", lambda: False)


@pytest.fixture
def with_bf16(monkeypatch: pytest.MonkeyPatch) -> None:
    """This CPU as one with native bf16."""
    from citeqa import precision

    monkeypatch.setattr(precision, "bf16_supported", lambda: True)
