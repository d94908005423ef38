"""A real headless Chromium (Debian's) against the live server: the chat, the embedded chat, the cited
document, a document full of markup that must stay inert, and not one request off 127.0.0.1; axe-core's
accessibility check on the chat, a document page and the eval report.

Screenshots go to artifacts/screenshots/ (desktop 1280 px and phone 390 px wide). With CITEQA_DOCS_SCREENSHOT=1
(`make screenshot`), the chat answering a bundled question is also written to docs/chat.png, the README's picture.
"""

from __future__ import annotations

import inspect
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
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
DOCS_SHOT = ROOT / "docs" / "chat.png"
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
# axe-core, from npm, never fetched by a test: .ci/run installs it with
# npm install --no-save --prefix build/axe axe-core@4
AXE = ROOT / "build" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
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


def _context(browser: Browser, requests: Requests, width: int, height: int = 900, **options: Any) -> BrowserContext:
    context = browser.new_context(viewport={"width": width, "height": height}, service_workers="block", **options)
    context.set_default_timeout(TIMEOUT_MS)
    requests.attach(context)
    return context


def _ask(frame: Page | Frame, question: str, answers_before: int) -> None:
    frame.locator("#cq-question textarea").fill(question)
    frame.locator("#cq-ask").click()
    _wait_for_messages(frame, answers_before + 1)


def _wait_for_messages(frame: Page | Frame, count: int) -> None:
    frame.wait_for_function(
        f"document.querySelectorAll('#cq-chat .cq-message, #cq-chat .cq-error').length >= {count}",
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


def _wait_for_feedback(server: LiveServer, done: Callable[[list[dict[str, Any]]], bool]) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 90  # a loaded CI machine can take a while
    while not done(_feedback(server)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return _feedback(server)


def _shot(page: Page, name: str, full_page: bool = True) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=full_page)


def _docs_shot(page: Page) -> None:
    """The README's picture of the chat (docs/chat.png), written only when asked for: `make screenshot`."""
    if os.environ.get("CITEQA_DOCS_SCREENSHOT"):
        # The conversation from its top, so that the question shows above its answer.
        page.evaluate("() => { for (const box of document.querySelectorAll('#cq-chat *')) box.scrollTop = 0; }")
        page.wait_for_timeout(300)
        page.screenshot(path=str(DOCS_SHOT))  # the viewport (1280 x 900), not the whole page


def _require_axe() -> None:
    if not AXE.is_file():
        pytest.skip(f"axe-core is not installed at {AXE}: npm install --no-save --prefix build/axe axe-core@4")


def _serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical findings on the page as it stands, one line per element."""
    page.add_script_tag(path=str(AXE))
    found: list[str] = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
            .filter((v) => v.impact === "serious" || v.impact === "critical")
            .flatMap((v) => v.nodes.map((n) => `${v.id} (${v.impact}) ${n.target.join(" ")}: ${n.failureSummary}`))"""
    )
    return found


