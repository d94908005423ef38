"""Which FAISS index a collection gets: exact search while that is fast enough, an inverted-file index past it.

`citeqa ingest` builds the factory its settings name; the default, "auto", is resolved here by the number of
chunks, and the manifest records both what was asked for and what was built, with the search setting that goes
with it (applied again on every load). The thresholds come from `bench/scale.py` (docs/performance.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

AUTO = "auto"
EXACT = "IDMap2,Flat"
# Measured on two cores (bench/scale.py): an exact search reads every vector, about 1.5 ms per 10^4 chunks
# (15 ms at 10^5, 157 ms at 10^6), so it stays under ~7 ms up to here; past it, IVF{4·sqrt(N)},Flat reached
# recall@10 >= 0.95 at nprobe 16 (10^4), 8 (10^5) and 8 (10^6: 0.983, p50 0.57 ms, 1.5 GB resident), where HNSW32
# stopped at 0.93 even at efSearch 512 on the million, and its graph costs 18% more memory.
EXACT_UP_TO = 50_000
LISTS_PER_ROOT = 4  # inverted lists: about 4·sqrt(chunks), a power of two
NPROBE = 16  # lists searched per query: the most any size needed for recall@10 >= 0.95


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
    lists = inverted_lists(chunks)
    return VectorIndexPlan(f"IDMap2,IVF{lists},Flat", f"nprobe={min(NPROBE, lists)}")


def inverted_lists(chunks: int) -> int:
    """About LISTS_PER_ROOT·sqrt(chunks) lists, a power of two: what the scale benchmark measured."""
    return 1 << round(math.log2(LISTS_PER_ROOT * math.sqrt(chunks)))


def apply_search(index: Any, search: str) -> None:
    """Set the search-time parameters (efSearch, nprobe) the plan chose; they are not saved in FAISS's file."""
    if search:
        import faiss

        space: Any = faiss.ParameterSpace()  # (faiss's stubs type the parameters as an int)
        space.set_index_parameters(index, search)
