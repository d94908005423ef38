"""Answers as safe HTML for the chat, and the page that shows a cited document with the quote marked.

Everything that comes from a document or a question goes through `text()`: HTML-escaped, and every
character Markdown or LaTeX could act on written as a numeric entity, so the chat's Markdown renderer shows
it as the characters it is (`<script>`, `<img onerror=...>`, `![x](http://...)` stay text). The HTML around
it is citeqa's own, on one line, so no Markdown block rule can split it.

Each chat message also carries its own plain text (`plain_text`) in a hidden `.cq-plain` element (the chat's
sanitizer drops data attributes): the chat's script gives it to screen readers as the message's name and to the
clipboard when "Copy" is pressed, so neither gets markup.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
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
PREVIEW_CHARS = 160  # characters of a passage in a link's hover preview
ABSTAINED = "The documents don't answer this."
ORDER_ANSWERED = (
    "Ordered by how well each passage supports the answer, the one holding it first. Similarity is how close "
    "a passage is in meaning to the question (0 to 1); it is not what the list is sorted by."
)
ORDER_SEARCHED = (
    "Ordered by search rank: closeness in meaning and shared words together. Similarity is closeness in meaning "
    "alone (0 to 1), so it need not fall with the rank."
)
Titles = Mapping[str, str]  # document source -> title


def text(value: str, collapse: bool = True) -> str:
    """`value` as inert text inside HTML that a Markdown renderer may also read."""
    if collapse:
        value = _SPACE.sub(" ", value)
    return value.translate(_INERT)


def attribute(value: str) -> str:
    """`value` as an inert attribute value on one line (newlines kept as entities)."""
    return text(value, collapse=False).replace("\r", "").replace("\n", "&#10;")


def _flat(value: str) -> str:
    return _SPACE.sub(" ", value).strip()


def document_href(
    source: str, start: int, end: int, quote_start: int | None = None, quote_end: int | None = None
) -> str:
    """Relative link to the document page (relative, so it works under any --root-path and in an iframe)."""
    params = {"start": start, "end": end}
    if quote_start is not None and quote_end is not None:
        params |= {"quote_start": quote_start, "quote_end": quote_end}
    return f"documents/{quote(source, safe='/')}?{urlencode(params)}#cited"


def _link(href: str, label: str, preview: str | None = None) -> str:
    hover = f' title="{attribute(preview)}"' if preview else ""
    return (
        f'<a class="cq-link" href="{html.escape(href, quote=True)}" target="_blank" rel="noopener"{hover}>{label}</a>'
    )


def document_name(title: str | None, source: str) -> str:
    """A document as people read it: its title, with the file name beside (plain text)."""
    title = _flat(title or "")
    return f"{title} ({source})" if title and title != source else source


def _source_label(title: str | None, source: str) -> str:
    """The title as the link's text; the file name is shown beside it (`_file`)."""
    title = _flat(title or "")
    return f'<span class="cq-title">{text(title or source)}</span>'


def _file(title: str | None, source: str) -> str:
    title = _flat(title or "")
    return f' <span class="cq-file">{text(source)}</span>' if title and title != source else ""


def _where(citation: Citation) -> str:
    where = f"characters {citation.start:,}–{citation.end:,}"
    return f"page {citation.page}, {where}" if citation.page is not None else where


def citation_html(citation: Citation) -> str:
    """The document a citation stands in, by title with its file name beside, linked to the quote in it."""
    href = document_href(citation.source, citation.start, citation.end, citation.quote_start, citation.quote_end)
    return (
        f'<p class="cq-cite">— {_link(href, _source_label(citation.title, citation.source), citation.quote)}'
        f'{_file(citation.title, citation.source)}<br><span class="cq-where">{text(_where(citation))}</span></p>'
    )


def quote_html(citation: Citation) -> str:
    """The quoted sentence with the cited span marked."""
    offset = citation.quote_start
    before = citation.quote[: citation.start - offset]
    answer = citation.quote[citation.start - offset : citation.end - offset]
    after = citation.quote[citation.end - offset :]
    return (
        f'<blockquote class="cq-quote">{text(before)}<mark class="cq-answer">{text(answer)}</mark>'
        f"{text(after)}</blockquote>"
    )


