"""The report as one self-contained HTML page: headline cards, the configuration, inline SVG charts and the
per-question table. No scripts and no external resources, so the file can be mailed, archived or opened offline;
everything from the data is escaped, since documents and question sets are untrusted text.
"""

from __future__ import annotations

from collections import Counter
from html import escape

from .. import plots
from ..scoring import VERDICT_ORDER
from .view import DASH, Charts, Quote, ReportView, Row

# Failures first (VERDICT_ORDER): what needs looking at tops the table. Unknown verdicts go last.
_VERDICT_COLOUR = {
    "wrong": plots.RED,
    "answered-noans": plots.PURPLE,
    "missed": "#d97706",
    "partial": "#ca8a04",
    "correct": plots.GREEN,
    "abstained": "#0d9488",
}


def render(view: ReportView) -> str:
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(view.title)}</title>",
            f"<style>{_CSS}</style></head>",
            "<body><main>",
            _header(view),
            '<nav><a href="#metrics">Metrics</a> · <a href="#plots">Plots</a> · '
            '<a href="#questions">Questions</a></nav>',
            _metrics(view),
            _config(view),
            _plots(view),
            _table(view.rows),
            f"<footer>citeqa {escape(view.version or '?')} · self-contained report: no scripts, no external resources"
            "</footer>",
            "</main></body></html>",
            "",
        ]
    )


def _header(view: ReportView) -> str:
    meta = [
        f"questions <code>{escape(view.questions_file or DASH)}</code>",
        f"created {escape(view.created or DASH)}",
        f"citeqa {escape(view.version or DASH)}",
    ]
    return (
        "<header><h1>citeqa evaluation report</h1>"
        f'<p class="meta">{" · ".join(meta)}</p>'
        f'<p class="counts">{escape(view.counts_line)}</p></header>'
    )


def _metrics(view: ReportView) -> str:
    groups: dict[str, list[str]] = {}
    for card in view.cards:
        html = (
            f'<div class="card"><div class="label">{escape(card.label)}</div>'
            f'<div class="value">{escape(card.value)}</div>'
            + (f'<div class="note">{escape(card.note)}</div>' if card.note else "")
            + "</div>"
        )
        groups.setdefault(card.group, []).append(html)
    body = "".join(
        f'<div class="group"><h3>{escape(group)}</h3><div class="cards">{"".join(cards)}</div></div>'
        for group, cards in groups.items()
    )
    return f'<section id="metrics"><h2>Headline metrics</h2>{body}</section>'


def _config(view: ReportView) -> str:
    def table(rows: list[tuple[str, str]], head: str) -> str:
        if not rows:
            return f'<p class="muted">No {escape(head.lower())} recorded.</p>'
        body = "".join(f"<tr><th>{escape(k)}</th><td><code>{escape(v)}</code></td></tr>" for k, v in rows)
        return f'<table class="kv"><caption>{escape(head)}</caption><tbody>{body}</tbody></table>'

    return (
        '<details id="config"><summary>Configuration and versions</summary><div class="kv-wrap">'
        + (f"<p>{escape(view.calibration_line)}</p>" if view.calibration_line else "")
        + table(view.settings, "Settings")
        + table(view.versions, "Versions")
        + "</div></details>"
    )


def _plots(view: ReportView) -> str:
    charts = view.charts
    figures = [
        _figure(
            plots.histogram(charts.f1s, 10, 0.0, 1.0, "F1 distribution", "token F1"),
            f"Token F1 over the {len(charts.f1s)} answerable questions; a missed (abstained) answer counts as 0.",
        )
    ]
    colours = [plots.BLUE] * (len(charts.rank_labels) - 1) + [plots.GREY]
    figures.append(
        _figure(
            plots.bars(
                charts.rank_labels,
                charts.rank_counts,
                "Hit rank",
                "questions",
                "rank of first passage holding the answer",
                colors=colours,
            ),
            f"Over the {charts.located} answerable questions whose answer was located in the corpus; "
            "“none” means no returned passage held it.",
        )
    )
    figures.append(_confidence_figure(charts, view.calibration_line))
    if charts.reliability_bins is not None:  # runs from before the reliability check have no table to draw
        figures.append(_reliability_figure(charts, view.reliability_line))

    top, bins = plots.nice_bins(max(charts.latencies, default=0.0))
    marks = [
        plots.VLine(v, f"{name} {v:.0f} ms", colour)
        for name, v, colour in (("p50", charts.latency_p50, plots.GREEN), ("p95", charts.latency_p95, plots.ORANGE))
        if v is not None
    ]
    figures.append(
        _figure(
            plots.histogram(charts.latencies, bins, 0.0, top, "Latency", "milliseconds per question", vlines=marks),
            "Per-question latency: its share of the batched embedding plus its own answering time.",
        )
    )
    figures.append(
        _figure(
            plots.bars(
                list(VERDICT_ORDER),
                charts.verdict_counts,
                "Verdicts",
                "questions",
                colors=[_VERDICT_COLOUR[v] for v in VERDICT_ORDER],
            ),
            "How every question ended, failures on the left.",
        )
    )
    return f'<section id="plots"><h2>Plots</h2><div class="plots">{"".join(figures)}</div></section>'


