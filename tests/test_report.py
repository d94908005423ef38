"""The eval report: self-contained, escaped HTML and Markdown, failures first. No model needed."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html import escape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from citeqa.eval import plots
from citeqa.eval.report import HTML_FILE, MARKDOWN_FILE, render_html, render_markdown, sort_outcomes, write_report

SVG_NS = "http://www.w3.org/2000/svg"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"


class Page(HTMLParser):
    """Checks that every element closes in order and records tags, attributes, text and table rows."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str]] = []
        self.text: list[str] = []
        self.rows: list[list[str]] = []
        self.marks: list[str] = []
        self._cell: list[str] | None = None
        self._mark: list[str] | None = None
        self._in_results = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += [(name, value or "") for name, value in attrs]
        if tag not in VOID:
            self.stack.append(tag)
        classes = dict(attrs).get("class") or ""
        if tag == "table" and "results" in classes:
            self._in_results = True
        if self._in_results and tag == "tr" and self.stack[-2:-1] == ["tbody"]:
            self.rows.append([])
        if self._in_results and tag == "td":
            self._cell = []
        if tag == "mark":
            self._mark = []

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += [(name, value or "") for name, value in attrs]

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()
        if tag == "td" and self._cell is not None and self.rows:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None
        if tag == "mark" and self._mark is not None:
            self.marks.append("".join(self._mark))
            self._mark = None
        if tag == "table":
            self._in_results = False

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._mark is not None:
            self._mark.append(data)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    assert page.errors == []
    assert page.stack == [], f"unclosed: {page.stack}"
    return page


def cards(html: str) -> dict[str, str]:
    return dict(re.findall(r'<div class="label">(.*?)</div><div class="value">(.*?)</div>', html))


def make_metrics(**overrides: Any) -> dict[str, Any]:
    metrics: dict[str, Any] = {
        "citeqa": "0.1.0",
        "created": "2026-11-23T14:00:00+00:00",
        "questions_file": "eval/questions/dev.jsonl",
        "config": {
            "index": {"model": "mini", "chunk_tokens": 200},
            "answer": {"k": 10, "min_confidence": 0.35},
            "corpus": None,
            "index_dir": "/x/</pre><script>bad()</script>",
        },
        "versions": {"python": "3.11.7", "torch": "2.13.0"},
        "counts": {"questions": 7, "answerable": 5, "unanswerable": 2, "skipped": 0},
        "retrieval": {"hit@1": 0.8123, "hit@3": 1.0, "hit@5": 1.0, "hit@10": 1.0, "mrr": 0.9, "located": 5},
        "answers": {"f1": 0.7134, "em": 0.6, "contains": 0.84, "answered": 0.96},
        "citations": {"exact": 1.0, "right_source": 1.0, "n": 4},
        "abstention": {
            "threshold": 0.35,
            "hasans_accuracy": 0.96,
            "noans_accuracy": 0.5,
            "precision": 0.67,
            "recall": 0.67,
            "overall_f1": 0.7,
        },
        "speed": {"latency_ms_p50": 40.1, "latency_ms_p95": 55.0, "questions_per_s": 21.3, "seconds": 1.3},
        "curve": [
            {"threshold": 0.1, "coverage": 1.0, "precision": 0.6, "overall_f1": 0.6},
            {"threshold": 0.4, "coverage": 0.7, "precision": 0.8, "overall_f1": 0.7},
            {"threshold": 0.9, "coverage": 0.0, "precision": None, "overall_f1": 0.3},
        ],
        "calibration": {
            "chosen": {"threshold": 0.42, "coverage": 0.7, "precision": 0.8, "overall_f1": 0.7},
            "saved_to": None,
        },
    }
    metrics.update(overrides)
    return metrics


