"""Answers as safe HTML for the chat, and the page that shows a cited document with the quote marked.

Everything that comes from a document or a question goes through `text()`: HTML-escaped, and every
character Markdown or LaTeX could act on written as a numeric entity, so the chat's Markdown renderer shows
it as the characters it is (`<script>`, `<img onerror=...>`, `![x](http://...)` stay text). The HTML around
it is citeqa's own, on one line, so no Markdown block rule can split it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from urllib.parse import quote, urlencode

from citeqa.index.search import Passage
from citeqa.ingest.documents import Document

from ..answer import Answer, Citation

# Characters that Markdown (emphasis, links, images, code, headings, tables, escapes) or KaTeX act on.
# One table, one pass: HTML's own five characters first, then every character a Markdown renderer acts on.
_INERT = {ord(c): f"&#{ord(c)};" for c in "\\`*_{}[]()#+-!|~$:^=@"} | {
    ord("&"): "&amp;",
    ord("<"): "&lt;",
    ord(">"): "&gt;",
    ord('"'): "&quot;",
    ord("'"): "&#39;",
}
_SPACE = re.compile(r"\s+")
PASSAGE_CHARS = 360  # characters of a passage shown in a list


def text(value: str, collapse: bool = True) -> str:
    """`value` as inert text inside HTML that a Markdown renderer may also read."""
    if collapse:
        value = _SPACE.sub(" ", value)
    return value.translate(_INERT)


def document_href(
    source: str, start: int, end: int, quote_start: int | None = None, quote_end: int | None = None
) -> str:
    """Relative link to the document page (relative, so it works under any --root-path and in an iframe)."""
    params = {"start": start, "end": end}
    if quote_start is not None and quote_end is not None:
        params |= {"quote_start": quote_start, "quote_end": quote_end}
    return f"documents/{quote(source, safe='/')}?{urlencode(params)}#cited"


def _link(href: str, label: str) -> str:
    return f'<a class="cq-link" href="{html.escape(href, quote=True)}" target="_blank" rel="noopener">{label}</a>'


def citation_html(citation: Citation) -> str:
    where = f"characters {citation.start:,}–{citation.end:,}"
    if citation.page is not None:
        where = f"page {citation.page}, {where}"
    href = document_href(citation.source, citation.start, citation.end, citation.quote_start, citation.quote_end)
    return (
        f'<p class="cq-cite">— {_link(href, text(citation.title or citation.source))}'
        f'<br><span class="cq-where">{text(citation.source)} · {where}</span></p>'
    )


def quote_html(citation: Citation) -> str:
    """The quoted sentence with the answer marked."""
    offset = citation.quote_start
    before = citation.quote[: citation.start - offset]
    answer = citation.quote[citation.start - offset : citation.end - offset]
    after = citation.quote[citation.end - offset :]
    return (
        f'<blockquote class="cq-quote">{text(before)}<mark class="cq-answer">{text(answer)}</mark>'
        f"{text(after)}</blockquote>"
    )


def answer_html(answer: Answer, asked: str | None = None) -> str:
    """One chat message: the short answer, its sentence with the answer marked, and the citation."""
    parts = ['<div class="cq-message">']
    if asked is not None and asked.strip() != answer.question:
        parts.append(f'<p class="cq-resolved">Understood as: <em>{text(answer.question)}</em></p>')
    if answer.text is None or not answer.citations:
        parts.append(
            '<p class="cq-abstain"><strong>The documents don\'t answer this.</strong> '
            f'<span class="cq-confidence">(confidence {answer.confidence:.2f})</span></p>'
        )
        if answer.passages:
            parts.append('<p class="cq-closest-title">The closest passages:</p>')
            parts.append(passages_html(answer.passages[:3], css="cq-closest"))
    else:
        citation = answer.citations[0]
        parts.append(
            f'<p class="cq-short"><strong>{text(answer.text)}</strong> '
            f'<span class="cq-confidence">confidence {answer.confidence:.2f}</span></p>'
        )
        parts.append(quote_html(citation))
        parts.append(citation_html(citation))
    parts.append("</div>")
    return "".join(parts)


def _snippet(passage_text: str) -> str:
    flat = _SPACE.sub(" ", passage_text).strip()
    return flat if len(flat) <= PASSAGE_CHARS else flat[:PASSAGE_CHARS].rsplit(" ", 1)[0] + " …"


def passages_html(passages: Iterable[Passage], css: str = "cq-passages") -> str:
    """The retrieved passages, best first, each with its score and a link to it in its document."""
    items = []
    for rank, passage in enumerate(passages, 1):
        c = passage.chunk
        href = document_href(c.source, c.start, c.end)
        items.append(
            f'<li><span class="cq-score">#{rank} · score {passage.score:.3f}</span> '
            f"{_link(href, text(c.source))} "
            f'<span class="cq-where">characters {c.start:,}–{c.end:,}</span>'
            f'<div class="cq-passage">{text(_snippet(c.text))}</div></li>'
        )
    if not items:
        return '<p class="cq-none">No passages were retrieved.</p>'
    return f'<ol class="{css}">{"".join(items)}</ol>'


def clamp_range(document: Document, start: int | None, end: int | None) -> tuple[int, int] | None:
    """A character range inside the document, or None when none was asked for or it makes no sense."""
    if start is None or end is None:
        return None
    length = len(document.text)
    start, end = max(0, min(start, length)), max(0, min(end, length))
    return (start, end) if start < end else None


_PAGE_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;margin:0;
background:#f7f7f8;color:#1f2937}
header{padding:12px 16px;background:#fff;border-bottom:1px solid #e5e7eb;position:sticky;top:0}
header h1{font-size:1.05rem;margin:0 0 4px}header p{margin:0;color:#6b7280;font-size:.85rem;overflow-wrap:anywhere}
main{max-width:52rem;margin:0 auto;padding:16px}
pre{white-space:pre-wrap;overflow-wrap:anywhere;font:inherit;line-height:1.55;background:#fff;padding:16px;
border:1px solid #e5e7eb;border-radius:8px}
mark.quote{background:#fef3c7;scroll-margin-top:30vh}mark.answer{background:#fcd34d;font-weight:600}
"""


