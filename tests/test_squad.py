from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from citeqa.eval.questions import QuestionSetError, load_questions
from citeqa.eval.squad import SquadImport, import_squad

COVID_QA = Path(__file__).resolve().parents[1].parent / "shared" / "bench" / "covidqa" / "200423_covidQA.json"

CAFE = "Le café — ouvert en 1920.\r\nIl ferme à minuit, et le café reste célèbre."
RESUME = "Résumé — the café opened in 1920, the café closed in 1990."


def qa(qid: Any, question: str, *answers: tuple[str, int], impossible: bool | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": qid,
        "question": question,
        "answers": [{"text": t, "answer_start": s} for t, s in answers],
    }
    if impossible is not None:
        record["is_impossible"] = impossible
    return record


def squad_v1() -> dict[str, Any]:
    first = [
        qa("q1", "When did it open?", ("1920", CAFE.index("1920"))),
        qa("q2", "What closes at midnight?", ("café", CAFE.index("café") + 1)),  # off by one
        qa("q3", "Who wrote it?", ("Victor Hugo", 3)),  # nowhere in the context: question dropped
        qa("q4", "What is famous?", ("le café", 0), ("le café", CAFE.index("le café"))),  # first answer misplaced
        qa(
            "q5",
            "When?",
            ("1920", CAFE.index("1920")),
            ("1920", CAFE.index("1920")),
            ("en 1920", CAFE.index("en 1920")),
        ),
    ]
    second = [qa("q6", "When did it close?", ("1990", RESUME.index("1990")))]
    return {
        "version": "1.1",
        "data": [
            {
                "title": "Café_Society",
                "paragraphs": [{"context": CAFE, "qas": first}, {"context": RESUME, "qas": second}],
            },
            {
                "title": "Café_Society",
                "paragraphs": [{"context": RESUME, "qas": [qa("q1", "Which café?", ("the café", 35))]}],
            },
        ],
    }


def squad_v2(version: bool = True) -> dict[str, Any]:
    impossible = qa("v2", "When did it burn down?", impossible=True)
    impossible["plausible_answers"] = [{"text": "1990", "answer_start": RESUME.index("1990")}]
    qas = [qa("v1", "When did it open?", ("1920", RESUME.index("1920")), impossible=False), impossible]
    data: dict[str, Any] = {"data": [{"title": "Résumé", "paragraphs": [{"context": RESUME, "qas": qas}]}]}
    if version:
        data["version"] = "v2.0"
    return data


def run(tmp_path: Path, data: dict[str, Any] | str) -> SquadImport:
    tmp_path.mkdir(parents=True, exist_ok=True)
    source = tmp_path / "squad.json"
    source.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return import_squad(source, tmp_path / "out")


def records(result: SquadImport) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.questions_path.read_text(encoding="utf-8").splitlines()]


def assert_verbatim(result: SquadImport) -> int:
    """Every answerable question's answers[0] sits at answer_start in its document; returns how many."""
    texts: dict[str, str] = {}
    checked = 0
    for item in load_questions(result.questions_path):
        if not item.answers:
            assert item.answer_start is None
            continue
        assert item.source is not None and item.answer_start is not None
        if item.source not in texts:
            texts[item.source] = (result.corpus_dir / item.source).read_bytes().decode("utf-8")
        text = texts[item.source]
        assert text[item.answer_start : item.answer_start + len(item.answers[0])] == item.answers[0], item.id
        checked += 1
    return checked


def test_v1_answers_are_verbatim_in_the_written_documents(tmp_path: Path) -> None:
    result = run(tmp_path, squad_v1())
    assert assert_verbatim(result) == 6
    assert (result.version, result.documents, result.questions, result.unanswerable) == ("1.1", 2, 6, 0)
    assert (result.repaired_offsets, result.dropped, result.dropped_questions) == (3, 1, 1)
    assert len(result.lines()) == 5


def test_one_document_per_article_titled_on_the_first_line(tmp_path: Path) -> None:
    result = run(tmp_path, squad_v1())
    names = sorted(p.name for p in result.corpus_dir.iterdir())
    assert names == ["0000-cafe-society.txt", "0001-cafe-society.txt"]
    first = (result.corpus_dir / names[0]).read_bytes().decode("utf-8")
    assert first == f"Café Society\n\n{CAFE}\n\n{RESUME}"  # contexts unchanged, \r\n included


