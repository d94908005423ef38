"""How likely a candidate answer is right: a logistic model over named features, fitted on held-out questions
(`make train`, `eval/fit_confidence.py`) with "right" meaning token F1 >= 0.5 against the gold answer.

The same probability chooses among a question's candidates (the reader's best span in each passage it read) and
is the answer's confidence, so the choice of passage and abstention are learned together. A feature switched off
for an ablation is held at its training mean: it then moves no answer.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Sequence
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from typing import Any, Literal, get_args

from citeqa.errors import CiteqaError

from .reader import READER_DIR, RETRAIN_HINT

CONFIDENCE_FILE = "confidence.json"

FeatureName = Literal[
    "margin", "span_score", "null_score", "best_margin", "passage_gap", "passage_rank", "answer_words", "explains",
    "sentence_terms",
]  # fmt: skip
FEATURE_NAMES: tuple[str, ...] = get_args(FeatureName)


@dataclass(frozen=True, slots=True)
class CandidateFeatures:
    """What is known of one candidate answer when choosing it; field order is FEATURE_NAMES."""

    margin: float  # reader: the span's score minus its passage's null score
    span_score: float  # reader: start + end logits of the span
    null_score: float  # reader: [CLS] start + end logits (the passage does not answer)
    best_margin: float  # reader: the best margin among all the passages read for the question
    passage_gap: float  # reader: the span's score minus its passage's best span score (0 for that best)
    passage_rank: float  # retrieval: 0 for the first passage, 1 for the next, ...
    answer_words: float  # log(1 + words in the span)
    explains: float  # 1 when the question wants an explanation: the answer is whole sentences (chat/shape.py)
    # Share of the question's content words (stemmed) that the answer's sentence states: a sentence that answers a
    # question like it, but not it ("in 2019", "the population"), lacks some of them.
    sentence_terms: float

    def values(self) -> tuple[float, ...]:
        return astuple(self)


assert tuple(f.name for f in fields(CandidateFeatures)) == FEATURE_NAMES


@dataclass(frozen=True, slots=True)
class ConfidenceModel:
    """p(right) = sigmoid(bias + sum of weight * (value - mean) / scale), one weight per named feature."""

    weights: dict[str, float]
    means: dict[str, float]
    scales: dict[str, float]
    bias: float
    fitted_on: dict[str, Any]
    threshold: float | None = None  # abstain below this: chosen with the fit, for the best overall F1 held out

    def probability(self, features: CandidateFeatures, disabled: Collection[str] = ()) -> float:
        z = self.bias
        for name, value in zip(FEATURE_NAMES, features.values(), strict=True):
            if name in disabled or name not in self.weights:
                continue
            z += self.weights[name] * (value - self.means[name]) / self.scales[name]
        return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))

    @classmethod
    def neutral(cls) -> ConfidenceModel:
        """Every candidate at 0.5: for collecting candidates before any model is fitted."""
        zero = dict.fromkeys(FEATURE_NAMES, 0.0)
        return cls(dict(zero), dict(zero), dict.fromkeys(FEATURE_NAMES, 1.0), 0.0, {})

    def to_dict(self) -> dict[str, Any]:
        return {
            "weights": self.weights,
            "means": self.means,
            "scales": self.scales,
            "bias": self.bias,
            "fitted_on": self.fitted_on,
            "threshold": self.threshold,
        }

    @classmethod
    def load(cls, path: Path = READER_DIR / CONFIDENCE_FILE) -> ConfidenceModel:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            threshold = raw.get("threshold")
            model = cls(
                raw["weights"], raw["means"], raw["scales"], float(raw["bias"]), raw["fitted_on"],
                None if threshold is None else float(threshold),
            )  # fmt: skip
        except FileNotFoundError as exc:
            raise CiteqaError(f"the confidence model {path} is missing", RETRAIN_HINT) from exc
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CiteqaError(f"the confidence model {path} is unreadable: {exc}", RETRAIN_HINT) from exc
        unknown = sorted(set(model.weights) - set(FEATURE_NAMES))
        if unknown or any(name not in model.means or name not in model.scales for name in model.weights):
            raise CiteqaError(f"the confidence model {path} names features citeqa does not have", RETRAIN_HINT)
        return model


def fit(
    rows: Sequence[CandidateFeatures], labels: Sequence[bool], l2: float = 1.0, fitted_on: dict[str, Any] | None = None
) -> ConfidenceModel:
    """Logistic regression by Newton's method on standardised features, with an L2 penalty on the weights."""
    import numpy as np

    x = np.array([r.values() for r in rows], dtype=np.float64)
    y = np.array(labels, dtype=np.float64)
    means = x.mean(axis=0)
    scales = x.std(axis=0)
    scales[scales < 1e-9] = 1.0  # a constant feature (its std may round to zero): weighed as it is
    z = np.hstack([np.ones((len(x), 1)), (x - means) / scales])
    w = np.zeros(z.shape[1])
    penalty = np.eye(z.shape[1]) * l2
    penalty[0, 0] = 0.0  # the bias is not shrunk
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ w, -50, 50)))
        gradient = z.T @ (p - y) + penalty @ w
        hessian = (z * (p * (1 - p))[:, None]).T @ z + penalty
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    names = list(FEATURE_NAMES)
    return ConfidenceModel(
        weights={n: round(float(v), 6) for n, v in zip(names, w[1:], strict=True)},
        means={n: round(float(v), 6) for n, v in zip(names, means, strict=True)},
        scales={n: round(float(v), 6) for n, v in zip(names, scales, strict=True)},
        bias=round(float(w[0]), 6),
        fitted_on=fitted_on or {},
    )
