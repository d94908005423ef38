"""The JSON API in process: every route, every kind of bad request, and the answer contract verbatim."""

from __future__ import annotations

import base64
import html
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from citations import assert_cited_verbatim
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from citeqa.chat import Answerer
from citeqa.chat.web.app import ServeOptions, create_app, parse_users
from citeqa.chat.web.service import ChatService
from citeqa.errors import CiteqaError
from citeqa.index import SearchIndex

ROOT = Path(__file__).resolve().parent.parent
CONTRACT_KEYS = {
    "question",
    "asked",
    "searched_for",
    "notice",
    "answer",
    "abstained",
    "confidence",
    "citations",
    "passages",
}
CITATION_KEYS = {"source", "title", "text", "start", "end", "quote", "quote_start", "quote_end", "page"}
DEV = [json.loads(line) for line in (ROOT / "eval" / "questions" / "dev.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def service(answerer: Answerer) -> Iterator[ChatService]:
    chat = ChatService(answerer, examples=["How many Pakistani citizens visited Azerbaijan in 2024?"])
    yield chat
    chat.close()


def _client(app: FastAPI, root_path: str = "") -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False, root_path=root_path) as client:
        yield client


@pytest.fixture(scope="module")
def client(service: ChatService, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    feedback = tmp_path_factory.mktemp("feedback") / "feedback.jsonl"
    yield from _client(create_app(service, ServeOptions(feedback=feedback)))


def _ask(client: TestClient, body: Any) -> Any:
    return client.post("/api/ask", json=body)


def test_health_says_what_is_served(client: TestClient, interviews: SearchIndex) -> None:
    response = client.get("/api/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["documents"] == len(interviews.documents) == 2
    assert body["model"] == interviews.manifest.settings.model
    assert len(body["answerer"]["reader"]["sha256"]) == 64  # which trained reader answers
    assert body["index"] == {"generation": None, "reload_error": None}  # this service follows no folder


def test_health_says_stale_when_the_newest_index_failed_to_load(tmp_path: Path, answerer: Answerer) -> None:
    from citeqa.index import save_index

    save_index(answerer.index, tmp_path / "idx", lock=True)
    service = ChatService(answerer)
    service.follow(tmp_path / "idx", interval=0.05)
    try:
        (tmp_path / "idx" / "CURRENT").write_bytes(b"\xff\xfe not a generation")
        for client in _client(create_app(service)):
            deadline = time.monotonic() + 10
            while client.get("/api/health").json()["status"] != "stale" and time.monotonic() < deadline:
                time.sleep(0.05)
            body = client.get("/api/health").json()
            assert body["status"] == "stale" and "CURRENT" in body["index"]["reload_error"]
            assert _ask(client, {"question": "When did APP and AZERTAC sign?"}).status_code == 200  # still answers
    finally:
        service.close()


@pytest.mark.parametrize("record", [r for r in DEV if r["answers"]][:8], ids=lambda r: r["id"])
def test_answers_are_verbatim_spans_of_the_documents(client: TestClient, record: dict[str, Any]) -> None:
    response = _ask(client, {"question": record["question"]})
    assert response.status_code == 200
    answer = response.json()
    assert set(answer) == CONTRACT_KEYS
    if answer["abstained"]:  # reader v1 abstains on a few dev questions: then nothing may be cited
        assert answer["answer"] is None and answer["citations"] == [] and answer["passages"]
        return
    citation = answer["citations"][0]
    assert set(citation) == CITATION_KEYS
    assert_cited_verbatim(answer, lambda source: str(client.get(f"/api/documents/{source}").json()["text"]))
    for passage in answer["passages"]:
        assert client.get(f"/api/documents/{passage['source']}").json()["text"][passage["start"] : passage["end"]]


def test_the_api_returns_exactly_the_core_answer_contract(client: TestClient, answerer: Answerer) -> None:
    question = "When did APP and AZERTAC sign their memorandum of cooperation?"
    body = _ask(client, {"question": question, "k": 3}).json()
    assert body == answerer.answer(question, 3).to_dict()
    assert body["answer"] == "July 2024" and len(body["passages"]) == 3


def test_an_unanswerable_question_abstains_with_passages(client: TestClient) -> None:
    body = _ask(client, {"question": "Who won the 2018 FIFA World Cup?"}).json()
    assert body["abstained"] is True and body["answer"] is None and body["citations"] == []
    assert body["passages"]


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"question": ""}, 422, "the question is empty"),
        ({"question": "   \n "}, 422, "the question is empty"),
        ({"question": "x" * 1001}, 422, "the limit is 1,000"),
        ({"question": "a\x00b"}, 422, "NUL"),
        ({}, 422, "question: Field required"),
        ({"question": 5}, 422, "question: Input should be a valid string"),
        ({"question": ["a"]}, 422, "question"),
        ({"question": None}, 422, "question"),
        ({"question": "When?", "k": 0}, 422, "k: Input should be greater than or equal to 1"),
        ({"question": "When?", "k": 101}, 422, "k: Input should be less than or equal to 100"),
        ({"question": "When?", "k": "5"}, 422, "k: Input should be a valid integer"),
        ({"question": "When?", "k": 2.5}, 422, "k"),
        ({"question": "When?", "k": True}, 422, "k"),
        ({"question": "When?", "top": 3}, 422, "top: Extra inputs are not permitted"),
        ([1, 2], 400, "not a JSON object"),
        ("a question", 400, "not a JSON object"),
    ],
)
def test_bad_requests_get_a_4xx_json_message(client: TestClient, body: Any, status: int, words: str) -> None:
    response = _ask(client, body)
    assert response.status_code == status, response.text
    payload = response.json()
    assert set(payload) == {"error", "message", "hint"} and words in payload["message"]


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (b'{"question": "When', {"content-type": "application/json"}),
        (b"", {"content-type": "application/json"}),
        (b"question=When", {"content-type": "application/x-www-form-urlencoded"}),
        (b"\xff\xfe", {"content-type": "application/json"}),
    ],
)
def test_malformed_bodies_get_400(client: TestClient, content: bytes, headers: dict[str, str]) -> None:
    response = client.post("/api/ask", content=content, headers=headers)
    assert response.status_code in (400, 422) and response.status_code != 500
    assert response.json()["error"] in ("malformed_json", "invalid_request")


