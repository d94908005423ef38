"""Which FAISS index a collection gets: exact search while that is fast enough, an inverted-file index past it.

`citeqa ingest` builds the factory its settings name; the default, "auto", is resolved here by the number of
chunks, and the manifest records both what was asked for and what was built, with the search setting that goes
with it (applied again on every load). The thresholds come from `bench/scale.py` (README, "Performance").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

AUTO = "auto"
EXACT = "IDMap2,Flat"
EXACT_UP_TO = 100_000  # chunks: exact search stays within the latency budget up to here (bench/scale.py)
LISTS_PER_ROOT = 4  # inverted lists: about 4·sqrt(chunks), a power of two
NPROBE = 32  # lists searched per query: recall@10 >= 0.95 on the scale benchmark's collections


@dataclass(frozen=True, slots=True)
class VectorIndexPlan:
    factory: str  # the FAISS index_factory string built
    search: str  # FAISS ParameterSpace settings applied after building and loading ("" for none)


def plan_vectors(factory: str, chunks: int) -> VectorIndexPlan:
    """What to build for `chunks` vectors: the settings' own factory, or for "auto" the measured choice."""
    if factory != AUTO:
        return VectorIndexPlan(factory, "")
    if chunks <= EXACT_UP_TO:
        return VectorIndexPlan(EXACT, "")
    lists = 1 << round(math.log2(LISTS_PER_ROOT * math.sqrt(chunks)))
    return VectorIndexPlan(f"IDMap2,IVF{lists},Flat", f"nprobe={min(NPROBE, lists)}")


def apply_search(index: Any, search: str) -> None:
    """Set the search-time parameters (efSearch, nprobe) the plan chose; they are not saved in FAISS's file."""
    if search:
        import faiss

        space: Any = faiss.ParameterSpace()  # (faiss's stubs type the parameters as an int)
        space.set_index_parameters(index, search)
