"""Store benchmark: cold load time and resident memory of a loaded index, and an incremental ingest's time.

    .venv/bin/python bench/store.py --chunks 10000 [--out build/store]

Writes a collection of text files (passages of ../shared's COVID-QA and SQuAD articles, recombined as in
bench/scale.py, eight to a file) large enough for about `--chunks` chunks, ingests it with `citeqa ingest`'s own
code, then measures in fresh processes: `load_index` time and the growth of resident memory it causes, and an
incremental ingest that adds one file and changes another. Vectors come from a stand-in embedder (a seeded random
unit vector per text, 384-d): the store's costs do not depend on what the vectors mean, and the real model would
spend hours embedding 10^5 chunks on two cores. Asserts nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

PASSAGES_PER_FILE = 8
CHUNKS_PER_FILE = 5.4  # measured: eight recombined passages cut into 256-token chunks give about this many
MODEL_ID = "citeqa-bench/random-384"


def make_embedder() -> object:
    from citeqa.index.embedder import Embedder, Vectors

    class RandomEmbedder(Embedder):
        """A unit vector per text, seeded by the text: the same text always gets the same vector."""

        def __init__(self) -> None:
            super().__init__(MODEL_ID)

        @property
        def dimension(self) -> int:
            return 384

        def fits(self, text: str) -> bool:
            return True

        def _encode(self, texts: Sequence[str]) -> Vectors:
            out = np.empty((len(texts), 384), dtype=np.float32)
            for row, text in enumerate(texts):
                seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
                vector = np.random.default_rng(seed).standard_normal(384).astype(np.float32)
                out[row] = vector / np.linalg.norm(vector)
            return out

    return RandomEmbedder()


def write_collection(folder: Path, chunks: int) -> int:
    sys.path.insert(0, str(Path(__file__).parent))
    from scale import passages_and_questions

    passages, _ = passages_and_questions()
    files = max(1, round(chunks / CHUNKS_PER_FILE))
    rng = np.random.default_rng(7)
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(files):
        picks = rng.integers(0, len(passages), size=PASSAGES_PER_FILE)
        text = "\n\n".join(passages[i] for i in picks)
        (folder / f"{n // 1000:03d}").mkdir(exist_ok=True)
        (folder / f"{n // 1000:03d}" / f"doc{n:06d}.txt").write_text(f"Document {n}\n\n{text}\n", encoding="utf-8")
    return files


def settings() -> object:
    from citeqa.index import IndexSettings

    return IndexSettings(model=MODEL_ID)


def ingest_once(docs: Path, index: Path) -> dict[str, float]:
    from citeqa.index import ingest

    began = time.perf_counter()
    _, report = ingest([docs], index, settings(), make_embedder())  # type: ignore[arg-type]
    return {"seconds": round(time.perf_counter() - began, 2), "chunks": report.chunks, "documents": report.documents}


LOAD_PROBE = """
import sys, time, resource
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * resource.getpagesize()
from pathlib import Path
import citeqa.index, faiss, numpy, bm25s, sqlite3
before = rss()
began = time.perf_counter()
index = citeqa.index.load_index(Path(sys.argv[1]))
seconds = time.perf_counter() - began
print(seconds, rss() - before)
"""


def cold_load(index: Path) -> tuple[float, int]:
    done = subprocess.run([sys.executable, "-c", LOAD_PROBE, str(index)], capture_output=True, text=True, check=True)
    seconds, grown = done.stdout.split()
    return float(seconds), int(grown)


def disk_mb(folder: Path) -> float:
    return round(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=Path("build/store"))
    args = parser.parse_args()
    work = args.out / str(args.chunks)
    docs, index = work / "docs", work / "index"
    if not docs.is_dir():
        write_collection(docs, args.chunks)
    first = ingest_once(docs, index) if not index.is_dir() else {}
    load_s, grown = cold_load(index)
    load_s2, _ = cold_load(index)  # the second load of a generation (the first verifies its files' checksums)
    added = docs / "added"
    added.mkdir(exist_ok=True)
    stamp = str(time.time())
    (added / f"new-{stamp}.txt").write_text(f"A new document written at {stamp}. It has one sentence.\n")
    (docs / "000" / "doc000000.txt").write_text(f"Document zero was rewritten at {stamp}.\n")
    again = ingest_once(docs, index)
    row = {
        "chunks": again["chunks"],
        "documents": again["documents"],
        "first_ingest_s": first.get("seconds"),
        "load_s": round(load_s, 2),
        "load_again_s": round(load_s2, 2),
        "load_rss_mb": round(grown / 2**20),
        "incremental_ingest_s": again["seconds"],
        "index_mb": disk_mb(index),
    }
    print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
