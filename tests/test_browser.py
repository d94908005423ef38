"""A real headless Chromium (Debian's) against the live server: the chat, the embedded chat, the cited
document, a document full of markup that must stay inert, and not one request off 127.0.0.1.

Screenshots go to artifacts/screenshots/ (desktop 1280 px and phone 390 px wide).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
from conftest import INJECTION_SOURCE, LiveServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Frame, Page, WebSocket

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = os.environ.get("CITEQA_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-domain-reliability",
]
TIMEOUT_MS = 90_000
LOCAL_HOSTS = ("127.0.0.1",)

if CHROMIUM is None:
    pytest.skip(
        "Debian's chromium is not installed (apt-get install chromium); .ci/run installs it", allow_module_level=True
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra: pip install -e '.[dev]'")


class Requests:
    """Every URL the browser asked for; anything not on 127.0.0.1 is aborted and kept in `outside`."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.outside: list[str] = []

    def attach(self, context: BrowserContext) -> None:
        def route(route: Any) -> None:
            url = route.request.url
            self.seen.append(url)
            scheme = urlsplit(url).scheme
            if scheme in ("data", "blob", "about") or urlsplit(url).hostname in LOCAL_HOSTS:
                route.continue_()
            else:
                self.outside.append(url)
                route.abort()

        context.route("**/*", route)
        context.on("request", lambda request: None if request.url in self.seen else self.seen.append(request.url))

        def websocket(socket: WebSocket) -> None:
            if urlsplit(socket.url).hostname not in LOCAL_HOSTS:
                self.outside.append(socket.url)

        context.on("page", lambda page: page.on("websocket", websocket))


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def requests_made() -> Requests:
    return Requests()


def _context(browser: Browser, requests: Requests, width: int, height: int = 900) -> BrowserContext:
    context = browser.new_context(viewport={"width": width, "height": height}, service_workers="block")
    context.set_default_timeout(TIMEOUT_MS)
    requests.attach(context)
    return context


def _ask(frame: Page | Frame, question: str, answers_before: int) -> None:
    frame.locator("#cq-question textarea").fill(question)
    frame.locator("#cq-ask").click()
    frame.wait_for_function(
        f"document.querySelectorAll('#cq-chat .cq-message, #cq-chat .cq-error').length > {answers_before}",
        timeout=TIMEOUT_MS,
    )


def _last_message(frame: Page | Frame) -> Any:
    return frame.locator("#cq-chat .cq-message").last


def _pwned(page: Page) -> Any:
    return page.evaluate("() => window.__pwned")


def _feedback(server: LiveServer) -> list[dict[str, Any]]:
    if not server.feedback.exists():
        return []
    return [json.loads(line) for line in server.feedback.read_text().splitlines()]


def _shot(page: Page, name: str, full_page: bool = True) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=full_page)


def test_chat_answers_marks_the_quote_and_opens_the_document(
    browser: Browser, live_server: LiveServer, requests_made: Requests
) -> None:
    context = _context(browser, requests_made, 1280)
    page = context.new_page()
    page.goto(live_server.url + "/")
    _ask(page, "How many Pakistani citizens visited Azerbaijan in 2024?", 0)
    message = _last_message(page)
    assert message.locator(".cq-short strong").inner_text() == "80,924"
    assert message.locator("blockquote mark.cq-answer").inner_text() == "80,924"
    assert "Pakistani citizens visiting Azerbaijan in 2024" in message.locator("blockquote").inner_text()
    assert "003_5db9bb21355ded0f.txt" in message.locator(".cq-cite").inner_text()

    _ask(page, "And in the first seven months of 2025?", 1)  # a follow-up
    follow_up = _last_message(page)
    assert "Understood as" in follow_up.inner_text() and "46,000" in follow_up.locator("mark").inner_text()

    page.get_by_text("Retrieved passages and scores").click()
    assert "score" in page.locator("#cq-passages").inner_text()
    _shot(page, "chat-desktop-1280.png")

    with context.expect_page() as opened:
        follow_up.locator("a.cq-link").first.click()
    document = opened.value
    document.wait_for_load_state()
    marked = document.locator("#cited")
    assert "46,000" in document.locator("mark.answer").inner_text()
    assert "In the first seven months of 2025" in marked.inner_text()
    box = marked.bounding_box()
    assert box is not None and 0 <= box["y"] < 900  # scrolled into view
    _shot(document, "document-desktop-1280.png", full_page=False)  # what the reader sees: the quote, in view

    page.locator("#cq-chat button[aria-label='Like']").last.click()
    deadline = time.monotonic() + 90  # a loaded CI machine can take a while
    while not live_server.feedback.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    records = [json.loads(line) for line in live_server.feedback.read_text().splitlines()]
    assert records[-1]["verdict"] == "like" and "46,000" in records[-1]["answer"]
    assert records[-1]["asked"] == "And in the first seven months of 2025?"
    context.close()
    assert requests_made.seen and requests_made.outside == []


