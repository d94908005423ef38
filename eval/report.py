"""Render an eval run (metrics.json + outcomes.jsonl) as a self-contained HTML page and a Markdown summary.

The HTML has no scripts and no external resources: charts are inline SVG and styles are inline, so the file can
be mailed, archived or opened offline. Everything that comes from the data (questions, answers, quotes, ids,
sources, config values) is escaped, since documents and question sets are untrusted text.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from index.store import write_atomically

from . import plots
from .scoring import VERDICT_ORDER

HTML_FILE = "report.html"
MARKDOWN_FILE = "report.md"
DASH = "–"

# Failures first (VERDICT_ORDER): what needs looking at tops the table. Unknown verdicts go last.
_VERDICT_COLOUR = {
    "wrong": plots.RED,
    "answered-noans": plots.PURPLE,
    "missed": "#d97706",
    "partial": "#ca8a04",
    "correct": plots.GREEN,
    "abstained": "#0d9488",
}

# (group, label, section, key, kind); kind picks the number format.
_HEADLINE: tuple[tuple[str, str, str, str, str], ...] = (
    ("Answers", "F1", "answers", "f1", "score"),
    ("Answers", "Exact match", "answers", "em", "score"),
    ("Answers", "Containment", "answers", "contains", "score"),
    ("Retrieval", "Hit@1", "retrieval", "hit@1", "score"),
    ("Retrieval", "Hit@3", "retrieval", "hit@3", "score"),
    ("Retrieval", "Hit@5", "retrieval", "hit@5", "score"),
    ("Retrieval", "Hit@10", "retrieval", "hit@10", "score"),
    ("Retrieval", "MRR", "retrieval", "mrr", "score"),
    ("Citations", "Citation exact", "citations", "exact", "score"),
    ("Citations", "Right source", "citations", "right_source", "score"),
    ("Abstention", "HasAns accuracy", "abstention", "hasans_accuracy", "score"),
    ("Abstention", "NoAns accuracy", "abstention", "noans_accuracy", "score"),
    ("Abstention", "Abstention precision", "abstention", "precision", "score"),
    ("Abstention", "Abstention recall", "abstention", "recall", "score"),
    ("Confidence", "ECE", "reliability", "ece", "score"),
    ("Confidence", "Brier score", "reliability", "brier", "score"),
    ("Speed", "Latency p50", "speed", "latency_ms_p50", "ms"),
    ("Speed", "Latency p95", "speed", "latency_ms_p95", "ms"),
    ("Speed", "Questions/s", "speed", "questions_per_s", "rate"),
)


def write_report(out_dir: Path, metrics: Mapping[str, Any], outcomes: Sequence[Mapping[str, Any]]) -> tuple[Path, Path]:
    """Write report.html and report.md into out_dir; each lands whole or not at all."""
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path, md_path = out_dir / HTML_FILE, out_dir / MARKDOWN_FILE
    write_atomically(html_path, render_html(metrics, outcomes))
    write_atomically(md_path, render_markdown(metrics, outcomes))
    return html_path, md_path


def render_html(metrics: Mapping[str, Any], outcomes: Sequence[Mapping[str, Any]]) -> str:
    rows = sort_outcomes(outcomes)
    version = _str(metrics.get("citeqa")) or "?"
    source = _str(metrics.get("questions_file"))
    title = f"citeqa eval – {Path(source).name}" if source else "citeqa eval"
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(title)}</title>",
            f"<style>{_CSS}</style></head>",
            "<body><main>",
            _html_header(metrics),
            '<nav><a href="#metrics">Metrics</a> · <a href="#plots">Plots</a> · '
            '<a href="#questions">Questions</a></nav>',
            _html_metrics(metrics),
            _html_config(metrics),
            _html_plots(metrics, outcomes),
            _html_table(rows),
            f"<footer>citeqa {escape(version)} · self-contained report: no scripts, no external resources</footer>",
            "</main></body></html>",
            "",
        ]
    )


def render_markdown(metrics: Mapping[str, Any], outcomes: Sequence[Mapping[str, Any]]) -> str:
    counts = _section(metrics, "counts")
    out = ["# citeqa evaluation report", ""]
    out.append(f"- Questions file: {_md(_str(metrics.get('questions_file')) or DASH)}")
    out.append(f"- Created: {_md(_str(metrics.get('created')) or DASH)}")
    out.append(f"- citeqa: {_md(_str(metrics.get('citeqa')) or DASH)}")
    out.append(f"- Questions: {_md(_counts_line(counts))}")
    for line in (_calibration_line(metrics), _reliability_line(metrics)):
        if line:
            out.append(f"- {_md(line)}")
    out += [
        "",
        "Plots (F1 distribution, confidence vs F1, coverage–precision curve, reliability diagram, latency, hit ranks) "
        "are in report.html.",
        "",
    ]

    out += ["## Headline metrics", "", "| Group | Metric | Value |", "|---|---|---:|"]
    for group, label, section, key, kind in _HEADLINE:
        out.append(f"| {group} | {label} | {_format(_metric(metrics, section, key), kind)} |")

    out += ["", "## Configuration", "", "| Setting | Value |", "|---|---|"]
    out += [f"| {_md(k)} | {_md(v)} |" for k, v in _flatten(_section(metrics, "config"))] or ["| – | – |"]
    versions = _section(metrics, "versions")
    if versions:
        out += ["", "| Component | Version |", "|---|---|"]
        out += [f"| {_md(str(k))} | {_md(_value_text(v))} |" for k, v in versions.items()]

    out += ["", "## Per-question results", ""]
    rows = sort_outcomes(outcomes)
    if not rows:
        out += ["No questions were evaluated.", ""]
        return "\n".join(out)
    out += [
        "| id | verdict | question | gold | answer | F1 | hit rank | confidence | quote |",
        "|---|---|---|---|---|---:|---:|---:|---|",
    ]
    for o in rows:
        gold = " / ".join(_md(g) for g in _gold(o)) or "*unanswerable*"
        answer = _md(_str(o.get("answer"))) if o.get("answer") is not None else "*(abstained)*"
        cells = [
            _md(_str(o.get("id"))),
            _md(_str(o.get("verdict"))),
            _md(_str(o.get("question"))),
            gold,
            answer,
            _format(_num(o.get("f1")), "short"),
            _rank_text(o),
            _format(_num(o.get("confidence")), "short"),
            _md_quote(o) or DASH,
        ]
        out.append("| " + " | ".join(cells) + " |")
    out.append("")
    return "\n".join(out)


def sort_outcomes(outcomes: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Failures first (wrong, answered-noans, missed, partial with the lowest F1 first), then correct, then
    rightly abstained; ties by id."""

    def key(o: Mapping[str, Any]) -> tuple[int, float, str]:
        verdict = o.get("verdict")
        rank = VERDICT_ORDER.index(verdict) if verdict in VERDICT_ORDER else len(VERDICT_ORDER)
        f1 = _num(o.get("f1")) if verdict == "partial" else None
        return rank, f1 if f1 is not None else 0.0, _str(o.get("id"))

    return sorted(outcomes, key=key)


