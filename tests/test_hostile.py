"""Hostile requests at the HTTP edge: per-route body limits, bodies and request heads that never finish arriving,
and errors after a response has begun (Gradio's event streams) — each answered without a traceback or a worker held.

The red team's other classes have their tests beside the code they hit; docs/security.md lists every one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from conftest import LiveServer
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from citeqa.chat.web.limits import MAX_ASK_BODY_BYTES, BodyLimitMiddleware, StartedResponseGuard
from citeqa.chat.web.slow_clients import HeadDeadlineProtocol


def _echo_app(**limits: Any) -> FastAPI:
    app = FastAPI()

    @app.post("/api/ask")
    async def ask(request: Request) -> dict[str, int]:
        return {"read": len(await request.body())}

    @app.post("/gradio_api/queue/join")
    async def join(request: Request) -> dict[str, int]:
        return {"read": len(await request.body())}

    app.add_middleware(BodyLimitMiddleware, **limits)
    return app


def test_api_ask_reads_at_most_64_kb_while_other_routes_keep_the_general_limit() -> None:
    with TestClient(_echo_app()) as client:
        body = b"x" * (MAX_ASK_BODY_BYTES + 1)
        refused = client.post("/api/ask", content=body)
        assert refused.status_code == 413 and "65,536-byte limit" in refused.json()["message"]
        assert client.post("/api/ask", content=b"x" * MAX_ASK_BODY_BYTES).json() == {"read": MAX_ASK_BODY_BYTES}
        assert client.post("/gradio_api/queue/join", content=body).json() == {"read": len(body)}
    with TestClient(_echo_app(route_limits={"/api/ask": 2048})) as client:  # --max-ask-kb 2
        assert client.post("/api/ask", content=b"x" * 2049).status_code == 413


def _call(app: Any, scope: dict[str, Any], messages: list[dict[str, Any] | float]) -> list[dict[str, Any]]:
    """Run an ASGI app on `messages` (a float: the client goes silent for that many seconds) and collect what
    it sends back."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        while messages:
            message = messages.pop(0)
            if isinstance(message, float):
                await asyncio.sleep(message)
                continue
            return message
        await asyncio.sleep(3600)  # nothing more ever comes
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(asyncio.wait_for(app(scope, receive, send), 10))
    return sent


def _scope(path: str) -> dict[str, Any]:
    return {
        "type": "http",
        "method": "POST",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"100")],
        "http_version": "1.1",
        "scheme": "http",
        "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 5000),
    }


def test_a_body_that_stops_arriving_gets_408_and_frees_the_request() -> None:
    app = _echo_app(timeout=0.2)
    first = {"type": "http.request", "body": b'{"question": "W', "more_body": True}
    sent = _call(app, _scope("/api/ask"), [first, 5.0])  # then silence, longer than the timeout
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert start["status"] == 408 and json.loads(body)["error"] == "timeout"


