"""HTML: the page's main text, read with the standard library's tolerant parser (no extra dependency).

Scripts, styles, templates, forms, navigation, page headers and footers, asides and anything hidden
(`hidden`, `aria-hidden="true"`, an inline `display: none`, navigation/banner/footer roles) are left out.
When the page marks its main content (`<main>`, `role="main"`, else a single `<article>`), only that is kept.
Each block element (paragraph, heading, list item, table row...) becomes a line; runs of spaces collapse as a
browser shows them; table cells are separated by a tab; `<pre>` keeps its spacing.
"""

from __future__ import annotations

import re
from collections import Counter
from html.parser import HTMLParser

from . import Extracted, UnreadableFileError
from .plain import decode, is_charset

_SKIPPED = frozenset(
    "script style noscript template svg math canvas iframe object embed nav header footer aside form "
    "button select textarea dialog".split()
)
_SKIPPED_ROLES = frozenset({"navigation", "banner", "contentinfo", "complementary", "search", "menu", "menubar"})
_VOID = frozenset("area base br col embed hr img input link meta param source track wbr".split())
_BLOCKS = frozenset(
    "address article blockquote caption dd details div dl dt fieldset figcaption figure h1 h2 h3 h4 h5 h6 hr "
    "li main ol p pre section summary table tbody thead tfoot tr ul br".split()
)
_PARAGRAPHS = frozenset("p h1 h2 h3 h4 h5 h6 blockquote pre table ul ol dl figure section article".split())
_CELLS = frozenset({"td", "th"})
_SPACES = re.compile(r"[ \t\r\n\f\u00a0]+")
_INVISIBLE = re.compile(r"(?:display\s*:\s*none|visibility\s*:\s*hidden)", re.IGNORECASE)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


def read(data: bytes) -> Extracted:
    text, note = _decode(data)
    parser = _MainText()
    parser.feed(defuse_tag_starts(text))
    parser.close()
    body = parser.result()
    if not body.strip():
        raise UnreadableFileError(
            "no text", "an HTML page with no readable text outside scripts, styles and navigation"
        )
    title = _SPACES.sub(" ", parser.title).strip() or None
    return Extracted(body, title=title, note=note)


def _decode(data: bytes) -> tuple[str, str]:
    declared = _META_CHARSET.search(data[:4096])
    if declared:
        name = declared.group(1).decode("ascii").lower()
        if name not in ("utf-8", "utf8") and is_charset(name):  # never punycode and the like
            try:
                return data.decode(name), ""
            except (LookupError, UnicodeDecodeError):
                pass
    return decode(data)


def defuse_tag_starts(text: str) -> str:
    """`text` with each `<` that opens a tag never closed before the next `<` written `&lt;` (text, as it then is).

    The standard library's parser scans from such a `<` to the end of the page looking for its `>`, and does it
    again from the next one: `<a ` 8,000 times took 6.7 s (and grew with the square of the count). Comments are
    kept whole when closed. A raw `<` inside a quoted attribute value cuts its tag short (pages escape it as `&lt;`).
    One pass: every search below starts where the one before it ended or further on.
    """
    out: list[str] = []
    kept = 0  # text[:kept] is in `out`
    closer = -1  # the first `>` at or after the current `<`, once searched for (len(text): none)
    comment_end = -1  # likewise the first `-->` after a comment's opening
    at = text.find("<")
    while at >= 0:
        following = text.find("<", at + 1)
        if text.startswith("<!--", at):
            if comment_end < at:
                found = text.find("-->", at + 4)
                comment_end = found if found >= 0 else len(text)
            if comment_end < len(text):  # a closed comment: whole, whatever `<` it holds
                at = text.find("<", comment_end + 3)
                continue
        if closer <= at:
            found = text.find(">", at + 1)
            closer = found if found >= 0 else len(text)
        opens_tag = at + 1 < len(text) and (text[at + 1].isalpha() or text[at + 1] in "/!?")
        if opens_tag and (closer == len(text) or 0 <= following < closer):
            out.append(text[kept:at])
            out.append("&lt;")
            kept = at + 1
        at = following
    out.append(text[kept:])
    return "".join(out)


