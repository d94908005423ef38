"""The reader alone, no retrieval: each held-out question read with its own paragraph (the Wikipedia, forum,
review, policy and paper test splits `citeqa train` holds out), F1 and exact match of the reader's best span per
source, and how often it says "no answer" to an unanswerable one.

    .venv/bin/python bench/reader_alone.py [--reader DIR] [--questions 400]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    from citeqa.chat.reader import READER_DIR, SpanReader
    from citeqa.eval.train_cli import GOLD_PARAGRAPHS, gold_sets
    from citeqa.eval.train_reader import paragraph_scores

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reader", type=Path, default=READER_DIR)
    parser.add_argument(
        "--questions", type=int, default=GOLD_PARAGRAPHS, help="per source (the same draw as training's)"
    )
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    reader = SpanReader(args.reader)
    print(f"reader {args.reader} (sha256 {reader.manifest.sha256[:12]}), {reader.precision}")
    for source, items in gold_sets(args.questions, args.seed).items():
        scores = paragraph_scores(reader.model, reader.tokenizer, items, reader.precision)
        print(f"{source}: {json.dumps(scores)}", flush=True)


if __name__ == "__main__":
    main()
