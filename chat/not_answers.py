"""Text that is never an answer: a document's headings and its own question lines (an interview prints each
question it asks as a line of its text). A span in such a sentence gives way to the reader's next best."""

from __future__ import annotations

from citeqa.ingest.sentences import Span

HEADING_MAX_WORDS = 12  # a line this short with no closing punctuation reads as a heading
_CLOSING = ".!:;\"'”’)…"


def never_an_answer(text: str, sentence: Span) -> bool:
    """Whether the sentence is a question opening a line (as an interview prints the questions it asks) or a
    heading (a short line of its own with no closing punctuation). A question inside a paragraph ("Did it last?
    It lasted three years.") is the writer's own and may hold an answer."""
    words = text[sentence.start : sentence.end].strip()
    if not words:
        return True
    opens_line = sentence.start == 0 or text[sentence.start - 1] == "\n"
    if words.endswith("?"):
        return opens_line
    ends_line = sentence.end >= len(text) or text[sentence.end] in "\r\n"
    return opens_line and ends_line and words[-1] not in _CLOSING and len(words.split()) <= HEADING_MAX_WORDS