def _typed(answer: Answer, asked: str | None) -> str | None:
    """What was typed, when the question answered differs from it (a follow-up made to stand on its own)."""
    typed = answer.asked if answer.asked is not None else asked
    if typed is None or typed.strip() == answer.question:
        return None
    return typed.strip()


def _notice_shown(answer: Answer) -> str | None:
    """The notice's message, unless it only says what "Searched for" shows already."""
    notice = answer.notice
    if notice is None or (notice.code == "corrected" and answer.searched_for):
        return None
    return notice.message


def plain_text(answer: Answer, asked: str | None = None) -> str:
    """The message as plain text: what copying it gives, and what a screen reader announces."""
    lines = []
    typed = _typed(answer, asked)
    if typed is not None:
        lines.append(f"Understood as: {answer.question}")
    if answer.searched_for:
        lines.append(f"Searched for: {answer.searched_for}")
    notice = _notice_shown(answer)
    if answer.text is None or not answer.citations:
        lines.append(notice or ABSTAINED)
        if answer.passages:
            c = answer.passages[0].chunk
            lines.append(f"Closest passage: {_flat(c.text)[:PREVIEW_CHARS]}")
        return "\n".join(lines)
    if notice:
        lines.append(notice)
    lines.append(f"Answer: {answer.text} (confidence {answer.confidence:.2f})")
    for i, citation in enumerate(answer.citations):
        if i:
            lines.append(f"Also answered in {document_name(citation.title, citation.source)}: {citation.text}")
        lines.append(f"Quote: “{_flat(citation.quote)}”")
        lines.append(f"Source: {document_name(citation.title, citation.source)}, {_where(citation)}")
    return "\n".join(lines)


def plain_html(plain: str) -> str:
    """A message's plain text, hidden from view and from screen readers (the script names the message by it)."""
    return f'<span class="cq-plain" hidden>{attribute(plain)}</span>'


def answer_html(answer: Answer, asked: str | None = None, titles: Titles | None = None) -> str:
    """One chat message: what the question was taken as, the short answer, each citation with its sentence and
    the answer marked, the message's own sources, and a button that copies it all as plain text."""
    parts = ['<div class="cq-message">', plain_html(plain_text(answer, asked))]
    typed = _typed(answer, asked)
    if typed is not None:
        parts.append(
            f'<p class="cq-resolved">Understood as: <em>{text(answer.question)}</em> '
            f'<button type="button" class="cq-as-typed" value="{attribute(typed)}" '
            f'title="Ask “{attribute(typed)}” exactly as typed, on its own">Ask as typed</button></p>'
        )
    if answer.searched_for:
        parts.append(f'<p class="cq-searched">Searched for: <em>{text(answer.searched_for)}</em></p>')
    notice = _notice_shown(answer)
    answered = answer.text is not None and bool(answer.citations)
    if not answered:
        if notice:  # why citeqa did not answer as usual: no confidence to show
            parts.append(f'<p class="cq-abstain cq-notice"><strong>{text(notice)}</strong></p>')
        else:
            parts.append(
                f'<p class="cq-abstain"><strong>{text(ABSTAINED)}</strong> '
                f'<span class="cq-confidence">(confidence {answer.confidence:.2f})</span></p>'
            )
        if answer.passages:
            parts.append('<p class="cq-closest-title">The closest passages:</p>')
            parts.append(passages_html(answer.passages[:3], titles, css="cq-closest", answered=False))
    else:
        if notice:
            parts.append(f'<p class="cq-notice"><strong>{text(notice)}</strong></p>')
        assert answer.text is not None
        parts.append(
            f'<p class="cq-short"><strong>{text(answer.text)}</strong> '
            f'<span class="cq-confidence">confidence {answer.confidence:.2f}</span></p>'
        )
        first, *others = answer.citations
        parts.append(quote_html(first))
        parts.append(citation_html(first))
        for citation in others:
            name = _source_label(citation.title, citation.source)
            parts.append(
                f'<div class="cq-also"><p class="cq-also-title">Also answered in {name}: '
                f"<strong>{text(citation.text)}</strong></p>{quote_html(citation)}{citation_html(citation)}</div>"
            )
        if answer.passages:
            parts.append(sources_html(answer.passages, titles, answered=True))
    parts.append(
        '<p class="cq-actions"><button type="button" class="cq-copy" '
        'title="Copy this answer, its quotes and sources as plain text">Copy</button></p></div>'
    )
    return "".join(parts)


