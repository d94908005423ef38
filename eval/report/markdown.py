"""The report as Markdown: the headline table, the configuration and one table row per question."""

from __future__ import annotations

from .view import DASH, Quote, ReportView

_MD_ESCAPES = str.maketrans(
    {
        "\\": "\\\\",
        "|": "\\|",
        "*": "\\*",
        "_": "\\_",
        "`": "\\`",
        "[": "\\[",
        "]": "\\]",
        "~": "\\~",
        "&": "&amp;",  # so a literal "&lt;" in the data stays literal
        "<": "&lt;",
        "\n": " ",
        "\r": " ",
        "\t": " ",
    }
)


def render(view: ReportView) -> str:
    out = ["# citeqa evaluation report", ""]
    out.append(f"- Questions file: {_md(view.questions_file or DASH)}")
    out.append(f"- Created: {_md(view.created or DASH)}")
    out.append(f"- citeqa: {_md(view.version or DASH)}")
    out.append(f"- Questions: {_md(view.counts_line)}")
    for line in (view.calibration_line, view.reliability_line):
        if line:
            out.append(f"- {_md(line)}")
    out += [
        "",
        "Plots (F1 distribution, confidence vs F1, coverage–precision curve, reliability diagram, latency, hit ranks) "
        "are in report.html.",
        "",
    ]

    out += ["## Headline metrics", "", "| Group | Metric | Value |", "|---|---|---:|"]
    out += [f"| {card.group} | {card.label} | {card.value} |" for card in view.cards]

    out += ["", "## Configuration", "", "| Setting | Value |", "|---|---|"]
    out += [f"| {_md(k)} | {_md(v)} |" for k, v in view.settings] or ["| – | – |"]
    if view.versions:
        out += ["", "| Component | Version |", "|---|---|"]
        out += [f"| {_md(k)} | {_md(v)} |" for k, v in view.versions]

    out += ["", "## Per-question results", ""]
    if not view.rows:
        out += ["No questions were evaluated.", ""]
        return "\n".join(out)
    out += [
        "| id | verdict | question | gold | answer | F1 | hit rank | confidence | quote |",
        "|---|---|---|---|---|---:|---:|---:|---|",
    ]
    for row in view.rows:
        cells = [
            _md(row.id),
            _md(row.verdict),
            _md(row.question),
            " / ".join(_md(g) for g in row.gold) or "*unanswerable*",
            _md(row.answer) if row.answer is not None else "*(abstained)*",
            row.f1,
            row.rank,
            row.confidence,
            _quote(row.quote) or DASH,
        ]
        out.append("| " + " | ".join(cells) + " |")
    out.append("")
    return "\n".join(out)


def _md(text: str) -> str:
    """Escape text for one Markdown table cell: nothing in it can end the cell, format, link or become HTML."""
    return text.translate(_MD_ESCAPES)


def _quote(quote: Quote | None) -> str:
    if quote is None:
        return ""
    if not quote.answer:
        return _md(quote.before)
    # Emphasis markers next to whitespace do not render, so the spaces go outside the asterisks.
    core = quote.answer.strip()
    if not core:
        bold = _md(quote.answer)
    else:
        lead = quote.answer[: len(quote.answer) - len(quote.answer.lstrip())]
        trail = quote.answer[len(quote.answer.rstrip()) :]
        bold = f"{_md(lead)}**{_md(core)}**{_md(trail)}"
    return _md(quote.before) + bold + _md(quote.after)
