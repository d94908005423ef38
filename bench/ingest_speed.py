"""Benchmark ingest: a first ingest next to raw model.encode of the same chunks, where its time goes, then re-ingests.

    .venv/bin/python bench/ingest_speed.py --squad ../shared/bench/covidqa/200423_covidQA.json
    .venv/bin/python bench/ingest_speed.py --squad ../shared/bench/covidqa/200423_covidQA.json --papers 30
    .venv/bin/python bench/ingest_speed.py --corpus DIR          # any folder of documents

With --squad, the SQuAD-format file is imported first (`citeqa eval import-squad`: one text file per article,
for COVID-QA its 98 long papers; --papers N keeps the first N). Measured, in this order:

- raw `model.encode` of the collection's chunks, fp32, and bf16 where the CPU computes it (the floor for any
  ingest; the model loaded beforehand);
- a new user's first ingest: a fresh `citeqa ingest` process into an empty index, model load and Python start
  included, its chunks/s against the raw fp32 rate (issue 26's target: 1.3x, which takes bf16);
- a first ingest in process, the model loaded beforehand, and where its time goes (read, chunk, embed, index,
  write): what ingest adds to embedding;
- query embedding p50, one question at a time, in each precision the CPU computes;
- with --squad, dense retrieval of the questions whose answers lie in the collection (hit@1, hit@5, MRR of the
  chunk holding the answer) with fp32 and bf16 question vectors against the same index, and the cosine of each
  bf16 chunk vector with its fp32 one. On a CPU without bf16 these run bf16 emulated (numbers, not speed);
- re-ingest of the unchanged collection, in process and as a fresh `citeqa ingest` process;
- re-ingest after one document changed.

Prints numbers; asserts nothing (speed targets are measured here, not in tests).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from citeqa.index import Embedder, IndexSettings, ingest, load_index
from citeqa.index.embedder import unit_rows
from citeqa.precision import bf16_supported

QUERIES_TIMED = 50
CHUNKS_COMPARED = 64  # chunks embedded in both precisions for their cosines (emulated bf16 is slow)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--squad", type=Path, help="a SQuAD-format JSON file to import as the collection")
    source.add_argument("--corpus", type=Path, help="a folder of documents")
    parser.add_argument("--papers", type=int, default=None, help="with --squad: only the first N articles")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        corpus = work / "corpus"
        questions: list[dict[str, Any]] = []
        if args.squad is not None:
            from citeqa.eval.squad import import_squad

            imported = import_squad(args.squad, work / "squad")
            files = sorted(imported.corpus_dir.iterdir())[: args.papers]
            corpus.mkdir()
            for file in files:
                shutil.copy(file, corpus / file.name)
            kept = {f.name for f in files}
            lines = imported.questions_path.read_text(encoding="utf-8").splitlines()
            questions = [q for q in map(json.loads, lines) if q.get("source") in kept and q.get("answers")]
        else:
            shutil.copytree(args.corpus, corpus)
        run(corpus, work, questions)


def run(corpus: Path, work: Path, questions: list[dict[str, Any]]) -> None:
    settings = IndexSettings()
    files = [p for p in corpus.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    native = bf16_supported()
    print(f"collection: {len(files)} files, {size / 1e6:.1f} MB; bf16 computed natively by this CPU: {native}")
    print(f"settings: {settings.chunking.max_tokens} tokens a chunk, {settings.chunking.overlap_tokens} overlap")

    cli = [sys.executable, "-c", "from citeqa.cli import main; main()", "ingest", str(corpus)]
    began = time.perf_counter()
    done = subprocess.run([*cli, "--index", str(work / "fresh")], check=True, capture_output=True, text=True)
    fresh_s = time.perf_counter() - began
    texts = [c.text for c in load_index(work / "fresh").chunks.values()]
    n = len(texts)

    fp32 = Embedder(settings.model, precision="fp32")
    fp32.encode_documents(["warm up"])  # the model is loaded outside every timing from here on
    rates = {"fp32": n / _timed(lambda: fp32.encode_documents(texts))}
    if native:
        bf16 = Embedder(settings.model, precision="bf16")
        rates["bf16"] = n / _timed(lambda: bf16.encode_documents(texts))
    print(f"chunks: {n}")
    for precision, rate in rates.items():
        print(f"raw model.encode, {precision}:  {n / rate:8.1f} s = {rate:6.1f} chunks/s")
    if not native:
        print("raw model.encode, bf16:  not measured (this CPU would emulate bf16, slower than fp32; auto is fp32)")
    stages = next((line for line in done.stderr.splitlines() if "time by stage" in line), "")
    print(
        f"new user's `citeqa ingest` process (auto precision, Python start and model load included): {fresh_s:.1f} s "
        f"= {n / fresh_s:.1f} chunks/s = {n / fresh_s / rates['fp32']:.2f}x the raw fp32 rate"
    )
    print(f"  its {stages.removeprefix('citeqa: ')}")

    embedder = Embedder(settings.model)  # auto: what citeqa uses here
    embedder.encode_documents(["warm up"])
    began = time.perf_counter()
    _, first = ingest([corpus], work / "index", settings, embedder)
    first_s = time.perf_counter() - began
    raw_s = n / rates[embedder.precision]
    split = ", ".join(f"{stage} {seconds:.2f} s" for stage, seconds in first.stages.items())
    after = sum(s for stage, s in first.stages.items() if stage in ("index", "write"))
    print(
        f"first ingest in process ({embedder.precision}, model loaded): {first_s:8.2f} s = {n / first_s:6.1f} chunks/s"
    )
    print(f"  split: {split}; after embedding: {after:.2f} s")
    print(f"  ingest over raw {embedder.precision} encode of the same chunks: {100 * (first_s / raw_s - 1):+.1f} %")

    query_p50(questions or texts, native)
    if questions:
        agreement(load_index(work / "index"), texts, questions, fp32)

    began = time.perf_counter()
    _, again = ingest([corpus], work / "index", settings, embedder)
    again_s = time.perf_counter() - began
    assert not again.written and again.unchanged == first.documents
    print(f"unchanged re-ingest:       {again_s:8.3f} s  ({first_s / again_s:,.0f}x faster than the first ingest)")
    timings = []
    for _ in range(3):  # the median of three: one process start can be slow on a busy machine
        began = time.perf_counter()
        subprocess.run([*cli, "--index", str(work / "index")], check=True, capture_output=True)
        timings.append(time.perf_counter() - began)
    cli_s = sorted(timings)[1]
    print(f"unchanged, `citeqa ingest` process: {cli_s:.2f} s ({first_s / cli_s:,.0f}x faster; Python start included)")

    changed = sorted(p for p in corpus.rglob("*.txt"))[0]
    changed.write_text(changed.read_text(encoding="utf-8") + "\nOne more sentence, added for the benchmark.\n")
    began = time.perf_counter()
    _, one = ingest([corpus], work / "index", settings, embedder)
    one_s = time.perf_counter() - began
    print(
        f"one document changed:      {one_s:8.2f} s  ({one.embedded} chunks embedded, {one.reused} reused, "
        f"{one.unchanged} documents unchanged)"
    )


def _timed(work: Any) -> float:
    began = time.perf_counter()
    work()
    return time.perf_counter() - began


def query_p50(texts: list[Any], native: bool) -> None:
    """Embedding one question at a time, as the chat does, in each precision the CPU computes."""
    questions = [q["question"] if isinstance(q, dict) else q[:200] for q in texts[:QUERIES_TIMED]]
    for precision in ("fp32", "bf16") if native else ("fp32",):
        embedder = Embedder(precision=precision)
        embedder.encode_queries(["warm up"])
        times = []
        for question in questions:
            began = time.perf_counter()
            embedder.encode_queries([question])
            times.append(1000 * (time.perf_counter() - began))
        print(f"query embedding p50, {precision}: {statistics.median(times):.1f} ms ({len(times)} questions)")


def bf16_vectors(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """`texts` embedded under bf16 autocast, natively or (on a CPU without bf16) emulated: for their numbers."""
    import torch

    with torch.autocast("cpu", dtype=torch.bfloat16):
        vectors = embedder.model.encode(texts, batch_size=32, convert_to_numpy=True, show_progress_bar=False)
    return unit_rows(np.asarray(vectors, dtype=np.float32))


def agreement(index: Any, texts: list[str], questions: list[dict[str, Any]], fp32: Embedder) -> None:
    """Cosines of bf16 chunk vectors with fp32 ones, and dense retrieval with either question vectors."""
    how = "native" if bf16_supported() else "emulated"
    sample = texts[:: max(1, len(texts) // CHUNKS_COMPARED)][:CHUNKS_COMPARED]
    cosines = np.sum(fp32.encode_documents(sample) * bf16_vectors(fp32, sample), axis=1)
    print(f"bf16 ({how}) vs fp32 chunk vectors, {len(sample)} chunks: cosine min {cosines.min():.6f}, "
          f"mean {cosines.mean():.6f}")  # fmt: skip
    asked = [q["question"] for q in questions]
    for name, vectors in (("fp32", fp32.encode_queries(asked)), (f"bf16 {how}", bf16_vectors(fp32, asked))):
        ranks = []
        for question, hits in zip(questions, index.search(vectors, 20), strict=True):
            start, end = question["answer_start"], question["answer_start"] + len(question["answers"][0])
            holds = [
                p.chunk.source == question["source"] and p.chunk.start <= start and end <= p.chunk.end for p in hits
            ]
            ranks.append(holds.index(True) + 1 if True in holds else None)
        hit1 = np.mean([r == 1 for r in ranks])
        hit5 = np.mean([r is not None and r <= 5 for r in ranks])
        mrr = np.mean([1 / r if r else 0.0 for r in ranks])
        print(f"dense retrieval, {name} questions ({len(ranks)}): hit@1 {hit1:.3f}, hit@5 {hit5:.3f}, MRR {mrr:.3f}")


if __name__ == "__main__":
    main()
