"""Long questions of unknown words, at lengths around the reader's window, answered on every face (issue 24).

Misspelt or unknown words make many word pieces, so a question's 1,000-character limit does not bound its length in
pieces: one of 500 characters made the tokenizer panic (ending the server's worker), one of 1,000 a "Truncation
error". Each face must answer (or abstain) in the answer contract. The fast tests make the answerer itself fail the
way the tokenizer did, and check that each face says so in one message and goes on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from citations import assert_cited_verbatim
from conftest import CliRun
from fastapi.testclient import TestClient

from citeqa.chat import Answerer
from citeqa.chat.answer import Answer
from citeqa.chat.conversation import Turn
from citeqa.chat.web.app import ServeOptions, create_app
from citeqa.chat.web.service import ChatService
from citeqa.index import SearchIndex

UNKNOWN = "zorblat reactr comissioned "  # ~9 word pieces per 27 characters
LENGTHS = [60, 200, 400, 480, 500, 520, 700, 1000]  # characters: the window (192 pieces) is passed near 500


def unknown_words(length: int) -> str:
    """A question of about `length` characters (never more: 1,000 is the limit) of unknown words."""
    return (UNKNOWN * (length // len(UNKNOWN) + 1))[: length - 1].strip() + "?"


@pytest.fixture(scope="module")
def client(answerer: Answerer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    service = ChatService(answerer)
    feedback = tmp_path_factory.mktemp("feedback") / "feedback.jsonl"
    with TestClient(create_app(service, ServeOptions(feedback=feedback)), raise_server_exceptions=False) as client:
        yield client
    service.close()


@pytest.mark.parametrize("length", LENGTHS)
def test_the_api_answers_a_long_question_of_unknown_words(
    length: int, client: TestClient, interviews: SearchIndex
) -> None:
    response = client.post("/api/ask", json={"question": unknown_words(length)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["answer"] is None or body["citations"]
    assert_cited_verbatim(body, lambda source: interviews.documents[source].text)
    assert client.get("/api/health").json()["status"] == "ok"  # the worker still serves


@pytest.mark.parametrize("length", [480, 520, 1000])
def test_the_chat_answers_a_long_question_of_unknown_words(length: int, client: TestClient) -> None:
    question = unknown_words(length)
    chat = client.post("/gradio_api/run/respond", json={"data": [question, [], []]})
    assert chat.status_code == 200, chat.text
    _, history, _, _ = chat.json()["data"]  # the turns' state is not sent over the API
    reply = str(history[-1]["content"])
    assert "cq-message" in reply and "cq-error" not in reply, reply  # an answer or an abstention, not an error
    assert client.post("/gradio_api/run/ask", json={"data": [question]}).status_code == 200


@pytest.mark.parametrize("length", [480, 520, 1000])
def test_citeqa_ask_answers_a_long_question_of_unknown_words(length: int, cli: CliRun, index_env: Path) -> None:
    code, out, err = cli("ask", "--json", unknown_words(length))
    assert code == 0 and "Traceback" not in err, err
    assert json.loads(out)["question"] == unknown_words(length)


class FakePanic(BaseException):
    """What a Rust tokenizer's panic arrives as: pyo3's PanicException, a BaseException."""


def _panics_on_zorblat(question: str, history: Sequence[Turn]) -> Answer:
    if "zorblat" in question:
        raise FakePanic("'stride' must be strictly less than 'max_len=40'")
    return Answer(question, None, 0.0)


def test_citeqa_ask_says_in_one_message_that_a_question_failed(cli: CliRun, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("citeqa.chat.cli._running_or_local", lambda *args: _panics_on_zorblat)
    code, out, err = cli("ask", unknown_words(500))
    assert code == 1 and out == "" and "Traceback" not in err
    assert "error: citeqa could not answer this question (FakePanic: 'stride' must" in err


def test_a_citeqa_ask_session_goes_on_after_a_question_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from citeqa.cli import main

    monkeypatch.setattr("citeqa.chat.cli._running_or_local", lambda *args: _panics_on_zorblat)
    lines = f"{unknown_words(500)}\nWhen did the harbour open?\n"
    result: Any = CliRunner().invoke(main, ["ask", "--json"], input=lines, catch_exceptions=False)
    assert result.exit_code == 0 and "could not answer this question (FakePanic" in result.stderr
    assert json.loads(result.stdout)["question"].strip() == "When did the harbour open?"
