"""Scale benchmark: FAISS factories and BM25 over 10^4, 10^5 and 10^6 chunks, on one machine.

    .venv/bin/python bench/scale.py [--sizes 10000 100000 1000000] [--out build/scale]

Prints, per size and factory: build time, size on disk, resident memory after a cold load (in a fresh process),
cold load time, single-query search p50/p95 at k=20 and recall@10 against exact search, at the lightest search
setting (efSearch, nprobe) that reaches recall@10 >= 0.95; then BM25 (bm25s) build and query time and memory.
Results also go to OUT/results.json. Asserts nothing: speed targets are measured here, not in tests.

The collection: passages of four consecutive sentences from ../shared's COVID-QA papers and SQuAD articles.
Vectors: the real model embeds the first 10^4 passages (cached in OUT/sample.npy). Larger collections are made
from them: each further vector is a normalised mix of two sample vectors (0.75 / 0.25) plus a little noise, and its
text is the two passages' texts. That keeps the sample's topic clusters and near-duplicates, which is what makes
approximate search hard on real collections; uniform random vectors would not (every neighbour equally far).
Queries: the real model on 200 real questions of the same sets, which no passage contains verbatim.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from citeqa.eval.reader_sources import SOURCES
from citeqa.index.embedder import Embedder
from citeqa.index.factory import inverted_lists
from citeqa.index.lexical import LexicalIndex

SAMPLE = 10_000
K = 20
TARGET_RECALL = 0.95
SEED = 7
# The search settings tried, lightest first, until recall@10 reaches the target.
EF_SEARCH = (16, 32, 64, 128, 256, 512)
NPROBE = (1, 2, 4, 8, 16, 32, 64, 128, 256)
Row = dict[str, Any]
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def passages_and_questions() -> tuple[list[str], list[str]]:
    """Four-sentence passages of every context, and every question, in a fixed order."""
    passages: list[str] = []
    questions: list[str] = []
    for path in (s.path for s in SOURCES if s.name in ("covidqa", "squad2")):
        data = json.loads(path.read_text(encoding="utf-8"))["data"]
        for article in data:
            for paragraph in article["paragraphs"]:
                sentences = [s for s in SENTENCE_END.split(paragraph["context"]) if s.strip()]
                passages += [" ".join(sentences[i : i + 4]) for i in range(0, len(sentences), 4)]
                questions += [qa["question"] for qa in paragraph["qas"]]
    return passages, questions


def sample_vectors(out: Path, passages: list[str], questions: list[str]) -> tuple[np.ndarray, np.ndarray]:
    cache = out / "sample.npz"
    if cache.is_file():
        saved = np.load(cache)
        return saved["passages"], saved["queries"]
    embedder = Embedder()
    began = time.perf_counter()
    vectors = embedder.encode_documents(passages[:SAMPLE])
    print(f"embedded {len(vectors)} sample passages in {time.perf_counter() - began:.0f} s", flush=True)
    rng = np.random.default_rng(SEED)
    chosen = rng.choice(len(questions), size=200, replace=False)
    queries = embedder.encode_queries([questions[i] for i in chosen])
    np.savez(cache, passages=vectors, queries=queries)
    return vectors, queries


def grow(sample: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """`size` vectors: the sample, then mixes of two sample vectors; and, per vector, its two sample rows."""
    if size <= len(sample):
        return sample[:size].copy(), sources_of(len(sample), size)
    rng = np.random.default_rng(SEED)
    extra = size - len(sample)
    pairs = rng.integers(0, len(sample), size=(extra, 2))  # as sources_of draws them
    vectors = np.empty((size, sample.shape[1]), dtype=np.float32)
    vectors[: len(sample)] = sample
    for start in range(0, extra, 100_000):
        part = pairs[start : start + 100_000]
        mixed = 0.75 * sample[part[:, 0]] + 0.25 * sample[part[:, 1]]
        mixed += rng.normal(0.0, 0.02, size=mixed.shape).astype(np.float32)
        mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
        vectors[len(sample) + start : len(sample) + start + len(part)] = mixed
    rows = np.arange(len(sample))
    return vectors, np.concatenate([np.stack([rows, rows], axis=1), pairs])


def sources_of(sample: int, size: int) -> np.ndarray:
    """Per chunk of a collection of `size` grown from `sample` passages, its two sample rows (as `grow` makes them)."""
    rows = np.arange(min(size, sample))
    own = np.stack([rows, rows], axis=1)
    if size <= sample:
        return own
    return np.concatenate([own, np.random.default_rng(SEED).integers(0, sample, size=(size - sample, 2))])


def factories(size: int) -> list[str]:
    lists = inverted_lists(size)  # the rule --factory auto uses
    return ["Flat", "HNSW32", f"IVF{lists},Flat", f"IVF{lists},PQ48,RFlat"]


def set_search(index: Any, factory: str, value: int) -> None:
    import faiss

    concrete: Any = faiss.downcast_index(index)
    if factory.startswith("HNSW"):
        concrete.hnsw.efSearch = value
    elif factory.startswith("IVF"):
        inner = faiss.downcast_index(concrete.base_index) if factory.endswith("RFlat") else concrete
        faiss.extract_index_ivf(inner).nprobe = value
        if factory.endswith("RFlat"):
            concrete.k_factor = 4  # re-rank 4·k candidates with the exact vectors


def settings_for(factory: str) -> tuple[str, tuple[int, ...]]:
    if factory.startswith("HNSW"):
        return "efSearch", EF_SEARCH
    if factory.startswith("IVF"):
        return "nprobe", NPROBE
    return "", (0,)


def latencies(index: Any, queries: np.ndarray) -> list[float]:
    times = []
    for query in queries:
        began = time.perf_counter()
        index.search(query[None, :], K)
        times.append((time.perf_counter() - began) * 1000)
    return sorted(times)


def recall_at_10(found: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean([len(set(f[:10]) & set(e[:10])) / 10 for f, e in zip(found, exact, strict=True)]))


LOAD_PROBE = """
import sys, time, resource
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * resource.getpagesize()
import faiss, numpy as np
before = rss()
began = time.perf_counter()
index = faiss.read_index(sys.argv[1])
seconds = time.perf_counter() - began
print(seconds, rss() - before)
"""


def cold_load(path: Path) -> tuple[float, int]:
    """(seconds, bytes of resident memory) of reading the index in a fresh process."""
    done = subprocess.run([sys.executable, "-c", LOAD_PROBE, str(path)], capture_output=True, text=True, check=True)
    seconds, rss = done.stdout.split()
    return float(seconds), int(rss)


def measure_factory(factory: str, vectors: np.ndarray, queries: np.ndarray, exact: np.ndarray, work: Path) -> Row:
    import faiss

    began = time.perf_counter()
    index = faiss.index_factory(vectors.shape[1], factory, faiss.METRIC_INNER_PRODUCT)
    if not index.is_trained:
        index.train(vectors[np.random.default_rng(SEED).permutation(len(vectors))[: 256 * 1024]])
    index.add(vectors)
    build = time.perf_counter() - began
    path = work / "index.faiss"
    faiss.write_index(index, str(path))
    load_s, rss = cold_load(path)
    name, values = settings_for(factory)
    row: dict[str, Any] = {
        "factory": factory,
        "build_s": round(build, 1),
        "disk_mb": round(path.stat().st_size / 2**20),
    }
    row |= {"load_s": round(load_s, 2), "rss_mb": round(rss / 2**20)}
    for value in values:
        if name:
            set_search(index, factory, value)
        _, found = index.search(queries, K)
        recall = recall_at_10(found, exact)
        if recall >= TARGET_RECALL or value == values[-1]:
            times = latencies(index, queries)
            row |= {"setting": f"{name}={value}" if name else "exact", "recall@10": round(recall, 3)}
            row |= {"p50_ms": round(statistics.median(times), 2), "p95_ms": round(times[int(0.95 * len(times))], 2)}
            break
    path.unlink()
    return row


def measure_bm25(texts: list[str], questions: list[str]) -> Row:
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    began = time.perf_counter()
    lexical = LexicalIndex.build(texts, list(range(len(texts))))
    build = time.perf_counter() - began
    times = []
    for question in questions:
        began = time.perf_counter()
        lexical.search([question], K)
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "bm25_build_s": round(build, 1),
        "bm25_p50_ms": round(statistics.median(times), 2),
        "bm25_p95_ms": round(times[int(0.95 * len(times))], 2),
        "bm25_peak_growth_mb": round((peak - before) / 1024),
    }


PASSAGES_PER_DOCUMENT = 10


def collection(texts: list[str], vectors: np.ndarray) -> Any:
    """A citeqa index of `texts` (one chunk each, ten to a document) over the given vectors, built by `assemble`
    as `citeqa ingest` builds one, with the automatic factory; the chunker is bypassed so that chunk i is text i."""
    from citeqa.index import IndexSettings
    from citeqa.index.build import assemble
    from citeqa.ingest import Chunk, Document, chunk_id, split_sentences

    documents, chunks, sentences = [], [], {}
    for first in range(0, len(texts), PASSAGES_PER_DOCUMENT):
        source = f"doc{first // PASSAGES_PER_DOCUMENT:07d}.txt"
        offset = 0
        for part in texts[first : first + PASSAGES_PER_DOCUMENT]:
            chunks.append(Chunk(chunk_id(source, offset, part), source, offset, offset + len(part), part))
            offset += len(part) + 1
        text = " ".join(texts[first : first + PASSAGES_PER_DOCUMENT])
        documents.append(Document(source, text, source))
        sentences[source] = split_sentences(text)
    return assemble(documents, sentences, chunks, vectors, IndexSettings())


def measure_ask(texts: list[str], vectors: np.ndarray, questions: list[str], work: Path) -> Row:
    """End to end at this size: ingest's assemble and save, a cold load, and warm `ask` p50/p95 (the real reader)."""
    from citeqa.chat import Answerer
    from citeqa.index import Embedder, load_index, save_index

    began = time.perf_counter()
    index = collection(texts, vectors)
    save_index(index, work / "index")
    built = time.perf_counter() - began
    del index
    began = time.perf_counter()
    loaded = load_index(work / "index")
    load_s = time.perf_counter() - began
    answerer = Answerer(loaded, Embedder())
    answerer.answer(questions[0])  # warm: model and reader loaded
    times = []
    for question in questions[1:]:
        began = time.perf_counter()
        answerer.answer(question)
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    return {
        "factory": "ask " + loaded.manifest.vector_plan.factory,
        "assemble_and_save_s": round(built, 1),
        "load_index_s": round(load_s, 1),
        "ask_p50_ms": round(statistics.median(times), 1),
        "ask_p95_ms": round(times[int(0.95 * len(times))], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--out", type=Path, default=Path("build/scale"))
    parser.add_argument("--skip-bm25", action="store_true")
    parser.add_argument("--only-ask", action="store_true", help="only the end-to-end ask at each size")
    parser.add_argument("--only-bm25", action="store_true", help="only BM25 at each size (no model, no vectors)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import faiss

    print(f"faiss {faiss.__version__}, {faiss.omp_get_max_threads()} threads", flush=True)
    passages, questions = passages_and_questions()
    rng = np.random.default_rng(SEED)
    asked = [questions[i] for i in rng.choice(len(questions), size=200, replace=False)]
    results: list[Row] = []
    if args.only_bm25:
        for size in args.sizes:
            sources = sources_of(min(SAMPLE, len(passages)), size)
            texts = [passages[a] if a == b else passages[a] + " " + passages[b] for a, b in sources.tolist()]
            row = {"chunks": size, "factory": "bm25", **measure_bm25(texts, asked)}
            print(json.dumps(row), flush=True)
        return
    sample, queries = sample_vectors(args.out, passages, questions)
    for size in args.sizes:
        vectors, sources = grow(sample, size)
        exact_index = faiss.IndexFlatIP(vectors.shape[1])
        exact_index.add(vectors)
        _, exact = exact_index.search(queries, K)
        del exact_index
        print(f"\n== {size:,} chunks ({vectors.nbytes / 2**20:.0f} MB of vectors)", flush=True)
        texts = [passages[a] if a == b else passages[a] + " " + passages[b] for a, b in sources.tolist()]
        with tempfile.TemporaryDirectory(dir=args.out) as tmp:
            if args.only_ask:
                row = {"chunks": size, **measure_ask(texts, vectors, asked[:51], Path(tmp))}
                results.append(row)
                print(json.dumps(row), flush=True)
                continue
            for factory in factories(size):
                row = {"chunks": size, **measure_factory(factory, vectors, queries, exact, Path(tmp))}
                results.append(row)
                print(json.dumps(row), flush=True)
        if not args.skip_bm25 and not args.only_ask:
            row = {"chunks": size, "factory": "bm25", **measure_bm25(texts, asked)}
            results.append(row)
            print(json.dumps(row), flush=True)
        name = "ask.json" if args.only_ask else "results.json"
        (args.out / name).write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
