"""The answer contract's promise, checked in one place: every citation is the answer, verbatim, at its offsets."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from citeqa.chat import Answer


def assert_cited_verbatim(answer: Answer | Mapping[str, Any], document_text: Callable[[str], str]) -> None:
    """`document_text(source)[start:end] == answer` for every citation, its quote at quote_start:quote_end holds
    the answer, and every passage is a slice of its document. An abstention cites nothing."""
    data = answer.to_dict() if isinstance(answer, Answer) else answer
    if data["answer"] is None:
        assert data["citations"] == []
        return
    assert data["citations"], "an answer must cite its source"
    for citation in data["citations"]:
        text = document_text(citation["source"])
        assert text[citation["start"] : citation["end"]] == data["answer"]
        assert text[citation["quote_start"] : citation["quote_end"]] == citation["quote"]
        assert citation["quote_start"] <= citation["start"] < citation["end"] <= citation["quote_end"]
    for passage in data["passages"]:
        assert document_text(passage["source"])[passage["start"] : passage["end"]] == passage["text"]