def test_chat_answers_marks_the_quote_and_opens_the_document(
    browser: Browser, live_server: LiveServer, requests_made: Requests
) -> None:
    context = _context(browser, requests_made, 1280)
    page = context.new_page()
    page.goto(live_server.url + "/")
    _ask(page, "How many Pakistani citizens visited Azerbaijan in 2024?", 0)
    message = _last_message(page)
    assert message.locator(".cq-short strong").inner_text() == "80,924"
    assert message.locator("blockquote mark.cq-answer").first.inner_text() == "80,924"
    assert "Pakistani citizens visiting Azerbaijan in 2024" in message.locator("blockquote").first.inner_text()
    cite = message.locator(".cq-cite").first
    assert "Brotherhood Beyond Borders" in cite.locator("a.cq-link").inner_text()  # the title, linked ...
    assert cite.locator(".cq-file").inner_text() == "003_5db9bb21355ded0f.txt"  # ... the file name beside
    _docs_shot(page)

    sources = message.locator("details.cq-sources")  # this message's own sources, folded
    assert not sources.locator("ol").is_visible()
    sources.locator("summary").click()
    first = sources.locator("li").first
    assert "#1 · holds the answer · similarity" in first.inner_text() and first.locator(".cq-file").count() == 1
    assert "not what the list is sorted by" in sources.locator(".cq-order").inner_text()
    assert len(first.locator("a.cq-link").get_attribute("title") or "") > 40  # a hover preview of the passage

    _ask(page, "And in the first seven months of 2025?", 1)  # a follow-up
    follow_up = _last_message(page)
    assert "Understood as" in follow_up.inner_text() and "46,000" in follow_up.locator("mark").first.inner_text()

    page.get_by_text("Retrieved passages for each question").click()
    panel = page.locator("#cq-passages")
    panel.locator("section").nth(1).wait_for()  # the accordion renders its content as it opens
    assert panel.locator("section").count() == 2  # both questions' passages, the latest first
    assert "Question 2: And in the first seven months of 2025?" in panel.locator("h2").first.inner_text()
    assert "similarity" in panel.inner_text() and "Brotherhood Beyond Borders" in panel.inner_text()
    _shot(page, "chat-desktop-1280.png")

    with context.expect_page() as opened:
        follow_up.locator(".cq-cite a.cq-link").first.click()
    document = opened.value
    document.wait_for_load_state()
    marked = document.locator("#cited")
    assert "46,000" in document.locator("mark.answer").inner_text()
    assert "In the first seven months of 2025" in marked.inner_text()
    box = marked.bounding_box()
    assert box is not None and 0 <= box["y"] < 900  # scrolled into view
    _shot(document, "document-desktop-1280.png", full_page=False)  # what the reader sees: the quote, in view
    document.locator("#back").click()  # the way back: the chat, wherever it is served
    document.wait_for_selector("#cq-question textarea")
    assert document.url == live_server.url + "/"

    page.locator("#cq-chat button[aria-label='Like']").last.click()
    records = _wait_for_feedback(live_server, bool)
    assert records[-1]["verdict"] == "like" and "46,000" in records[-1]["answer"]
    assert records[-1]["asked"] == "And in the first seven months of 2025?"
    page.get_by_text("Thanks — recorded").wait_for()
    context.close()
    assert requests_made.seen and requests_made.outside == []


def test_chat_fits_a_phone(browser: Browser, live_server: LiveServer, requests_made: Requests) -> None:
    context = _context(browser, requests_made, 390, 844)
    page = context.new_page()
    page.goto(live_server.url + "/")
    _ask(page, "When did APP and AZERTAC sign their memorandum of cooperation?", 0)
    assert _last_message(page).locator("mark.cq-answer").first.inner_text() == "July 2024"
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    _shot(page, "chat-phone-390.png")
    with context.expect_page() as opened:
        _last_message(page).locator(".cq-cite a.cq-link").first.click()
    document = opened.value
    document.wait_for_load_state()
    assert document.locator("mark.answer").inner_text() == "July 2024" and document.locator("#back").is_visible()
    assert document.evaluate("() => document.documentElement.scrollWidth") <= 390
    _shot(document, "document-phone-390.png", full_page=False)
    document.close()

    # A long answer with two sources: the chat shows its start (the verdict), not its bottom.
    _ask(
        page,
        "From which Pakistani cities are there currently direct flights to Azerbaijan, according to the IT minister?",
        1,
    )
    newest = _last_message(page)
    page.wait_for_timeout(300)  # the page's script scrolls on the next frame
    verdict = newest.locator(".cq-short")
    assert _in_view(page, verdict), "the newest answer's verdict is not in view"
    _shot(page, "answer-start-phone-390.png", full_page=False)

    _ask(page, "Who won the 2018 FIFA World Cup?", 2)  # the documents don't say
    abstained = _last_message(page)
    assert "The documents don't answer this" in abstained.inner_text()
    assert abstained.locator(".cq-closest li").count() >= 1
    page.wait_for_timeout(300)
    assert _in_view(page, abstained.locator(".cq-abstain"))
    _shot(page, "abstention-phone-390.png", full_page=False)

    example = "What share of Pakistan's population is young people?"
    page.get_by_role("button", name=example, exact=True).click()  # an example question, named in full
    page.wait_for_function("() => document.querySelector('#cq-question textarea').value.startsWith('What share')")

    page.locator("#cq-chat button[aria-label='Clear']").first.click()  # a new conversation ...
    page.wait_for_function("() => document.querySelectorAll('#cq-chat .cq-message').length === 0")
    _ask(page, "How many JF-17 Block III fighter jets did Pakistan commit to deliver to Azerbaijan?", 0)
    page.locator("#cq-chat button[aria-label='Dislike']").last.click()  # ... whose verdicts are about its answers
    records = _wait_for_feedback(live_server, lambda rs: any(r["verdict"] == "dislike" for r in rs))
    disliked = [r for r in records if r["verdict"] == "dislike"]
    assert (
        disliked and disliked[-1]["answer"].startswith("40") and disliked[-1]["question"].startswith("How many JF-17")
    )
    context.close()
    assert requests_made.outside == []


