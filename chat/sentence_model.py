"""Which sentences the reader reads: a linear score over the named features of a candidate sentence
(`evidence.SentenceFeatures`), fitted on the training articles (`make train`, `eval/fit_sentences.py`).

Fitted listwise: over each training question's candidate sentences, a softmax of the scores should put its mass on
the sentences holding the gold answer. So the score ranks one question's sentences; it is not a probability. A
feature switched off for an ablation, or unknown (an index that keeps no sentence vectors has no `dense`), is
held at its training mean: it then moves no sentence.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from citeqa.errors import CiteqaError

from .evidence import SENTENCE_FEATURE_NAMES, SentenceFeatures
from .reader import READER_DIR, RETRAIN_HINT

SENTENCE_MODEL_FILE = "sentences.json"


@dataclass(frozen=True, slots=True)
class SentenceModel:
    """score = sum of weight * (value - mean) / scale, one weight per named feature."""

    weights: dict[str, float]
    means: dict[str, float]
    scales: dict[str, float]
    fitted_on: dict[str, Any]

    def score(self, features: SentenceFeatures, disabled: Collection[str] = ()) -> float:
        z = 0.0
        for name, value in zip(SENTENCE_FEATURE_NAMES, features.values(), strict=True):
            if name in disabled or name not in self.weights or math.isnan(value):
                continue
            z += self.weights[name] * (value - self.means[name]) / self.scales[name]
        return z

    def to_dict(self) -> dict[str, Any]:
        return {"weights": self.weights, "means": self.means, "scales": self.scales, "fitted_on": self.fitted_on}

    @classmethod
    def load(cls, path: Path = READER_DIR / SENTENCE_MODEL_FILE) -> SentenceModel:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            model = cls(raw["weights"], raw["means"], raw["scales"], raw["fitted_on"])
        except FileNotFoundError as exc:
            raise CiteqaError(f"the sentence model {path} is missing", RETRAIN_HINT) from exc
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CiteqaError(f"the sentence model {path} is unreadable: {exc}", RETRAIN_HINT) from exc
        unknown = sorted(set(model.weights) - set(SENTENCE_FEATURE_NAMES))
        if unknown or any(name not in model.means or not model.scales.get(name) for name in model.weights):
            raise CiteqaError(f"the sentence model {path} names features citeqa does not have", RETRAIN_HINT)
        return model


def fit(
    rows: Sequence[SentenceFeatures],
    questions: Sequence[int],
    labels: Sequence[bool],
    l2: float = 1.0,
    fitted_on: dict[str, Any] | None = None,
) -> SentenceModel:
    """Weights that maximise, over questions with at least one sentence labelled right, the softmax probability
    of their right sentences among all of theirs (L-BFGS on standardised features, an L2 penalty on the weights).
    `questions[i]` numbers the question row i belongs to."""
    import numpy as np
    from scipy.optimize import minimize

    x = np.array([r.values() for r in rows], dtype=np.float64)
    if np.isnan(x).any():
        raise ValueError("every training row needs every feature (sentence vectors included)")
    y = np.array(labels, dtype=np.float64)
    _, q = np.unique(np.asarray(questions), return_inverse=True)
    means, scales = x.mean(axis=0), x.std(axis=0)
    scales[scales < 1e-9] = 1.0  # a constant feature (its std may round to zero): weighed as it is
    right = np.bincount(q, weights=y)
    keep = right[q] > 0
    z, q, target = (x[keep] - means) / scales, q[keep], y[keep] / right[q[keep]]
    count, asked = int(q.max(initial=-1)) + 1, max(int((right > 0).sum()), 1)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        scores = z @ w
        top = np.full(count, -np.inf)
        np.maximum.at(top, q, scores)
        exp = np.exp(scores - top[q])
        total = np.bincount(q, weights=exp, minlength=count)
        log_p = scores - top[q] - np.log(total[q])
        value = -(target * log_p).sum() / asked + 0.5 * l2 * (w @ w) / asked
        gradient = z.T @ (np.exp(log_p) - target) / asked + l2 * w / asked
        return float(value), gradient

    w = minimize(loss, np.zeros(z.shape[1]), jac=True, method="L-BFGS-B").x
    names = list(SENTENCE_FEATURE_NAMES)
    return SentenceModel(
        weights={n: round(float(v), 6) for n, v in zip(names, w, strict=True)},
        means={n: round(float(v), 6) for n, v in zip(names, means, strict=True)},
        scales={n: round(float(v), 6) for n, v in zip(names, scales, strict=True)},
        fitted_on=fitted_on or {},
    )