def document_page(
    document: Document, span: tuple[int, int] | None, quote_span: tuple[int, int] | None, app_root: str = ""
) -> str:
    """A whole HTML page: the document's text, escaped, with the quote (and the answer inside it) marked.

    The marked part carries id="cited"; links end in #cited, so the browser scrolls it into view by itself
    (no script on this page at all).
    """
    body = document.text
    outer = quote_span or span
    if outer is not None and span is not None and not (outer[0] <= span[0] and span[1] <= outer[1]):
        outer = span  # an answer outside its quote: mark the answer alone
    if outer is None:
        content = html.escape(body)
    else:
        inner = span if span is not None and span != outer else None
        if inner is None:
            marked = f'<mark class="quote answer" id="cited">{html.escape(body[outer[0] : outer[1]])}</mark>'
        else:
            marked = (
                f'<mark class="quote" id="cited">{html.escape(body[outer[0] : inner[0]])}'
                f'<mark class="answer">{html.escape(body[inner[0] : inner[1]])}</mark>'
                f"{html.escape(body[inner[1] : outer[1]])}</mark>"
            )
        content = html.escape(body[: outer[0]]) + marked + html.escape(body[outer[1] :])
    where = html.escape(document.source) + (f" · {html.escape(document.date)}" if document.date else "")
    if span is not None:
        where += f" · characters {span[0]:,}–{span[1]:,}"
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(document.title or document.source)}</title><style>{_PAGE_STYLE}</style></head>"
        f"<body><header><h1>{html.escape(document.title or document.source)}</h1><p>{where}</p></header>"
        f"<main><pre>{content}</pre></main></body></html>"
    )
