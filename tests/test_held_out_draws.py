"""Held-out question sets (eval/train_cli.py: write_held_out): whole documents drawn, each set also with its answers
cut out, and a later draw of the same splits that never repeats a question of an earlier one."""

from __future__ import annotations

from pathlib import Path

from citeqa.eval.questions import QuestionItem, load_questions
from citeqa.eval.reader_data import Corpus
from citeqa.eval.train_cli import write_held_out

DOCUMENTS, ASKED = 8, 5  # documents in the test split, questions asked of each


def toy_splits() -> dict[str, Corpus]:
    texts, items = {}, []
    for d in range(DOCUMENTS):
        paragraphs = [f"Paragraph {p} of document {d} says the answer is word{d}x{p}." for p in range(ASKED)]
        texts[f"doc{d}.txt"] = "\n\n".join(paragraphs)
        for p in range(ASKED):
            answer = f"word{d}x{p}"
            start = texts[f"doc{d}.txt"].index(answer)
            items.append(
                QuestionItem(f"q{d}-{p}", f"What is answer {p} of {d}?", (answer,), f"doc{d}.txt", None, start)
            )
    return {"calibrate": Corpus("toy", [], {}), "test": Corpus("toy", items, texts)}


def ids(folder: Path) -> set[str]:
    return {item.id for item in load_questions(folder / "questions.jsonl")}


def test_a_later_draw_never_repeats_a_question_of_an_earlier_one(tmp_path: Path) -> None:
    asked = {"calibrate": 0, "test": 10}
    first = write_held_out([toy_splits()], tmp_path / "first", seed=13, questions=asked)
    assert set(first) == {"toy-test", "toy-test-cut"}
    drawn = ids(first["toy-test"])
    assert len(drawn) == 10 and {i.removesuffix("-cut") for i in ids(first["toy-test-cut"])} <= drawn
    second = write_held_out([toy_splits()], tmp_path / "second", seed=13, questions=asked, drawn_before=drawn)
    again = ids(second["toy-test"]) | {i.removesuffix("-cut") for i in ids(second["toy-test-cut"])}
    assert len(ids(second["toy-test"])) == 10 and not again & drawn, "the same seed, yet none of the first draw"
    everything = {f"q{d}-{p}" for d in range(DOCUMENTS) for p in range(ASKED)}
    third = write_held_out([toy_splits()], tmp_path / "third", seed=7, questions=asked, drawn_before=everything)
    assert "toy-test" not in third, "nothing left to draw: no empty set is written"
