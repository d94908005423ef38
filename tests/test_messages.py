"""Follow-ups and honest messages, end to end on the interviews: the answerer, the JSON API and `citeqa ask`
sessions resolve follow-ups the same way, and say why they do not answer when the reason is not the documents."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from citations import assert_cited_verbatim
from click.testing import CliRunner
from fastapi.testclient import TestClient

from citeqa.chat.answer import Answer
from citeqa.chat.answerer import Answerer
from citeqa.chat.conversation import Turn
from citeqa.chat.web.app import ServeOptions, create_app
from citeqa.chat.web.service import ChatService

pytestmark = pytest.mark.slow

JETS = "How many JF-17 jets did Pakistan commit to deliver?"
VISITORS = "How many Pakistani citizens visited Azerbaijan in 2024?"
POPULATION = "Who won the 2018 FIFA World Cup?"


def _turn(answer: Answer) -> Turn:
    return Turn(answer.question, answer.text)


def _verbatim(answerer: Answerer, answer: Answer) -> None:
    assert_cited_verbatim(answer, lambda source: answerer.index.documents[source].text)


def test_a_follow_up_is_answered_as_the_question_it_stands_for(answerer: Answerer) -> None:
    first = answerer.answer(JETS)
    assert first.text is not None and first.text.startswith("40")
    follow = answerer.answer("By when?", history=[_turn(first)])
    assert follow.asked == "By when?" and follow.question == "By when did Pakistan commit to deliver JF-17 jets?"
    assert follow.text is not None and "2025" in follow.text
    _verbatim(answerer, follow)
    # the same words with no history are asked back, never answered from a guess
    alone = answerer.answer("By when?")
    assert alone.text is None and alone.notice is not None and alone.notice.code == "unclear_reference"
    assert alone.citations == () and alone.asked is None


def test_a_follow_up_never_builds_on_a_turn_that_abstained(answerer: Answerer) -> None:
    population = answerer.answer(POPULATION)
    assert population.text is None
    follow = answerer.answer("and in 2025?", history=[_turn(population)])
    assert follow.text is None and follow.notice is not None and follow.notice.code == "unclear_reference"
    assert follow.question == "and in 2025?"  # not built on a question the documents did not answer


def test_a_pronoun_with_no_referent_is_asked_back(answerer: Answerer) -> None:
    answer = answerer.answer("Who signed it?")
    assert answer.text is None and answer.notice is not None and "“it”" in answer.notice.message


@pytest.mark.parametrize(
    "question",
    [
        "¿Cuántos ciudadanos paquistaníes visitaron Azerbaiyán en 2024?",
        "پاکستان نے کتنے جے ایف 17 طیارے دینے کا وعدہ کیا؟",
    ],
)
def test_a_question_not_in_english_is_told_so(answerer: Answerer, question: str) -> None:
    answer = answerer.answer(question)
    assert answer.text is None and answer.notice is not None and answer.notice.code == "not_english"
    assert "don't answer" not in answer.notice.message and "English" in answer.notice.message
    assert answer.question == question  # never split or rewritten ("¿ Cuántos")
    assert answer.passages == ()  # none found for words citeqa could not read


def test_a_question_full_of_typos_is_answered_from_the_corrected_one(answerer: Answerer) -> None:
    answer = answerer.answer("how mny nationl incubaton centres does pakistn hav?")
    assert answer.searched_for == "how many national incubation centres does pakistan have?"
    assert answer.text == "eight"
    assert answer.question == "how mny nationl incubaton centres does pakistn hav?"  # as asked
    _verbatim(answerer, answer)


def test_typographic_dashes_do_not_change_the_answer(answerer: Answerer) -> None:
    hyphen = answerer.answer("How many Pakistani tourists visited Azerbaijan in January-September 2024?")
    en_dash = answerer.answer("How many Pakistani tourists visited Azerbaijan in January–September 2024?")
    spaced = answerer.answer("How many Pakistani tourists visited Azerbaijan in January - September 2024?")
    assert hyphen.text == en_dash.text == spaced.text
    assert hyphen.confidence == en_dash.confidence == spaced.confidence


def test_each_document_that_answers_is_cited(answerer: Answerer) -> None:
    answer = answerer.answer("From which cities are there direct flights to Baku?")
    assert answer.text is not None
    sources = [c.source for c in answer.citations]
    assert len(sources) == len(set(sources)), "a document is cited once"
    assert answer.citations[0].text == answer.text
    assert any("Lahore" in c.text for c in answer.citations)
    _verbatim(answerer, answer)


@pytest.fixture(scope="module")
def client(answerer: Answerer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    service = ChatService(answerer)
    feedback = tmp_path_factory.mktemp("feedback") / "feedback.jsonl"
    with TestClient(create_app(service, ServeOptions(feedback=feedback))) as client:
        yield client
    service.close()


def test_the_api_resolves_follow_ups_from_the_history_it_is_sent(client: TestClient) -> None:
    first = client.post("/api/ask", json={"question": VISITORS}).json()
    assert first["asked"] == first["question"] == VISITORS and first["answer"] == "80,924"
    history = [{"question": first["question"], "answer": first["answer"]}]
    follow = client.post("/api/ask", json={"question": "And in 2025?", "history": history}).json()
    assert follow["asked"] == "And in 2025?"
    assert follow["question"] == "How many Pakistani citizens visited Azerbaijan in 2025?"
    # "ask as typed": the same words without the history
    typed = client.post("/api/ask", json={"question": "And in 2025?"}).json()
    assert typed["question"] == "And in 2025?" and typed["notice"]["code"] == "unclear_reference"
    # a whole earlier response may be sent back as a turn: its other fields are ignored
    whole = client.post("/api/ask", json={"question": "And in 2025?", "history": [first]}).json()
    assert whole["question"] == follow["question"]


@pytest.mark.parametrize(
    "history",
    [
        [{"question": "x"}],  # no answer field
        [{"question": "x", "answer": None}] * 21,  # more turns than kept
        [{"question": "x" * 1001, "answer": None}],
        "not a list",
    ],
)
def test_a_malformed_history_is_a_clear_422(client: TestClient, history: object) -> None:
    response = client.post("/api/ask", json={"question": "And in 2025?", "history": history})
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_request" and "history" in response.json()["message"]


def test_a_terminal_session_resolves_follow_ups(index_env: Path) -> None:
    from citeqa.cli import main

    questions = f"{VISITORS}\nAnd in 2025?\n"
    result = CliRunner().invoke(main, ["ask", "--json"], input=questions, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["answer"] == "80,924"
    assert second["asked"] == "And in 2025?"
    assert second["question"] == "How many Pakistani citizens visited Azerbaijan in 2025?"
    plain = CliRunner().invoke(main, ["ask"], input=questions, catch_exceptions=False)
    assert "Understood as: How many Pakistani citizens visited Azerbaijan in 2025?" in plain.stdout


def test_a_one_shot_ask_shows_that_it_is_loading(index_env: Path) -> None:
    """On a terminal, `citeqa ask` says it is loading the models before the seconds that takes."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "citeqa.cli", "ask", JETS],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=follower,
        env={**os.environ, "COLUMNS": "200"},
    )
    os.close(follower)
    stdout, _ = process.communicate(timeout=300)
    shown = b""
    try:
        while chunk := os.read(leader, 4096):
            shown += chunk
    except OSError:
        pass  # the terminal closed with the process
    os.close(leader)
    assert process.returncode == 0
    assert b"loading the index and models" in shown and b"ready" in shown
    assert b"Answer: 40" in stdout
