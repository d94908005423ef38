"""The <citeqa-chat> widget and the auto-sized iframe, embedded in a page served from another origin.

A citeqa server allows that origin with --cors-origin; the host page (docs/intranet-example.html, pointed at the
server) is served by a small http.server on a second port under a strict Content-Security-Policy. A real headless
Chromium (Debian's) asks in both embeds, by mouse and by keyboard alone, and not one request leaves 127.0.0.1.

Screenshots go to artifacts/screenshots/ (widget-desktop-1280.png, widget-phone-390.png, ...).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import http.server
import json
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from conftest import INJECTION_SOURCE, _free_port, serving
from test_browser import CHROMIUM, FLAGS, TIMEOUT_MS, Requests

from citeqa.paths import EMBED_EXAMPLE

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Frame, Locator, Page

pytestmark = pytest.mark.slow
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra: pip install -e '.[dev]'")

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "artifacts" / "screenshots"
JF17 = "How many JF-17 jets did Pakistan commit to deliver?"
# Every element the widget may create; a document's markup must never add one.
WIDGET_TAGS = {"SECTION", "DIV", "FORM", "LABEL", "TEXTAREA", "BUTTON", "P", "ARTICLE", "EM", "BLOCKQUOTE", "MARK"}
WIDGET_TAGS |= {"A", "OL", "LI"}


@dataclass
class Host:
    """The intranet page's server: another origin than citeqa's."""

    url: str
    citeqa: str
    folder: Path


@dataclass
class Watch:
    """What went wrong on a page: console errors from the host page or the widget, uncaught errors, dialogs."""

    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def attach(self, page: Page, sources: tuple[str, ...]) -> None:
        def console(message: ConsoleMessage) -> None:
            where = message.location.get("url", "") if message.location else ""
            if message.type == "error" and where.startswith(sources):
                self.errors.append(f"{where}: {message.text}")

        def dialog(d: Any) -> None:
            self.dialogs.append(d.message)
            d.dismiss()

        page.on("console", console)
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))
        page.on("dialog", dialog)


# Before any page script: record CSP violations, and whether anything from a document ran.
RECORD = (
    "window.__csp = []; document.addEventListener('securitypolicyviolation', e => window.__csp.push("
    "e.violatedDirective + ' ' + e.blockedURI));"
)


class _Handler(http.server.SimpleHTTPRequestHandler):
    csp = ""

    def end_headers(self) -> None:
        if self.path.endswith(".html"):
            self.send_header("Content-Security-Policy", self.csp)
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _host_page(citeqa: str) -> tuple[str, str]:
    """docs/intranet-example.html pointed at `citeqa`, and the hash of its one inline stylesheet."""
    page = EMBED_EXAMPLE.read_text(encoding="utf-8")
    page = page.replace('src="./widget.js"', f'src="{citeqa}/widget.js"').replace('src="./"', f'src="{citeqa}/"')
    style = re.search(r"<style>(.*?)</style>", page, re.S)
    assert style is not None and citeqa in page
    digest = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()
    return page, f"'sha256-{digest}'"


WIDGET_ONLY = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark"><title>Widget only</title>
<script type="module" src="{citeqa}/widget.js"></script></head>
<body><h1>Team wiki</h1><p><a href="#top">Top</a></p>
<citeqa-chat src="{citeqa}/" label="Ask the interviews"></citeqa-chat></body></html>
"""


@pytest.fixture(scope="module")
def host(live_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    """A citeqa server that allows the host's origin, and the host serving its pages under a strict CSP."""
    port = _free_port()
    origin = f"http://127.0.0.1:{port}"
    folder = tmp_path_factory.mktemp("host")
    with serving(live_index, tmp_path_factory.mktemp("cors"), "--cors-origin", origin) as citeqa:
        page, style = _host_page(citeqa.url)
        (folder / "intranet.html").write_text(page, encoding="utf-8")
        (folder / "widget.html").write_text(WIDGET_ONLY.format(citeqa=citeqa.url), encoding="utf-8")
        csp = (
            f"default-src 'none'; script-src {citeqa.url}; style-src {style}; connect-src {citeqa.url}; "
            f"frame-src {citeqa.url}; img-src 'none'; base-uri 'none'; form-action 'none'"
        )
        handler = type("Handler", (_Handler,), {"csp": csp})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), functools.partial(handler, directory=folder))
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield Host(origin, citeqa.url, folder)
        finally:
            server.shutdown()
            server.server_close()
        assert citeqa.outbound() == []


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield chromium
        chromium.close()


