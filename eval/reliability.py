"""How well answer confidence works as a probability: a reliability table, the expected calibration error, Brier.

The confidence of an answer claims to be the probability that it is right, with right meaning token F1 of at least
RIGHT_F1 against a gold answer; any answer to an unanswerable question is wrong. The check reads outcomes scored
with no threshold (what the threshold sweep reads), because an abstained outcome has lost its answer and its F1.

A raw outcome with no answer at all (the answerer found no candidate) is left out: its confidence belongs to no
answer, so there is nothing it could be right about, and no threshold ever shows it. Neither is a non-finite
confidence binned. Both are counted under "left_out" so the table says what it does not cover.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .scoring import Outcome

RIGHT_F1 = 0.5  # also the bar the confidence model is fitted to (eval/fit_confidence.py)
BINS = 10
_DIGITS = 4  # as metrics.json rounds its scores


@dataclass(frozen=True, slots=True)
class _Answer:
    confidence: float
    right: bool


def is_right(outcome: Outcome) -> bool:
    """What the confidence predicts: an answer close enough to a gold one, and a gold one to exist."""
    return outcome.answerable and outcome.answer is not None and outcome.f1 >= RIGHT_F1


def reliability(outcomes: Sequence[Outcome], bins: int = BINS) -> dict[str, Any]:
    """The reliability table of raw (unthresholded) outcomes, for metrics.json's "reliability".

    `bins` equal-width confidence bins over [0, 1] (the last one includes 1), each with its count, mean confidence
    and accuracy (share right; None for an empty bin); `ece` is the count-weighted mean of |accuracy - confidence|
    over the bins, `brier` the mean squared gap between confidence and 0/1 rightness (both None with no answers).
    """
    if bins < 1:
        raise ValueError(f"bins must be at least 1, not {bins}")
    answers = [_Answer(o.confidence, is_right(o)) for o in outcomes if o.answer is not None and _usable(o.confidence)]
    grouped: list[list[_Answer]] = [[] for _ in range(bins)]
    for answer in answers:
        grouped[bin_index(answer.confidence, bins)].append(answer)
    table = [_bin(i / bins, (i + 1) / bins, members) for i, members in enumerate(grouped)]
    return {
        "right_f1": RIGHT_F1,
        "n": len(answers),
        "left_out": len(outcomes) - len(answers),
        "accuracy": _mean([a.right for a in answers]),
        "confidence": _mean([a.confidence for a in answers]),
        "ece": _round(_ece(grouped, len(answers))),
        "brier": _mean([(a.confidence - a.right) ** 2 for a in answers]),
        "bins": table,
    }


def bin_index(confidence: float, bins: int) -> int:
    """The equal-width bin of [0, 1] holding confidence; 1.0 (and anything beyond the range) goes to an end bin."""
    # Multiply before dividing, with a hair of slack, so 0.3 lands in [0.3, 0.4) rather than [0.2, 0.3).
    return min(max(math.floor(confidence * bins + 1e-9), 0), bins - 1)


def _bin(lo: float, hi: float, members: Sequence[_Answer]) -> dict[str, Any]:
    return {
        "lo": _round(lo),
        "hi": _round(hi),
        "count": len(members),
        "confidence": _mean([a.confidence for a in members]),
        "accuracy": _mean([a.right for a in members]),
    }


def _ece(grouped: Sequence[Sequence[_Answer]], total: int) -> float | None:
    """Unrounded per bin, so the rounding of the table does not leak into the error."""
    if not total:
        return None
    gap = 0.0
    for members in grouped:
        if members:
            accuracy = sum(a.right for a in members) / len(members)
            confidence = sum(a.confidence for a in members) / len(members)
            gap += len(members) / total * abs(accuracy - confidence)
    return gap


def _usable(confidence: float) -> bool:
    return math.isfinite(confidence)


def _mean(values: Sequence[float | bool]) -> float | None:
    return _round(sum(values) / len(values)) if values else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, _DIGITS)
