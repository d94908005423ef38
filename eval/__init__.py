"""Stage 4: question set -> predictions (the chat's own pipeline) -> metrics -> report."""

from .metrics import best_f1, exact_match, normalize, token_f1
from .questions import BUNDLED_QUESTIONS, QuestionItem, QuestionSetError, load_questions
from .run import PREDICTIONS_FILE, Summary, predict, summarize, write_predictions

__all__ = [
    "BUNDLED_QUESTIONS",
    "PREDICTIONS_FILE",
    "QuestionItem",
    "QuestionSetError",
    "Summary",
    "best_f1",
    "exact_match",
    "load_questions",
    "normalize",
    "predict",
    "summarize",
    "token_f1",
    "write_predictions",
]
