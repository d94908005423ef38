"""A second draw of held-out test sets, none of whose questions any earlier draw holds: for judging, once, choices
that were made by comparing on the first draw's sets (which makes those figures slightly optimistic).

    .venv/bin/python bench/fresh_held_out.py --after build/train --out build/fresh [--seed 101]
    .venv/bin/python bench/held_out.py --work build/fresh

Draws from the same test splits (documents no reader trained on and no confidence model was fitted on) as
`citeqa train` does, with another seed, leaving out every question of the test sets in each --after; writes each set
with and without its answers cut out, as `citeqa train` writes its own.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def drawn_before(work: Path) -> set[str]:
    """Ids of the questions in every test set in `work` (a cut set asks its plain set's questions)."""
    from citeqa.eval.questions import load_questions

    return {
        item.id.removesuffix("-cut")
        for questions in work.glob("*-test*/questions.jsonl")
        for item in load_questions(questions)
    }


def main() -> None:
    from citeqa.eval.questions import load_questions
    from citeqa.eval.train_cli import shared_corpora, write_held_out

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--after",
        type=Path,
        nargs="+",
        required=True,
        help="folders of earlier draws (a `citeqa train` --work, an earlier --out): their test questions are left out",
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=101)
    parser.add_argument("--questions", type=int, default=100, help="questions drawn per source")
    args = parser.parse_args()
    before = set().union(*(drawn_before(folder) for folder in args.after))
    if not before:
        sys.exit(f"no test sets in {' '.join(map(str, args.after))}: give the --work of a finished `citeqa train`")
    questions = {"calibrate": 0, "test": args.questions}
    written = write_held_out(shared_corpora(), args.out, args.seed, questions, drawn_before=before)
    for name, path in written.items():
        print(f"{name}: {len(load_questions(path / 'questions.jsonl'))} questions, none drawn before")


if __name__ == "__main__":
    main()