def _in_view(page: Page, locator: Any) -> bool:
    """The element's top is inside the window and inside the chat's scrolled box."""
    return bool(
        locator.evaluate(
            """(e) => {
                const top = e.getBoundingClientRect().top;
                const chat = document.querySelector("#cq-chat .bubble-wrap").getBoundingClientRect();
                return top >= 0 && top < window.innerHeight && top >= chat.top - 1 && top < chat.bottom;
            }"""
        )
    )


def test_chat_is_accessible(browser: Browser, live_server: LiveServer, requests_made: Requests) -> None:
    """axe-core finds nothing serious or critical on the chat (light and dark, with an answer, an abstention and
    every panel open), on a document page or on the eval report; messages are named and copied as plain text."""
    _require_axe()
    for scheme in ("light", "dark"):
        context = _context(browser, requests_made, 1280, color_scheme=scheme, bypass_csp=True)
        context.grant_permissions(["clipboard-read", "clipboard-write"])
        page = context.new_page()
        page.goto(live_server.url + "/")
        page.locator("#cq-question textarea").wait_for()
        assert page.get_by_role("textbox", name="Question", exact=True).count() == 1  # the box says what it is
        _ask(page, "From which Pakistani cities are there currently direct flights to Azerbaijan?", 0)
        _ask(page, "Who won the 2018 FIFA World Cup?", 1)
        message = page.locator("#cq-chat .cq-message").first
        message.locator("details.cq-sources summary").click()
        page.get_by_text("Retrieved passages for each question").click()
        page.locator("#cq-passages section").nth(1).wait_for()
        assert _serious_violations(page) == []
        _shot(page, f"chat-{scheme}-1280.png")

        # Each message's name is its plain text, and Copy copies that text with the citations' links.
        names = page.locator("#cq-chat [role='article']").evaluate_all("(es) => es.map((e) => e.ariaLabel)")
        assert len(names) == 4 and names[1].startswith("citeqa: Answer: ") and names[0].startswith("You asked: ")
        assert not any("<" in name or "&#" in name for name in names)
        message.locator("button.cq-copy").click()
        copied = page.evaluate("() => navigator.clipboard.readText()")
        assert copied.startswith("Answer: ") and "Quote: “" in copied and "\nSource: " in copied
        assert f"Link: {live_server.url}/documents/" in copied and "<" not in copied
        page.locator(".cq-sr").get_by_text("Copied the answer").wait_for(state="attached")  # said to screen readers

        document = context.new_page()
        document.goto(f"{live_server.url}/documents/003_5db9bb21355ded0f.txt?start=8445&end=8462#cited")
        assert _serious_violations(document) == []
        _shot(document, f"document-{scheme}-1280.png", full_page=False)
        context.close()

    from test_report import make_metrics, mixed_outcomes

    from citeqa.eval.report import render_html

    context = _context(browser, requests_made, 1280, bypass_csp=True)
    report = context.new_page()
    report.set_content(render_html(make_metrics(), mixed_outcomes()))
    assert _serious_violations(report) == []
    context.close()
    assert requests_made.outside == []


