"""Every candidate of every held-out question, read once per reader and kept, so that confidence models (their
features, their fit, their threshold) can be compared in seconds instead of an hour of reading.

    .venv/bin/python bench/candidates.py --work build/train [--reader DIR] [--out FILE]

Reads the calibrate and test sets `citeqa train` writes with the reader (the same code path as the fit,
eval/fit_confidence.py: `candidate_rows`), pickles each set's rows, then fits the confidence model on the
calibrate sets as `citeqa train --keep-reader` does and prints, per test set, what answering with it would
score: F1 on answerable questions, SQuAD 2.0 overall F1, and the share of answerable and unanswerable questions
abstained. These match bench/held_out.py's columns of the same name (which runs the whole pipeline).
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from held_out import held_out_sets  # noqa: E402  (bench/ is the script's own folder)


def reader_sha256(reader_dir: Path | None) -> str:
    """The weights' sha256 from their manifest: the rows kept are the reading of these weights, not of a folder."""
    from citeqa.chat.reader import MANIFEST_FILE, READER_DIR, ReaderManifest

    return ReaderManifest.read((reader_dir or READER_DIR) / MANIFEST_FILE).sha256


def read_all(work: Path, reader_dir: Path | None) -> dict[str, Any]:
    """{set name: Rows} for every calibrate and test set in `work`."""
    from citeqa.chat.reader import READER_DIR, SpanReader
    from citeqa.eval.fit_confidence import candidate_rows

    reader = SpanReader(reader_dir or READER_DIR)
    out = {}
    for split in ("calibrate", "test"):
        for name, questions, corpus in held_out_sets(work, split):
            out[name] = candidate_rows(questions, corpus, work / f"index-{name}", reader)
            print(f"read {name}: {len(out[name].questions)} questions", file=sys.stderr, flush=True)
    return out


def calibration(sets: dict[str, Any]) -> dict[str, Any]:
    return {name: rows for name, rows in sets.items() if "calibrate" in name.split("-")}


def scores(model: Any, rows: Any) -> dict[str, float | None]:
    """What answering each question with its likeliest candidate, abstaining below the threshold, scores."""
    from citeqa.eval.fit_confidence import choices

    chosen, threshold = choices(model, rows), model.threshold
    answerable = [c for c in chosen if c.answerable]
    unanswerable = [c for c in chosen if not c.answerable]

    def mean(values: list[float]) -> float | None:
        return statistics.fmean(values) if values else None

    return {
        "f1": mean([c.score(threshold) for c in answerable]),
        "overall_f1": mean([c.score(threshold) for c in chosen]),
        "answerable_abstained": mean([0.0 if c.answered(threshold) else 1.0 for c in answerable]),
        "unanswerable_abstained": mean([0.0 if c.answered(threshold) else 1.0 for c in unanswerable]),
    }


def table(sets: dict[str, Any], model: Any) -> dict[str, float]:
    """Mean of each score over the test sets (as bench/held_out.py averages them)."""
    rows = [scores(model, r) for name, r in sets.items() if "test" in name.split("-")]
    return {
        key: statistics.fmean([v for r in rows if (v := r[key]) is not None] or [0.0])
        for key in ("f1", "overall_f1", "answerable_abstained", "unanswerable_abstained")
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "train")
    parser.add_argument("--reader", type=Path, help="a reader folder (default: the shipped one)")
    parser.add_argument("--out", type=Path, help="where the rows are kept (default: WORK/candidates-SHA256.pkl)")
    parser.add_argument(
        "--write", action="store_true", help="also write the confidence model into the reader folder, as the fit does"
    )
    args = parser.parse_args()
    if args.write and not args.reader:
        parser.error("--write needs --reader: the folder whose confidence model is written")
    out = args.out or args.work / f"candidates-{reader_sha256(args.reader)[:12]}.pkl"
    if out.is_file():
        sets = pickle.loads(out.read_bytes())
    else:
        sets = read_all(args.work, args.reader)
        partial = out.with_name(f".{out.name}.tmp")  # a run killed while writing leaves no half file to load
        partial.write_bytes(pickle.dumps(sets))
        partial.replace(out)
    from citeqa.eval.fit_confidence import calibrated, fit_and_write

    if args.write:  # the fit written is the one scored below: fitted once
        model = fit_and_write(calibration(sets), args.reader, say=lambda line: print(line, file=sys.stderr))
    else:
        model = calibrated(calibration(sets))
    print("weights: " + ", ".join(f"{n} {w:+.3f}" for n, w in model.weights.items()) + f"; threshold {model.threshold}")
    print("| set | f1 | overall_f1 | answerable_abstained | unanswerable_abstained |")
    print("|---|---|---|---|---|")
    for name, rows in sets.items():
        if "test" in name.split("-"):
            row = scores(model, rows)
            print(f"| {name} | " + " | ".join("–" if v is None else f"{v:.3f}" for v in row.values()) + " |")
    print("| mean | " + " | ".join(f"{v:.3f}" for v in table(sets, model).values()) + " |")


if __name__ == "__main__":
    main()
