"""Benchmark the core: ingest throughput next to raw model.encode on the same chunks, and warm `ask` latency.

    .venv/bin/python bench/core.py [--repeat N]

Prints numbers; asserts nothing (speed targets are measured here, not in tests).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from citeqa.chat import Answerer
from citeqa.eval import load_questions
from citeqa.index import Embedder, IndexSettings, build_index, save_index
from citeqa.ingest import load_documents
from citeqa.paths import BUNDLED_CORPUS, BUNDLED_QUESTIONS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="ingest runs to take the median of")
    args = parser.parse_args()

    embedder = Embedder()
    embedder.encode_documents(["warm up"])  # load the model outside the timings
    documents = load_documents([BUNDLED_CORPUS]).documents
    settings = IndexSettings()

    ingest_s, encode_s = [], []
    chunks = 0
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            began = time.perf_counter()
            index = build_index(load_documents([BUNDLED_CORPUS]).documents, settings, embedder)
            save_index(index, Path(tmp) / "idx")
            ingest_s.append(time.perf_counter() - began)
        texts = [c.text for c in index.chunks.values()]
        chunks = len(texts)
        began = time.perf_counter()
        embedder.encode_documents(texts)
        encode_s.append(time.perf_counter() - began)
    ingest, encode = statistics.median(ingest_s), statistics.median(encode_s)
    print(f"documents {len(documents)}, chunks {chunks}")
    print(f"ingest (read, split, chunk, embed, FAISS, save): {ingest:.3f} s = {chunks / ingest:.1f} chunks/s")
    print(f"raw model.encode on the same chunks:           {encode:.3f} s = {chunks / encode:.1f} chunks/s")
    print(f"ingest overhead over raw encode:               {100 * (ingest / encode - 1):.1f} %")

    answerer = Answerer(index, embedder)
    questions = [q.question for q in load_questions(BUNDLED_QUESTIONS)]
    answerer.answer("What do the interviews say about tourism?")  # warm, with a question not in the set
    # The first round reads every passage; later rounds find the reads remembered (chat/reader.py), as a
    # question asked again would.
    for label, rounds in (("first ask", 1), ("asked again", 2)):
        latencies = []
        for _ in range(rounds):
            for question in questions:
                began = time.perf_counter()
                answerer.answer(question)
                latencies.append((time.perf_counter() - began) * 1000)
        latencies.sort()
        p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
        median = statistics.median(latencies)
        print(f"warm ask latency, {label}, over {len(latencies)} asks: p50 {median:.1f} ms, p95 {p95:.1f} ms")


if __name__ == "__main__":
    main()