# --- HTML pieces -------------------------------------------------------------------------------------------


def _html_header(metrics: Mapping[str, Any]) -> str:
    meta = [
        f"questions <code>{escape(_str(metrics.get('questions_file')) or DASH)}</code>",
        f"created {escape(_str(metrics.get('created')) or DASH)}",
        f"citeqa {escape(_str(metrics.get('citeqa')) or DASH)}",
    ]
    return (
        "<header><h1>citeqa evaluation report</h1>"
        f'<p class="meta">{" · ".join(meta)}</p>'
        f'<p class="counts">{escape(_counts_line(_section(metrics, "counts")))}</p></header>'
    )


def _html_metrics(metrics: Mapping[str, Any]) -> str:
    notes = _card_notes(metrics)
    groups: dict[str, list[str]] = {}
    for group, label, section, key, kind in _HEADLINE:
        value = _format(_metric(metrics, section, key), kind)
        note = notes.get(key, "")
        card = (
            f'<div class="card"><div class="label">{escape(label)}</div><div class="value">{escape(value)}</div>'
            + (f'<div class="note">{escape(note)}</div>' if note else "")
            + "</div>"
        )
        groups.setdefault(group, []).append(card)
    body = "".join(
        f'<div class="group"><h3>{escape(group)}</h3><div class="cards">{"".join(cards)}</div></div>'
        for group, cards in groups.items()
    )
    return f'<section id="metrics"><h2>Headline metrics</h2>{body}</section>'


