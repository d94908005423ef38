"""Aggregate per-question outcomes into the metrics of a run."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from .scoring import Outcome

HIT_RANKS = (1, 3, 5, 10)


def summarize(outcomes: Sequence[Outcome], seconds: float) -> dict[str, Any]:
    """Retrieval, answer, citation, abstention and speed metrics; None where nothing was there to measure."""
    answerable = [o for o in outcomes if o.answerable]
    unanswerable = [o for o in outcomes if not o.answerable]
    located = [o for o in answerable if o.located]
    cited = [o for o in outcomes if o.citation_exact is not None]
    abstained = [o for o in outcomes if o.abstained]
    right_abstentions = sum(1 for o in abstained if not o.answerable)
    latencies = [o.latency_ms for o in outcomes]
    return {
        "counts": {"questions": len(outcomes), "answerable": len(answerable), "unanswerable": len(unanswerable)},
        "retrieval": {
            **{f"hit@{k}": mean([o.hit_rank is not None and o.hit_rank <= k for o in located]) for k in HIT_RANKS},
            "mrr": mean([1 / o.hit_rank if o.hit_rank else 0.0 for o in located]),
            "located": len(located),
        },
        "answers": {
            "f1": mean([o.f1 for o in answerable]),
            "em": mean([o.em for o in answerable]),
            "contains": mean([o.contains for o in answerable]),
            "answered": mean([not o.abstained for o in answerable]),
        },
        "citations": {
            "exact": mean([bool(o.citation_exact) for o in cited]),
            "right_source": mean([bool(o.right_source) for o in cited]),
            "n": len(cited),
        },
        "abstention": {
            "hasans_accuracy": mean([not o.abstained for o in answerable]),
            "noans_accuracy": mean([o.abstained for o in unanswerable]),
            "precision": right_abstentions / len(abstained) if abstained else None,
            "recall": right_abstentions / len(unanswerable) if unanswerable else None,
            "overall_f1": overall_f1(outcomes),
        },
        "speed": {
            "latency_ms_p50": round(percentile(latencies, 0.50), 2),
            "latency_ms_p95": round(percentile(latencies, 0.95), 2),
            "questions_per_s": round(len(outcomes) / seconds, 2) if seconds > 0 else None,
            "seconds": round(seconds, 2),
        },
    }


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