def test_chat_fits_a_phone(browser: Browser, live_server: LiveServer, requests_made: Requests) -> None:
    context = _context(browser, requests_made, 390, 844)
    page = context.new_page()
    page.goto(live_server.url + "/")
    _ask(page, "When did APP and AZERTAC sign their memorandum of cooperation?", 0)
    assert _last_message(page).locator("mark.cq-answer").inner_text() == "July 2024"
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    _shot(page, "chat-phone-390.png")

    _ask(page, "Who is the current President of Pakistan?", 1)  # the documents don't say
    abstained = _last_message(page)
    assert "The documents don't answer this" in abstained.inner_text()
    assert abstained.locator(".cq-closest li").count() >= 1
    _shot(page, "abstention-phone-390.png")

    page.get_by_text("What share of Pakistan's population is young people?").click()  # an example question
    page.wait_for_function("() => document.querySelector('#cq-question textarea').value.startsWith('What share')")

    page.locator("#cq-chat button[aria-label='Clear']").first.click()  # a new conversation ...
    page.wait_for_function("() => document.querySelectorAll('#cq-chat .cq-message').length === 0")
    _ask(page, "In what year were diplomatic relations between Pakistan and Azerbaijan established?", 0)
    page.locator("#cq-chat button[aria-label='Dislike']").last.click()  # ... whose verdicts are about its answers
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not any(r["verdict"] == "dislike" for r in _feedback(live_server)):
        time.sleep(0.2)
    disliked = [r for r in _feedback(live_server) if r["verdict"] == "dislike"]
    assert disliked and disliked[-1]["answer"] == "1992" and disliked[-1]["question"].startswith("In what year")
    context.close()
    assert requests_made.outside == []


def test_markup_in_documents_stays_text(browser: Browser, live_server: LiveServer, requests_made: Requests) -> None:
    context = _context(browser, requests_made, 1280)
    page = context.new_page()
    page.goto(live_server.url + "/")
    _ask(page, "What colour was the harbour lighthouse painted in 1911?", 0)
    message = _last_message(page)
    shown = message.inner_text()
    page.get_by_text("Retrieved passages and scores").click()
    shown += page.locator("#cq-passages").inner_text()
    for literal in (
        '<script>window.__pwned = "script"</script>',
        "<img src=x onerror=",
        "![tracker](http://198.51.100.7",
    ):
        assert literal in shown
    assert page.locator("#cq-chat img[src='x'], #cq-passages img").count() == 0
    assert page.locator("#cq-chat a[href^='javascript']").count() == 0
    typed = "<img src=x onerror=\"window.__pwned='q'\"> ![q](http://198.51.100.7/q.png) **When** was the lamp fitted?"
    _ask(page, typed, 1)  # markup in a question is shown as typed, too
    assert typed in page.locator("#cq-chat").inner_text()
    _shot(page, "injection-chat-1280.png")

    document = context.new_page()
    document.goto(f"{live_server.url}/documents/{INJECTION_SOURCE}?start=0&end=20")
    assert "<script>window.__pwned" in document.locator("pre").inner_text()
    assert document.locator("pre img, pre script").count() == 0
    _shot(document, "injection-document-1280.png")
    page.wait_for_timeout(500)  # give anything that was going to fire the time to fire
    assert _pwned(page) is None and _pwned(document) is None
    assert not any("198.51.100.7" in url for url in requests_made.seen)
    context.close()
    assert requests_made.outside == []


def test_embedded_in_an_intranet_page(browser: Browser, live_server: LiveServer, requests_made: Requests) -> None:
    context = _context(browser, requests_made, 1280)
    page = context.new_page()
    page.goto(live_server.url + "/embed-example")
    frame_element = page.locator("iframe#citeqa-chat")
    frame_element.scroll_into_view_if_needed()
    frame = frame_element.element_handle().content_frame()
    assert frame is not None
    frame.wait_for_selector("#cq-question textarea")
    _ask(frame, "In what year were diplomatic relations between Pakistan and Azerbaijan established?", 0)
    assert frame.locator("#cq-chat mark.cq-answer").last.inner_text() == "1992"
    _shot(page, "embedded-desktop-1280.png")
    context.close()
    phone = _context(browser, requests_made, 390, 844)
    small = phone.new_page()
    small.goto(live_server.url + "/embed-example")
    small.locator("iframe#citeqa-chat").scroll_into_view_if_needed()
    _shot(small, "embedded-phone-390.png")
    phone.close()
    assert requests_made.outside == []
    assert live_server.outbound() == []


def test_behind_a_reverse_proxy_with_root_path(
    browser: Browser, interviews_dir: Path, tmp_path: Path, requests_made: Requests
) -> None:
    from conftest import serving
    from prefix_proxy import prefix_proxy

    with (
        serving(interviews_dir, tmp_path, "--root-path", "/qa") as upstream,
        prefix_proxy(upstream.url, "/qa") as proxy,
    ):
        context = _context(browser, requests_made, 1280)
        page = context.new_page()
        page.goto(f"{proxy}/qa/")
        _ask(page, "When did APP and AZERTAC sign their memorandum of cooperation?", 0)
        assert _last_message(page).locator("mark.cq-answer").inner_text() == "July 2024"
        with context.expect_page() as opened:
            _last_message(page).locator("a.cq-link").first.click()
        document = opened.value
        document.wait_for_load_state()
        assert document.url.startswith(f"{proxy}/qa/documents/") and document.locator("mark.answer").count() == 1
        docs = context.new_page()
        docs.goto(f"{proxy}/qa/docs")  # Swagger UI, its files from citeqa, reading /qa/openapi.json
        docs.locator(".opblock-summary-path", has_text="/api/ask").first.wait_for()
        _shot(docs, "api-docs-1280.png")
        context.close()
        assert upstream.outbound() == []
    assert requests_made.outside == []
    assert all(url.startswith(f"{proxy}/qa/") for url in requests_made.seen if url.startswith("http"))