def test_answers_are_deduplicated_and_repaired_to_the_nearest_copy(tmp_path: Path) -> None:
    by_id = {r["id"]: r for r in records(run(tmp_path, squad_v1()))}
    assert set(by_id) == {"q1", "q2", "q4", "q5", "q6", "q1-2"}  # q3 dropped, the second q1 renamed
    assert by_id["q5"]["answers"] == ["1920", "en 1920"]
    assert by_id["q5"]["evidence"] is None and by_id["q5"]["source"] == "0000-cafe-society.txt"
    heading = len("Café Society\n\n")
    assert by_id["q2"]["answer_start"] == heading + CAFE.index("café")
    assert by_id["q4"]["answers"] == ["le café"]  # a misplaced copy and a right one: one answer, repaired
    assert by_id["q4"]["answer_start"] == heading + CAFE.index("le café")
    # off by one from the second "the café": the nearest copy wins, not the first
    assert by_id["q1-2"]["answer_start"] == heading + RESUME.index("the café", 20)


def test_v2_impossible_questions_have_no_answers(tmp_path: Path) -> None:
    result = run(tmp_path, squad_v2())
    assert (result.version, result.questions, result.unanswerable) == ("v2.0", 2, 1)
    by_id = {r["id"]: r for r in records(result)}
    assert by_id["v2"]["answers"] == [] and by_id["v2"]["answer_start"] is None
    assert assert_verbatim(result) == 1


def test_a_question_without_text_is_skipped(tmp_path: Path) -> None:
    data = squad_v2()
    data["data"][0]["paragraphs"][0]["qas"][0]["question"] = "  "
    result = run(tmp_path, data)
    assert (result.questions, result.dropped_questions) == (1, 1)
    assert [r["id"] for r in records(result)] == ["v2"]


def test_version_is_inferred_when_the_file_does_not_say(tmp_path: Path) -> None:
    assert run(tmp_path / "v2", squad_v2(version=False)).version == "v2.0"
    data = squad_v1()
    del data["version"]
    assert run(tmp_path / "v1", data).version == "v1.1"


def test_an_article_without_a_title_is_named_after_its_first_line(tmp_path: Path) -> None:
    context = "\nA Study of Things\n\nBody with an answer."
    data = {"data": [{"paragraphs": [{"context": context, "qas": [qa(7, "What?", ("an answer", 10))]}]}]}
    result = run(tmp_path, data)
    [doc] = result.corpus_dir.iterdir()
    assert doc.name == "0000-a-study-of-things.txt"
    assert doc.read_bytes().decode("utf-8") == context  # the context carries its own title: nothing prepended
    assert records(result)[0]["id"] == "7"
    assert assert_verbatim(result) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not JSON"),
        ("[]", "expected a JSON object"),
        ('{"version": "1.1"}', "'data' is missing"),
        ('{"data": [{"title": "x"}]}', "'paragraphs' is missing"),
        ('{"data": [{"paragraphs": [{"qas": []}]}]}', "'context' is missing"),
        ('{"data": [{"paragraphs": [{"context": "c"}]}]}', "'qas' is missing"),
        (
            '{"data": [{"paragraphs": [{"context": "c", "qas": [{"id": "1", "question": "q", "answers": '
            '[{"text": "c", "answer_start": "0"}]}]}]}]}',
            "'answer_start' must be an integer",
        ),
    ],
)
def test_bad_input_is_refused_and_leaves_nothing(tmp_path: Path, content: str, message: str) -> None:
    with pytest.raises(QuestionSetError, match=message) as caught:
        run(tmp_path, content)
    assert caught.value.hint
    assert sorted(p.name for p in tmp_path.iterdir()) == ["squad.json"]


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(QuestionSetError, match="no such SQuAD file") as caught:
        import_squad(tmp_path / "absent.json", tmp_path / "out")
    assert caught.value.hint == "check the path"
    assert not (tmp_path / "out").exists()


def test_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    broken = '{"data": [{"title": "t", "paragraphs": [{"context": "lone \\ud800 surrogate", "qas": []}]}]}'
    with pytest.raises(QuestionSetError, match="cannot write"):
        run(tmp_path, broken)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["squad.json"]


def test_a_non_empty_out_dir_is_refused_and_an_empty_one_used(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    result = run(tmp_path, squad_v2())
    assert result.questions_path.is_file()
    with pytest.raises(QuestionSetError, match="not empty") as caught:
        run(tmp_path, squad_v2())
    assert "new folder" in caught.value.hint
    assert sorted(p.name for p in out.iterdir()) == ["corpus", "questions.jsonl"]


def test_covid_qa_imports_with_every_offset_verbatim(tmp_path: Path) -> None:
    if not COVID_QA.is_file():
        pytest.skip(f"COVID-QA is not at {COVID_QA}")
    result = import_squad(COVID_QA, tmp_path / "covid")
    assert (result.documents, result.questions, result.unanswerable) == (98, 1380, 0)
    assert result.repaired_offsets > 0  # about 234 answer_start values in this export are off by a character or so
    assert (result.dropped, result.dropped_questions) == (0, 0)  # every answer text is in its context
    assert assert_verbatim(result) == 1380
    first = sorted(result.corpus_dir.iterdir())[0]
    assert first.name.startswith("0000-functional-genetic-variants")
