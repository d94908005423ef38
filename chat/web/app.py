"""One FastAPI application: the JSON API, document pages, offline API docs, and the Gradio chat at `/`.

Nothing it serves loads anything from another host: Gradio's own assets and local fonts, Swagger UI's
files from the `fastapi-offline` package, citeqa's pages with inline styles only.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from citeqa.errors import CiteqaError
from citeqa.paths import EMBED_EXAMPLE

from .api import api_router, error, install_error_handlers, pages_router
from .feedback import FeedbackLog, default_feedback_path
from .gradio_guard import GradioRequestGuard
from .limits import MAX_ASK_BODY_BYTES, MAX_BODY_BYTES, BodyLimitMiddleware, StartedResponseGuard, route_of
from .service import ChatService

if TYPE_CHECKING:
    import gradio as gr

# Gradio events answered at once. All of them hand their question to the service's single batching
# worker (the model is CPU-bound on a couple of cores), so this only bounds how many chat requests wait
# there together and can be batched into one pass; more would add threads, not speed.
QUEUE_CONCURRENCY = 8


@dataclass(frozen=True, slots=True)
class ServeOptions:
    root_path: str = ""  # the prefix a reverse proxy serves citeqa under, e.g. /qa
    users: dict[str, str] = field(default_factory=dict)  # basic auth: user -> password
    auth_header: str | None = None  # a header the intranet's proxy sets to the signed-in user
    proxy_secret: str | None = None  # with auth_header: the proxy proves itself by sending it in PROXY_SECRET_HEADER
    cors_origins: tuple[str, ...] = ()
    feedback: Path | None = None
    queue_concurrency: int = QUEUE_CONCURRENCY
    max_ask_bytes: int = MAX_ASK_BODY_BYTES  # the largest body POST /api/ask reads

    def __post_init__(self) -> None:
        if self.root_path and (not self.root_path.startswith("/") or self.root_path.endswith("/")):
            raise CiteqaError(
                f"--root-path {self.root_path!r} must start with / and not end with one", "e.g. --root-path /qa"
            )
        if self.auth_header and not self.proxy_secret:
            raise CiteqaError(
                f"--auth-header {self.auth_header} needs --proxy-secret: without one, any process that reaches the "
                "port can claim to be anyone",
                "give --proxy-secret S (or CITEQA_PROXY_SECRET) and have the proxy send X-Citeqa-Proxy-Secret: S",
            )
        if self.proxy_secret is not None and (not self.auth_header or len(self.proxy_secret) < 16):
            raise CiteqaError(
                "--proxy-secret goes with --auth-header and must be at least 16 characters",
                "e.g. --proxy-secret $(openssl rand -hex 16), the same value your proxy sends",
            )
        if self.queue_concurrency < 1:
            raise CiteqaError("the queue concurrency must be at least 1")
        if not 1024 <= self.max_ask_bytes <= MAX_BODY_BYTES:
            raise CiteqaError(
                f"--max-ask-kb must be 1 to {MAX_BODY_BYTES // 1024:,}", "the default, 64, fits any question"
            )


def parse_users(pairs: Sequence[str]) -> dict[str, str]:
    """`user:password` pairs (the password may hold colons)."""
    users = {}
    for pair in pairs:
        user, sep, password = pair.partition(":")
        if not sep or not user or not password:
            raise CiteqaError(f"--auth {pair.split(':')[0]}:… is not user:password", "e.g. --auth alice:s3cret")
        users[user] = password
    return users


def create_app(service: ChatService, options: ServeOptions | None = None) -> FastAPI:
    options = options or ServeOptions()
    import gradio as gr
    from fastapi_offline import __file__ as offline_package

    from .ui import CSS, build_chat

    app = FastAPI(
        title="citeqa",
        summary="Answers in the documents' own words, with character-exact citations.",
        version=_version(),
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        return error(500, "internal_error", "citeqa failed to answer; the server log has the details")

    app.include_router(api_router(service))
    app.include_router(pages_router(service))
    assets = Path(offline_package).parent / "static"
    app.mount("/docs-assets", StaticFiles(directory=assets), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=f"{root}/openapi.json",
            title="citeqa API",
            swagger_js_url=f"{root}/docs-assets/swagger-ui-bundle.js",
            swagger_css_url=f"{root}/docs-assets/swagger-ui.css",
            swagger_favicon_url=f"{root}/docs-assets/favicon.png",
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get("/embed-example", include_in_schema=False)
    def embed_example() -> FileResponse:
        return FileResponse(EMBED_EXAMPLE, media_type="text/html")

    # The <citeqa-chat> widget for other sites' pages (cross-origin module scripts need CORS: the middleware
    # below answers for the --cors-origin origins), and the script the chat loads to fit an iframe it is in.
    for name in (WIDGET_SCRIPT, FRAME_SCRIPT):
        app.add_api_route(f"/{name}", _script(STATIC / name), methods=["GET"], include_in_schema=False)

    feedback = FeedbackLog(options.feedback or default_feedback_path(service.index.path))
    chat: gr.Blocks = build_chat(service, feedback, options.queue_concurrency)
    theme = gr.themes.Default(
        font=("ui-sans-serif", "system-ui", "sans-serif"), font_mono=("ui-monospace", "monospace")
    )
    gr.mount_gradio_app(
        app,
        chat,
        path="/",
        root_path=options.root_path or None,
        footer_links=[],  # ui.FOOTER links citeqa's own API docs instead
        run_history=False,
        ssr_mode=False,
        mcp_server=False,
        theme=theme,
        css=CSS,
        head=f'<script type="module" src="{FRAME_SCRIPT}"></script>',  # relative: works under --root-path
        pwa=False,
    )
    app.add_middleware(GradioRequestGuard, blocks=chat)  # innermost: behind auth, before Gradio
    # Outermost last: CORS answers preflights (which carry no credentials) before auth looks at them.
    if options.users or options.auth_header:
        app.add_middleware(AuthMiddleware, users=options.users, header=options.auth_header, secret=options.proxy_secret)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(options.cors_origins),
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["Content-Type", "Authorization"],
        allow_credentials=bool(options.cors_origins),
    )
    app.add_middleware(StartedResponseGuard)
    app.add_middleware(  # outermost: nothing reads a body it refuses
        BodyLimitMiddleware, route_limits={"/api/ask": options.max_ask_bytes}
    )
    app.state.service = service
    app.state.feedback = feedback
    return app


STATIC = Path(__file__).resolve().parent / "static"
WIDGET_SCRIPT = "widget.js"  # <citeqa-chat>: docs/serving.md
FRAME_SCRIPT = "frame.js"  # loaded by the chat: in an iframe, it drops the header and posts its height


def _script(path: Path) -> Any:
    def script() -> FileResponse:
        # no-cache: revalidated (ETag) on each load, so a citeqa upgrade reaches every embedding page at once.
        headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
        return FileResponse(path, media_type="text/javascript; charset=utf-8", headers=headers)

    return script


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("citeqa")
    except PackageNotFoundError:
        return "0"


HEALTH_PATH = "/api/health"
OPEN_PATHS = (HEALTH_PATH, f"/{WIDGET_SCRIPT}")  # no auth: load balancers, and the widget's public code
PROXY_SECRET_HEADER = "x-citeqa-proxy-secret"


class AuthMiddleware:
    """Lets a request through with a right basic-auth user and password, or with the trusted header set.

    The trusted header is only as safe as the network: use it when citeqa listens on 127.0.0.1 (or a
    private address) behind the proxy that sets it and strips it from what clients send; with a secret, the
    header counts only on requests that also carry the secret (so another local process cannot forge it).
    `/api/health` stays open so load balancers can probe, and `/widget.js` (public code, no data) so that pages on
    other origins can load it: a cross-origin module script is fetched without credentials.
    """

    def __init__(self, app: ASGIApp, users: dict[str, str], header: str | None, secret: str | None = None) -> None:
        self.app = app
        self.users = {u.encode(): p.encode() for u, p in users.items()}
        self.header = header.lower().encode() if header else None
        self.secret = secret.encode() if secret else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or self._allowed(scope):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        headers: dict[str, Any] = {}
        if self.users:
            headers["WWW-Authenticate"] = 'Basic realm="citeqa", charset="UTF-8"'
        response = JSONResponse(
            {"error": "unauthorized", "message": "sign in to use citeqa", "hint": ""}, 401, headers=headers
        )
        await response(scope, receive, send)

    def _allowed(self, scope: Scope) -> bool:
        if scope.get("method") in ("GET", "HEAD") and route_of(scope) in OPEN_PATHS:  # those routes, not suffixes
            return True
        headers = dict(scope.get("headers") or [])
        if self.header is not None and headers.get(self.header, b"").strip() and self._from_the_proxy(headers):
            return True
        given = headers.get(b"authorization", b"")
        if not self.users or not given.lower().startswith(b"basic "):
            return False
        try:
            user, _, password = base64.b64decode(given[6:].strip(), validate=True).partition(b":")
        except (binascii.Error, ValueError):
            return False
        expected = self.users.get(user)
        return expected is not None and secrets.compare_digest(expected, password)

    def _from_the_proxy(self, headers: dict[bytes, bytes]) -> bool:
        if self.secret is None:
            return True
        return secrets.compare_digest(headers.get(PROXY_SECRET_HEADER.encode(), b""), self.secret)