def outcome(id_: str, verdict: str, **fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": id_,
        "question": f"question {id_}?",
        "answerable": verdict not in ("abstained", "answered-noans"),
        "gold": ["gold answer"],
        "answer": None if verdict in ("missed", "abstained") else "some answer",
        "abstained": verdict in ("missed", "abstained"),
        "confidence": 0.5,
        "f1": {"correct": 1.0, "partial": 0.5}.get(verdict, 0.0),
        "em": 1.0 if verdict == "correct" else 0.0,
        "contains": verdict in ("correct", "partial"),
        "hit_rank": 1,
        "located": True,
        "citation_exact": True,
        "right_source": True,
        "latency_ms": 40.0,
        "source": "a.txt",
        "cited_source": "a.txt",
        "quote": None,
        "answer_in_quote": None,
        "verdict": verdict,
    }
    record.update(fields)
    return record


def mixed_outcomes() -> list[dict[str, Any]]:
    quote = f"The product was {SCRIPT} and {IMG} in the end."
    return [
        outcome("q-01", "correct", quote="It opened in 1998.", answer="1998", answer_in_quote=[13, 17]),
        outcome("q-02", "abstained", gold=[], hit_rank=None),
        outcome("q-03", "partial", f1=0.8),
        outcome("q-04", "wrong", question=f"What is {SCRIPT}?", answer=IMG, quote=quote, answer_in_quote=[16, 41]),
        outcome("q-05", "missed", hit_rank=None),
        outcome("q-06", "partial", f1=0.3),
        outcome("q-07", "answered-noans", gold=[], hit_rank=None),
        outcome("q-00", "correct", latency_ms=70.0, hit_rank=3),
    ]


def test_html_parses_and_shows_the_headline_numbers() -> None:
    html = render_html(make_metrics(), mixed_outcomes())
    page = parse(html)
    assert html.startswith("<!DOCTYPE html>")
    shown = cards(html)
    assert shown["F1"] == "0.713"
    assert shown["Exact match"] == "0.600"
    assert shown["Hit@1"] == "0.812"
    assert shown["MRR"] == "0.900"
    assert shown["Latency p50"] == "40.1 ms"
    assert shown["Latency p95"] == "55.0 ms"
    assert shown["Questions/s"] == "21.3"
    assert shown["NoAns accuracy"] == "0.500"
    assert {"details", "summary", "table", "mark"} <= set(page.tags)
    assert page.tags.count("svg") >= 4


def test_html_is_self_contained() -> None:
    html = render_html(make_metrics(), mixed_outcomes())
    page = parse(html)
    assert re.findall(r"https?://[^\s\"'<>]*", html) == [SVG_NS] * html.count(SVG_NS)
    for name, value in page.attrs:
        if name in ("src", "href", "xlink:href", "action", "srcset"):
            assert value.startswith("#"), f"{name}={value!r} leaves the page"
    assert "@import" not in html
    assert "url(" not in html
    assert "script" not in page.tags and "link" not in page.tags and "img" not in page.tags


def test_injected_markup_stays_text() -> None:
    html = render_html(make_metrics(), mixed_outcomes())
    page = parse(html)
    assert "<script" not in html.lower()
    assert "<img" not in html.lower()
    assert {"script", "img"}.isdisjoint(page.tags)
    assert not [name for name, _ in page.attrs if name.startswith("on")]
    text = "".join(page.text)
    assert f"What is {SCRIPT}?" in text
    assert IMG in text
    assert "/x/</pre><script>bad()</script>" in text  # a config value, shown literally
    assert escape(SCRIPT) in html


def test_failures_come_first() -> None:
    page = parse(render_html(make_metrics(), mixed_outcomes()))
    ids = [row[0] for row in page.rows]
    assert ids == ["q-04", "q-07", "q-05", "q-06", "q-03", "q-00", "q-01", "q-02"]
    assert [o["id"] for o in sort_outcomes(mixed_outcomes())] == ids


def test_mark_wraps_exactly_the_answer_span() -> None:
    outcomes = mixed_outcomes()
    page = parse(render_html(make_metrics(), outcomes))
    quote = outcomes[3]["quote"]
    assert quote[16:41] == SCRIPT
    assert sorted(page.marks) == sorted(["1998", SCRIPT])


def test_bad_offsets_are_not_trusted() -> None:
    bad = [
        outcome("a", "correct", quote="short", answer_in_quote=[2, 99]),
        outcome("b", "correct", quote="short", answer_in_quote=[3, 1]),
        outcome("c", "correct", quote="short", answer_in_quote="0,2"),
    ]
    html = render_html(make_metrics(), bad)
    assert "<mark>" not in html
    assert parse(html).rows[0][-1].startswith("short")


