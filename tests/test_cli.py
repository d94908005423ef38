from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from citations import assert_cited_verbatim
from click.testing import CliRunner
from conftest import CliRun

from citeqa.cli import main
from citeqa.paths import BUNDLED_CORPUS

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_help_imports_no_model_or_web_library() -> None:
    probe = (
        "import sys\nimport citeqa.cli\n"
        "heavy = {'torch', 'sentence_transformers', 'faiss', 'transformers', 'gradio', 'fastapi', 'uvicorn',"
        " 'starlette'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", probe], check=True, cwd=ROOT)
    code, out, _ = run("--help")
    assert code == 0 and "ingest" in out and "ask" in out and "eval" in out


def test_ask_prints_answer_quote_and_source(index_env: Path) -> None:
    code, out, _ = run("ask", "How many Pakistani citizens visited Azerbaijan in 2024?")
    assert code == 0
    assert "Answer: 80,924" in out and "«80,924»" in out and "003_5db9bb21355ded0f.txt" in out


def test_ask_json_prints_the_contract(index_env: Path) -> None:
    code, out, _ = run("ask", "--json", "-k", "3", "In what year were diplomatic ties established?")
    data = json.loads(out)
    assert code == 0 and data["answer"] == "1992" and len(data["passages"]) == 3
    assert_cited_verbatim(data, lambda source: (BUNDLED_CORPUS / source).read_bytes().decode("utf-8"))


def test_ask_says_plainly_when_the_documents_do_not_answer(index_env: Path) -> None:
    code, out, _ = run("ask", "Who won the 2018 FIFA World Cup?")
    assert code == 0 and "The documents don't answer this" in out and "Closest passage" in out


def test_ask_reads_questions_from_stdin(index_env: Path) -> None:
    result = CliRunner().invoke(main, ["ask", "--json"], input="When did APP and AZERTAC sign?\n\n   \n")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.exit_code == 0 and [d["answer"] for d in lines] == ["July 2024"]


def test_bad_questions_exit_non_zero_with_one_message(index_env: Path) -> None:
    for question, message in (("   ", "the question is empty"), ("x" * 5000, "the limit is 1,000")):
        code, _, err = run("ask", question)
        assert code == 1 and message in err and "Traceback" not in err


def test_missing_index_is_a_clear_error(tmp_path: Path) -> None:
    code, _, err = run("ask", "What?", "--index", str(tmp_path / "nowhere"))
    assert code == 1 and "no citeqa index at" in err and "citeqa ingest" in err


@pytest.mark.slow
def test_ingest_reports_skips_and_builds_a_usable_index(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "note.txt").write_text("The launch happened in March 2021. It went well.", encoding="utf-8")
    (docs / "blob.txt").write_bytes(b"\x00\x01\x02binary")
    index = tmp_path / "idx"
    code, out, err = run("ingest", str(docs), "--index", str(index))
    assert code == 0 and "Indexed 1 document (1 chunks)" in out and "skipped 1 file" in out
    assert "blob.txt: binary content" in err
    code, out, _ = run("ask", "--json", "--index", str(index), "When did the launch happen?")
    assert code == 0 and json.loads(out)["answer"] == "March 2021"


def test_ingest_errors_leave_the_existing_index_untouched(tmp_path: Path, index_env: Path) -> None:
    before = (index_env / "CURRENT").read_text()
    (tmp_path / "empty").mkdir()
    for args, message in (
        ([str(tmp_path / "missing")], "no such file or folder"),
        ([str(tmp_path / "empty")], "no readable .txt or .md document"),
        ([str(tmp_path / "empty"), "--chunk-tokens", "4"], "chunk size 4 is out of range"),
    ):
        code, _, err = run("ingest", *args, "--index", str(index_env))
        assert code == 1 and message in err and "Traceback" not in err
    assert (index_env / "CURRENT").read_text() == before


def test_a_question_that_is_not_utf8_is_refused_with_one_message(tmp_path: Path) -> None:
    command: list[str | bytes] = [sys.executable, "-c", "from citeqa.cli import main; main()", "ask", b"What is \xff?"]
    done = subprocess.run(command, capture_output=True, env={**os.environ, "CITEQA_HOME": str(tmp_path)})
    assert done.returncode == 1 and b"not text" in done.stderr and b"Traceback" not in done.stderr


def test_control_and_bidi_characters_from_documents_are_shown_not_obeyed() -> None:
    from citeqa.terminal import printable

    hostile = "Report\x1b]0;owned\x07 \x1b]52;c;ZXZpbA==\x07 \u202etxt.exe\u202c\tok\n"
    shown = printable(hostile)
    assert "\x1b" not in shown and "\x07" not in shown and "\u202e" not in shown and "\u202c" not in shown
    assert "\\x1b]0;owned\\x07" in shown and "\\u202etxt.exe" in shown and shown.endswith("\tok\n")
    assert printable("Pakistan–Azerbaijan «80,924» ¿Cuántos?") == "Pakistan–Azerbaijan «80,924» ¿Cuántos?"


def test_docs_list_shows_a_hostile_title_escaped(tmp_path: Path, cli: CliRun) -> None:
    from fakes import HashingEmbedder

    from citeqa.index import IndexSettings, build_index, save_index
    from citeqa.ingest import Document

    document = Document("evil.txt", "Some text.", "Title\x1b]52;c;ZXZpbA==\x07 \u202egnp.exe")
    save_index(build_index([document], IndexSettings(model=HashingEmbedder.MODEL_ID), HashingEmbedder()), tmp_path)
    code, out, _ = cli("docs", "list", "--index", str(tmp_path))
    assert code == 0 and "\x1b" not in out and "\u202e" not in out and "\\x1b]52;c;ZXZpbA==\\x07" in out