def sources_html(passages: Sequence[Passage], titles: Titles | None = None, answered: bool = True) -> str:
    """A message's own sources, folded: a tap (or Enter) opens them; each link previews its passage on hover."""
    count = len(passages)
    documents = len({p.chunk.source for p in passages})
    summary = f"Sources: {count} passage{'s' * (count != 1)} from {documents} document{'s' * (documents != 1)}"
    return (
        f'<details class="cq-sources"><summary>{summary}</summary>'
        f"{passages_html(passages, titles, answered=answered)}</details>"
    )


def _snippet(passage_text: str, chars: int = PASSAGE_CHARS) -> str:
    flat = _flat(passage_text)
    return flat if len(flat) <= chars else flat[:chars].rsplit(" ", 1)[0] + " …"


def passages_html(
    passages: Iterable[Passage], titles: Titles | None = None, css: str = "cq-passages", answered: bool = True
) -> str:
    """Retrieved passages in the order the answerer gives them, saying what that order is; each with its
    document's title (file name beside), its similarity to the question, and a link to it in its document.

    `answered`: the answerer reranked them (the passage holding the answer first); otherwise they are in
    search order.
    """
    titles = titles or {}
    items = []
    passages = list(passages)
    for rank, passage in enumerate(passages, 1):
        c = passage.chunk
        title = titles.get(c.source)
        href = document_href(c.source, c.start, c.end)
        holds = " · holds the answer" if answered and rank == 1 else ""
        items.append(
            f'<li><span class="cq-score">#{rank}{holds} · similarity {passage.score:.3f}</span> '
            f"{_link(href, _source_label(title, c.source), _snippet(c.text, PREVIEW_CHARS))}{_file(title, c.source)} "
            f'<span class="cq-where">characters {c.start:,}–{c.end:,}</span>'
            f'<div class="cq-passage">{text(_snippet(c.text))}</div></li>'
        )
    if not items:
        return '<p class="cq-none">No passages were retrieved.</p>'
    order = ORDER_ANSWERED if answered else ORDER_SEARCHED
    return f'<p class="cq-order">{text(order)}</p><ol class="{css}">{"".join(items)}</ol>'


def conversation_passages_html(answers: Sequence[tuple[str, Answer]], titles: Titles | None = None) -> str:
    """Every question's passages, the latest first, each under the question it was retrieved for."""
    if not answers:
        return '<p class="cq-none">Ask a question: the passages retrieved for each one are listed here.</p>'
    sections = []
    for number, (asked, answer) in reversed(list(enumerate(answers, 1))):
        answered = answer.text is not None and bool(answer.citations)
        sections.append(
            f'<section class="cq-turn-passages"><h2>Question {number}: {text(asked)}</h2>'
            f"{passages_html(answer.passages, titles, answered=answered)}</section>"
        )
    return "".join(sections)


def clamp_range(document: Document, start: int | None, end: int | None) -> tuple[int, int] | None:
    """A character range inside the document, or None when none was asked for or it makes no sense."""
    if start is None or end is None:
        return None
    length = len(document.text)
    start, end = max(0, min(start, length)), max(0, min(end, length))
    return (start, end) if start < end else None