def _card_notes(metrics: Mapping[str, Any]) -> dict[str, str]:
    """Small denominators under the cards, so a 1.000 over two questions is not mistaken for a strong result."""
    counts = _section(metrics, "counts")
    notes: dict[str, str] = {}
    answerable = _int(counts.get("answerable"))
    if answerable is not None:
        for key in ("f1", "em", "contains"):
            notes[key] = f"{answerable} answerable"
    located = _int(_section(metrics, "retrieval").get("located"))
    if located is not None:
        for key in ("hit@1", "hit@3", "hit@5", "hit@10", "mrr"):
            notes[key] = f"{located} located"
    cited = _int(_section(metrics, "citations").get("n"))
    if cited is not None:
        notes["exact"] = notes["right_source"] = f"{cited} cited"
    threshold = _num(_section(metrics, "abstention").get("threshold"))
    if threshold is not None:
        for key in ("hasans_accuracy", "noans_accuracy", "precision", "recall"):
            notes[key] = f"threshold {threshold:.2f}"
    answers = _int(_section(metrics, "reliability").get("n"))
    if answers is not None:
        notes["ece"] = notes["brier"] = f"{answers} answers"
    seconds = _num(_section(metrics, "speed").get("seconds"))
    if seconds is not None:
        notes["questions_per_s"] = f"{seconds:.1f} s in all"
    return notes


def _html_config(metrics: Mapping[str, Any]) -> str:
    settings = _flatten(_section(metrics, "config"))
    versions = [(str(k), _value_text(v)) for k, v in _section(metrics, "versions").items()]

    def table(rows: Sequence[tuple[str, str]], head: str) -> str:
        if not rows:
            return f'<p class="muted">No {escape(head.lower())} recorded.</p>'
        body = "".join(f"<tr><th>{escape(k)}</th><td><code>{escape(v)}</code></td></tr>" for k, v in rows)
        return f'<table class="kv"><caption>{escape(head)}</caption><tbody>{body}</tbody></table>'

    calibration = _calibration_line(metrics)
    return (
        '<details id="config"><summary>Configuration and versions</summary><div class="kv-wrap">'
        + (f"<p>{escape(calibration)}</p>" if calibration else "")
        + table(settings, "Settings")
        + table(versions, "Versions")
        + "</div></details>"
    )


def _html_plots(metrics: Mapping[str, Any], outcomes: Sequence[Mapping[str, Any]]) -> str:
    answerable = [o for o in outcomes if o.get("answerable")]
    figures: list[str] = []

    f1s = [v for o in answerable if (v := _num(o.get("f1"))) is not None]
    figures.append(
        _figure(
            plots.histogram(f1s, 10, 0.0, 1.0, "F1 distribution", "token F1"),
            f"Token F1 over the {len(f1s)} answerable questions; a missed (abstained) answer counts as 0.",
        )
    )

    labels, values, located = _rank_counts(answerable)
    colours = [plots.BLUE] * (len(labels) - 1) + [plots.GREY]
    figures.append(
        _figure(
            plots.bars(
                labels, values, "Hit rank", "questions", "rank of first passage holding the answer", colors=colours
            ),
            f"Over the {located} answerable questions whose answer was located in the corpus; "
            "“none” means no returned passage held it.",
        )
    )

    figures.append(_confidence_figure(metrics, outcomes))
    reliability = _reliability_figure(metrics)
    if reliability:  # runs from before the reliability check have no table to draw
        figures.append(reliability)

    latencies = [v for o in outcomes if (v := _num(o.get("latency_ms"))) is not None]
    top, bins = plots.nice_bins(max(latencies, default=0.0))
    speed = _section(metrics, "speed")
    marks = [
        plots.VLine(v, f"{name} {v:.0f} ms", colour)
        for name, key, colour in (("p50", "latency_ms_p50", plots.GREEN), ("p95", "latency_ms_p95", plots.ORANGE))
        if (v := _num(speed.get(key))) is not None
    ]
    figures.append(
        _figure(
            plots.histogram(latencies, bins, 0.0, top, "Latency", "milliseconds per question", vlines=marks),
            "Per-question latency: its share of the batched embedding plus its own answering time.",
        )
    )

    verdicts = Counter(_str(o.get("verdict")) for o in outcomes)
    figures.append(
        _figure(
            plots.bars(
                list(VERDICT_ORDER),
                [float(verdicts.get(v, 0)) for v in VERDICT_ORDER],
                "Verdicts",
                "questions",
                colors=[_VERDICT_COLOUR[v] for v in VERDICT_ORDER],
            ),
            "How every question ended, failures on the left.",
        )
    )
    return f'<section id="plots"><h2>Plots</h2><div class="plots">{"".join(figures)}</div></section>'


