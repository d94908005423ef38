"""Benchmark ingest: a first ingest next to raw model.encode of the same chunks, then re-ingests.

    .venv/bin/python bench/ingest_speed.py --squad ../shared/bench/covidqa/200423_covidQA.json
    .venv/bin/python bench/ingest_speed.py --corpus DIR          # any folder of documents

With --squad, the SQuAD-format file is imported first (`citeqa eval import-squad`: one text file per article,
for COVID-QA its 98 long papers). Measured, with the model loaded beforehand so that every number is work:

- first ingest into an empty index (read, split, chunk, embed, FAISS, BM25, save);
- raw `model.encode` of exactly the chunks that ingest embedded (the floor for any ingest);
- re-ingest of the unchanged collection, in process and as a fresh `citeqa ingest` process;
- re-ingest after one document changed.

Prints numbers; asserts nothing (speed targets are measured here, not in tests).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from citeqa.index import Embedder, IndexSettings, ingest, load_index


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--squad", type=Path, help="a SQuAD-format JSON file to import as the collection")
    source.add_argument("--corpus", type=Path, help="a folder of documents")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        corpus = work / "corpus"
        if args.squad is not None:
            from citeqa.eval.squad import import_squad

            import_squad(args.squad, work / "squad")
            shutil.copytree(work / "squad" / "corpus", corpus)
        else:
            shutil.copytree(args.corpus, corpus)
        run(corpus, work / "index")


def run(corpus: Path, directory: Path) -> None:
    settings = IndexSettings()
    embedder = Embedder(settings.model)
    embedder.encode_documents(["warm up"])  # the model is loaded outside every timing
    files = [p for p in corpus.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    print(f"collection: {len(files)} files, {size / 1e6:.1f} MB, in {corpus}")

    began = time.perf_counter()
    _, first = ingest([corpus], directory, settings, embedder)
    first_s = time.perf_counter() - began
    index = load_index(directory)
    texts = [c.text for c in index.chunks.values()]
    began = time.perf_counter()
    embedder.encode_documents(texts)
    encode_s = time.perf_counter() - began
    n = len(texts)
    print(f"chunks: {n} ({settings.chunking.max_tokens} tokens max, {settings.chunking.overlap_tokens} overlap)")
    print(f"first ingest:              {first_s:8.2f} s = {n / first_s:6.1f} chunks/s")
    print(f"raw model.encode, same:    {encode_s:8.2f} s = {n / encode_s:6.1f} chunks/s")
    print(f"ingest overhead over encode: {100 * (first_s / encode_s - 1):.1f} %")

    began = time.perf_counter()
    _, again = ingest([corpus], directory, settings, embedder)
    again_s = time.perf_counter() - began
    assert not again.written and again.unchanged == first.documents
    print(f"unchanged re-ingest:       {again_s:8.3f} s  ({first_s / again_s:,.0f}x faster than the first ingest)")

    command = [
        sys.executable,
        "-c",
        "from citeqa.cli import main; main()",
        "ingest",
        str(corpus),
        "--index",
        str(directory),
    ]
    timings = []
    for _ in range(3):  # the median of three: one process start can be slow on a busy machine
        began = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        timings.append(time.perf_counter() - began)
    cli_s = sorted(timings)[1]
    print(f"unchanged, `citeqa ingest` process: {cli_s:.2f} s ({first_s / cli_s:,.0f}x faster; Python start included)")

    changed = sorted(p for p in corpus.rglob("*.txt"))[0]
    changed.write_text(changed.read_text(encoding="utf-8") + "\nOne more sentence, added for the benchmark.\n")
    began = time.perf_counter()
    _, one = ingest([corpus], directory, settings, embedder)
    one_s = time.perf_counter() - began
    print(
        f"one document changed:      {one_s:8.2f} s  ({one.embedded} chunks embedded, {one.reused} reused, "
        f"{one.unchanged} documents unchanged)"
    )


if __name__ == "__main__":
    main()
