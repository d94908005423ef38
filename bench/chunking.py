"""Benchmark chunking on long runs with no sentence end: one giant word, words without a full stop, CSV lines.

    .venv/bin/python bench/chunking.py                 # 1, 2, 5 and 10 MB of each
    .venv/bin/python bench/chunking.py --mb 1 10

Prints seconds and MB/s per size: linear chunking keeps MB/s the same as the size grows (it used to fall with
size, as the work grew with the square of a run's length). Asserts nothing; tests/test_chunking.py checks the
work per character.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from citeqa.ingest import Chunker, ChunkSettings, Document, load_encoding

MB = 1_000_000
RUNS: dict[str, Callable[[int], str]] = {
    "one word": lambda n: "x" * n,
    "words, no sentence end": lambda n: "lorem ipsum dolor " * (n // 18),
    "CSV": lambda n: "12,34,alpha,beta\n" * (n // 17),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, nargs="+", default=[1, 2, 5, 10], help="sizes in MB")
    args = parser.parse_args()
    settings = ChunkSettings()
    chunker = Chunker(settings, load_encoding(settings.encoding))
    print(f"{'input':<24}{'MB':>6}{'chunks':>9}{'seconds':>10}{'MB/s':>8}")
    for name, make in RUNS.items():
        for size in args.mb:
            text = make(int(size * MB))
            began = time.perf_counter()
            chunks = chunker.chunk(Document("long.txt", text, "long"))
            took = time.perf_counter() - began
            megabytes = len(text) / MB
            print(f"{name:<24}{megabytes:>6.1f}{len(chunks):>9}{took:>10.1f}{megabytes / took:>8.2f}", flush=True)


if __name__ == "__main__":
    main()