def _confidence_figure(metrics: Mapping[str, Any], outcomes: Sequence[Mapping[str, Any]]) -> str:
    """Confidence vs F1 next to the coverage–precision sweep: the same threshold decision seen two ways."""
    answerable: list[tuple[float, float]] = []
    unanswerable: list[tuple[float, float]] = []
    for o in outcomes:
        confidence = _num(o.get("confidence"))
        if confidence is None:
            continue
        f1 = _num(o.get("f1"))
        if o.get("answerable"):
            answerable.append((confidence, f1 or 0.0))
        else:
            # Right for an unanswerable question means abstaining, whatever F1 convention the run used.
            correct = f1 if f1 is not None else float(bool(o.get("abstained")))
            unanswerable.append((confidence, correct))
    threshold = _num(_section(metrics, "abstention").get("threshold"))
    chosen = _section(_section(metrics, "calibration"), "chosen")
    chosen_t = _num(chosen.get("threshold"))
    vlines = [plots.VLine(threshold, f"threshold {threshold:.2f}")] if threshold is not None else []
    if chosen_t is not None and (threshold is None or abs(chosen_t - threshold) > 1e-9):
        vlines.append(plots.VLine(chosen_t, f"calibrated {chosen_t:.2f}", plots.GREEN))
    left = plots.scatter(
        [
            plots.Series("answerable", answerable, plots.BLUE, "dot"),
            plots.Series("unanswerable", unanswerable, plots.ORANGE, "cross"),
        ],
        "Confidence vs F1",
        "confidence",
        "F1 (unanswerable: 1 = abstained)",
        vlines=vlines,
    )

    curve = [
        (c, p)
        for point in _list(metrics.get("curve"))
        if isinstance(point, Mapping)
        and (c := _num(point.get("coverage"))) is not None
        and (p := _num(point.get("precision"))) is not None
    ]
    series = [plots.Series("threshold sweep", curve, plots.BLUE, "line")]
    chosen_xy = (_num(chosen.get("coverage")), _num(chosen.get("precision")))
    if chosen_xy[0] is not None and chosen_xy[1] is not None and chosen_t is not None:
        series.append(plots.Series(f"chosen t={chosen_t:.2f}", [(chosen_xy[0], chosen_xy[1])], plots.GREEN, "ring"))
    right = plots.scatter(series, "Coverage vs precision", "coverage (share answered)", "precision (mean F1)")

    caption = (
        "Confidence vs F1: one mark per question; answers below the threshold are withheld. "
        "Coverage vs precision: one point per threshold of the sweep, from answering everything (coverage 1) "
        "to answering only the most confident."
    )
    calibration = _calibration_line(metrics)
    if calibration:
        caption += " " + calibration
    return _figure(left + right, caption, wide=True)


def _reliability_figure(metrics: Mapping[str, Any]) -> str:
    """Whether confidence means what it says: "" when the run recorded no reliability table."""
    reliability = metrics.get("reliability")
    if not isinstance(reliability, Mapping):
        return ""
    bins = _reliability_bins(reliability)
    ece = _num(reliability.get("ece"))
    title = f"Reliability (ECE {ece:.3f})" if ece is not None else "Reliability"
    caption = (
        "Answers as if no threshold, in equal confidence bins: the bar is the share right, the orange line the mean "
        "confidence, the number the answers in the bin; a calibrated confidence keeps every bar on the diagonal."
    )
    line = _reliability_line(metrics)
    return _figure(plots.reliability_diagram(bins, title), caption + (" " + line if line else ""))


