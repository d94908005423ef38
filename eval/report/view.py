"""The report's view model: an eval run's metrics.json and outcomes.jsonl read once, defensively, into typed rows,
cards and chart data that the HTML and Markdown renderers only lay out.

The run's files are untrusted input (edited by hand, written by another version): a missing or malformed value
becomes None or "–", never an exception, and never a number drawn wrong.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..plots import ReliabilityBin
from ..scoring import VERDICT_ORDER

DASH = "–"
NumberKind = Literal["score", "short", "ms", "rate"]

# (group, label, section, key, kind): the headline cards, in order; kind picks the number format.
HEADLINE: tuple[tuple[str, str, str, str, NumberKind], ...] = (
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


@dataclass(frozen=True, slots=True)
class Card:
    group: str
    label: str
    value: str
    note: str  # the denominator under the value, "" when unknown


@dataclass(frozen=True, slots=True)
class Quote:
    """The answer's sentence, split around the answer (`answer` is "" when the span is unknown)."""

    before: str
    answer: str
    after: str


@dataclass(frozen=True, slots=True)
class Row:
    """One question's line of the results table."""

    id: str
    verdict: str
    question: str
    gold: tuple[str, ...]  # empty: unanswerable
    answer: str | None  # None: abstained
    f1: str
    rank: str
    confidence: str
    quote: Quote | None
    cited: str  # "cited: SOURCE (expected OTHER)", or ""


@dataclass(frozen=True, slots=True)
class Charts:
    """What the HTML report's charts draw."""

    f1s: list[float]  # per answerable question
    rank_labels: list[str]
    rank_counts: list[float]
    located: int
    latencies: list[float]
    latency_p50: float | None
    latency_p95: float | None
    verdict_counts: list[float]  # in VERDICT_ORDER
    answerable_points: list[tuple[float, float]]  # (confidence, F1)
    unanswerable_points: list[tuple[float, float]]  # (confidence, 1 if rightly abstained)
    threshold: float | None
    chosen_threshold: float | None
    chosen_point: tuple[float, float] | None  # (coverage, precision) of the calibrated threshold
    curve: list[tuple[float, float]]  # the threshold sweep's (coverage, precision)
    reliability_bins: list[ReliabilityBin] | None  # None: the run recorded no reliability table
    ece: float | None


@dataclass(frozen=True, slots=True)
class ReportView:
    title: str
    questions_file: str
    created: str
    version: str
    counts_line: str
    calibration_line: str  # "" when the run was not calibrated
    reliability_line: str  # "" when no reliability was recorded
    cards: list[Card]
    settings: list[tuple[str, str]]  # the run's config, nested keys dotted
    versions: list[tuple[str, str]]
    rows: list[Row]  # failures first
    charts: Charts

    @classmethod
    def of(cls, metrics: Mapping[str, Any], outcomes: Sequence[Mapping[str, Any]]) -> ReportView:
        source = text(metrics.get("questions_file"))
        return cls(
            title=f"citeqa eval – {Path(source).name}" if source else "citeqa eval",
            questions_file=source,
            created=text(metrics.get("created")),
            version=text(metrics.get("citeqa")),
            counts_line=_counts_line(section(metrics, "counts")),
            calibration_line=_calibration_line(metrics),
            reliability_line=_reliability_line(metrics),
            cards=_cards(metrics),
            settings=_flatten(section(metrics, "config")),
            versions=[(str(k), _value_text(v)) for k, v in section(metrics, "versions").items()],
            rows=[_row(o) for o in sort_outcomes(outcomes)],
            charts=_charts(metrics, outcomes),
        )