def test_null_metrics_render_as_a_dash() -> None:
    metrics = make_metrics(
        retrieval={"hit@1": None, "hit@3": None, "hit@5": None, "hit@10": None, "mrr": None, "located": 0},
        answers={"f1": None, "em": None, "contains": None, "answered": None},
        calibration=None,
    )
    shown = cards(render_html(metrics, []))
    assert shown["Hit@1"] == shown["MRR"] == shown["F1"] == "–"
    assert shown["Latency p50"] == "40.1 ms"
    md = render_markdown(metrics, [])
    assert "| Retrieval | Hit@1 | – |" in md
    assert "| Answers | F1 | – |" in md


def test_empty_and_sparse_inputs_render() -> None:
    for metrics in (make_metrics(), {}):
        html = render_html(metrics, [])
        page = parse(html)
        assert "no data" in "".join(page.text)
        assert page.rows == []
        assert "No questions were evaluated." in render_markdown(metrics, [])


def test_markdown_escapes_cells() -> None:
    outcomes = [
        outcome(
            "m|1",
            "wrong",
            question="a|b <b>x</b> `code` *star*\nnext line",
            answer="x",
            quote="one | two <i>three</i>",
            answer_in_quote=[6, 10],  # "two ": the space stays outside the bold
        ),
        outcome("m-2", "correct", quote="the answer is 42", answer="42", answer_in_quote=[14, 16]),
    ]
    md = render_markdown(make_metrics(), outcomes)
    assert "<b>" not in md and "<i>" not in md
    assert r"a\|b &lt;b>x&lt;/b> \`code\` \*star\* next line" in md
    assert r"one \| **two** &lt;i>three&lt;/i>" in md
    assert "the answer is **42**" in md
    assert "report.html" in md
    table = [line for line in md.splitlines() if line.startswith("| m")]
    assert len(table) == 2
    # Every row has exactly the header's ten cell borders once escaped pipes are discounted.
    assert all(len(re.findall(r"(?<!\\)\|", line)) == 10 for line in table)
    assert table[0].startswith(r"| m\|1 | wrong |")


def test_write_report_writes_both_files(tmp_path: Path) -> None:
    out = tmp_path / "run"
    html_path, md_path = write_report(out, make_metrics(), mixed_outcomes())
    assert (html_path, md_path) == (out / HTML_FILE, out / MARKDOWN_FILE)
    assert html_path.read_text(encoding="utf-8") == render_html(make_metrics(), mixed_outcomes())
    assert md_path.read_text(encoding="utf-8").startswith("# citeqa evaluation report")
    assert sorted(p.name for p in out.iterdir()) == [HTML_FILE, MARKDOWN_FILE]


@pytest.mark.parametrize(
    "svg",
    [
        plots.histogram([0.1, 0.3, 1.0], 10, 0.0, 1.0, 'F1 <&> "x"', "token F1", vlines=[plots.VLine(0.5, "a<b")]),
        plots.histogram([], 5, 0.0, 1.0, "empty", "x"),
        plots.bars(["1", "2", "<none>"], [3, 0, 1], "ranks", "questions"),
        plots.bars([], [], "nothing", "n"),
        plots.scatter(
            [plots.Series("a&b", [(0.2, 0.4)]), plots.Series("line", [(0, 1), (1, 0.5)], style="line")],
            "scatter",
            "x",
            "y",
            vlines=[plots.VLine(0.35, "t")],
        ),
    ],
)
def test_svgs_are_standalone_xml(svg: str) -> None:
    root = ET.fromstring(svg)
    assert root.tag == f"{{{SVG_NS}}}svg"


def test_bin_counts_keep_every_value() -> None:
    assert plots.bin_counts([0.0, 0.3, 0.5, 1.0, 1.5, -2.0], 10, 0.0, 1.0) == [2, 0, 0, 1, 0, 1, 0, 0, 0, 2]
    assert plots.nice_bins(55.0) == (60.0, 6)
    assert plots.nice_ticks(0.0, 1.0) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