def _reliability_bins(reliability: Mapping[str, Any]) -> list[plots.ReliabilityBin]:
    """The table's bins that are whole; a malformed one is left out rather than drawn wrong."""
    bins = []
    for b in _list(reliability.get("bins")):
        if not isinstance(b, Mapping):
            continue
        lo, hi, count = _num(b.get("lo")), _num(b.get("hi")), _int(b.get("count"))
        if lo is not None and hi is not None and count is not None and lo < hi:
            bins.append(plots.ReliabilityBin(lo, hi, count, _num(b.get("accuracy")), _num(b.get("confidence"))))
    return bins


def _figure(svg: str, caption: str, *, wide: bool = False) -> str:
    cls = ' class="wide"' if wide else ""
    return f'<figure{cls}><div class="charts">{svg}</div><figcaption>{escape(caption)}</figcaption></figure>'


def _html_table(rows: Sequence[Mapping[str, Any]]) -> str:
    tally = Counter(_str(o.get("verdict")) for o in rows)
    summary = " ".join(f"{_badge(v)} {n}" for v, n in sorted(tally.items(), key=lambda kv: _verdict_rank(kv[0])))
    if not rows:
        return '<section id="questions"><h2>Per-question results</h2><p class="muted">No questions.</p></section>'
    head = "".join(
        f"<th{cls}>{name}</th>"
        for name, cls in (
            ("id", ""),
            ("verdict", ""),
            ("question", ""),
            ("gold answer(s)", ""),
            ("answer", ""),
            ("F1", ' class="num"'),
            ("hit rank", ' class="num"'),
            ("confidence", ' class="num"'),
            ("quote", ""),
        )
    )
    body = "".join(_html_row(o) for o in rows)
    return (
        f'<section id="questions"><h2>Per-question results</h2><p class="tally">{summary}</p>'
        f'<div class="table-wrap"><table class="results"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div></section>"
    )


def _html_row(o: Mapping[str, Any]) -> str:
    gold = _gold(o)
    gold_html = "<br>".join(escape(g) for g in gold) if gold else '<em class="muted">unanswerable</em>'
    answer = o.get("answer")
    answer_html = escape(_str(answer)) if answer is not None else '<em class="muted">(abstained)</em>'
    quote = _html_quote(o)
    cited = _str(o.get("cited_source"))
    if cited:
        where = f"cited: {cited}"
        expected = _str(o.get("source"))
        if o.get("right_source") is False and expected:
            where += f" (expected {expected})"
        quote += f'<div class="src">{escape(where)}</div>'
    verdict = _str(o.get("verdict"))
    cells = [
        f'<td class="id">{escape(_str(o.get("id")))}</td>',
        f"<td>{_badge(verdict)}</td>",
        f'<td class="q">{escape(_str(o.get("question")))}</td>',
        f"<td>{gold_html}</td>",
        f"<td>{answer_html}</td>",
        f'<td class="num">{_format(_num(o.get("f1")), "short")}</td>',
        f'<td class="num">{escape(_rank_text(o))}</td>',
        f'<td class="num">{_format(_num(o.get("confidence")), "short")}</td>',
        f'<td class="quote">{quote or DASH}</td>',
    ]
    return f'<tr class="{_verdict_class(verdict)}">{"".join(cells)}</tr>'


def _html_quote(o: Mapping[str, Any]) -> str:
    return _highlight(o, escape, lambda s: f"<mark>{escape(s)}</mark>")


def _badge(verdict: str) -> str:
    return f'<span class="badge {_verdict_class(verdict)}">{escape(verdict or "?")}</span>'


def _verdict_class(verdict: str) -> str:
    # Class names come from a fixed list, never from the data, so a verdict string cannot inject attributes.
    return f"v-{verdict}" if verdict in VERDICT_ORDER else "v-other"


def _verdict_rank(verdict: str) -> int:
    return VERDICT_ORDER.index(verdict) if verdict in VERDICT_ORDER else len(VERDICT_ORDER)


# --- Markdown pieces ---------------------------------------------------------------------------------------

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


def _md(text: str) -> str:
    """Escape text for one Markdown table cell: nothing in it can end the cell, format, link or become HTML."""
    return text.translate(_MD_ESCAPES)