def test_honest_messages_a_long_paste_typos_and_another_language(
    browser: Browser, live_server: LiveServer, requests_made: Requests
) -> None:
    context = _context(browser, requests_made, 390, 844)
    page = context.new_page()
    page.goto(live_server.url + "/")
    page.locator("#cq-question textarea").fill("When did APP sign? ")
    assert page.locator("#cq-count").inner_text() == "19 / 1,000 characters"
    pasted = "How many Pakistani citizens visited Azerbaijan in 2024? " * 22  # 1,232 characters
    page.locator("#cq-question textarea").fill(pasted)
    assert page.locator("#cq-count").inner_text() == f"{len(pasted):,} / 1,000 characters"
    assert "Too long" in page.get_by_role("alert").inner_text()
    page.locator("#cq-ask").click()
    _wait_for_messages(page, 1)
    refusal = page.locator("#cq-chat .cq-error").last.inner_text()
    assert f"{len(pasted.strip()):,} characters long" in refusal and "up to 1,000" in refusal
    assert page.locator("#cq-question textarea").input_value() == pasted  # all of it, still in the box
    _shot(page, "long-question-phone-390.png", full_page=False)

    _ask(page, "how mny nationl incubaton centres does pakistn hav?", 1)  # typos: corrected, and said so
    corrected = _last_message(page)
    assert corrected.locator(".cq-searched em").inner_text().startswith("how many national incubation")
    assert corrected.locator("mark.cq-answer").first.inner_text() == "eight"
    _ask(page, "¿Cuántos centros de incubación tiene Pakistán?", 2)  # not English: said so, not "no answer"
    spanish = _last_message(page)
    assert "English" in spanish.locator(".cq-notice").inner_text() and "answer this" not in spanish.inner_text()
    page.wait_for_timeout(300)
    assert _in_view(page, spanish.locator(".cq-notice"))
    _shot(page, "not-english-phone-390.png", full_page=False)
    context.close()
    assert requests_made.outside == []


def test_follow_ups_are_understood_and_can_be_asked_as_typed(
    browser: Browser, live_server: LiveServer, requests_made: Requests
) -> None:
    context = _context(browser, requests_made, 1280)
    page = context.new_page()
    page.goto(live_server.url + "/")
    _ask(page, "Who signed it?", 0)  # "it" with nothing before it: asked back, not answered
    unclear = _last_message(page)
    assert unclear.locator(".cq-notice").count() == 1 and "answer this" not in unclear.inner_text()

    _ask(page, "How many JF-17 Block III fighter jets did Pakistan commit to deliver to Azerbaijan?", 1)
    _ask(page, "By when?", 2)
    resolved = _last_message(page)
    assert "Understood as" in resolved.inner_text() and "JF-17" in resolved.locator(".cq-resolved em").inner_text()
    assert "2025" in resolved.locator("mark.cq-answer").first.inner_text()
    _shot(page, "follow-up-desktop-1280.png", full_page=False)
    resolved.get_by_role("button", name="Ask as typed").click()  # the rewrite undone in one click
    _wait_for_messages(page, 4)
    as_typed = _last_message(page)
    assert "Understood as" not in as_typed.inner_text() and as_typed.locator(".cq-notice").count() == 1
    asked = page.locator("#cq-chat [role='article']").evaluate_all("(es) => es.map((e) => e.ariaLabel)")
    assert asked[-2] == "You asked: By when?"
    context.close()
    assert requests_made.outside == []


def test_markup_in_documents_stays_text(browser: Browser, live_server: LiveServer, requests_made: Requests) -> None:
    context = _context(browser, requests_made, 1280)
    page = context.new_page()
    page.goto(live_server.url + "/")
    _ask(page, "What colour was the harbour lighthouse painted in 1911?", 0)
    message = _last_message(page)
    shown = message.inner_text()
    page.get_by_text("Retrieved passages for each question").click()
    page.locator("#cq-passages section").first.wait_for()  # the accordion renders its content as it opens
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
    _ask(frame, "How long does cargo take from China to Baku on the Middle Corridor?", 0)
    assert frame.locator("#cq-chat mark.cq-answer").last.inner_text() == "8-10 days"
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
        assert _last_message(page).locator("mark.cq-answer").first.inner_text() == "July 2024"
        with context.expect_page() as opened:
            _last_message(page).locator("a.cq-link").first.click()
        document = opened.value
        document.wait_for_load_state()
        assert document.url.startswith(f"{proxy}/qa/documents/") and document.locator("mark.answer").count() == 1
        document.locator("#back").click()  # back to the chat, under the prefix
        document.wait_for_selector("#cq-question textarea")
        assert document.url == f"{proxy}/qa/"
        docs = context.new_page()
        docs.goto(f"{proxy}/qa/docs")  # Swagger UI, its files from citeqa, reading /qa/openapi.json
        docs.locator(".opblock-summary-path", has_text="/api/ask").first.wait_for()
        _shot(docs, "api-docs-1280.png")
        context.close()
        assert upstream.outbound() == []
    assert requests_made.outside == []
    assert all(url.startswith(f"{proxy}/qa/") for url in requests_made.seen if url.startswith("http"))


