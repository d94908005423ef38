"""The JSON API: ask (the answer contract), health, and the text of an ingested document.

Every mistake a caller can make gets a 4xx JSON body `{"error": code, "message": ..., "hint": ...}`; the
routes call the service and format its result, nothing more.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field, with_config
from starlette.exceptions import HTTPException as StarletteHTTPException

from citeqa.errors import CiteqaError
from citeqa.index.search import PassageRecord

from ..answer import AnswerRecord, CitationRecord, NoticeRecord
from ..conversation import MAX_HISTORY, Turn
from ..failures import AnswerFailedError
from ..question import MAX_QUESTION_CHARS, QuestionError
from ..settings import DEFAULT_PASSAGES, MAX_PASSAGES
from .render import clamp_range, document_page
from .service import ChatService, ServiceBusyError


class EarlierTurn(BaseModel):
    """One earlier turn of the conversation, as an earlier response gave it."""

    model_config = ConfigDict(extra="ignore", strict=True)  # a client may send back a whole earlier response

    question: str = Field(max_length=MAX_QUESTION_CHARS, description="that response's `question`")
    answer: str | None = Field(max_length=20_000, description="that response's `answer` (null: it abstained)")


class AskRequest(BaseModel):
    """A question; `k` is how many retrieved passages to return with the answer; `history` the conversation so far,
    for follow-ups ("By when?", "Who signed it?")."""

    model_config = ConfigDict(extra="forbid", strict=True)

    question: str = Field(
        description=f"The question, 1 to {MAX_QUESTION_CHARS:,} characters.", examples=["When did APP sign?"]
    )
    k: int | None = Field(
        default=None, ge=1, le=MAX_PASSAGES, description=f"Passages to return (default {DEFAULT_PASSAGES})."
    )
    history: list[EarlierTurn] = Field(
        default_factory=list,
        max_length=MAX_HISTORY,
        description="Earlier turns, oldest first (at most "
        f"{MAX_HISTORY}). A follow-up builds on the last one when it was answered; the response's `question` is "
        "the follow-up made to stand on its own, `asked` what was typed. Send none to ask as typed.",
    )


# The answer contract's schema is the core's own TypedDicts (what `Answer.to_dict` returns); their attribute
# docstrings become the field descriptions in /docs.
for _record in (AnswerRecord, CitationRecord, NoticeRecord, PassageRecord):
    with_config(ConfigDict(use_attribute_docstrings=True))(_record)


class DocumentBody(BaseModel):
    source: str
    title: str
    date: str | None
    checksum: str
    text: str = Field(description="the text as ingested: every offset of an answer indexes it")


class ErrorBody(BaseModel):
    error: str
    message: str
    hint: str = ""


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Malformed JSON"},
    422: {"model": ErrorBody, "description": "A question or parameter that cannot be used"},
}


def error(status: int, code: str, message: str, hint: str = "") -> JSONResponse:
    return JSONResponse({"error": code, "message": message, "hint": hint}, status_code=status)


def api_router(service: ChatService) -> APIRouter:
    router = APIRouter(prefix="/api", tags=["api"])

    @router.post(
        "/ask", response_model=AnswerRecord, responses=_ERRORS, summary="Answer a question in the documents' own words"
    )
    async def ask(body: AskRequest) -> JSONResponse:
        """The answer contract: a verbatim span with its citation, or `abstained: true` and `answer: null`."""
        history = [Turn(turn.question, turn.answer) for turn in body.history]
        answer = await asyncio.wrap_future(service.submit(body.question, body.k, history))
        return JSONResponse(answer.to_dict())

    @router.get(
        "/health",
        summary="Whether the server is up, and what it answers from",
        responses={503: {"description": "No worker is answering questions (one is being restarted)"}},
    )
    def health() -> JSONResponse:
        answerer = service.answerer()
        index = answerer.index
        stale = service.index_error
        answering = service.serving
        # down: no worker answers now (503, for load balancers); stale: a newer index exists but failed to load
        status = "down" if not answering else "stale" if stale else "ok"
        body = {
            "status": status,
            "answering": answering,
            "index": {"generation": service.generation, "reload_error": stale},
            "documents": len(index.documents),
            "chunks": len(index.chunks),
            "model": index.manifest.settings.model,
            "answerer": answerer.describe(),
        }
        return JSONResponse(body, status_code=200 if answering else 503)

    @router.get(
        "/documents/{source:path}",
        response_model=DocumentBody,
        responses={
            404: {"model": ErrorBody, "description": "No such ingested document"},
            422: {"model": ErrorBody, "description": "A malformed request"},
        },
        summary="The text and metadata of an ingested document",
    )
    def document(source: str) -> JSONResponse:
        doc = service.document(source)
        if doc is None:
            return _unknown_document(source)
        return JSONResponse(
            {"source": doc.source, "title": doc.title, "date": doc.date, "checksum": doc.checksum, "text": doc.text}
        )

    # Last: anything else under /api answers in JSON here, instead of falling through to the chat's pages.
    @router.api_route("/{rest:path}", methods=_METHODS, include_in_schema=False)
    def elsewhere(rest: str, request: Request) -> JSONResponse:
        known = {"ask": "POST", "health": "GET"}
        if rest in known or rest.startswith("documents/"):
            allowed = known.get(rest, "GET")
            response = error(405, "method_not_allowed", f"{request.method} is not allowed here; use {allowed}")
            response.headers["Allow"] = allowed
            return response
        return error(404, "not_found", f"no API route /api/{rest}", "see /docs")

    return router


_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "TRACE"]  # (CORS preflights never reach here)


def pages_router(service: ChatService) -> APIRouter:
    """The human-facing page of a cited document, with the quote marked and scrolled to."""
    router = APIRouter(include_in_schema=False)

    @router.get("/documents/{source:path}", response_class=HTMLResponse)
    def document_view(
        source: str,
        start: int | None = None,
        end: int | None = None,
        quote_start: int | None = None,
        quote_end: int | None = None,
    ) -> HTMLResponse:
        doc = service.document(source)
        if doc is None:
            return HTMLResponse("<!doctype html><title>Not found</title><p>No such document.</p>", status_code=404)
        page = document_page(doc, clamp_range(doc, start, end), clamp_range(doc, quote_start, quote_end))
        # The page holds no script; say so to the browser too, so a document can never run one.
        headers = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors *"}
        return HTMLResponse(page, headers=headers)

    return router


def _unknown_document(source: str) -> JSONResponse:
    return error(404, "unknown_document", f"no ingested document is called {source!r}", "see /api/health")


def install_error_handlers(app: FastAPI) -> None:
    """Turn request mistakes and citeqa's own errors into 4xx JSON with a message, never a 500 page."""

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = exc.errors()
        if any(p.get("type") == "json_invalid" or tuple(p.get("loc", ())) == ("body",) for p in problems):
            return error(400, "malformed_json", "the request body is not a JSON object", 'send {"question": "..."}')
        messages = []
        for p in problems:
            where = ".".join(str(part) for part in p.get("loc", ()) if part != "body") or "body"
            messages.append(f"{where}: {p.get('msg', 'invalid')}")
        return error(
            422, "invalid_request", "; ".join(messages), f'send {{"question": "...", "k": 1 to {MAX_PASSAGES}}}'
        )

    @app.exception_handler(QuestionError)
    async def bad_question(request: Request, exc: QuestionError) -> JSONResponse:
        return error(422, "bad_question", exc.message, exc.hint)

    @app.exception_handler(ServiceBusyError)
    async def busy(request: Request, exc: ServiceBusyError) -> JSONResponse:
        response = error(503, "busy", exc.message, exc.hint)
        response.headers["Retry-After"] = "1"
        return response

    @app.exception_handler(AnswerFailedError)
    async def answer_failed(request: Request, exc: AnswerFailedError) -> JSONResponse:
        return error(500, "answer_failed", exc.message, exc.hint)  # logged with its traceback by the service

    @app.exception_handler(CiteqaError)
    async def citeqa_error(request: Request, exc: CiteqaError) -> JSONResponse:
        return error(422, "bad_request", exc.message, exc.hint)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error(exc.status_code, code, str(exc.detail))
