"""A running `citeqa serve` announces itself; a one-shot `citeqa ask` on the same index asks it instead of loading
the models, and answers here when it cannot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import LiveServer
from test_live import GOLDEN, _ask_remotely

from citeqa import servers
from citeqa.chat import cli as ask_cli
from citeqa.chat.answer import Answer
from citeqa.cli import main
from citeqa.servers import announced, local_url, running_server


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CITEQA_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_a_server_is_found_for_its_own_index_only_while_it_serves(tmp_path: Path, home: Path) -> None:
    index, other = tmp_path / "index", tmp_path / "other"
    index.mkdir()
    other.mkdir()
    with announced(index, "http://127.0.0.1:7861"):
        assert running_server(index) == "http://127.0.0.1:7861"
        assert running_server(tmp_path / "." / "index") == "http://127.0.0.1:7861"  # the same folder, spelled out
        assert running_server(other) is None
    assert running_server(index) is None and not list((home / servers.SERVERS).iterdir())


def test_a_record_left_by_a_server_that_died_is_ignored(tmp_path: Path, home: Path) -> None:
    index = tmp_path / "index"
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    with announced(index, "http://127.0.0.1:7861"):
        record = next((home / servers.SERVERS).iterdir())
        data = json.loads(record.read_text())
        record.write_text("{not json")
        assert running_server(index) is None
        record.write_text(json.dumps({**data, "pid": int(gone.stdout)}))  # as a killed server leaves it
        assert running_server(index) is None and not record.exists()  # and cleared away


def test_an_unwritable_home_announces_nothing_and_fails_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("CITEQA_HOME", str(blocked))
    with announced(tmp_path, "http://127.0.0.1:7861"):
        assert running_server(tmp_path) is None


def test_any_address_binds_are_reached_over_loopback() -> None:
    assert local_url("0.0.0.0", 80) == "http://127.0.0.1:80"
    assert local_url("::", 80) == "http://[::1]:80"
    assert local_url("127.0.0.1", 7860) == "http://127.0.0.1:7860"


def test_ask_answers_here_when_the_announced_server_does_not_answer(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = tmp_path / "index"
    asked_here: list[str] = []

    def here(index_dir: Path | None, k: int, retrieval: str, precision: str = "auto") -> ask_cli.Ask:
        def answer(question: str, history: object) -> Answer:
            asked_here.append(question)
            return Answer(question, None, 0.0)

        return answer

    monkeypatch.setattr(ask_cli, "_local", here)
    port = _closed_port()
    with announced(index, f"http://127.0.0.1:{port}"):  # announced, alive (this process), but nothing listens
        done = CliRunner().invoke(main, ["ask", "--index", str(index), "--json", "When?"])
    assert done.exit_code == 0, done.output
    assert asked_here == ["When?"] and json.loads(done.stdout)["abstained"] is True


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_a_one_shot_ask_on_a_served_index_asks_the_server_without_loading_a_model(
    live_server: LiveServer, live_index: Path
) -> None:
    question = "How many Pakistani citizens visited Azerbaijan in 2024?"
    done = _ask_remotely("--index", str(live_index), "--json", question, home=live_server.home)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["answer"] == GOLDEN[question]
    assert "loaded: []" in done.stderr  # no torch, no model: the server answered
    dense = _ask_remotely("--index", str(live_index), "--retrieval", "dense", "--json", question, home=live_server.home)
    assert dense.returncode == 0 and "'torch'" in dense.stderr  # not the server's retrieval: answered here


def test_only_a_server_anyone_here_may_ask_at_its_own_root_is_announced() -> None:
    from citeqa.chat.web.app import ServeOptions
    from citeqa.chat.web.serve_cli import announces

    assert announces(ServeOptions())
    assert not announces(ServeOptions(users={"ann": "secret"}))
    assert not announces(ServeOptions(auth_header="X-User", proxy_secret="s" * 16))
    assert not announces(ServeOptions(root_path="/qa"))
