"""The answer contract's promise, checked in one place: every citation is its text, verbatim, at its offsets, and
the first citation's text is the answer."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from citeqa.chat import Answer


def assert_cited_verbatim(answer: Answer | Mapping[str, Any], document_text: Callable[[str], str]) -> None:
    """`document_text(source)[start:end] == text` for every citation, the first one's text is the answer, each
    quote at quote_start:quote_end holds its text, and every passage is a slice of its document. An abstention
    cites nothing."""
    data = answer.to_dict() if isinstance(answer, Answer) else answer
    if data["answer"] is None:
        assert data["citations"] == []
        return
    assert data["citations"], "an answer must cite its source"
    assert data["citations"][0]["text"] == data["answer"]
    for citation in data["citations"]:
        text = document_text(citation["source"])
        assert text[citation["start"] : citation["end"]] == citation["text"]
        assert text[citation["quote_start"] : citation["quote_end"]] == citation["quote"]
        assert citation["quote_start"] <= citation["start"] < citation["end"] <= citation["quote_end"]
    for passage in data["passages"]:
        assert document_text(passage["source"])[passage["start"] : passage["end"]] == passage["text"]
