"""Requests Gradio would answer with a plain-text 500 and no log line get a JSON 4xx here instead.

Gradio looks an event up by the API name in the path or the `fn_index` in the body and fails with an exception
(and its own `Internal Server Error`) when there is none: `POST /gradio_api/run/predict`, `POST
/gradio_api/queue/join` with `fn_index` 99999, an event that runs only in the browser. Its `/gradio_api/proxy=`
route fetches other Gradio apps' files, which citeqa never asks it to (and a malformed URL there raised too).
This middleware answers those requests itself, before Gradio sees them; the rest pass unchanged.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .limits import route_of

if TYPE_CHECKING:
    import gradio as gr

_BY_NAME = re.compile(r"^/gradio_api/(?:run|api|call|call/v2)/(?P<name>[^/]+)/?$")  # POST: an event by API name
_JOIN = "/gradio_api/queue/join"  # POST: an event by fn_index
_PROXY = "/gradio_api/proxy="


class GradioRequestGuard:
    """Answers with 404 JSON a request for a Gradio event that has no Python function, and any proxy request."""

    def __init__(self, app: ASGIApp, blocks: gr.Blocks) -> None:
        self.app = app
        served = {number: fn for number, fn in blocks.fns.items() if fn.fn is not None}
        self.events = frozenset(served)
        self.names = frozenset(fn.api_name for fn in served.values() if isinstance(fn.api_name, str))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route, method = route_of(scope), scope.get("method")
        if route.startswith(_PROXY):
            await _not_found("citeqa proxies nothing", scope, receive, send)
            return
        by_name = _BY_NAME.match(route) if method == "POST" else None
        if by_name is None and not (method == "POST" and route == _JOIN):
            await self.app(scope, receive, send)
            return
        messages, body = await _read_body(receive)
        event = _fn_index(body)
        if event is not None and event not in self.events:
            await _not_found(f"no chat event {event}", scope, receive, send)
            return
        if event is None and by_name is not None and by_name["name"] not in self.names:
            await _not_found(f"no chat endpoint {by_name['name']!r}; the one to call is 'ask'", scope, receive, send)
            return
        await self.app(scope, _replay(messages, receive), send)


async def _read_body(receive: Receive) -> tuple[list[Message], bytes]:
    """The request's body messages and bytes (the body limit, outside this middleware, bounds them)."""
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            break
    return messages, b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")


def _fn_index(body: bytes) -> Any:
    """The body's `fn_index`, when it is a JSON object that gives an integer one; else None (Gradio judges it)."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    event = data.get("fn_index") if isinstance(data, dict) else None
    return event if isinstance(event, int) and not isinstance(event, bool) else None


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed


async def _not_found(message: str, scope: Scope, receive: Receive, send: Send) -> None:
    body = {"error": "not_found", "message": message, "hint": "the JSON API is POST /api/ask; see /docs"}
    await JSONResponse(body, status_code=404)(scope, receive, send)