def test_an_error_after_the_response_began_is_one_log_line(caplog: pytest.LogCaptureFixture) -> None:
    async def streams_then_fails(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b'event: error\ndata: "404"\n\n'})
        raise RuntimeError("Caught handled exception, but response already started.")

    async def fails_at_once(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("before any response")

    with caplog.at_level("INFO", logger="citeqa.serve"):
        sent = _call(StartedResponseGuard(streams_then_fails), _scope("/gradio_api/call/ask/x"), [])
    assert sent[0]["status"] == 200 and "after its response began" in caplog.text
    assert caplog.records[-1].levelname == "WARNING"  # shown by `citeqa serve`, which sets up no logging
    with pytest.raises(RuntimeError, match="before any response"):  # still the app's error handlers' to answer
        _call(StartedResponseGuard(fails_at_once), _scope("/api/ask"), [])


@pytest.mark.slow
def test_unknown_gradio_events_log_no_traceback_on_a_live_server(live_server: LiveServer) -> None:
    before = live_server.output.read_text(encoding="utf-8", errors="replace")
    for path in (
        "/gradio_api/call/ask/no-such-event",
        "/gradio_api/call/ask/another-unknown-event",
        "/gradio_api/queue/data?session_hash=nobody",
    ):
        with urllib.request.urlopen(live_server.url.rstrip("/") + path, timeout=30) as response:
            assert response.status == 200 and b"404" in response.read()  # Gradio's own error event
    with urllib.request.urlopen(live_server.url.rstrip("/") + "/api/health", timeout=30) as response:
        assert response.status == 200  # and the server goes on
    after = live_server.output.read_text(encoding="utf-8", errors="replace")[len(before) :]
    assert "Traceback" not in after and "Exception in ASGI application" not in after


class _QuickHeadDeadline(HeadDeadlineProtocol):
    head_timeout = 0.5


@contextlib.contextmanager
def _uvicorn(app: FastAPI) -> Iterator[int]:
    """A real uvicorn server on a free loopback port, with the head deadline as `citeqa serve` configures it."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, http=_QuickHeadDeadline, log_level="warning", timeout_keep_alive=30))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield listener.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _closed_within(connection: socket.socket, seconds: float) -> bool:
    connection.settimeout(seconds)
    try:
        return connection.recv(1024) == b""  # the server closed it
    except TimeoutError:
        return False


def test_a_request_head_that_trickles_in_is_cut_but_a_slow_answer_is_not() -> None:
    app = _echo_app()

    @app.get("/slow")
    async def slow() -> dict[str, bool]:
        await asyncio.sleep(1.5)  # longer than the head deadline: answering is not the client's delay
        return {"answered": True}

    with _uvicorn(app) as port:
        silent = socket.create_connection(("127.0.0.1", port))
        trickling = socket.create_connection(("127.0.0.1", port))
        trickling.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n")  # and the rest of the head never comes
        assert _closed_within(silent, 5) and _closed_within(trickling, 5)

        with urllib.request.urlopen(f"http://127.0.0.1:{port}/slow", timeout=10) as response:
            assert json.loads(response.read()) == {"answered": True}


def test_gradio_requests_for_events_it_has_no_function_for_get_a_json_404_not_a_silent_500(
    tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The red team's three (issue 24), and the neighbours that failed the same way; the chat's own calls pass."""
    from typing import cast

    from test_worker import FaultyAnswerer

    from citeqa.chat.answerer import Answerer
    from citeqa.chat.web.app import ServeOptions, create_app
    from citeqa.chat.web.service import ChatService

    answerer = FaultyAnswerer()
    answerer.index.path = tmp_path  # type: ignore[attr-defined]
    service = ChatService(cast(Answerer, answerer))
    app = create_app(service, ServeOptions(feedback=tmp_path / "feedback.jsonl"))
    refused = [
        ("POST", "/gradio_api/run/predict", {"data": ["hi"]}),
        ("POST", "/gradio_api/queue/join", {"data": ["hi"], "fn_index": 99999, "session_hash": "s"}),
        ("GET", "/gradio_api/proxy=%00", None),
        ("GET", "/gradio_api/proxy=http://198.51.100.7/file.js", None),
        ("POST", "/gradio_api/call/predict", {"data": ["hi"]}),
        ("POST", "/gradio_api/run/ask", {"data": ["hi"], "fn_index": 99999}),
        ("POST", "/gradio_api/queue/join", {"data": [], "fn_index": 0, "session_hash": "s"}),  # runs in the browser
    ]
    try:
        with TestClient(app, raise_server_exceptions=False) as client, caplog.at_level("WARNING"):
            for method, path, body in refused:
                response = client.request(method, path, json=body)
                assert response.status_code == 404 and response.json()["error"] == "not_found", path
            answered = client.post("/gradio_api/run/ask", json={"data": ["When?"]})
            assert answered.status_code == 200 and answered.json()["data"][0]["question"] == "When?"
            chat = {"data": ["When?", [], []], "fn_index": 3, "session_hash": "s"}  # how the page asks (respond)
            assert client.post("/gradio_api/queue/join", json=chat).status_code == 200
            assert "Traceback" not in caplog.text
    finally:
        service.close(wait=1)