def test_feedback_is_a_toggle_with_a_reason(browser: Browser, live_server: LiveServer, requests_made: Requests) -> None:
    from citeqa.chat.web.feedback import FeedbackLog

    if "reason" not in inspect.signature(FeedbackLog.record).parameters:
        pytest.skip("FeedbackLog.record does not take a reason or 'withdrawn' yet (chat/web/feedback.py, issue 14)")
    context = _context(browser, requests_made, 1280)
    page = context.new_page()
    page.goto(live_server.url + "/")
    question = "How long does cargo take from China to Baku on the Middle Corridor?"
    _ask(page, question, 0)

    def mine(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [r for r in records if r["question"] == question]

    like, dislike = (page.locator(f"#cq-chat button[aria-label='{name}']").last for name in ("Like", "Dislike"))
    like.click()
    _wait_for_feedback(live_server, lambda rs: len(mine(rs)) >= 1)
    page.locator("#cq-chat button[aria-label='Liked']").last.click()  # un-like, at once (not lost, however quick)
    records = mine(_wait_for_feedback(live_server, lambda rs: len(mine(rs)) >= 2))
    assert [r["verdict"] for r in records] == ["like", "withdrawn"]
    page.locator("#cq-feedback-status").get_by_text("Your verdict is withdrawn — recorded.").wait_for()
    dislike.click()
    reason = page.get_by_role("textbox", name="What was wrong with this answer? (optional)")
    reason.wait_for()
    reason.fill("It should say 8-10 days by rail")
    page.get_by_role("button", name="Send reason").click()
    page.get_by_text("Thanks — recorded, with your reason.").wait_for()
    records = mine(_wait_for_feedback(live_server, lambda rs: any(r.get("reason") for r in mine(rs))))
    assert records[-1]["verdict"] == "dislike" and records[-1]["reason"] == "It should say 8-10 days by rail"
    assert not reason.is_visible()
    _shot(page, "feedback-desktop-1280.png", full_page=False)
    context.close()
    assert requests_made.outside == []


def test_a_pdf_citation_shows_its_page(browser: Browser, requests_made: Requests) -> None:
    """The document page marks where each PDF page starts, and says the cited page, in light and dark."""
    from citeqa.chat.web.render import document_page
    from citeqa.ingest.documents import Document

    pages = ["Annual report 2025. Revenue grew in every region." * 6, "The board approved a dividend of 4 cents."]
    body = "\n\n".join(pages)
    doc = Document("reports/annual.pdf", body, "Annual report 2025", pages=(0, len(pages[0]) + 2))
    start = body.index("4 cents")
    html = document_page(doc, (start, start + 7), (body.index("The board"), len(body)))
    for scheme in ("light", "dark"):
        context = _context(browser, requests_made, 390, 844, color_scheme=scheme, bypass_csp=True)
        page = context.new_page()
        page.set_content(html)
        marker = page.locator("#page-2")
        assert marker.inner_text() == "Page 2" and marker.is_visible()
        assert "page 2" in page.locator("header p").inner_text()
        assert page.locator("mark.answer").inner_text() == "4 cents"
        background = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
        assert (background == "rgb(17, 24, 39)") == (scheme == "dark")  # the page follows the reader's scheme
        if AXE.is_file():
            assert _serious_violations(page) == []
        _shot(page, f"document-pdf-{scheme}-390.png", full_page=False)
        context.close()
