"""A real `citeqa serve` process: gradio_client, 32 concurrent API requests, the CLI's errors, no outbound traffic."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from citations import assert_cited_verbatim
from conftest import CliRun, LiveServer, _free_port

pytestmark = pytest.mark.slow

# Questions with one right answer each, and what it is.
GOLDEN = {
    "How many Pakistani citizens visited Azerbaijan in 2024?": "80,924",
    "When did APP and AZERTAC sign their memorandum of cooperation?": "July 2024",
    "How long does cargo take from China to Baku on the Middle Corridor?": "8-10 days",
    "How many national incubation centers does Pakistan's IT ministry oversee?": "eight",
}


def _document_text(server: LiveServer, source: str) -> str:
    text: str = httpx.get(f"{server.url}/api/documents/{source}", timeout=30).json()["text"]
    return text


def test_gradio_client_gets_the_answer_contract(live_server: LiveServer) -> None:
    from gradio_client import Client

    client = Client(live_server.url, verbose=False, download_files=False)
    result: dict[str, Any] = client.predict("How many Pakistani citizens visited Azerbaijan in 2024?", api_name="/ask")
    assert result["answer"] == "80,924" and result["abstained"] is False
    citation = result["citations"][0]
    assert citation["start"] < citation["end"]
    assert_cited_verbatim(result, lambda source: _document_text(live_server, source))
    # the chat's own events are private: the Gradio API offers /ask alone, with its one parameter
    api = client.view_api(print_info=False, return_format="dict")
    assert list(api["named_endpoints"]) == ["/ask"] and not api["unnamed_endpoints"]
    assert [p["parameter_name"] for p in api["named_endpoints"]["/ask"]["parameters"]] == ["question"]


def test_32_concurrent_requests_all_get_right_answers(live_server: LiveServer) -> None:
    questions = [q for q in GOLDEN for _ in range(8)]

    async def ask_all() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=live_server.url, timeout=120) as client:
            return await asyncio.gather(*(client.post("/api/ask", json={"question": q}) for q in questions))

    started = time.perf_counter()
    responses = asyncio.run(ask_all())
    seconds = time.perf_counter() - started
    texts: dict[str, str] = {}
    for question, response in zip(questions, responses, strict=True):
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["question"] == question and body["answer"] == GOLDEN[question]
        c = body["citations"][0]
        if c["source"] not in texts:
            texts[c["source"]] = _document_text(live_server, c["source"])
        assert texts[c["source"]][c["start"] : c["end"]] == body["answer"]
        assert texts[c["source"]][c["quote_start"] : c["quote_end"]] == c["quote"]
    assert seconds < 90, f"32 concurrent questions took {seconds:.1f} s"


def test_bad_requests_to_the_live_server_are_4xx(live_server: LiveServer) -> None:
    response = httpx.post(
        f"{live_server.url}/api/ask", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400 and response.json()["error"] == "malformed_json"
    assert httpx.post(f"{live_server.url}/api/ask", json={"question": ""}).status_code == 422
    assert httpx.get(f"{live_server.url}/api/documents/..%2F..%2Fpyproject.toml").status_code == 404


def test_serve_refuses_a_port_in_use(cli: CliRun) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        code, _, err = cli("serve", "--port", str(port))
    assert code == 1 and f"port {port} on 127.0.0.1 is already in use" in err and "Traceback" not in err


def test_serve_refuses_a_missing_index(cli: CliRun, tmp_path: Path) -> None:
    code, _, err = cli("serve", "--port", "0", "--index", str(tmp_path / "nothing"))
    assert code == 1 and err.startswith("citeqa: error:") and "Traceback" not in err


def test_serve_refuses_bad_auth_option(cli: CliRun) -> None:
    code, _, err = cli("serve", "--port", "0", "--auth", "alice")
    assert code == 1 and "user:password" in err


def test_the_server_opened_no_outbound_connection(live_server: LiveServer) -> None:
    httpx.get(live_server.url + "/", timeout=30)  # the page, the config, the assets have all been served by now
    assert live_server.outbound() == []


ASK_REMOTELY = """
import sys
from citeqa.cli import main
try:
    main(sys.argv[1:], prog_name="citeqa", standalone_mode=False)
finally:
    print("loaded:", sorted({"torch", "transformers", "faiss"} & set(sys.modules)), file=sys.stderr)
"""


def _ask_remotely(*args: str, stdin: str = "", home: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`citeqa ask ARGS` in a fresh process, which says on stderr which heavy libraries it loaded."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    if home is not None:
        env["CITEQA_HOME"] = str(home)
    command = [sys.executable, "-c", ASK_REMOTELY, "ask", *args]
    return subprocess.run(command, input=stdin, capture_output=True, text=True, env=env, timeout=60)


def test_ask_with_server_answers_from_the_running_server_without_loading_a_model(live_server: LiveServer) -> None:
    question = "How many Pakistani citizens visited Azerbaijan in 2024?"
    done = _ask_remotely("--server", live_server.url, "--json", question)
    answer = json.loads(done.stdout)
    assert done.returncode == 0 and answer["answer"] == GOLDEN[question]
    assert_cited_verbatim(answer, lambda source: _document_text(live_server, source))
    assert "loaded: []" in done.stderr  # no torch, no model: this is what makes it fast


def test_a_server_session_goes_on_after_a_bad_question(live_server: LiveServer) -> None:
    lines = "When did APP and AZERTAC sign their memorandum of cooperation?\n" + "x" * 5000 + "\n"
    lines += "How long does cargo take from China to Baku?\n"
    done = _ask_remotely("--server", live_server.url, "--json", stdin=lines)
    answers = [json.loads(line)["answer"] for line in done.stdout.splitlines()]
    assert done.returncode == 0 and answers == ["July 2024", "8-10 days"]
    assert "limit is 1,000" in done.stderr


def test_ask_with_no_server_there_says_so(cli: CliRun, live_server: LiveServer) -> None:
    code, _, err = cli("ask", "--server", f"http://127.0.0.1:{_free_port()}", "When?")
    assert code == 1 and "no citeqa server answers at" in err and "citeqa serve" in err
    code, _, err = cli("ask", "--server", live_server.url, "--index", "/tmp/x", "When?")
    assert code == 1 and "drop --index" in err
