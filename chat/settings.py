"""How questions are answered; one frozen object, validated on creation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

from citeqa.errors import CiteqaError
from citeqa.index.retrieval import RETRIEVAL_MODES, RetrievalMode
from citeqa.index.search import SearchIndex

from .confidence import FEATURE_NAMES, FeatureName
from .evidence import SENTENCE_FEATURE_NAMES
from .question import MAX_QUESTION_CHARS

# Parts of the answerer that an ablation can switch off (`citeqa eval --disable`), each measured on its own.
# reader: today's rule spans and hand-set confidence instead of the trained reader; choice: the reader reads only
# the best-evidenced sentence's window (no learned choice among windows); sentence-model: sentences ranked by the
# hand-set evidence weights (chat/evidence.py) instead of the fitted sentence model; shape: reader spans as they
# come (no whole sentences for explanations, no currency sign or unit added); spelling: questions searched as typed
# (no typo correction against the documents' words). The rest are parts of the sentence evidence.
Component = Literal[
    "reader",
    "choice",
    "sentence-model",
    "shape",
    "spelling",
    "neighbours",
    "passage",
    "phrases",
    "verb",
    "pins",
    "answer-type",
    "spans",
    "rerank",
]
COMPONENTS: tuple[str, ...] = get_args(Component)
# Limits and defaults of the settings, shared by the command line and the API.
DEFAULT_PASSAGES = 5  # `k`: passages shown with an answer
MAX_PASSAGES = 100
MAX_CANDIDATES = 1000
MAX_WINDOWS = 20
PASSAGES_HELP = f"Passages shown with each answer, 1 to {MAX_PASSAGES} (the answer is chosen among more candidates)."
RULES_MIN_CONFIDENCE = 0.35  # the hand-set confidence's threshold (reader off), measured on dev in stop 9


def check_passages(k: int) -> None:
    if not 1 <= k <= MAX_PASSAGES:
        raise CiteqaError(f"k = {k} is out of range", f"ask for 1 to {MAX_PASSAGES} passages")


@dataclass(frozen=True, slots=True)
class AnswerSettings:
    k: int = DEFAULT_PASSAGES  # passages returned with an answer
    min_confidence: float | None = None  # abstain below this; None: the confidence model's own (or the rules')
    candidates: int = 20  # passages whose sentences compete for the answer (at least k); k changes only what is shown
    retrieval: RetrievalMode = "hybrid"  # dense (FAISS), bm25, or both fused
    max_question_chars: int = MAX_QUESTION_CHARS
    disabled: tuple[Component, ...] = ()  # for ablations only; every component is on by default
    disabled_features: tuple[FeatureName, ...] = ()  # confidence features held at their mean (ablations)
    disabled_sentence_features: tuple[str, ...] = ()  # sentence model features held at their mean (ablations)
    windows: int = 3  # candidate sentences whose windows the reader reads, best evidence first (4 and 6 measured no
    # better on held-out SQuAD articles, and cost reader time)
    reader: str | None = None  # folder of another trained reader (`citeqa train --out`); None: the shipped one

    def __post_init__(self) -> None:
        check_passages(self.k)
        if self.min_confidence is not None and not 0.0 <= self.min_confidence <= 1.0:
            raise CiteqaError(f"min_confidence = {self.min_confidence} is out of range", "use 0 to 1")
        if not 1 <= self.candidates <= MAX_CANDIDATES:
            raise CiteqaError(f"candidates = {self.candidates} is out of range", f"use 1 to {MAX_CANDIDATES} passages")
        if self.retrieval not in RETRIEVAL_MODES:
            raise CiteqaError(f"unknown retrieval mode {self.retrieval!r}", f"use one of {', '.join(RETRIEVAL_MODES)}")
        unknown = sorted(set(self.disabled) - set(COMPONENTS))
        if unknown:
            raise CiteqaError(f"unknown component {unknown[0]!r}", f"use any of {', '.join(COMPONENTS)}")
        unknown_features = sorted(set(self.disabled_features) - set(FEATURE_NAMES))
        if unknown_features:
            raise CiteqaError(f"unknown feature {unknown_features[0]!r}", f"use any of {', '.join(FEATURE_NAMES)}")
        unknown_sentence = sorted(set(self.disabled_sentence_features) - set(SENTENCE_FEATURE_NAMES))
        if unknown_sentence:
            raise CiteqaError(
                f"unknown sentence feature {unknown_sentence[0]!r}", f"use any of {', '.join(SENTENCE_FEATURE_NAMES)}"
            )
        if not 1 <= self.windows <= MAX_WINDOWS:
            raise CiteqaError(f"windows = {self.windows} is out of range", f"use 1 to {MAX_WINDOWS} windows")
        if self.max_question_chars < 1:
            raise CiteqaError("max_question_chars must be positive", "use the default 1000")

    @classmethod
    def for_index(cls, index: SearchIndex, **overrides: Any) -> AnswerSettings:
        """The defaults, then the threshold the index was calibrated to, then `overrides`."""
        calibrated = index.config.min_confidence
        chosen: dict[str, Any] = {} if calibrated is None else {"min_confidence": calibrated}
        return cls(**{**chosen, **overrides})
