"""Markdown rendered to plain text, so that answers and quotes never carry Markdown syntax.

The text is decoded as plain text is, then rendered line by line (a line of Markdown gives at most one line
of text, so paragraphs and sentences keep their shape): front matter, fences, heading marks, block quotes,
bullets, table pipes and rules, reference definitions and HTML tags go; emphasis, code marks, links and
images keep only their words (a link's text, an image's alt text); backslash escapes give their character.
The result is the document's text: it is what is stored, shown and cited, and offsets index it.

Every rule runs in time linear in its line, whatever the line holds: emphasis and code spans are paired by one
pass over their delimiters (`_unwrap`, `_code_spans`) rather than by a lazy regex that scans to the end of the
line from each opener that never closes (`*a ` 100,000 times kept an ingest busy for minutes), and the regexes
left stop at the next bracket or angle bracket instead of the line's end.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass

from . import Extracted
from .plain import read as read_plain

_FRONT_MATTER_FIELD = re.compile(r"^(title|date)\s*:\s*(.+?)\s*$", re.IGNORECASE)
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_SETEXT_OR_RULE = re.compile(r"^\s{0,3}(?:=+|-+|(?:\*\s*){3,}|(?:_\s*){3,}|(?:-\s*){3,})\s*$")
_QUOTE = re.compile(r"^\s{0,3}(?:>\s?)+")
_BULLET = re.compile(r"^\s*[-*+]\s+(?:\[[ xX]\]\s+)?")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$")
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*\S+.*$")
_BACKTICKS = re.compile(r"`+")
# A link's or image's text holds no bracket, its target no parenthesis but one balanced pair: each attempt stops at
# the next bracket or parenthesis, so a line of unclosed ones is not rescanned to its end from each.
_IMAGE = re.compile(r"!\[([^\[\]]*)\]\([^()]*\)|!\[([^\[\]]*)\]\[[^\[\]]*\]")
_LINK = re.compile(r"\[([^\[\]]+)\]\((?:[^()\s]|\([^()]*\))*(?:\s+\"[^\"]*\")?\)|\[([^\[\]]+)\]\[[^\[\]]*\]")
_AUTOLINK = re.compile(r"<((?:https?|ftp|mailto):[^<>\s]+)>")
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")


@dataclass(frozen=True, slots=True)
class _Emphasis:
    """A pair of delimiters around at least one character: where one may open, where one may close (zero-width
    patterns, so that every position is found, overlapping ones too), and how wide it is."""

    opens: re.Pattern[str]
    closes: re.Pattern[str]
    width: int


def _emphasis(opener: str, closer: str, width: int) -> _Emphasis:
    return _Emphasis(re.compile(f"(?={opener})"), re.compile(f"(?={closer})"), width)


_EMPHASES = (
    _emphasis(r"\*\*\S", r"(?<=\S)\*\*", 2),  # **strong**
    _emphasis(r"__\S", r"(?<=\S)__", 2),  # __strong__
    _emphasis(r"~~\S", r"(?<=\S)~~", 2),  # ~~struck~~
    _emphasis(r"(?<![\w*])\*[^\s*]", r"(?<=[^\s*])\*(?![\w*])", 1),  # *emphasis*, never 2*3*4
    _emphasis(r"(?<![\w_])_[^\s_]", r"(?<=[^\s_])_(?![\w_])", 1),  # _emphasis_, never snake_case_name
)
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~<])")
_ESCAPED = 0xF0000  # supplementary private use area: never in a document's own text
_SET_ASIDE = re.compile("[\U000f0000-\U000f007f]")


def read(data: bytes) -> Extracted:
    raw = read_plain(data)
    text, title = render(raw.text)
    return Extracted(text, title=title, note=raw.note)


def render(markdown: str) -> tuple[str, str | None]:
    """The plain text of `markdown`, and the title its front matter or first heading gives (if any)."""
    lines = _drop_comments(markdown.lstrip("\ufeff")).splitlines()
    title: str | None = None
    lines, title = _front_matter(lines)
    out: list[str] = []
    fence: str | None = None
    for line in lines:
        opening = _FENCE.match(line)
        if fence is not None:  # inside a fenced block: its text is kept as it is, the closing fence dropped
            if opening and opening.group(1)[0] == fence[0] and len(opening.group(1)) >= len(fence):
                fence = None
                out.append("")
            else:
                out.append(line)
            continue
        if opening:
            fence = opening.group(1)
            out.append("")
            continue
        rendered = _render_line(line)
        if title is None and rendered.strip() and _heading_text(line) is not None:
            title = rendered.strip()
        out.append(rendered)
    return "\n".join(out).rstrip() + "\n", title


def _front_matter(lines: list[str]) -> tuple[list[str], str | None]:
    if not lines or lines[0].strip() != "---":
        return lines, None
    for end in range(1, min(len(lines), 60)):
        if lines[end].strip() in ("---", "..."):
            title = None
            for field in lines[1:end]:
                m = _FRONT_MATTER_FIELD.match(field)
                if m and m.group(1).lower() == "title":
                    title = m.group(2).strip("\"'")
            # Keep a stated date as a line of text, so that the document still states it.
            dates = [m.group(2).strip("\"'") for f in lines[1:end] if (m := _FRONT_MATTER_FIELD.match(f))]
            kept = [f"Date: {d}" for d in dates if re.match(r"\d{4}-\d{2}-\d{2}", d)]
            return kept + lines[end + 1 :], title
    return lines, None


def _render_line(line: str) -> str:
    if _TABLE_RULE.match(line) and "-" in line and ("|" in line or line.count("-") >= 3):
        return ""
    if _SETEXT_OR_RULE.match(line) or _REFERENCE.match(line):
        return ""
    heading = _heading_text(line)
    if heading is not None:
        line = heading
    line = _QUOTE.sub("", line)
    line = _BULLET.sub("", line)
    if line.lstrip().startswith("|") or line.count("|") >= 2:
        cells = line.strip().strip("|").split("|")
        line = "\t".join(_inline(c.strip()) for c in cells)
        return line
    return _inline(line)


def _drop_comments(markdown: str) -> str:
    """`markdown` without its closed HTML comments (an unclosed `<!--` stays, as text)."""
    kept: list[str] = []
    done = 0
    while (start := markdown.find("<!--", done)) >= 0:
        end = markdown.find("-->", start + 4)
        if end < 0:  # no later comment closes either
            break
        kept.append(markdown[done:start])
        done = end + 3
    kept.append(markdown[done:])
    return "".join(kept)


def _heading_text(line: str) -> str | None:
    """The text of an ATX heading line (`## Costs ##` -> `Costs`); None when the line is not one."""
    body = line.lstrip()
    if len(line) - len(body) > 3:
        return None
    marks = len(body) - len(body.lstrip("#"))
    rest = body[marks:]
    if not 1 <= marks <= 6 or (rest and not rest[0].isspace()):
        return None
    text = rest.strip()
    unclosed = text.rstrip("#")
    if unclosed != text and unclosed and unclosed[-1].isspace():  # a closing run of marks: `# Title #`
        return unclosed.rstrip()
    return text


def _code_spans(text: str) -> list[tuple[int, int, int, int]]:
    """Each code span of `text`: (start, content start, content end, end). A run of backticks opens one that the
    next run of the same length closes; a run no such run follows is text. One pass: each length's runs are
    visited in order, once."""
    runs = [(m.start(), m.end()) for m in _BACKTICKS.finditer(text)]
    by_length: dict[int, deque[int]] = {}
    for number, (start, end) in enumerate(runs):
        by_length.setdefault(end - start, deque()).append(number)
    spans = []
    number = 0
    while number < len(runs):
        start, end = runs[number]
        later = by_length[end - start]
        while later and later[0] <= number:
            later.popleft()
        if not later:
            number += 1
            continue
        closing = later.popleft()
        spans.append((start, end, runs[closing][0], runs[closing][1]))
        number = closing + 1  # runs inside the span are its text
    return spans


def _unwrap(text: str, emphasis: _Emphasis) -> str:
    """`text` with each span between an opening and a closing delimiter replaced by what it holds: the leftmost
    opener with the nearest closer after it, then on from there, as a regex substitution `open(.+?)close` would,
    but in one pass over the delimiters (the regex rescans the rest of the line from every opener that never
    closes)."""
    openers = [m.start() for m in emphasis.opens.finditer(text)]
    if not openers:
        return text
    closers = [m.start() for m in emphasis.closes.finditer(text)]
    width = emphasis.width
    pieces: list[str] = []
    done = 0
    next_closer = 0
    for start in openers:
        if start < done:  # inside a span unwrapped already
            continue
        while next_closer < len(closers) and closers[next_closer] <= start + width:
            next_closer += 1
        if next_closer == len(closers):  # no later opener has a closer either
            break
        end = closers[next_closer]
        pieces += [text[done:start], text[start + width : end]]
        done = end + width
    pieces.append(text[done:])
    return "".join(pieces)


def _inline(text: str) -> str:
    """Inline markup dropped; code spans are kept verbatim (their stars and underscores are text)."""
    pieces: list[str] = []
    last = 0
    for start, content_start, content_end, end in _code_spans(text):
        pieces.append(_inline_outside_code(text[last:start]))
        pieces.append(text[content_start:content_end].strip())
        last = end
    pieces.append(_inline_outside_code(text[last:]))
    return "".join(pieces)


def _inline_outside_code(text: str) -> str:
    # Escaped characters are set aside first (as private-use characters), so no rule takes them for markup.
    text = _ESCAPE.sub(lambda m: chr(_ESCAPED + ord(m.group(1))), text)
    text = _IMAGE.sub(lambda m: m.group(1) or m.group(2) or "", text)
    text = _LINK.sub(lambda m: m.group(1) or m.group(2) or "", text)
    text = _AUTOLINK.sub(r"\1", text)
    text = _TAG.sub("", text)
    for _ in range(2):  # nested emphasis: ***both*** or **bold _and italic_**
        for emphasis in _EMPHASES:
            text = _unwrap(text, emphasis)
    return _SET_ASIDE.sub(lambda m: chr(ord(m.group()) - _ESCAPED), text)
