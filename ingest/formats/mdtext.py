"""Markdown rendered to plain text, so that answers and quotes never carry Markdown syntax.

The text is decoded as plain text is, then rendered line by line (a line of Markdown gives at most one line
of text, so paragraphs and sentences keep their shape): front matter, fences, heading marks, block quotes,
bullets, table pipes and rules, reference definitions and HTML tags go; emphasis, code marks, links and
images keep only their words (a link's text, an image's alt text); backslash escapes give their character.
The result is the document's text: it is what is stored, shown and cited, and offsets index it.
"""

from __future__ import annotations

import re

from . import Extracted
from .plain import read as read_plain

_FRONT_MATTER_FIELD = re.compile(r"^(title|date)\s*:\s*(.+?)\s*$", re.IGNORECASE)
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_HEADING = re.compile(r"^\s{0,3}#{1,6}(?:\s+|$)(.*?)(?:\s+#+)?\s*$")
_SETEXT_OR_RULE = re.compile(r"^\s{0,3}(?:=+|-+|(?:\*\s*){3,}|(?:_\s*){3,}|(?:-\s*){3,})\s*$")
_QUOTE = re.compile(r"^\s{0,3}(?:>\s?)+")
_BULLET = re.compile(r"^\s*[-*+]\s+(?:\[[ xX]\]\s+)?")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$")
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*\S+.*$")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)|!\[([^\]]*)\]\[[^\]]*\]")
_LINK = re.compile(r"\[([^\]]+)\]\((?:[^()\s]|\([^)]*\))*(?:\s+\"[^\"]*\")?\)|\[([^\]]+)\]\[[^\]]*\]")
_AUTOLINK = re.compile(r"<((?:https?|ftp|mailto):[^>\s]+)>")
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_STAR = re.compile(r"(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])")
_UNDERSCORE = re.compile(r"(?<![\w_])_(?=[^\s_])(.+?)(?<=[^\s_])_(?![\w_])")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~<])")
_ESCAPED = 0xF0000  # supplementary private use area: never in a document's own text
_SET_ASIDE = re.compile("[\U000f0000-\U000f007f]")


def read(data: bytes) -> Extracted:
    raw = read_plain(data)
    text, title = render(raw.text)
    return Extracted(text, title=title, note=raw.note)


def render(markdown: str) -> tuple[str, str | None]:
    """The plain text of `markdown`, and the title its front matter or first heading gives (if any)."""
    lines = _COMMENT.sub("", markdown.lstrip("\ufeff")).splitlines()
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
        heading = _HEADING.match(line)
        if heading and title is None and rendered.strip():
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
    heading = _HEADING.match(line)
    if heading:
        line = heading.group(1)
    line = _QUOTE.sub("", line)
    line = _BULLET.sub("", line)
    if line.lstrip().startswith("|") or line.count("|") >= 2:
        cells = line.strip().strip("|").split("|")
        line = "\t".join(_inline(c.strip()) for c in cells)
        return line
    return _inline(line)


def _inline(text: str) -> str:
    """Inline markup dropped; code spans are kept verbatim (their stars and underscores are text)."""
    pieces: list[str] = []
    last = 0
    for code in _CODE_SPAN.finditer(text):
        pieces.append(_inline_outside_code(text[last : code.start()]))
        pieces.append(code.group(2).strip())
        last = code.end()
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
        text = _STRONG.sub(r"\2", text)
        text = _STRIKE.sub(r"\1", text)
        text = _STAR.sub(r"\1", text)
        text = _UNDERSCORE.sub(r"\1", text)
    return _SET_ASIDE.sub(lambda m: chr(ord(m.group()) - _ESCAPED), text)