class _MainText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self._in_title = False
        self._skipping: list[str] = []  # open elements whose content is left out
        self._skipping_count: Counter[str] = Counter()  # how many of each are open: a stray end tag costs O(1)
        self._pre = 0
        self._main_depth = 0  # >0 inside <main> / role=main
        self._article_depth = 0  # >0 inside an <article>
        self._main_seen = False
        self._articles = 0
        self._all: list[str] = []  # the whole page's text (less what is skipped)
        self._main: list[str] = []  # the text inside <main> / role=main
        self._article: list[str] = []  # the text inside <article> elements
        self._stack: list[tuple[str, bool, bool]] = []  # open elements; whether each opened a main or an article
        self._open_count: Counter[str] = Counter()  # how many of each tag `_stack` holds

    # -- parser callbacks

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "title" and not self.title:
            self._in_title = True
            return
        if tag in _VOID:
            if tag in ("br", "hr"):
                self._emit("\n")
            return
        if self._skipping or tag in _SKIPPED or _hidden(attributes):
            self._skipping.append(tag)
            self._skipping_count[tag] += 1
            return
        opens_main = tag == "main" or attributes.get("role") == "main"
        if opens_main:
            self._main_depth += 1
            self._main_seen = True
        opens_article = tag == "article"
        if opens_article:
            self._articles += 1
            self._article_depth += 1
        self._stack.append((tag, opens_main, opens_article))
        self._open_count[tag] += 1
        if tag == "pre":
            self._pre += 1
        if tag in _BLOCKS:
            self._emit("\n\n" if tag in _PARAGRAPHS else "\n")
        elif tag in _CELLS:
            self._emit("\t")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "hr"):
            self._emit("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
            return
        # Each open element is popped once, and a stray end tag is found by its count: linear in the page, however
        # many end tags match nothing (scanning the open elements for each took 9.6 s for 180 KB).
        if self._skipping:
            if self._skipping_count[tag]:
                while self._skipping:
                    popped = self._skipping.pop()
                    self._skipping_count[popped] -= 1
                    if popped == tag:
                        break
            return
        if not self._open_count[tag]:
            return  # a stray end tag
        while self._stack:
            name, opened_main, opened_article = self._stack.pop()
            self._open_count[name] -= 1
            if name == "pre":
                self._pre -= 1
            if opened_main:
                self._main_depth -= 1
            if opened_article:
                self._article_depth -= 1
            if name in _BLOCKS:
                self._emit("\n\n" if name in _PARAGRAPHS else "\n")
            if name == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
            return
        if self._skipping:
            return
        self._emit(data if self._pre else _SPACES.sub(" ", data))

    # -- helpers

    def _emit(self, text: str) -> None:
        self._all.append(text)
        if self._main_depth > 0:
            self._main.append(text)
        if self._article_depth > 0:
            self._article.append(text)

    def result(self) -> str:
        """The main content's text if the page marks it (<main>, else its one <article>), else all of it."""
        for part, marked in ((self._main, self._main_seen), (self._article, self._articles == 1)):
            if marked and "".join(part).strip():
                return _tidy("".join(part))
        return _tidy("".join(self._all))


def _hidden(attributes: dict[str, str | None]) -> bool:
    if "hidden" in attributes or (attributes.get("aria-hidden") or "").lower() == "true":
        return True
    if _INVISIBLE.search(attributes.get("style") or ""):
        return True
    return (attributes.get("role") or "").lower() in _SKIPPED_ROLES


def _tidy(text: str) -> str:
    """One line per block: spaces trimmed around line breaks and tabs, at most one blank line in a row."""
    lines = []
    for line in text.split("\n"):
        cells = [c.strip(" ") for c in line.split("\t")]
        lines.append("\t".join(c for c in cells if c) if len(cells) > 1 else line.strip(" "))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n") + "\n"