def _open(
    browser: Browser, host: Host, page_name: str, width: int, height: int = 900, dark: bool = False
) -> tuple[BrowserContext, Page, Requests, Watch]:
    context = browser.new_context(
        viewport={"width": width, "height": height},
        service_workers="block",
        color_scheme="dark" if dark else "light",
    )
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(RECORD)
    requests, watch = Requests(), Watch()
    requests.attach(context)
    page = context.new_page()
    watch.attach(page, (host.url, f"{host.citeqa}/widget.js"))
    page.goto(f"{host.url}/{page_name}")
    page.locator("citeqa-chat textarea").wait_for()
    return context, page, requests, watch


def _widget_ask(page: Page, question: str) -> Locator:
    before = page.locator("citeqa-chat .turn").count()
    page.locator("citeqa-chat textarea").fill(question)
    page.locator("citeqa-chat button[type=submit]").click()
    page.locator("citeqa-chat .turn").nth(before).wait_for()
    return page.locator("citeqa-chat .turn").nth(before)


def _frame_ask(frame: Frame, question: str) -> None:
    before = frame.locator("#cq-chat .cq-message").count()
    frame.locator("#cq-question textarea").fill(question)
    frame.locator("#cq-ask").click()
    frame.wait_for_function(f"document.querySelectorAll('#cq-chat .cq-message').length > {before}")


def _chat_frame(page: Page) -> Frame:
    frame = page.locator("iframe[data-citeqa]").element_handle().content_frame()
    assert frame is not None
    frame.locator("#cq-question textarea").wait_for()
    return frame


FITS = """() => {
  const root = document.documentElement, chat = document.querySelector('#cq-chat');
  return [root.scrollHeight, root.clientHeight, root.getBoundingClientRect().height, chat.scrollHeight,
          chat.clientHeight];
}"""


def _frame_fits(page: Page, frame: Frame) -> None:
    """The iframe is as tall as its content: no inner scroll bar, in the page or in the conversation."""
    for _ in range(50):  # the height travels by postMessage: give it a moment to arrive
        scroll, client, content, chat_scroll, chat_client = frame.evaluate(FITS)
        box = page.locator("iframe[data-citeqa]").bounding_box()
        assert box is not None
        if scroll <= client and abs(box["height"] - content) <= 1 and chat_scroll <= chat_client + 1:
            return
        page.wait_for_timeout(100)
    pytest.fail(f"the frame does not fit its content: {(scroll, client, content, chat_scroll, chat_client, box)}")


