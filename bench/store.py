"""Store benchmark: cold load time and resident memory of a loaded index, and an incremental ingest's time.

    .venv/bin/python bench/store.py --chunks 10000 [--out build/store]

Writes a collection of text files (passages of ../shared's COVID-QA and SQuAD articles, recombined as in
bench/scale.py, eight to a file) large enough for about `--chunks` chunks, ingests it with `citeqa ingest`'s own
code, then measures in fresh processes: `load_index` time and the growth of resident memory it causes, and an
incremental ingest that adds one file and changes another; and in a fresh process, the chat answerer's start-up on
the loaded index (`Answerer(index, ...)`, reader off: no model is loaded) and its asks on 40 of the collection's
own questions (reader off: retrieval and the sentence evidence, the part the store's size weighs on), each asked
twice (first: nothing of the index cached; again: warm). Vectors come from a stand-in embedder (a seeded random
unit vector per text, 384-d): the store's costs do not depend on what the vectors mean, and the real model would
spend hours embedding 10^5 chunks on two cores. The stand-in signs the index with the packaged model's name, so a
real `citeqa serve --index build/store/N/index` loads it (its answers are meaningless, its costs real): that is how
`python bench/serve.py --index ...` measures the server's start at 10^6 chunks. Never ingest real documents into
such an index: their vectors would be mixed with random ones. Asserts nothing.
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
# The packaged model's name and dimension on random vectors: see the module's docstring.
MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"


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


ANSWER_PROBE = """
import json, statistics, sys, time
sys.path.insert(0, sys.argv[2])
from pathlib import Path
import numpy
from store import make_embedder
from scale import passages_and_questions
from citeqa.chat import Answerer
from citeqa.chat.settings import AnswerSettings
from citeqa.index import load_index
_, questions = passages_and_questions()
picked = [questions[i] for i in numpy.random.default_rng(11).choice(len(questions), 40, replace=False)]
embedder = make_embedder()
began = time.perf_counter()
index = load_index(Path(sys.argv[1]))
loaded = time.perf_counter() - began
began = time.perf_counter()
answerer = Answerer(index, embedder, AnswerSettings.for_index(index, disabled=("reader",)))
startup = time.perf_counter() - began
def asks():
    times = []
    for q in picked:
        began = time.perf_counter()
        answerer.answer(q)
        times.append(1000 * (time.perf_counter() - began))
    return statistics.median(times)
first = asks()
again = asks()
print(json.dumps({"load_s": loaded, "answerer_start_s": startup, "ask_first_p50_ms": first, "ask_again_p50_ms": again}))
"""


def answer_probe(index: Path) -> dict[str, float]:
    bench = str(Path(__file__).parent)
    done = subprocess.run([sys.executable, "-c", ANSWER_PROBE, str(index), bench], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr)
    measured: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return measured


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
    answering = answer_probe(index)
    row = {
        "chunks": again["chunks"],
        "documents": again["documents"],
        "first_ingest_s": first.get("seconds"),
        "load_s": round(load_s, 2),
        "load_again_s": round(load_s2, 2),
        "load_rss_mb": round(grown / 2**20),
        "incremental_ingest_s": again["seconds"],
        "index_mb": disk_mb(index),
        "store_mb": round(sum(p.stat().st_size for p in index.glob("store-*")) / 2**20, 1),
        "answerer_start_s": round(answering["answerer_start_s"], 2),
        "ask_rules_first_p50_ms": round(answering["ask_first_p50_ms"], 1),
        "ask_rules_again_p50_ms": round(answering["ask_again_p50_ms"], 1),
    }
    print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
