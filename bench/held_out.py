"""Answer quality on the held-out question sets `citeqa train` writes (never trained or calibrated on), and the
ablation table: each part of the answerer switched off in turn, on the same sets.

    .venv/bin/python bench/held_out.py --work build/train [--reader DIR] [--ablate] [--split test]

Prints one markdown row per set: F1 on answerable questions, SQuAD 2.0 overall F1, the share of answerable
questions abstained and of unanswerable ones abstained, the expected calibration error, the read recall (the
gold answer inside the passages the reader reads) and questions per second. Indexes are built once, in
WORK/index-NAME, and reused. With --ablate, the mean over the sets for each variant.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# (name, settings overrides): every part of the answerer that an ablation can switch off, and how much is read.
VARIANTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("all on", {}),
    ("no shape", {"disabled": ("shape",)}),
    ("no whole names", {"disabled": ("names",)}),
    ("headings and questions allowed", {"disabled": ("headings",)}),
    ("no spelling correction", {"disabled": ("spelling",)}),
    ("no retrieval rank in confidence", {"disabled_features": ("passage_rank",)}),
    ("no question words stated", {"disabled_features": ("sentence_terms",)}),
    ("read 3 passages", {"read_passages": 3}),
    ("read 8 passages", {"read_passages": 8}),
)


def held_out_sets(work: Path, split: str) -> list[tuple[str, Path, Path]]:
    return [
        (d.name, d / "questions.jsonl", d / "corpus")
        for d in sorted(work.iterdir())
        if d.is_dir() and (d.name.endswith(f"-{split}") or d.name.endswith(f"-{split}-cut"))
        and (d / "questions.jsonl").is_file()
    ]  # fmt: skip


def read_recall(answerer: Any, items: list[Any], retrieved: list[Any], sources: Any) -> float | None:
    """Share of answerable questions with a known gold location whose answer lies inside a passage read."""
    held = []
    for item, passages in zip(items, retrieved, strict=True):
        if not item.answerable or item.answer_start is None or item.source is None:
            continue
        source = sources.resolve(item.source)
        lo, hi = item.answer_start, item.answer_start + len(item.answers[0])
        read = passages[: answerer.settings.read_passages]
        held.append(any(p.chunk.source == source and p.chunk.start <= lo and hi <= p.chunk.end for p in read))
    return statistics.fmean(held) if held else None


def measure(name: str, questions: Path, corpus: Path, work: Path, overrides: dict[str, Any]) -> dict[str, Any]:
    from citeqa.chat.answerer import Answerer
    from citeqa.chat.settings import AnswerSettings
    from citeqa.eval.questions import load_questions
    from citeqa.eval.reliability import reliability
    from citeqa.eval.run import Sources, evaluate
    from citeqa.eval.summary import summarize
    from citeqa.index.corpus import index_corpus
    from citeqa.index.embedder import Embedder
    from citeqa.index.manifest import IndexSettings

    index_settings = IndexSettings()
    embedder = Embedder(index_settings.model)
    index, _ = index_corpus(corpus, index_settings, embedder, work / f"index-{name}")
    items = load_questions(questions)
    settings = AnswerSettings.for_index(index, **overrides)
    began = time.perf_counter()
    run = evaluate(index, embedder, settings, items)
    seconds = time.perf_counter() - began
    metrics = summarize(run.outcomes, run.seconds).to_dict()
    answerer = Answerer(index, embedder, settings)
    recall = read_recall(answerer, items, answerer.retrieve_batch([i.question for i in items]), Sources(index))
    answerable = [o for o in run.outcomes if o.answerable]
    unanswerable = [o for o in run.outcomes if not o.answerable]
    return {
        "set": name,
        "questions": len(items),
        "f1": metrics["answers"]["f1"],
        "overall_f1": metrics["abstention"]["overall_f1"],
        "answerable_abstained": statistics.fmean([o.abstained for o in answerable]) if answerable else None,
        "unanswerable_abstained": statistics.fmean([o.abstained for o in unanswerable]) if unanswerable else None,
        "ece": reliability(run.raw_outcomes)["ece"],
        "read_recall": recall,
        "questions_per_s": len(items) / seconds,
        "threshold": run.threshold,
    }


COLUMNS = (
    "questions", "f1", "overall_f1", "answerable_abstained", "unanswerable_abstained", "ece", "read_recall",
    "questions_per_s",
)  # fmt: skip


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def mean_rows(rows: list[dict[str, Any]]) -> list[str]:
    """The mean over the sets, and the mean weighted by each set's questions (a 3-question set swings the first)."""
    lines = []
    for label, weight in (("mean", lambda r: 1), ("mean by questions", lambda r: r["questions"])):
        cells = [str(sum(r["questions"] for r in rows))]
        for column in COLUMNS[1:]:
            known = [(r[column], weight(r)) for r in rows if r[column] is not None]
            total = sum(w for _, w in known)
            cells.append(_cell(sum(v * w for v, w in known) / total if total else None))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "train")
    parser.add_argument("--reader", type=Path, help="a reader folder (default: the shipped one)")
    parser.add_argument("--split", default="test", choices=("test", "calibrate"))
    parser.add_argument("--ablate", action="store_true", help="also run every variant of VARIANTS")
    parser.add_argument("--only", nargs="*", help="set names to run (default: all)")
    parser.add_argument("--variants", nargs="*", help="with --ablate, the variants to run (default: all)")
    args = parser.parse_args()
    sets = [s for s in held_out_sets(args.work, args.split) if not args.only or s[0] in args.only]
    if not sets:
        sys.exit(f"no held-out sets in {args.work}: run `citeqa train` (or `make train`) first")
    base: dict[str, Any] = {"reader": str(args.reader)} if args.reader else {}
    print("| set | " + " | ".join(COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 1) + "|")
    rows = []
    for name, questions, corpus in sets:
        rows.append(measure(name, questions, corpus, args.work, base))
        print(f"| {name} | " + " | ".join(_cell(rows[-1][c]) for c in COLUMNS) + " |", flush=True)
    print("\n".join(mean_rows(rows)), flush=True)
    if not args.ablate:
        return
    print("\n| variant | mean f1 | mean overall f1 | answerable abstained | unanswerable abstained | read recall |")
    print("|---|---|---|---|---|---|")
    per_set: dict[str, list[float]] = {}
    for variant, overrides in VARIANTS:
        if args.variants and variant not in args.variants:
            continue
        rows = [measure(n, q, c, args.work, {**base, **overrides}) for n, q, c in sets]
        means = [
            statistics.fmean([r[key] for r in rows if r[key] is not None] or [0.0])
            for key in ("f1", "overall_f1", "answerable_abstained", "unanswerable_abstained", "read_recall")
        ]
        print(f"| {variant} | " + " | ".join(f"{m:.3f}" for m in means) + " |", flush=True)
        per_set[variant] = [r["overall_f1"] for r in rows]
    print("\nOverall F1 per set and variant:\n")
    print("| variant | " + " | ".join(name for name, _, _ in sets) + " |")
    print("|---" * (len(sets) + 1) + "|")
    for variant, scores in per_set.items():
        print(f"| {variant} | " + " | ".join(f"{v:.3f}" for v in scores) + " |")


if __name__ == "__main__":
    main()