def test_wrong_method_is_a_json_405(client: TestClient) -> None:
    response = client.get("/api/ask")
    assert response.status_code == 405 and response.json()["error"] == "method_not_allowed"


def test_documents_route_serves_ingested_text(client: TestClient, interviews: SearchIndex) -> None:
    source, document = next(iter(interviews.documents.items()))
    body = client.get(f"/api/documents/{source}").json()
    assert body["text"] == document.text and body["title"] == document.title and body["source"] == source


@pytest.mark.parametrize(
    "path",
    [
        "/api/documents/nothing.txt",
        "/api/documents/..%2F..%2Fpyproject.toml",
        "/api/documents/%2e%2e/%2e%2e/pyproject.toml",
        "/api/documents/%2Fetc%2Fpasswd",
        "/api/documents//etc/passwd",
        "/api/documents/../README.md",
    ],
)
def test_only_ingested_documents_are_served(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert "root:" not in response.text and "citeqa" not in response.text.split('"message"')[0]


def test_document_page_marks_the_quote_and_the_answer(client: TestClient) -> None:
    answer = _ask(client, {"question": "How many Pakistani citizens visited Azerbaijan in 2024?"}).json()
    c = answer["citations"][0]
    url = f"/documents/{c['source']}?start={c['start']}&end={c['end']}"
    page = client.get(f"{url}&quote_start={c['quote_start']}&quote_end={c['quote_end']}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<mark class="quote" id="cited">' in page.text
    assert f'<mark class="answer">{html.escape(answer["answer"])}</mark>' in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"] and "<script" not in page.text
    assert client.get("/documents/nothing.txt").status_code == 404
    wild = client.get(f"/documents/{c['source']}?start=-5&end=99999999")
    assert wild.status_code == 200  # a range out of bounds is clamped, never an error
    assert client.get(f"/documents/{c['source']}?start=x").status_code == 422


def test_openapi_docs_load_only_local_assets(client: TestClient) -> None:
    docs = client.get("/docs")
    assert docs.status_code == 200 and "http://" not in docs.text and "https://" not in docs.text
    for asset in ("/docs-assets/swagger-ui-bundle.js", "/docs-assets/swagger-ui.css"):
        assert client.get(asset).status_code == 200
    schema = client.get("/openapi.json").json()
    assert "/api/ask" in schema["paths"] and "/api/health" in schema["paths"]


def test_chat_page_and_embed_example_are_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "gradio_config" in page.text
    assert "fonts.googleapis" not in page.text
    example = client.get("/embed-example")
    assert example.status_code == 200 and "<iframe" in example.text and 'src="./"' in example.text


def test_service_batches_questions_that_arrive_together(service: ChatService, answerer: Answerer) -> None:
    questions = [r["question"] for r in DEV[:12]]
    results: dict[int, Any] = {}

    def ask(i: int) -> None:
        results[i] = service.ask(questions[i]).to_dict()

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(questions))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [results[i] for i in range(len(questions))] == [a.to_dict() for a in answerer.answer_batch(questions)]


def test_service_refuses_bad_input_before_queueing(service: ChatService) -> None:
    with pytest.raises(CiteqaError, match="empty"):
        service.ask("  ")
    with pytest.raises(CiteqaError, match="out of range"):
        service.ask("When?", k=0)
    assert service.document("../pyproject.toml") is None


def test_auth_basic_and_trusted_header(service: ChatService) -> None:
    secret = {"X-Citeqa-Proxy-Secret": "proxy-secret-0123456789"}
    users = parse_users(["alice:s3cr:et"])
    options = ServeOptions(users=users, auth_header="X-Remote-User", proxy_secret=secret["X-Citeqa-Proxy-Secret"])
    for client in _client(create_app(service, options)):
        assert client.get("/api/health").status_code == 200  # open for load balancers
        refused = client.post("/api/ask", json={"question": "When?"})
        assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Basic")
        assert client.get("/").status_code == 401
        good = base64.b64encode(b"alice:s3cr:et").decode()
        bad = base64.b64encode(b"alice:wrong").decode()
        assert client.get("/", headers={"Authorization": f"Basic {bad}"}).status_code == 401
        assert client.get("/", headers={"Authorization": "Basic ###"}).status_code == 401
        assert client.get("/", headers={"Authorization": f"Basic {good}"}).status_code == 200
        assert client.get("/", headers={"X-Remote-User": "bob", **secret}).status_code == 200
        assert client.get("/", headers={"X-Remote-User": " ", **secret}).status_code == 401
        # Only GET /api/health itself is open: not a POST to it, nor another route that ends the same way.
        assert client.post("/gradio_api/api/health", json={}).status_code == 401
        assert client.post("/api/health", json={}).status_code == 401


def test_the_trusted_header_counts_only_with_the_proxys_secret(service: ChatService) -> None:
    secret = "0123456789abcdef-proxy"
    options = ServeOptions(auth_header="X-Remote-User", proxy_secret=secret)
    for client in _client(create_app(service, options)):
        assert client.get("/", headers={"X-Remote-User": "mallory"}).status_code == 401  # a local forger
        wrong = {"X-Remote-User": "mallory", "X-Citeqa-Proxy-Secret": "guess"}
        assert client.get("/", headers=wrong).status_code == 401
        right = {"X-Remote-User": "alice", "X-Citeqa-Proxy-Secret": secret}
        assert client.get("/", headers=right).status_code == 200
    with pytest.raises(CiteqaError, match="16 characters"):
        ServeOptions(auth_header="X-Remote-User", proxy_secret="short")
    with pytest.raises(CiteqaError, match="goes with --auth-header"):
        ServeOptions(proxy_secret=secret)
    with pytest.raises(CiteqaError, match="needs --proxy-secret"):
        ServeOptions(auth_header="X-Remote-User")


def test_bad_auth_and_root_path_options_are_refused() -> None:
    with pytest.raises(CiteqaError, match="user:password"):
        parse_users(["alice"])
    with pytest.raises(CiteqaError, match="root-path"):
        ServeOptions(root_path="qa/")


def test_cors_allows_only_listed_origins(service: ChatService) -> None:
    for client in _client(create_app(service, ServeOptions(cors_origins=("http://intranet.example",)))):
        preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
        allowed = client.options("/api/ask", headers={"Origin": "http://intranet.example", **preflight})
        assert allowed.headers.get("access-control-allow-origin") == "http://intranet.example"
        other = client.options("/api/ask", headers={"Origin": "http://elsewhere.example", **preflight})
        assert "access-control-allow-origin" not in other.headers
        simple = client.get("/api/health", headers={"Origin": "http://intranet.example"})
        assert simple.headers.get("access-control-allow-origin") == "http://intranet.example"


def test_root_path_behind_a_proxy(service: ChatService) -> None:
    for client in _client(create_app(service, ServeOptions(root_path="/qa")), root_path="/qa"):
        assert client.get("/api/health").status_code == 200  # a proxy that strips the prefix
        assert client.get("/qa/api/health").status_code == 200  # one that passes it through
        assert "/qa/docs-assets/swagger-ui-bundle.js" in client.get("/docs").text
        config = client.get("/config").json()
        assert config["root"].endswith("/qa")


def test_unknown_api_routes_are_json_404(client: TestClient) -> None:
    response = client.get("/api/nothing")
    assert response.status_code == 404 and response.json()["error"] == "not_found"
    assert client.delete("/api/documents/x").status_code == 405
    for method in ("OPTIONS", "HEAD", "TRACE", "PUT"):  # as docs/serving.md promises: 405 and what is allowed
        response = client.request(method, "/api/ask")
        assert response.status_code == 405 and response.headers["allow"] == "POST", method


def test_the_documented_schema_is_the_contract(client: TestClient) -> None:
    from pydantic import TypeAdapter

    from citeqa.chat.answer import AnswerRecord

    body = _ask(client, {"question": "In what year were diplomatic ties established?"}).json()
    assert TypeAdapter(AnswerRecord).validate_python(body, strict=True) == body
    schema = client.get("/openapi.json").json()
    ok = schema["paths"]["/api/ask"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/AnswerRecord"}
    documented = schema["components"]["schemas"]
    assert set(documented["AnswerRecord"]["properties"]) == CONTRACT_KEYS
    assert set(documented["CitationRecord"]["properties"]) == CITATION_KEYS
    start = documented["CitationRecord"]["properties"]["start"]
    assert start["description"] == "document_text[start:end] == text"  # the core's docstrings document it


def test_a_closed_service_refuses_new_questions(answerer: Answerer) -> None:
    service = ChatService(answerer)
    pending = service.submit("When did APP and AZERTAC sign their memorandum of cooperation?")
    service.close()
    assert pending.result(timeout=60).text == "July 2024"  # what was queued is still answered
    with pytest.raises(CiteqaError, match="shutting down"):
        service.ask("When?")


@pytest.mark.parametrize("question", ["\ud800", "What is \udcff?", "\udfff\ud800 twice"])
def test_a_question_that_is_not_text_is_a_4xx_and_the_connection_goes_on(client: TestClient, question: str) -> None:
    body = json.dumps({"question": question}, ensure_ascii=True)  # JSON's \\ud800 escapes: valid JSON, not text
    response = client.post("/api/ask", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422 and "not text" in response.json()["message"]
    assert _ask(client, {"question": "When did APP and AZERTAC sign?"}).status_code == 200


def test_a_huge_body_is_refused_before_it_is_read(client: TestClient) -> None:
    huge = b'{"question": "' + b"x" * (2 << 20) + b'"}'
    response = client.post("/api/ask", content=huge, headers={"content-type": "application/json"})
    assert response.status_code == 413 and response.json()["error"] == "too_large"

    def chunked() -> Iterator[bytes]:  # no Content-Length: refused once the limit is passed
        yield b'{"question": "'
        for _ in range(64):
            yield b"x" * 65536
        yield b'"}'

    streamed = client.post("/api/ask", content=chunked(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413
    assert _ask(client, {"question": "When did APP and AZERTAC sign?"}).status_code == 200


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(
        st.fixed_dictionaries({"question": st.text(max_size=300)}),
        st.fixed_dictionaries({"question": st.text(max_size=50), "k": st.integers(-5, 200)}),
        st.dictionaries(st.text(max_size=8), st.one_of(st.none(), st.integers(), st.text(max_size=20)), max_size=3),
        st.text(max_size=40),
        st.lists(st.integers(), max_size=3),
    )
)
def test_any_json_body_gets_an_answer_or_a_json_4xx_never_a_5xx(client: TestClient, body: object) -> None:
    response = client.post("/api/ask", content=json.dumps(body), headers={"content-type": "application/json"})
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert set(response.json()) == {"error", "message", "hint"}


def test_a_full_queue_turns_a_request_away_with_503_and_answers_the_rest(answerer: Answerer) -> None:
    service = ChatService(answerer, max_waiting=2)
    gate = threading.Event()
    answer_now = service._answer

    def held(batch: Any) -> None:  # the worker, stuck on a slow batch
        gate.wait(60)
        answer_now(batch)

    service._answer = held  # type: ignore[method-assign]
    try:
        first = service.submit("When did APP and AZERTAC sign their memorandum of cooperation?")
        deadline = time.monotonic() + 10
        while service._jobs.qsize() and time.monotonic() < deadline:  # until the worker holds it
            time.sleep(0.01)
        # the queue is full:
        waiting = [service.submit("How long does cargo take from China to Baku?") for _ in range(2)]
        for client in _client(create_app(service)):
            response = _ask(client, {"question": "When did APP and AZERTAC sign?"})
            assert response.status_code == 503 and response.headers["retry-after"] == "1"
            assert response.json()["error"] == "busy"
    finally:
        gate.set()
    assert first.result(60).text == "July 2024" and all(w.result(60).text == "8-10 days" for w in waiting)
    service.close()
