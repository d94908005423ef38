"""What one request may cost the server: its body's size and how long it takes to arrive, and what an error
after a response has started may do (nothing but one log line).

ASGI middleware, outermost in the app, so that nothing reads a body these refuse.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger("citeqa.serve")

MAX_BODY_BYTES = 1 << 20  # no route takes uploads; Gradio's own events are small JSON
MAX_ASK_BODY_BYTES = 64 * 1024  # POST /api/ask: a 1,000-character question and a history of 20 short turns
BODY_TIMEOUT_S = 30.0  # a body that trickles in slower than this is dropped (slow-connection attacks)


def route_of(scope: Scope) -> str:
    """The request's path below --root-path."""
    path, root = str(scope.get("path", "")), str(scope.get("root_path", ""))
    return path[len(root) :] if root and path.startswith(root) else path


class BodyLimitMiddleware:
    """Refuses a request body over its route's limit with 413 before reading it (by Content-Length), or as soon as
    a body sent without one passes the limit; and with 408 when the body stops arriving for `timeout` seconds.
    A huge or endless POST costs neither memory nor a worker held open."""

    def __init__(
        self,
        app: ASGIApp,
        limit: int = MAX_BODY_BYTES,
        route_limits: dict[str, int] | None = None,
        timeout: float = BODY_TIMEOUT_S,
    ) -> None:
        self.app = app
        self.limit = limit
        self.route_limits = route_limits if route_limits is not None else {"/api/ask": MAX_ASK_BODY_BYTES}
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.route_limits.get(route_of(scope), self.limit)
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _refuse(scope, receive, send, 413, "too_large", _too_large(limit))
            return
        seen, started, refusal = 0, False, None

        async def counted() -> Any:
            nonlocal seen, refusal
            if refusal is not None:
                return {"type": "http.disconnect"}
            try:
                message = await asyncio.wait_for(receive(), self.timeout)
            except TimeoutError:  # end the body here: the app's answer to the stub is replaced by the 408
                refusal = (408, "timeout", f"the request body did not arrive within {self.timeout:g} s")
                return {"type": "http.request", "body": b"", "more_body": False}
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:  # likewise: the 413 replaces the app's answer
                    refusal = (413, "too_large", _too_large(limit))
                    return {"type": "http.request", "body": b"", "more_body": False}
            return message

        async def tracked(message: Any) -> None:
            nonlocal started
            if refusal is not None and not started:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counted, tracked)
        if refusal is not None and not started:
            await _refuse(scope, receive, send, *refusal)


def _too_large(limit: int) -> str:
    return f"the request body is over the {limit:,}-byte limit"


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, code: str, message: str) -> None:
    body = {"error": code, "message": message, "hint": "send one question of up to 1,000 characters"}
    await JSONResponse(body, status, headers={"connection": "close"})(scope, receive, send)


class StartedResponseGuard:
    """An exception raised after a response has started cannot change it; the client already has its answer
    (Gradio's event streams send `event: error` for an unknown event id, then raise). Log one line instead of an
    ASGI traceback; an exception before the response starts goes on to the app's error handlers as before."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = finished = False

        async def tracked(message: Any) -> None:
            nonlocal started, finished
            started = started or message["type"] == "http.response.start"
            finished = message["type"] == "http.response.body" and not message.get("more_body", False)
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            if not started:
                raise
            # A warning, so that `citeqa serve` (no logging set up: warnings and worse reach stderr) shows it.
            log.warning("%s %s ended with %s after its response began", scope.get("method"), route_of(scope), exc)
            if not finished:  # end the response the client is reading, so that it reads a whole one
                await send({"type": "http.response.body", "body": b"", "more_body": False})
