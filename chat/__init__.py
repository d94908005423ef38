"""Stage 3: question -> retrieve -> choose the sentence -> narrow to the answer span -> Answer with Citations."""

from .answer import Answer, Citation
from .answerer import Answerer
from .question import MAX_QUESTION_CHARS, AnswerType, QuestionError, analyze, check_question
from .settings import AnswerSettings

__all__ = [
    "MAX_QUESTION_CHARS",
    "Answer",
    "AnswerSettings",
    "AnswerType",
    "Answerer",
    "Citation",
    "QuestionError",
    "analyze",
    "check_question",
]
