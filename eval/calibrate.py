"""The abstention threshold: sweep it over a run's confidences and choose an operating point.

The sweep reads outcomes scored with no threshold (every question answered), so each cut can be evaluated
without answering again: a question is answered at threshold t when its confidence is at least t.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from itertools import pairwise
from typing import Any

from .scoring import Outcome


@dataclass(frozen=True, slots=True)
class OperatingPoint:
    threshold: float
    coverage: float  # share of all questions answered
    precision: float | None  # mean F1 of the answered ones (an answered unanswerable question scores 0)
    overall_f1: float  # SQuAD 2.0's: F1 when answerable, 1 for an unanswerable one abstained

    def to_dict(self) -> dict[str, Any]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def sweep(raw: Sequence[Outcome]) -> list[OperatingPoint]:
    """The operating point at every useful threshold, lowest threshold first.

    Cuts sit halfway between neighbouring confidences, so a chosen threshold keeps a margin on both sides.
    """
    if not raw:
        return []
    levels = sorted({o.confidence for o in raw})
    # Rounded as thresholds are shown and saved, so the point reported is the point a saved threshold gives.
    cuts = {0.0, *(round((a + b) / 2, 4) for a, b in pairwise(levels))}
    cuts.add(min(1.0, round(levels[-1] + 1e-4, 4)))
    return [_point(raw, cut) for cut in sorted(cuts)]


def choose(curve: Sequence[OperatingPoint]) -> OperatingPoint:
    """The threshold with the best overall F1; among equals, the middle one of the best run."""
    best = max(p.overall_f1 for p in curve)
    tied = [p for p in curve if p.overall_f1 >= best - 1e-12]
    return tied[len(tied) // 2]


def _point(raw: Sequence[Outcome], threshold: float) -> OperatingPoint:
    answered = [o for o in raw if o.answer is not None and o.confidence >= threshold]
    abstained_right = sum(
        1 for o in raw if not o.answerable and not (o.answer is not None and o.confidence >= threshold)
    )
    answered_f1 = sum(o.f1 for o in answered)
    return OperatingPoint(
        threshold=threshold,
        coverage=len(answered) / len(raw),
        precision=answered_f1 / len(answered) if answered else None,
        overall_f1=(answered_f1 + abstained_right) / len(raw),
    )