def _md_quote(o: Mapping[str, Any]) -> str:
    def bold(s: str) -> str:
        # Emphasis markers next to whitespace do not render, so the spaces go outside the asterisks.
        core = s.strip()
        if not core:
            return _md(s)
        lead, trail = s[: len(s) - len(s.lstrip())], s[len(s.rstrip()) :]
        return f"{_md(lead)}**{_md(core)}**{_md(trail)}"

    return _highlight(o, _md, bold)


# --- shared helpers ----------------------------------------------------------------------------------------


def _highlight(o: Mapping[str, Any], plain: Callable[[str], str], marked: Callable[[str], str]) -> str:
    """The quote with the answer span (answer_in_quote) wrapped; offsets that do not fit the quote are ignored
    rather than trusted."""
    quote = o.get("quote")
    if not isinstance(quote, str):
        return ""
    span = o.get("answer_in_quote")
    if isinstance(span, Sequence) and not isinstance(span, str) and len(span) == 2:
        start, end = span
        if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(quote):
            return plain(quote[:start]) + marked(quote[start:end]) + plain(quote[end:])
    return plain(quote)


def _rank_counts(answerable: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[float], int]:
    """Counts for ranks 1..10, ">10" when the run retrieved deeper, and "none"; unlocated questions are left out
    because their rank is unknown, not missing."""
    ranks: Counter[str] = Counter()
    located = 0
    for o in answerable:
        if o.get("located") is False:
            continue
        located += 1
        rank = _int(o.get("hit_rank"))
        ranks["none" if rank is None else str(rank) if rank <= 10 else ">10"] += 1
    labels = [str(r) for r in range(1, 11)] + ([">10"] if ranks[">10"] else []) + ["none"]
    return labels, [float(ranks[label]) for label in labels], located


def _rank_text(o: Mapping[str, Any]) -> str:
    rank = _int(o.get("hit_rank"))
    if rank is not None:
        return str(rank)
    return "none" if o.get("answerable") and o.get("located") is not False else DASH


def _counts_line(counts: Mapping[str, Any]) -> str:
    n = {k: _int(counts.get(k)) for k in ("questions", "answerable", "unanswerable", "skipped")}
    if n["questions"] is None:
        return "question counts not recorded"
    parts = [f"{n['questions']} questions"]
    parts += [f"{n[k]} {k}" for k in ("answerable", "unanswerable", "skipped") if n[k] is not None]
    return " · ".join(parts)


def _calibration_line(metrics: Mapping[str, Any]) -> str:
    calibration = _section(metrics, "calibration")
    chosen = _section(calibration, "chosen")
    t = _num(chosen.get("threshold"))
    if t is None:
        return ""
    line = (
        f"Calibrated threshold {t:.2f}: coverage {_format(_num(chosen.get('coverage')), 'score')}, "
        f"precision {_format(_num(chosen.get('precision')), 'score')}, "
        f"overall F1 {_format(_num(chosen.get('overall_f1')), 'score')}"
    )
    saved = _str(calibration.get("saved_to"))
    return line + (f"; saved to {saved}." if saved else "; not saved.")


def _reliability_line(metrics: Mapping[str, Any]) -> str:
    reliability = _section(metrics, "reliability")
    ece = _num(reliability.get("ece"))
    if ece is None:
        return ""
    n, right_f1 = _int(reliability.get("n")), _num(reliability.get("right_f1"))
    brier = _format(_num(reliability.get("brier")), "score")
    over = f" over {n} answers" if n is not None else ""
    right = f" (right: token F1 ≥ {right_f1:g})" if right_f1 is not None else ""
    return f"Confidence calibration: ECE {ece:.3f}, Brier {brier}{over}{right}."


def _flatten(config: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Nested settings as dotted keys, so the config reads as one short table."""
    rows: list[tuple[str, str]] = []
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            rows += _flatten(value, name + ".")
        else:
            rows.append((name, _value_text(value)))
    return rows


def _value_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except ValueError:  # a circular structure; repr is good enough for a report
        return repr(value)


def _gold(o: Mapping[str, Any]) -> list[str]:
    gold = o.get("gold")
    if isinstance(gold, str):
        return [gold]
    return [str(g) for g in _list(gold)]


def _format(value: float | None, kind: str) -> str:
    if value is None:
        return DASH
    if kind == "ms":
        return f"{value:.1f} ms"
    if kind == "rate":
        return f"{value:.1f}"
    if kind == "short":
        return f"{value:.2f}"
    return f"{value:.3f}"


def _metric(metrics: Mapping[str, Any], section: str, key: str) -> float | None:
    return _num(_section(metrics, section).get(key))


def _section(mapping: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = mapping.get(key)
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _num(value: Any) -> float | None:
    """A finite number, or None (bools are not scores, NaN is not a value)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: Any) -> str:
    return "" if value is None else str(value)