def sort_outcomes(outcomes: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Failures first (wrong, answered-noans, missed, partial with the lowest F1 first), then correct, then
    rightly abstained; ties by id."""

    def key(o: Mapping[str, Any]) -> tuple[int, float, str]:
        verdict = o.get("verdict")
        rank = VERDICT_ORDER.index(verdict) if verdict in VERDICT_ORDER else len(VERDICT_ORDER)
        f1 = number(o.get("f1")) if verdict == "partial" else None
        return rank, f1 if f1 is not None else 0.0, text(o.get("id"))

    return sorted(outcomes, key=key)


def formatted(value: float | None, kind: NumberKind) -> str:
    if value is None:
        return DASH
    if kind == "ms":
        return f"{value:.1f} ms"
    if kind == "rate":
        return f"{value:.1f}"
    if kind == "short":
        return f"{value:.2f}"
    return f"{value:.3f}"


# --- reading untrusted values -------------------------------------------------------------------------------


def section(mapping: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = mapping.get(key)
    return value if isinstance(value, Mapping) else {}


def items(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def number(value: Any) -> float | None:
    """A finite number, or None (bools are not scores, NaN is not a value)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def text(value: Any) -> str:
    return "" if value is None else str(value)


# --- building the view --------------------------------------------------------------------------------------


def _cards(metrics: Mapping[str, Any]) -> list[Card]:
    notes = _card_notes(metrics)
    return [
        Card(group, label, formatted(number(section(metrics, part).get(key)), kind), notes.get(key, ""))
        for group, label, part, key, kind in HEADLINE
    ]


def _card_notes(metrics: Mapping[str, Any]) -> dict[str, str]:
    """Small denominators under the cards, so a 1.000 over two questions is not mistaken for a strong result."""
    counts = section(metrics, "counts")
    notes: dict[str, str] = {}
    answerable = integer(counts.get("answerable"))
    if answerable is not None:
        for key in ("f1", "em", "contains"):
            notes[key] = f"{answerable} answerable"
    located = integer(section(metrics, "retrieval").get("located"))
    if located is not None:
        for key in ("hit@1", "hit@3", "hit@5", "hit@10", "mrr"):
            notes[key] = f"{located} located"
    cited = integer(section(metrics, "citations").get("n"))
    if cited is not None:
        notes["exact"] = notes["right_source"] = f"{cited} cited"
    threshold = number(section(metrics, "abstention").get("threshold"))
    if threshold is not None:
        for key in ("hasans_accuracy", "noans_accuracy", "precision", "recall"):
            notes[key] = f"threshold {threshold:.2f}"
    answers = integer(section(metrics, "reliability").get("n"))
    if answers is not None:
        notes["ece"] = notes["brier"] = f"{answers} answers"
    seconds = number(section(metrics, "speed").get("seconds"))
    if seconds is not None:
        notes["questions_per_s"] = f"{seconds:.1f} s in all"
    return notes


def _row(o: Mapping[str, Any]) -> Row:
    gold = o.get("gold")
    cited = text(o.get("cited_source"))
    where = ""
    if cited:
        where = f"cited: {cited}"
        expected = text(o.get("source"))
        if o.get("right_source") is False and expected:
            where += f" (expected {expected})"
    answer = o.get("answer")
    return Row(
        id=text(o.get("id")),
        verdict=text(o.get("verdict")),
        question=text(o.get("question")),
        gold=(gold,) if isinstance(gold, str) else tuple(str(g) for g in items(gold)),
        answer=text(answer) if answer is not None else None,
        f1=formatted(number(o.get("f1")), "short"),
        rank=_rank_text(o),
        confidence=formatted(number(o.get("confidence")), "short"),
        quote=_quote(o),
        cited=where,
    )


def _quote(o: Mapping[str, Any]) -> Quote | None:
    """The quote split at the answer span (answer_in_quote); offsets that do not fit the quote are ignored rather
    than trusted."""
    quote = o.get("quote")
    if not isinstance(quote, str):
        return None
    span = o.get("answer_in_quote")
    if isinstance(span, Sequence) and not isinstance(span, str) and len(span) == 2:
        start, end = span
        if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(quote):
            return Quote(quote[:start], quote[start:end], quote[end:])
    return Quote(quote, "", "")


def _rank_text(o: Mapping[str, Any]) -> str:
    rank = integer(o.get("hit_rank"))
    if rank is not None:
        return str(rank)
    return "none" if o.get("answerable") and o.get("located") is not False else DASH


def _charts(metrics: Mapping[str, Any], outcomes: Sequence[Mapping[str, Any]]) -> Charts:
    answerable = [o for o in outcomes if o.get("answerable")]
    labels, counts, located = _rank_counts(answerable)
    speed = section(metrics, "speed")
    verdicts = Counter(text(o.get("verdict")) for o in outcomes)
    with_answer: list[tuple[float, float]] = []
    without: list[tuple[float, float]] = []
    for o in outcomes:
        confidence = number(o.get("confidence"))
        if confidence is None:
            continue
        f1 = number(o.get("f1"))
        if o.get("answerable"):
            with_answer.append((confidence, f1 or 0.0))
        else:
            # Right for an unanswerable question means abstaining, whatever F1 convention the run used.
            without.append((confidence, f1 if f1 is not None else float(bool(o.get("abstained")))))
    chosen = section(section(metrics, "calibration"), "chosen")
    coverage, precision = number(chosen.get("coverage")), number(chosen.get("precision"))
    reliability = metrics.get("reliability")
    return Charts(
        f1s=[v for o in answerable if (v := number(o.get("f1"))) is not None],
        rank_labels=labels,
        rank_counts=counts,
        located=located,
        latencies=[v for o in outcomes if (v := number(o.get("latency_ms"))) is not None],
        latency_p50=number(speed.get("latency_ms_p50")),
        latency_p95=number(speed.get("latency_ms_p95")),
        verdict_counts=[float(verdicts.get(v, 0)) for v in VERDICT_ORDER],
        answerable_points=with_answer,
        unanswerable_points=without,
        threshold=number(section(metrics, "abstention").get("threshold")),
        chosen_threshold=number(chosen.get("threshold")),
        chosen_point=(coverage, precision) if coverage is not None and precision is not None else None,
        curve=[
            (c, p)
            for point in items(metrics.get("curve"))
            if isinstance(point, Mapping)
            and (c := number(point.get("coverage"))) is not None
            and (p := number(point.get("precision"))) is not None
        ],
        reliability_bins=_reliability_bins(reliability) if isinstance(reliability, Mapping) else None,
        ece=number(reliability.get("ece")) if isinstance(reliability, Mapping) else None,
    )


def _rank_counts(answerable: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[float], int]:
    """Counts for ranks 1..10, ">10" when the run retrieved deeper, and "none"; unlocated questions are left out
    because their rank is unknown, not missing."""
    ranks: Counter[str] = Counter()
    located = 0
    for o in answerable:
        if o.get("located") is False:
            continue
        located += 1
        rank = integer(o.get("hit_rank"))
        ranks["none" if rank is None else str(rank) if rank <= 10 else ">10"] += 1
    labels = [str(r) for r in range(1, 11)] + ([">10"] if ranks[">10"] else []) + ["none"]
    return labels, [float(ranks[label]) for label in labels], located


def _reliability_bins(reliability: Mapping[str, Any]) -> list[ReliabilityBin]:
    """The table's bins that are whole; a malformed one is left out rather than drawn wrong."""
    bins = []
    for b in items(reliability.get("bins")):
        if not isinstance(b, Mapping):
            continue
        lo, hi, count = number(b.get("lo")), number(b.get("hi")), integer(b.get("count"))
        if lo is not None and hi is not None and count is not None and lo < hi:
            bins.append(ReliabilityBin(lo, hi, count, number(b.get("accuracy")), number(b.get("confidence"))))
    return bins


def _counts_line(counts: Mapping[str, Any]) -> str:
    n = {k: integer(counts.get(k)) for k in ("questions", "answerable", "unanswerable", "skipped")}
    if n["questions"] is None:
        return "question counts not recorded"
    parts = [f"{n['questions']} questions"]
    parts += [f"{n[k]} {k}" for k in ("answerable", "unanswerable", "skipped") if n[k] is not None]
    return " · ".join(parts)


def _calibration_line(metrics: Mapping[str, Any]) -> str:
    calibration = section(metrics, "calibration")
    chosen = section(calibration, "chosen")
    t = number(chosen.get("threshold"))
    if t is None:
        return ""
    line = (
        f"Calibrated threshold {t:.2f}: coverage {formatted(number(chosen.get('coverage')), 'score')}, "
        f"precision {formatted(number(chosen.get('precision')), 'score')}, "
        f"overall F1 {formatted(number(chosen.get('overall_f1')), 'score')}"
    )
    saved = text(calibration.get("saved_to"))
    return line + (f"; saved to {saved}." if saved else "; not saved.")


def _reliability_line(metrics: Mapping[str, Any]) -> str:
    reliability = section(metrics, "reliability")
    ece = number(reliability.get("ece"))
    if ece is None:
        return ""
    n, right_f1 = integer(reliability.get("n")), number(reliability.get("right_f1"))
    brier = formatted(number(reliability.get("brier")), "score")
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