def _confidence_figure(charts: Charts, calibration_line: str) -> str:
    """Confidence vs F1 next to the coverage–precision sweep: the same threshold decision seen two ways."""
    threshold, chosen = charts.threshold, charts.chosen_threshold
    vlines = [plots.VLine(threshold, f"threshold {threshold:.2f}")] if threshold is not None else []
    if chosen is not None and (threshold is None or abs(chosen - threshold) > 1e-9):
        vlines.append(plots.VLine(chosen, f"calibrated {chosen:.2f}", plots.GREEN))
    left = plots.scatter(
        [
            plots.Series("answerable", charts.answerable_points, plots.BLUE, "dot"),
            plots.Series("unanswerable", charts.unanswerable_points, plots.ORANGE, "cross"),
        ],
        "Confidence vs F1",
        "confidence",
        "F1 (unanswerable: 1 = abstained)",
        vlines=vlines,
    )
    series = [plots.Series("threshold sweep", charts.curve, plots.BLUE, "line")]
    if charts.chosen_point is not None and chosen is not None:
        series.append(plots.Series(f"chosen t={chosen:.2f}", [charts.chosen_point], plots.GREEN, "ring"))
    right = plots.scatter(series, "Coverage vs precision", "coverage (share answered)", "precision (mean F1)")
    caption = (
        "Confidence vs F1: one mark per question; answers below the threshold are withheld. "
        "Coverage vs precision: one point per threshold of the sweep, from answering everything (coverage 1) "
        "to answering only the most confident."
    )
    if calibration_line:
        caption += " " + calibration_line
    return _figure(left + right, caption, wide=True)


def _reliability_figure(charts: Charts, reliability_line: str) -> str:
    """Whether confidence means what it says."""
    title = f"Reliability (ECE {charts.ece:.3f})" if charts.ece is not None else "Reliability"
    caption = (
        "Answers as if no threshold, in equal confidence bins: the bar is the share right, the orange line the mean "
        "confidence, the number the answers in the bin; a calibrated confidence keeps every bar on the diagonal."
    )
    svg = plots.reliability_diagram(charts.reliability_bins or [], title)
    return _figure(svg, caption + (" " + reliability_line if reliability_line else ""))


def _figure(svg: str, caption: str, *, wide: bool = False) -> str:
    cls = ' class="wide"' if wide else ""
    return f'<figure{cls}><div class="charts">{svg}</div><figcaption>{escape(caption)}</figcaption></figure>'


def _table(rows: list[Row]) -> str:
    tally = Counter(row.verdict for row in rows)
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
    body = "".join(_row(row) for row in rows)
    return (
        f'<section id="questions"><h2>Per-question results</h2><p class="tally">{summary}</p>'
        f'<div class="table-wrap"><table class="results"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div></section>"
    )


def _row(row: Row) -> str:
    gold = "<br>".join(escape(g) for g in row.gold) if row.gold else '<em class="muted">unanswerable</em>'
    answer = escape(row.answer) if row.answer is not None else '<em class="muted">(abstained)</em>'
    quote = _quote(row.quote)
    if row.cited:
        quote += f'<div class="src">{escape(row.cited)}</div>'
    cells = [
        f'<td class="id">{escape(row.id)}</td>',
        f"<td>{_badge(row.verdict)}</td>",
        f'<td class="q">{escape(row.question)}</td>',
        f"<td>{gold}</td>",
        f"<td>{answer}</td>",
        f'<td class="num">{row.f1}</td>',
        f'<td class="num">{escape(row.rank)}</td>',
        f'<td class="num">{row.confidence}</td>',
        f'<td class="quote">{quote or DASH}</td>',
    ]
    return f'<tr class="{_verdict_class(row.verdict)}">{"".join(cells)}</tr>'


def _quote(quote: Quote | None) -> str:
    if quote is None:
        return ""
    if not quote.answer:
        return escape(quote.before)
    return escape(quote.before) + f"<mark>{escape(quote.answer)}</mark>" + escape(quote.after)


def _badge(verdict: str) -> str:
    return f'<span class="badge {_verdict_class(verdict)}">{escape(verdict or "?")}</span>'


def _verdict_class(verdict: str) -> str:
    # Class names come from a fixed list, never from the data, so a verdict string cannot inject attributes.
    return f"v-{verdict}" if verdict in VERDICT_ORDER else "v-other"


def _verdict_rank(verdict: str) -> int:
    return VERDICT_ORDER.index(verdict) if verdict in VERDICT_ORDER else len(VERDICT_ORDER)


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
.badge.v-wrong{background:#dc2626}.badge.v-answered-noans{background:#9333ea}.badge.v-missed{background:#b45309}
.badge.v-partial{background:#a16207}.badge.v-correct{background:#15803d}.badge.v-abstained{background:#0f766e}
tr.v-wrong td:first-child{box-shadow:inset 3px 0 #dc2626}
tr.v-answered-noans td:first-child{box-shadow:inset 3px 0 #9333ea}
tr.v-missed td:first-child{box-shadow:inset 3px 0 #d97706}
tr.v-partial td:first-child{box-shadow:inset 3px 0 #ca8a04}
footer{margin:2em 0 1em;font-size:.8rem}
@media (max-width:600px){main{padding:10px}.card .value{font-size:1.2rem}}
""".strip()
