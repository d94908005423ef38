"""SQuAD-style answer scores: normalised exact match and token F1, best over the acceptable answers."""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from collections.abc import Sequence

_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize(text: str) -> str:
    """Lower case, no punctuation (Unicode punctuation too), no articles, single spaces."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = "".join(c for c in text if not (unicodedata.category(c).startswith("P") or c in string.punctuation))
    return " ".join(_ARTICLES.sub(" ", text).split())


def token_f1(prediction: str, gold: str) -> float:
    pred, ref = normalize(prediction).split(), normalize(gold).split()
    if not pred or not ref:
        return float(pred == ref)
    same = sum((Counter(pred) & Counter(ref)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def best_f1(prediction: str | None, answers: Sequence[str]) -> float:
    if prediction is None or not answers:
        return 0.0
    return max(token_f1(prediction, a) for a in answers)


def exact_match(prediction: str | None, answers: Sequence[str]) -> float:
    if prediction is None:
        return 0.0
    return float(any(normalize(prediction) == normalize(a) for a in answers))


def contains_answer(text: str, answers: Sequence[str]) -> bool:
    """A gold answer stands in `text` as whole words, after normalisation."""
    padded = f" {normalize(text)} "
    return any(normalize(a) and f" {normalize(a)} " in padded for a in answers)
