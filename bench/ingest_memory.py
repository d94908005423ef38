"""Ingest's peak memory, by the size of the index it writes: a first ingest, and an update adding one small file.

    .venv/bin/python bench/ingest_memory.py                 # 1, 3 and 6 files of 8 MB
    .venv/bin/python bench/ingest_memory.py --files 1 6 --mb 8

Writes prose files (passages of ../shared's COVID-QA and SQuAD articles, recombined as in bench/scale.py), then,
each in a fresh process, ingests them into a new index with `citeqa ingest`'s own code and prints the peak
resident memory the run added over the process before it (ru_maxrss, FAISS, bm25s and SQLite already imported);
then the same for a run that adds one small file to the index just built ("update"), which shows what the index's
own size costs a run. Vectors come from bench/store.py's stand-in embedder: the memory measured is ingest's own
(add the model, about 0.7 GB, for a real run). Asserts nothing.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

MB = 1_000_000

MEASURE = """
import resource, sys, time
from pathlib import Path
sys.path.insert(0, {bench!r})
from store import make_embedder, settings
from citeqa.index import ingest
import bm25s, faiss, sqlite3
before = int(open("/proc/self/statm").read().split()[1]) * resource.getpagesize() / 2**20
began = time.perf_counter()
_, report = ingest([Path({docs!r})], Path({index!r}), settings(), make_embedder())
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{{peak - before:.0f}} {{report.chunks}} {{time.perf_counter() - began:.0f}}")
"""
ADD = "The ferry to Arrow Island sails twice a day. Its captain is Ann Lee.\n"


def write_files(folder: Path, files: int, megabytes: float) -> int:
    """`files` prose files of about `megabytes` each; the characters written."""
    sys.path.insert(0, str(Path(__file__).parent))
    from scale import passages_and_questions

    passages, _ = passages_and_questions()
    rng = np.random.default_rng(11)
    folder.mkdir(parents=True, exist_ok=True)
    written = 0
    for n in range(files):
        parts: list[str] = []
        size = 0
        while size < megabytes * MB:
            passage = passages[int(rng.integers(len(passages)))]
            parts.append(passage)
            size += len(passage) + 2
        text = "\n\n".join(parts)
        (folder / f"long{n:02d}.txt").write_text(text, encoding="utf-8")
        written += len(text)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, nargs="+", default=[1, 3, 6], help="numbers of files in a run")
    parser.add_argument("--mb", type=float, default=8, help="size of each file, in MB")
    args = parser.parse_args()
    bench = str(Path(__file__).parent)
    print(f"{'files':>6}{'text MB':>9}{'run':>8}{'chunks':>8}{'seconds':>9}{'peak MB':>9}{'KB/chunk':>10}")
    with tempfile.TemporaryDirectory() as scratch:
        for files in args.files:
            docs, index = Path(scratch) / f"docs{files}", Path(scratch) / f"index{files}"
            text = write_files(docs, files, args.mb)
            for run in ("first", "update"):
                if run == "update":
                    (docs / "added.txt").write_text(ADD, encoding="utf-8")
                script = MEASURE.format(bench=bench, docs=str(docs), index=str(index))
                done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
                peak, chunks, seconds = done.stdout.split()
                per_chunk = float(peak) * 1024 / int(chunks)
                print(
                    f"{files:>6}{text / MB:>9.1f}{run:>8}{chunks:>8}{seconds:>9}{peak:>9}{per_chunk:>10.1f}", flush=True
                )


if __name__ == "__main__":
    main()
