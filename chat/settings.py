"""How questions are answered; one frozen object, validated on creation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

from citeqa.errors import CiteqaError
from citeqa.index.retrieval import RETRIEVAL_MODES, RetrievalMode
from citeqa.index.search import SearchIndex
from citeqa.precision import PRECISIONS, Precision

from .confidence import FEATURE_NAMES, FeatureName
from .question import MAX_QUESTION_CHARS

# Parts of the answerer that an ablation can switch off (`citeqa eval --disable`), each measured on its own.
# shape: reader spans as they come (no whole sentences for explanations, no currency sign or unit added, no bracket
# closed); names: no widening of part of a name to the whole name; headings: spans in headings and question lines
# allowed; spelling: questions searched as typed (no typo correction against the documents' words).
Component = Literal["shape", "names", "headings", "spelling"]
COMPONENTS: tuple[str, ...] = get_args(Component)
# Limits and defaults of the settings, shared by the command line and the API.
DEFAULT_PASSAGES = 5  # `k`: passages shown with an answer
MAX_PASSAGES = 100
MAX_READ_PASSAGES = 50
PASSAGES_HELP = f"Passages shown with each answer, 1 to {MAX_PASSAGES} (the answer is chosen among more candidates)."


def check_passages(k: int) -> None:
    if not 1 <= k <= MAX_PASSAGES:
        raise CiteqaError(f"k = {k} is out of range", f"ask for 1 to {MAX_PASSAGES} passages")


@dataclass(frozen=True, slots=True)
class AnswerSettings:
    k: int = DEFAULT_PASSAGES  # passages returned with an answer
    min_confidence: float | None = None  # abstain below this; None: the threshold fitted with the confidence model
    # Retrieved passages the reader reads whole, best first: enough that the gold answer is among them for 95% of
    # held-out questions (docs/training.md, "read recall"); k changes only what is shown.
    read_passages: int = 5
    retrieval: RetrievalMode = "hybrid"  # dense (FAISS), bm25, or both fused
    max_question_chars: int = MAX_QUESTION_CHARS
    disabled: tuple[Component, ...] = ()  # for ablations only; every component is on by default
    disabled_features: tuple[FeatureName, ...] = ()  # confidence features held at their mean (ablations)
    reader: str | None = None  # folder of another trained reader (`citeqa train --out`); None: the shipped one
    precision: Precision = "auto"  # the reader's: bf16 where the CPU computes it, else fp32

    def __post_init__(self) -> None:
        check_passages(self.k)
        if self.min_confidence is not None and not 0.0 <= self.min_confidence <= 1.0:
            raise CiteqaError(f"min_confidence = {self.min_confidence} is out of range", "use 0 to 1")
        if not 1 <= self.read_passages <= MAX_READ_PASSAGES:
            raise CiteqaError(
                f"read_passages = {self.read_passages} is out of range", f"use 1 to {MAX_READ_PASSAGES} passages"
            )
        if self.precision not in PRECISIONS:
            raise CiteqaError(f"unknown precision {self.precision!r}", f"use one of {', '.join(PRECISIONS)}")
        if self.retrieval not in RETRIEVAL_MODES:
            raise CiteqaError(f"unknown retrieval mode {self.retrieval!r}", f"use one of {', '.join(RETRIEVAL_MODES)}")
        unknown = sorted(set(self.disabled) - set(COMPONENTS))
        if unknown:
            raise CiteqaError(f"unknown component {unknown[0]!r}", f"use any of {', '.join(COMPONENTS)}")
        unknown_features = sorted(set(self.disabled_features) - set(FEATURE_NAMES))
        if unknown_features:
            raise CiteqaError(f"unknown feature {unknown_features[0]!r}", f"use any of {', '.join(FEATURE_NAMES)}")
        if self.max_question_chars < 1:
            raise CiteqaError("max_question_chars must be positive", "use the default 1000")

    @classmethod
    def for_index(cls, index: SearchIndex, **overrides: Any) -> AnswerSettings:
        """The defaults, then the threshold the index was calibrated to, then `overrides`."""
        calibrated = index.config.min_confidence
        chosen: dict[str, Any] = {} if calibrated is None else {"min_confidence": calibrated}
        return cls(**{**chosen, **overrides})
