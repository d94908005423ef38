"""Aggregate per-question outcomes into the metrics of a run."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from .scoring import Outcome

HIT_RANKS = (1, 3, 5, 10)


@dataclass(frozen=True, slots=True)
class Counts:
    questions: int
    answerable: int
    unanswerable: int


@dataclass(frozen=True, slots=True)
class RetrievalMetrics:
    hits: dict[int, float | None]  # hit@k for k in HIT_RANKS: a returned passage among the first k holds the answer
    mrr: float | None
    located: int  # answerable questions whose answer was found in the corpus (the denominator)


@dataclass(frozen=True, slots=True)
class AnswerMetrics:
    f1: float | None
    em: float | None
    contains: float | None
    answered: float | None


@dataclass(frozen=True, slots=True)
class CitationMetrics:
    exact: float | None
    right_source: float | None
    n: int


@dataclass(frozen=True, slots=True)
class AbstentionMetrics:
    hasans_accuracy: float | None
    noans_accuracy: float | None
    precision: float | None
    recall: float | None
    overall_f1: float | None  # SQuAD 2.0's


@dataclass(frozen=True, slots=True)
class SpeedMetrics:
    latency_ms_p50: float
    latency_ms_p95: float
    questions_per_s: float | None
    seconds: float


@dataclass(frozen=True, slots=True)
class RunMetrics:
    """The numbers of a run; `to_dict` is their part of metrics.json."""

    counts: Counts
    retrieval: RetrievalMetrics
    answers: AnswerMetrics
    citations: CitationMetrics
    abstention: AbstentionMetrics
    speed: SpeedMetrics

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: asdict(getattr(self, f.name)) for f in fields(self)}
        hits = out["retrieval"].pop("hits")
        out["retrieval"] = {**{f"hit@{k}": v for k, v in hits.items()}, **out["retrieval"]}
        return out


def summarize(outcomes: Sequence[Outcome], seconds: float) -> RunMetrics:
    """Retrieval, answer, citation, abstention and speed metrics; None where nothing was there to measure."""
    answerable = [o for o in outcomes if o.answerable]
    unanswerable = [o for o in outcomes if not o.answerable]
    located = [o for o in answerable if o.located]
    cited = [o for o in outcomes if o.citation_exact is not None]
    abstained = [o for o in outcomes if o.abstained]
    right_abstentions = sum(1 for o in abstained if not o.answerable)
    latencies = [o.latency_ms for o in outcomes]
    return RunMetrics(
        counts=Counts(len(outcomes), len(answerable), len(unanswerable)),
        retrieval=RetrievalMetrics(
            hits={k: mean([o.hit_rank is not None and o.hit_rank <= k for o in located]) for k in HIT_RANKS},
            mrr=mean([1 / o.hit_rank if o.hit_rank else 0.0 for o in located]),
            located=len(located),
        ),
        answers=AnswerMetrics(
            f1=mean([o.f1 for o in answerable]),
            em=mean([o.em for o in answerable]),
            contains=mean([o.contains for o in answerable]),
            answered=mean([not o.abstained for o in answerable]),
        ),
        citations=CitationMetrics(
            exact=mean([bool(o.citation_exact) for o in cited]),
            right_source=mean([bool(o.right_source) for o in cited]),
            n=len(cited),
        ),
        abstention=AbstentionMetrics(
            hasans_accuracy=mean([not o.abstained for o in answerable]),
            noans_accuracy=mean([o.abstained for o in unanswerable]),
            precision=right_abstentions / len(abstained) if abstained else None,
            recall=right_abstentions / len(unanswerable) if unanswerable else None,
            overall_f1=overall_f1(outcomes),
        ),
        speed=SpeedMetrics(
            latency_ms_p50=round(percentile(latencies, 0.50), 2),
            latency_ms_p95=round(percentile(latencies, 0.95), 2),
            questions_per_s=round(len(outcomes) / seconds, 2) if seconds > 0 else None,
            seconds=round(seconds, 2),
        ),
    )


def overall_f1(outcomes: Sequence[Outcome]) -> float | None:
    """SQuAD 2.0's overall score: F1 on answerable questions, 1 for each unanswerable one abstained."""
    return mean([o.f1 if o.answerable else float(o.abstained) for o in outcomes])


def mean(values: Sequence[float | bool]) -> float | None:
    return round(statistics.fmean(values), 4) if values else None


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (0.0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def headline_lines(metrics: dict[str, Any]) -> list[str]:
    """The metrics of a run, one line per area, for the terminal."""
    c, r, a, ci, ab, s = (metrics[k] for k in ("counts", "retrieval", "answers", "citations", "abstention", "speed"))
    hits = "  ".join(f"{name} {_fmt(r[name])}" for name in (f"hit@{k}" for k in HIT_RANKS))
    lines = [
        f"{c['questions']} questions ({c['answerable']} answerable, {c['unanswerable']} unanswerable), "
        f"{c.get('skipped', 0)} skipped",
        f"retrieval   {hits}  mrr {_fmt(r['mrr'])}  ({r['located']} located)",
        f"answers     f1 {_fmt(a['f1'])}  em {_fmt(a['em'])}  contains {_fmt(a['contains'])}  "
        f"answered {_fmt(a['answered'])}",
        f"citations   exact {_fmt(ci['exact'])}  right source {_fmt(ci['right_source'])}  ({ci['n']} cited)",
        f"abstention  threshold {_fmt(metrics['config']['answer']['min_confidence'])}  "
        f"hasans {_fmt(ab['hasans_accuracy'])}  noans {_fmt(ab['noans_accuracy'])}  "
        f"precision {_fmt(ab['precision'])}  recall {_fmt(ab['recall'])}  overall f1 {_fmt(ab['overall_f1'])}",
        f"speed       p50 {s['latency_ms_p50']:.1f} ms  p95 {s['latency_ms_p95']:.1f} ms  "
        f"{_fmt(s['questions_per_s'])} questions/s",
    ]
    reliability = metrics.get("reliability")
    if reliability:  # runs from before the reliability check have none
        lines.insert(-1, _calibration_line(reliability))
    return lines


def _calibration_line(r: dict[str, Any]) -> str:
    """How far confidence is from the share of answers right: ECE and Brier over the unthresholded answers."""
    return f"calibration ece {_fmt(r['ece'])}  brier {_fmt(r['brier'])}  ({r['n']} answers)"


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"