def _shot(page: Page, name: str) -> None:
    """The whole page. Chromium's full-page capture can leave a cross-origin iframe blank, so the viewport is made
    as tall as the page instead."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    assert size is not None
    page.set_viewport_size({"width": size["width"], "height": page.evaluate("document.documentElement.scrollHeight")})
    page.wait_for_timeout(300)
    page.screenshot(path=str(SHOTS / name))
    page.set_viewport_size(size)


def _clean(page: Page, requests: Requests, watch: Watch, host: Host) -> None:
    assert requests.seen and requests.outside == []
    assert all(url.startswith((host.url, host.citeqa, "data:", "blob:", "about:")) for url in requests.seen)
    assert page.evaluate("() => window.__csp") == []  # the widget needs no relaxation of the page's policy
    assert page.evaluate("() => window.__pwned") is None
    assert watch.errors == [] and watch.dialogs == []


def test_widget_and_iframe_answer_on_another_origin(browser: Browser, host: Host) -> None:
    context, page, requests, watch = _open(browser, host, "intranet.html", 1280)
    turn = _widget_ask(page, JF17)
    assert turn.locator(".asked").inner_text() == JF17
    assert turn.locator(".answer").inner_text().startswith("40")
    assert turn.locator("blockquote mark").first.inner_text().startswith("40")
    assert "committed to delivering up to 40 aircraft by 2025" in turn.locator("blockquote").inner_text()
    assert re.fullmatch(r"confidence [01]\.\d\d", turn.locator(".meta").first.inner_text())  # as the chat shows it
    link = turn.locator("a")
    assert link.inner_text().startswith("Brotherhood Beyond Borders")  # the document's title
    href = link.get_attribute("href") or ""
    assert href.startswith(f"{host.citeqa}/documents/003_5db9bb21355ded0f.txt?start=") and href.endswith("#cited")
    assert "quote_start=" in href and link.get_attribute("target") == "_blank"

    frame = _chat_frame(page)
    assert not frame.locator("#cq-header").is_visible()  # one header: the intranet page's
    _frame_fits(page, frame)
    empty = page.locator("iframe[data-citeqa]").bounding_box()
    _frame_ask(frame, "How long does cargo take from China to Baku on the Middle Corridor?")
    assert frame.locator("#cq-chat mark.cq-answer").last.inner_text() == "8-10 days"
    _frame_fits(page, frame)
    grown = page.locator("iframe[data-citeqa]").bounding_box()
    assert empty is not None and grown is not None and grown["height"] > empty["height"] + 100
    _shot(page, "widget-desktop-1280.png")

    with context.expect_page() as opened:  # the citation opens the document at the quote, on citeqa's origin
        link.click()
    document = opened.value
    document.wait_for_load_state()
    assert document.locator("mark.answer").first.inner_text().startswith("40")
    _clean(page, requests, watch, host)
    context.close()


def test_widget_on_a_phone_in_dark_mode(browser: Browser, host: Host) -> None:
    context, page, requests, watch = _open(browser, host, "intranet.html", 390, 844, dark=True)
    turn = _widget_ask(page, "When did APP and AZERTAC sign their memorandum of cooperation?")
    assert turn.locator("mark").first.inner_text() == "July 2024"
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    assert _low_contrast(page) == []
    abstained = _widget_ask(page, "Who won the 2018 FIFA World Cup?")
    assert "The documents don't answer this." in abstained.inner_text()
    assert abstained.locator("blockquote, a").count() == 0
    frame = _chat_frame(page)
    _frame_fits(page, frame)
    page.locator("citeqa-chat").scroll_into_view_if_needed()
    _shot(page, "widget-phone-390.png")
    _clean(page, requests, watch, host)
    context.close()


def test_markup_in_a_document_stays_text_in_the_widget(browser: Browser, host: Host) -> None:
    context, page, requests, watch = _open(browser, host, "widget.html", 1280)
    turn = _widget_ask(page, "What colour was the harbour lighthouse painted in 1911?")
    quote = turn.locator("blockquote").inner_text()
    assert '<script>window.__pwned = "script"</script>' in quote and "<img src=x onerror=" in quote
    assert INJECTION_SOURCE in (turn.locator("a").get_attribute("href") or "")
    typed = "<img src=x onerror=\"window.__pwned='q'\"> <b>When</b> was the lamp fitted?"
    asked = _widget_ask(page, typed)
    assert asked.locator(".asked").inner_text() == typed  # markup in a question is shown as typed
    tags = page.evaluate(
        "() => [...document.querySelector('citeqa-chat').shadowRoot.querySelectorAll('*')].map(e => e.tagName)"
    )
    assert set(tags) <= WIDGET_TAGS, set(tags) - WIDGET_TAGS
    assert page.locator("img, script:not([src])").count() == 0
    page.wait_for_timeout(500)  # give anything that was going to fire the time to fire
    _shot(page, "widget-injection-1280.png")
    _clean(page, requests, watch, host)
    context.close()


def test_widget_by_keyboard_alone(browser: Browser, host: Host) -> None:
    context, page, requests, watch = _open(browser, host, "widget.html", 1280)
    box = page.get_by_role("textbox", name="Ask the interviews")  # a labelled control
    assert page.get_by_role("form", name="Ask citeqa").count() == 1
    log = page.get_by_role("log")
    assert log.get_attribute("aria-live") == "polite"
    for _ in range(5):
        page.keyboard.press("Tab")
        if box.evaluate("e => e.getRootNode().activeElement === e"):
            break
    else:
        pytest.fail("Tab never reached the question box")
    assert box.evaluate("e => getComputedStyle(e).outlineStyle") != "none"  # a visible focus ring
    page.keyboard.type(JF17)
    page.keyboard.press("Enter")
    log.locator("article").first.wait_for()
    assert "40" in log.locator("article mark").inner_text()
    assert box.evaluate("e => e.getRootNode().activeElement === e") and box.input_value() == ""  # ready for more
    page.keyboard.press("Tab")
    button = page.get_by_role("button", name="Ask")
    assert button.evaluate("e => e.getRootNode().activeElement === e")
    assert button.evaluate("e => getComputedStyle(e).outlineStyle") != "none"
    assert _low_contrast(page) == []
    _clean(page, requests, watch, host)
    context.close()


def test_widget_follow_ups_send_the_conversation(browser: Browser, host: Host) -> None:
    context, page, requests, watch = _open(browser, host, "widget.html", 1280)
    sent: list[dict[str, Any]] = []
    page.on("request", lambda r: sent.append(json.loads(r.post_data or "{}")) if r.url.endswith("/api/ask") else None)
    first = _widget_ask(page, "How many Pakistani citizens visited Azerbaijan in 2024?")
    assert first.locator("mark").first.inner_text() == "80,924"
    follow_up = _widget_ask(page, "And in the first seven months of 2025?")
    assert "46,000" in follow_up.locator("mark").first.inner_text()
    assert "Understood as:" in follow_up.locator(".understood").inner_text()
    assert "history" not in sent[0]  # a first question goes as typed
    earlier = sent[1]["history"]
    assert len(earlier) == 1 and earlier[0]["answer"] == "80,924" and earlier[0]["question"].startswith("How many")
    page.get_by_role("button", name="New conversation").click()
    assert page.locator("citeqa-chat .turn").count() == 0
    _widget_ask(page, "When did APP and AZERTAC sign their memorandum of cooperation?")
    assert "history" not in sent[-1]  # a new conversation forgets the old one
    _clean(page, requests, watch, host)
    context.close()


def test_widget_lists_every_source_and_says_what_happened(browser: Browser, host: Host) -> None:
    context, page, requests, watch = _open(browser, host, "widget.html", 390, 844)
    both = _widget_ask(page, "Which Pakistani cities have direct flights to Baku?")  # the two interviews differ
    sources = both.locator("ol.sources > li")
    assert sources.count() == 2 and "2 documents answer this" in both.inner_text()
    assert sources.nth(0).locator("mark").first.inner_text() == both.locator(".answer").inner_text()
    assert sources.nth(1).locator("mark").first.inner_text() == "Lahore and Islamabad"
    hrefs = [sources.nth(i).locator("a").get_attribute("href") or "" for i in range(2)]
    assert "003_5db9bb21355ded0f.txt" in hrefs[0] and "000_cd9edb64798435a2.txt" in hrefs[1]
    spanish = _widget_ask(page, "¿Cuántos aviones JF-17 entregará Pakistán?")
    assert "citeqa reads questions in English" in spanish.locator(".notice").inner_text()
    assert "don't answer" not in spanish.inner_text()  # not a false "the documents don't answer"
    page.get_by_role("button", name="New conversation").click()
    unclear = _widget_ask(page, "Who signed it?")  # no earlier turn: what is "it"?
    assert unclear.locator(".notice").count() == 1 and unclear.locator(".answer").count() == 0
    _shot(page, "widget-sources-phone-390.png")
    _clean(page, requests, watch, host)
    context.close()


def test_widget_refuses_a_long_paste_visibly_and_shows_server_errors(browser: Browser, host: Host) -> None:
    context, page, requests, watch = _open(browser, host, "widget.html", 1280)
    box = page.locator("citeqa-chat textarea")
    box.fill("When was the lamp fitted? " * 50)  # 1,300 characters: never cut silently
    box.press("Enter")
    count = page.locator("citeqa-chat .count")
    assert count.get_attribute("role") == "alert" and "at most 1,000" in count.inner_text()
    assert page.locator("citeqa-chat .turn").count() == 0 and len(box.input_value()) == 1300
    page.route(
        "**/api/ask",
        lambda route: route.fulfill(
            status=503,
            content_type="application/json",
            body=json.dumps({"error": "busy", "message": "citeqa is busy: <b>try</b> again", "hint": "wait"}),
        ),
    )
    turn = _widget_ask(page, "When was the lamp fitted?")
    assert turn.locator(".error").inner_text() == "citeqa is busy: <b>try</b> again"  # the message, as text
    assert turn.locator("b").count() == 0 and "wait" in turn.inner_text()
    _clean(page, requests, watch, host)
    context.close()


def test_widget_script_and_api_across_origins(host: Host) -> None:
    def get(url: str, origin: str, method: str = "GET", **headers: str) -> tuple[int, dict[str, str]]:
        request = urllib.request.Request(url, method=method, headers={"Origin": origin, **headers})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, {k.lower(): v for k, v in response.headers.items()}
        except urllib.error.HTTPError as exc:
            return exc.code, {k.lower(): v for k, v in exc.headers.items()}

    status, headers = get(f"{host.citeqa}/widget.js", host.url)
    assert status == 200 and headers["content-type"] == "text/javascript; charset=utf-8"
    assert headers["access-control-allow-origin"] == host.url and headers["x-content-type-options"] == "nosniff"
    status, headers = get(f"{host.citeqa}/widget.js", "http://127.0.0.2:9")  # an origin not allowed
    assert status == 200 and "access-control-allow-origin" not in headers
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    status, headers = get(f"{host.citeqa}/api/ask", host.url, "OPTIONS", **preflight)
    assert status == 200 and headers["access-control-allow-origin"] == host.url
    body = json.dumps({"question": JF17}).encode()
    request = urllib.request.Request(
        f"{host.citeqa}/api/ask", data=body, headers={"Origin": host.url, "Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.headers["Access-Control-Allow-Origin"] == host.url
        assert json.load(response)["answer"].startswith("40")


def test_widget_script_is_open_behind_auth() -> None:
    """A cross-origin module script is fetched without credentials, so /widget.js (public code, no data) needs
    none; everything else still does."""
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from citeqa.chat.web.app import AuthMiddleware

    inner = Starlette(routes=[Route("/{path:path}", lambda request: PlainTextResponse("ok"))])
    client = TestClient(AuthMiddleware(inner, users={"alice": "s3cret"}, header=None))
    assert client.get("/widget.js").status_code == 200
    assert client.get("/frame.js").status_code == 401 and client.get("/x/widget.js").status_code == 401
    assert client.post("/widget.js").status_code == 401
    assert client.get("/frame.js", auth=("alice", "s3cret")).status_code == 200


# WCAG AA: every text in the widget at 4.5:1 against the background it is drawn on (the host's, through the
# transparent widget), computed in the page.
CONTRAST = """() => {
  const rgb = s => (s.match(/[\\d.]+/g) || []).map(Number);
  const channel = v => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  const lum = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  const background = el => {
    for (let e = el; e; e = e.parentElement || (e.getRootNode() && e.getRootNode().host)) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] === 1)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const bad = [];
  for (const e of document.querySelector('citeqa-chat').shadowRoot.querySelectorAll('*')) {
    if (![...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()) || !e.getClientRects().length) continue;
    const fg = lum(rgb(getComputedStyle(e).color).slice(0, 3)), bg = lum(background(e));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    if (ratio < 4.5) bad.push(e.tagName + '.' + e.className + ' ' + ratio.toFixed(2));
  }
  return bad;
}"""


def _low_contrast(page: Page) -> list[str]:
    found: list[str] = page.evaluate(CONTRAST)
    return found


def test_example_page_loads_the_widget_from_its_own_server(host: Host) -> None:
    """As shipped, the example's relative addresses point at the server that serves it (/embed-example)."""
    page = EMBED_EXAMPLE.read_text(encoding="utf-8")
    assert '<script type="module" src="./widget.js">' in page and 'data-citeqa src="./"' in page
    assert '<citeqa-chat id="citeqa-widget" src="./"' in page and "780px" not in page
    with urllib.request.urlopen(f"{host.citeqa}/embed-example", timeout=30) as response:
        assert response.read().decode() == page
