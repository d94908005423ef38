"""Load on `citeqa serve`: requests/s and latency p50/p95 of POST /api/ask at several concurrency levels, next to
the answerer alone in this process on the same questions, the server's cold start and its memory under load.

    python bench/serve.py                       # starts citeqa serve on a free port (default index), then stops it
    python bench/serve.py --url http://127.0.0.1:7860 --concurrency 1 8 32 --requests 96
    python bench/serve.py --soak 600            # then 10 minutes of load at concurrency 8: RSS before and after
    python bench/serve.py --soak 300 --soak-concurrency 16 32 64   # the load cycles through these levels

Questions are the bundled dev set's, cycled. Each level sends `--requests` questions with at most
`--concurrency` in flight; every answer must come back 200. The in-process figure is `Answerer.answer_batch`
over the same questions in batches of 8 (what the server's worker does when 8 wait), on the same index.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ROOT / "eval" / "questions" / "dev.jsonl"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def in_process(index: str | None, questions: list[str], requests: int, batch: int = 8) -> float:
    """Questions per second of the answerer alone, on the same index and questions."""
    from citeqa.chat import Answerer
    from citeqa.index import open_index
    from citeqa.memory import return_large_buffers_to_the_system

    return_large_buffers_to_the_system()  # as every citeqa command runs: the same allocator as the server's
    loaded, embedder = open_index(Path(index) if index else None)
    answerer = Answerer(loaded, embedder)
    answerer.answer(questions[0])  # warm
    asked = [questions[i % len(questions)] for i in range(requests)]
    started = time.perf_counter()
    for first in range(0, len(asked), batch):
        answerer.answer_batch(asked[first : first + batch])
    return requests / (time.perf_counter() - started)


@contextmanager
def served(index: str | None) -> Iterator[tuple[str, int]]:
    port = _free_port()
    command = [sys.executable, "-c", "from citeqa.cli import main; main()", "serve", "--port", str(port)]
    if index:
        command += ["--index", index]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    began = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 600
        while True:
            if process.poll() is not None:
                raise SystemExit("citeqa serve exited before it was ready")
            try:
                request = urllib.request.Request(
                    f"{url}/api/ask", data=json.dumps({"question": "When?"}).encode(), method="POST",
                    headers={"content-type": "application/json"},
                )  # fmt: skip
                with urllib.request.urlopen(request, timeout=60):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("citeqa serve did not start in 10 minutes") from None
                time.sleep(0.1)
        print(f"cold start to first answer: {time.perf_counter() - began:.1f} s")
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


async def level(url: str, questions: list[str], concurrency: int, requests: int) -> dict[str, float]:
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []

    async def one(client: httpx.AsyncClient, question: str) -> None:
        async with gate:
            started = time.perf_counter()
            response = await client.post("/api/ask", json={"question": question})
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise SystemExit(f"{response.status_code} for {question!r}: {response.text}")

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=300, limits=limits) as client:
        await one(client, questions[0])  # warm: first-call costs are not load
        latencies.clear()
        started = time.perf_counter()
        await asyncio.gather(*(one(client, questions[i % len(questions)]) for i in range(requests)))
        seconds = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "concurrency": concurrency,
        "requests": requests,
        "requests_per_s": requests / seconds,
        "p50_ms": 1000 * statistics.median(ordered),
        "p95_ms": 1000 * ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running citeqa serve (default: start one)")
    parser.add_argument("--index", help="index folder for the server this starts (default: the default index)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--requests", type=int, default=96, help="requests per concurrency level")
    parser.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    parser.add_argument("--soak", type=float, default=0, help="then this many seconds of load (RSS before, after)")
    parser.add_argument("--soak-concurrency", type=int, nargs="+", default=[8], help="levels the soak cycles through")
    args = parser.parse_args()
    questions = [json.loads(line)["question"] for line in QUESTIONS.read_text(encoding="utf-8").splitlines()]

    def run(url: str, pid: int | None = None) -> None:
        if not args.json:
            print(f"{'concurrency':>11} {'requests':>8} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8}")
        for concurrency in args.concurrency:
            row = asyncio.run(level(url, questions, concurrency, args.requests))
            if args.json:
                print(json.dumps(row))
            else:
                print(
                    f"{row['concurrency']:>11.0f} {row['requests']:>8.0f} {row['requests_per_s']:>7.2f} "
                    f"{row['p50_ms']:>8.0f} {row['p95_ms']:>8.0f}"
                )
            if concurrency == 8:
                alone = in_process(args.index, questions, args.requests)
                ratio = alone / row["requests_per_s"]
                print(f"{'':>11} answerer alone in process: {alone:.2f} questions/s; it is {ratio:.2f}x the server")
        if args.soak and pid is not None:
            before, began, sent, samples = rss_mb(pid), time.monotonic(), 0, []
            by_minute = [before]
            while time.monotonic() - began < args.soak:
                concurrency = args.soak_concurrency[(sent // 64) % len(args.soak_concurrency)]
                asyncio.run(level(url, questions, concurrency, 64))
                sent += 64
                samples.append(rss_mb(pid))
                if time.monotonic() - began >= 60 * len(by_minute):
                    by_minute.append(samples[-1])
            middle = samples[len(samples) // 2] if samples else before
            print(
                f"soak: {sent} requests in {args.soak:.0f} s at concurrency {args.soak_concurrency}; server RSS "
                f"{before:.0f} MB -> {middle:.0f} MB halfway -> {rss_mb(pid):.0f} MB"
            )
            print("soak: server RSS each minute (MB): " + " ".join(f"{mb:.0f}" for mb in by_minute))

    if args.url:
        run(args.url)
    else:
        with served(args.index) as (url, pid):
            run(url, pid)


if __name__ == "__main__":
    main()
