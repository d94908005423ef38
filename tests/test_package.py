"""The package's shape: one installed name, stages that only look down, and a core that runs without the web."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "citeqa"

# Bottom to top. A module may import its own layer and the layers below it, never one above.
LAYERS = (
    "citeqa.errors citeqa.paths citeqa.options citeqa.terminal citeqa.servers citeqa.precision",
    "citeqa.ingest",
    "citeqa.index",
    "citeqa.chat",
    "citeqa.chat.web",
)
EVAL, CLI = "citeqa.eval", "citeqa.cli"  # eval sits over the chat core; the command line over everything
WEB_LIBRARIES = ("gradio", "fastapi", "uvicorn", "starlette", "fastapi_offline")


def _module_name(path: Path) -> str:
    """citeqa.chat.web.app for chat/web/app.py (the stages are citeqa's subpackages), citeqa.cli for citeqa/cli.py."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[0] != "citeqa":
        parts.insert(0, "citeqa")
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Absolute names of the citeqa modules that `path` imports, relative imports resolved."""
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            name = ".".join([*base, node.module] if node.module else base)
            found |= {name} | {f"{name}.{alias.name}" for alias in node.names}
    return {name for name in found if name.split(".")[0] in ("citeqa", "ingest", "index", "chat", "eval")}


def _layer(module: str) -> int:
    for level, names in reversed(list(enumerate(LAYERS))):
        if any(module == name or module.startswith(name + ".") for name in names.split()):
            return level
    raise AssertionError(f"{module} is in no layer")


def _package_modules() -> list[Path]:
    folders = [ROOT / "ingest", ROOT / "index", ROOT / "chat", ROOT / "eval"]  # rglob does not follow citeqa/'s links
    return sorted([*PACKAGE.glob("*.py"), *(p for folder in folders for p in folder.rglob("*.py"))])


def test_no_stage_imports_upward_a_cli_module_or_a_bare_stage_name() -> None:
    wrong = []
    modules = _package_modules()
    assert len(modules) > 60 and ROOT / "chat" / "web" / "app.py" in modules
    for path in modules:
        module = _module_name(path)
        for imported in _imports(path):
            if imported.split(".")[0] != "citeqa":
                wrong.append(f"{module} imports {imported}: write citeqa.{imported}")
            elif module == CLI or imported == "citeqa":
                continue
            elif imported.rsplit(".", 1)[-1].endswith("cli") and not module.endswith("cli"):
                wrong.append(f"{module} imports the command-line module {imported}")
            elif module.startswith(EVAL):
                if imported.startswith("citeqa.chat.web"):
                    wrong.append(f"{module} imports the web {imported}")
            elif imported.startswith((EVAL, CLI)) or _layer(imported) > _layer(module):
                wrong.append(f"{module} imports {imported}, above it")
    assert not wrong, "\n".join(wrong)


def test_the_stage_links_lead_to_the_top_level_folders() -> None:
    for stage in ("ingest", "index", "chat", "eval", "data", "docs"):
        assert (PACKAGE / stage).resolve() == ROOT / stage


@pytest.mark.slow
def test_the_wheel_installs_exactly_one_top_level_package(tmp_path: Path) -> None:
    # Built from a copy (links kept as links), so that the build leaves nothing in the working tree.
    source = tmp_path / "source"
    litter = shutil.ignore_patterns(".git", ".venv", "build", "runs", "*.egg-info", ".*_cache", ".hypothesis")
    shutil.copytree(ROOT, source, symlinks=True, ignore=litter)
    command = [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation", "-q"]
    subprocess.run([*command, "-w", str(tmp_path)], check=True, capture_output=True, cwd=tmp_path)
    (wheel,) = tmp_path.glob("citeqa-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {name.split("/")[0] for name in names} == {"citeqa", wheel.name.split("-")[0] + "-0.1.0.dist-info"}
    # The stages, the bundled interviews, the questions and the reader's weights all travel inside citeqa/.
    for expected in ("citeqa/ingest/chunking.py", "citeqa/chat/web/app.py", "citeqa/eval/questions/dev.jsonl"):
        assert expected in names
    assert any(n.startswith("citeqa/data/interviews/") for n in names)
    assert "citeqa/chat/models/reader.safetensors" in names and "citeqa/docs/intranet-example.html" in names


BLOCK_WEB = f"""
import sys
class NoWeb:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {WEB_LIBRARIES!r}:
            raise ImportError(name + " is not installed (the serve extra)")
sys.meta_path.insert(0, NoWeb())
from citeqa.cli import main
main(sys.argv[1:], prog_name="citeqa")
"""


@pytest.mark.slow
def test_ingest_ask_and_eval_run_without_the_web_libraries(tmp_path: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "CITEQA_HOME": str(tmp_path / "home")}
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "note.txt").write_text("The pilot study enrolled 42 patients in March 2021.\n", encoding="utf-8")
    index = str(tmp_path / "index")

    def citeqa(*args: str) -> str:
        done = subprocess.run([sys.executable, "-c", BLOCK_WEB, *args], capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stderr
        return done.stdout

    citeqa("ingest", str(docs), "--index", index)
    assert "42" in citeqa("ask", "--index", index, "How many patients did the pilot study enroll?")
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        '{"id": "q1", "question": "How many patients were enrolled?", "answers": ["42"]}\n', encoding="utf-8"
    )
    citeqa("eval", str(questions), "--index", index, "--out", str(tmp_path / "run"))
    assert (tmp_path / "run" / "metrics.json").is_file()
    done = subprocess.run([sys.executable, "-c", BLOCK_WEB, "serve"], capture_output=True, text=True, env=env)
    assert done.returncode == 1 and "citeqa[serve]" in done.stderr  # says what to install, no traceback
