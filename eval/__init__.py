"""Stage 4: question set -> predictions (the chat's own pipeline) -> scores -> metrics, calibration, report."""

from .calibrate import OperatingPoint, choose, sweep
from .metrics import best_f1, contains_answer, exact_match, normalize, token_f1
from .questions import QuestionItem, QuestionSet, QuestionSetError, load_questions, read_questions
from .run import METRICS_FILE, OUTCOMES_FILE, PREDICTIONS_FILE, EvalRun, evaluate, run_metrics, write_run
from .scoring import Outcome, score
from .summary import summarize

__all__ = [
    "METRICS_FILE",
    "OUTCOMES_FILE",
    "PREDICTIONS_FILE",
    "EvalRun",
    "OperatingPoint",
    "Outcome",
    "QuestionItem",
    "QuestionSet",
    "QuestionSetError",
    "best_f1",
    "choose",
    "contains_answer",
    "evaluate",
    "exact_match",
    "load_questions",
    "normalize",
    "read_questions",
    "run_metrics",
    "score",
    "summarize",
    "sweep",
    "token_f1",
    "write_run",
]