_CSS = """
:root{color-scheme:light;--ink:#1f2937;--muted:#6b7280;--line:#e5e7eb;--bg:#f8fafc;--card:#fff}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif}
main{max-width:1200px;margin:0 auto;padding:16px}
h1{font-size:1.6rem;margin:.2em 0}h2{font-size:1.2rem;margin:1.6em 0 .6em}
h3{font-size:.8rem;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);margin:.8em 0 .4em}
.meta,.counts,.muted,footer,figcaption,.src{color:var(--muted)}
.meta{margin:.2em 0;font-size:.9rem}.counts{margin:.2em 0;font-weight:600;color:var(--ink)}
code{font:.85em ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;word-break:break-all}
nav{margin:.8em 0;font-size:.9rem}nav a{color:#2563eb;text-decoration:none}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(140px,1fr));gap:8px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:8px 12px}
.card .label{font-size:.8rem;color:var(--muted)}
.card .value{font-size:1.45rem;font-weight:650;font-variant-numeric:tabular-nums}
.card .note{font-size:.75rem;color:var(--muted)}
details{margin-top:1.4em;background:var(--card);border:1px solid var(--line);border-radius:8px;padding:8px 12px}
summary{cursor:pointer;font-weight:600}
.kv-wrap{overflow-x:auto}
table.kv{border-collapse:collapse;margin:.6em 0;font-size:.85rem}
table.kv caption{text-align:left;font-weight:600;padding:.3em 0}
table.kv th{text-align:left;font-weight:500;padding:2px 16px 2px 0;vertical-align:top;white-space:nowrap}
table.kv td{padding:2px 0}
.plots{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,500px),1fr));gap:12px}
figure{margin:0;background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px}
figure.wide{grid-column:1/-1}
.charts{display:flex;flex-wrap:wrap;gap:8px;justify-content:center}
.charts svg{max-width:100%;height:auto}
figcaption{font-size:.82rem;margin-top:.4em}
.table-wrap{overflow-x:auto;background:var(--card);border:1px solid var(--line);border-radius:8px}
table.results{border-collapse:collapse;width:100%;min-width:1000px;font-size:.85rem}
.results th,.results td{padding:6px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
.results thead th{position:sticky;top:0;background:#f1f5f9;white-space:nowrap}
.results .num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.results .id{white-space:nowrap;font-family:ui-monospace,Menlo,Consolas,monospace}
.results .q{min-width:14em}.results .quote{min-width:20em;max-width:34em}
.results tbody tr:hover{background:#f8fafc}
.src{font-size:.75rem;margin-top:2px}
mark{background:#fde68a;padding:0 2px;border-radius:2px}
.tally .badge{margin-left:.6em}.tally .badge:first-child{margin-left:0}
.badge{display:inline-block;padding:1px 8px;border-radius:999px;font-size:.75rem;font-weight:600;color:#fff;
white-space:nowrap;background:#6b7280}
.badge.v-wrong{background:#dc2626}.badge.v-answered-noans{background:#9333ea}.badge.v-missed{background:#d97706}
.badge.v-partial{background:#ca8a04}.badge.v-correct{background:#16a34a}.badge.v-abstained{background:#0d9488}
tr.v-wrong td:first-child{box-shadow:inset 3px 0 #dc2626}
tr.v-answered-noans td:first-child{box-shadow:inset 3px 0 #9333ea}
tr.v-missed td:first-child{box-shadow:inset 3px 0 #d97706}
tr.v-partial td:first-child{box-shadow:inset 3px 0 #ca8a04}
footer{margin:2em 0 1em;font-size:.8rem}
@media (max-width:600px){main{padding:10px}.card .value{font-size:1.2rem}}
""".strip()
