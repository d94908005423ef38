"""`citeqa serve`: the web chat and the JSON API, on one port (127.0.0.1:7860 unless told otherwise)."""

from __future__ import annotations

import errno
import json
import os
import socket
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

import click

from citeqa.errors import CiteqaError
from citeqa.options import index_option, precision_option
from citeqa.paths import BUNDLED_QUESTIONS, default_index
from citeqa.servers import announced, local_url

if TYPE_CHECKING:
    from .app import ServeOptions

EXAMPLES_SHOWN = 6
KEEP_ALIVE_S = 5
# On SIGTERM or Ctrl+C, requests still open this long after are cut (an event stream, a stuck answer): the server
# stops within seconds in every state. The service then waits up to its own CLOSE_WAIT_S for questions in hand.
GRACEFUL_SHUTDOWN_S = 2
MAX_CONNECTIONS = 512
# The example questions offered on the bundled interviews: drawn from both, each one the answerer gets right
# (tests/test_render.py checks that against the gold answers).
BUNDLED_EXAMPLES = BUNDLED_QUESTIONS.with_name("examples.jsonl")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=7860, show_default=True, help="Port (0: any free).")
@index_option
@click.option("--root-path", default="", envvar="CITEQA_ROOT_PATH", help="Prefix a reverse proxy serves citeqa under.")
@click.option("--auth", "auth", multiple=True, envvar="CITEQA_AUTH", help="user:password for basic auth (repeatable).")
@click.option("--auth-header", default=None, help="Trust this header, set by your proxy, as the signed-in user.")
@click.option(
    "--proxy-secret",
    envvar="CITEQA_PROXY_SECRET",
    default=None,
    help="With --auth-header: trust it only on requests whose X-Citeqa-Proxy-Secret header is this (16+ chars).",
)
@click.option("--cors-origin", "cors_origins", multiple=True, help="An origin allowed to call the API (repeatable).")
@click.option("--feedback", type=click.Path(path_type=Path, dir_okay=False), default=None, help="Feedback JSONL file.")
@click.option("--max-ask-kb", type=click.IntRange(1, 1024), default=64, show_default=True,
              help="The largest request body POST /api/ask reads, in KiB (larger ones get 413 unread).")  # fmt: skip
@click.option("--examples", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None,
              help="JSONL question set whose questions are offered as examples, taken in turn from each document "
              "(default: the bundled examples, with the default index).")  # fmt: skip
@precision_option
def serve_command(
    host: str,
    port: int,
    index_dir: Path | None,
    root_path: str,
    auth: tuple[str, ...],
    auth_header: str | None,
    proxy_secret: str | None,
    cors_origins: tuple[str, ...],
    feedback: Path | None,
    max_ask_kb: int,
    examples: Path | None,
    precision: str,
) -> None:
    """Serve the chat at / and the JSON API at /api (docs at /docs) until interrupted."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    _require_web_libraries()
    from .app import ServeOptions, parse_users
    from .feedback import default_feedback_path

    options = ServeOptions(
        root_path=root_path.rstrip("/") if root_path != "/" else "",
        users=parse_users(auth),
        auth_header=auth_header,
        proxy_secret=proxy_secret,
        cors_origins=cors_origins,
        feedback=feedback or default_feedback_path(index_dir),
        max_ask_bytes=max_ask_kb * 1024,
    )
    from citeqa.precision import resolve

    resolve(precision)  # a bf16 this CPU lacks is refused before anything loads
    listener = _listen(host, port)  # a port in use fails before minutes of loading
    try:
        _serve(listener, index_dir, options, examples, precision)
    finally:
        listener.close()


def _require_web_libraries() -> None:
    """The web libraries are an install extra: without them, say which and how to add them."""
    try:
        import fastapi  # noqa: F401
        import gradio  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise CiteqaError(
            f"citeqa serve needs {exc.name or 'the web libraries'}, which is not installed",
            "install the web extra: pip install 'citeqa[serve]' (make setup does)",
        ) from exc


def _listen(host: str, port: int) -> socket.socket:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise CiteqaError(f"cannot listen on {host!r}: {exc.strerror}", "use an address of this machine") from exc
    family, kind, proto, _, address = infos[0]
    listener = socket.socket(family, kind, proto)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(address)
    except OSError as exc:
        listener.close()
        if exc.errno == errno.EADDRINUSE:
            raise CiteqaError(
                f"port {port} on {host} is already in use", "stop the other server, or choose another --port"
            ) from exc
        raise CiteqaError(f"cannot listen on {host}:{port}: {exc.strerror}", "choose another --host or --port") from exc
    listener.listen(2048)
    return listener


def _serve(
    listener: socket.socket, index_dir: Path | None, options: ServeOptions, examples: Path | None, precision: str
) -> None:
    import uvicorn

    from .app import create_app
    from .service import ChatService
    from .slow_clients import HeadDeadlineProtocol

    questions = read_examples(examples or (BUNDLED_EXAMPLES if index_dir is None else None))
    service = ChatService.open(index_dir, questions, precision)
    service.follow(index_dir or default_index())  # a later `citeqa ingest` there is picked up without a restart
    app = create_app(service, options)
    host, port = listener.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"citeqa: serving {len(service.index.documents)} documents at http://{shown}:{port}{options.root_path}/")
    click.echo(f"citeqa: API docs at http://{shown}:{port}{options.root_path}/docs; press Ctrl+C to stop")
    config = uvicorn.Config(
        app,
        root_path=options.root_path,
        log_level="warning",
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        # Slow or idle clients cannot hold the server: a request head must arrive within seconds, idle keep-alive
        # connections close after a few, and past this many open connections new ones get 503 at once.
        http=HeadDeadlineProtocol,
        timeout_keep_alive=KEEP_ALIVE_S,
        limit_concurrency=MAX_CONNECTIONS,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    index = index_dir or default_index()
    announcing = announced(index, local_url(host, port)) if announces(options) else nullcontext()
    try:
        with announcing:
            uvicorn.Server(config).run(sockets=[listener])
    finally:
        service.close()


def announces(options: ServeOptions) -> bool:
    """Whether a server is announced for a one-shot `citeqa ask` on its index to ask (citeqa.servers): only when
    anyone on this machine may ask it without signing in, at its own root."""
    return not options.users and not options.auth_header and not options.root_path


def read_examples(path: Path | None, count: int = EXAMPLES_SHOWN) -> list[str]:
    """Up to `count` answerable questions of a JSONL question set, taken in turn from each document its lines
    name as `source` (in the order the documents first appear), so that every document is represented.

    Lines that are not questions, and questions with no answer (`"answers": []`), are skipped.
    """
    if path is None or not path.is_file():
        return []
    by_source: dict[str | None, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and isinstance(record.get("question"), str) and record.get("answers") != []:
            source = record.get("source")
            by_source.setdefault(source if isinstance(source, str) else None, []).append(record["question"])
    found: list[str] = []
    queues = [list(questions) for questions in by_source.values()]
    while len(found) < count and any(queues):
        for queue in queues:
            if queue and len(found) < count:
                found.append(queue.pop(0))
    return found