_PAGE_STYLE = """
:root{color-scheme:light dark}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;margin:0;
background:#f7f7f8;color:#1f2937}
header{padding:12px 16px;background:#fff;border-bottom:1px solid #e5e7eb;position:sticky;top:0}
header h1{font-size:1.05rem;margin:0 0 4px}header p{margin:0;color:#4b5563;font-size:.85rem;overflow-wrap:anywhere}
nav{margin:0 0 6px;font-size:.9rem}a{color:#1d4ed8}
main{max-width:52rem;margin:0 auto;padding:16px}
pre{white-space:pre-wrap;overflow-wrap:anywhere;font:inherit;line-height:1.55;background:#fff;padding:16px;
border:1px solid #e5e7eb;border-radius:8px}
mark.quote{background:#fef3c7;color:#111827;scroll-margin-top:30vh}
mark.answer{background:#fcd34d;color:#111827;font-weight:600}
.page{display:block;margin:.8em 0;padding:2px 0;border-top:1px dashed #9ca3af;color:#4b5563;font-size:.8rem;
font-weight:600;scroll-margin-top:5rem}
@media (prefers-color-scheme:dark){
body{background:#111827;color:#e5e7eb}header{background:#1f2937;border-color:#374151}header p{color:#cbd5e1}
a{color:#93c5fd}pre{background:#1f2937;border-color:#374151}.page{color:#cbd5e1;border-color:#6b7280}
mark.quote{background:#fde68a}mark.answer{background:#fbbf24}}
"""


def _back_href(source: str) -> str:
    """The chat, relative to /documents/SOURCE (so it holds under --root-path): one `../` per folder level."""
    return "../" * (source.count("/") + 1)


def _marked_text(body: str, marks: Sequence[tuple[int, int, str]], pages: Sequence[int]) -> str:
    """`body` escaped, with each (start, end, opening tag) mark (nested, outer first) and a marker at each page
    start after the first."""
    points = sorted({0, len(body), *(s for s, _, _ in marks), *(e for _, e, _ in marks), *pages})
    starts = {page_start: number for number, page_start in enumerate(pages, 1) if number > 1}
    out: list[str] = []
    for i, point in enumerate(points):
        out.extend("</mark>" for start, end, _ in reversed(marks) if end == point and start < end)
        if point in starts:
            number = starts[point]
            out.append(f'<span class="page" id="page-{number}">Page {number}</span>')
        out.extend(tag for start, end, tag in marks if start == point and start < end)
        if i + 1 < len(points):
            out.append(html.escape(body[point : points[i + 1]]))
    return "".join(out)


def document_page(
    document: Document, span: tuple[int, int] | None, quote_span: tuple[int, int] | None, app_root: str = ""
) -> str:
    """A whole HTML page: the document's text, escaped, with the quote (and the answer inside it) marked, a
    marker where each PDF page starts, a link back to the chat, and the reader's light or dark scheme.

    The marked part carries id="cited"; links end in #cited, so the browser scrolls it into view by itself
    (no script on this page at all). `app_root` is the chat's address; by default the relative one.
    """
    body = document.text
    outer = quote_span or span
    if outer is not None and span is not None and not (outer[0] <= span[0] and span[1] <= outer[1]):
        outer = span  # an answer outside its quote: mark the answer alone
    marks: list[tuple[int, int, str]] = []
    if outer is not None:
        inner = span if span is not None and span != outer else None
        if inner is None:
            marks.append((outer[0], outer[1], '<mark class="quote answer" id="cited">'))
        else:
            marks += [(outer[0], outer[1], '<mark class="quote" id="cited">'), (*inner, '<mark class="answer">')]
    content = _marked_text(body, marks, document.pages)
    name = html.escape(document.title or document.source)
    where = html.escape(document.source) + (f" · {html.escape(document.date)}" if document.date else "")
    if span is not None:
        page = document.page_at(span[0])
        where += f" · page {page}" if page is not None else ""
        where += f" · characters {span[0]:,}–{span[1]:,}"
    if document.pages:
        where += f" · {len(document.pages)} page{'s' * (len(document.pages) != 1)}"
    back = html.escape(app_root or _back_href(document.source), quote=True)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="color-scheme" content="light dark">'
        f"<title>{name}</title><style>{_PAGE_STYLE}</style></head>"
        f'<body><header><nav><a href="{back}" id="back">← Back to the citeqa chat</a></nav>'
        f"<h1>{name}</h1><p>{where}</p></header>"
        f"<main><pre>{content}</pre></main></body></html>"
    )
