"""The README and docs/ against the repository, so that they cannot drift from it: every relative link leads to
a file (and an #anchor to a heading of it, as GitHub spells them), every `make TARGET` names a Makefile target,
every `citeqa ...` command in code names a real subcommand with real options (read from the click group itself),
and every script or test file a command runs exists. No model is loaded: these tests take a second.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import click
import pytest

from citeqa.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
README_MAX_LINES = 200  # read in three minutes

FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*([\w+-]*)")
CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)((?:(?!\n\s*\n).)+?)(?<!`)\1(?!`)", re.DOTALL)
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+[\"'][^)]*[\"'])?\s*\)")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)
HTML_LINK = re.compile(r"<(?:a|img)\b[^>]*?\b(?:href|src)=[\"']([^\"']+)[\"']", re.IGNORECASE)
HTML_ANCHOR = re.compile(r"<a\b[^>]*?\b(?:id|name)=[\"']([^\"']+)[\"']", re.IGNORECASE)
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
PLACEHOLDER = re.compile(r"^[A-Z][A-Z0-9_.-]*$")  # FILE, DIR, N: a word in capitals stands for a value
SEPARATORS = {"|", "||", "&&", ";", "&"}
PYTHONS = {"python", "python3", "python3.11", ".venv/bin/python", "$(PY)"}


class Page:
    """A Markdown file split into its prose (code spans and fenced blocks left out), its code, and its headings."""

    def __init__(self, path: Path, text: str | None = None) -> None:
        self.path = path
        self.text = path.read_text(encoding="utf-8") if text is None else text
        prose: list[str] = []
        self.blocks: list[tuple[str, str]] = []  # (language, code) of each fenced block
        fence: str | None = None
        language = ""
        code: list[str] = []
        for line in self.text.splitlines():
            match = FENCE.match(line)
            if fence is None and match:
                fence, language, code = match.group(1), match.group(2).lower(), []
                prose.append("")
            elif fence is not None and line.strip().startswith(fence) and not line.strip().strip(fence[0]):
                self.blocks.append((language, "\n".join(code)))
                fence = None
                prose.append("")
            elif fence is not None:
                code.append(line)
                prose.append("")
            else:
                prose.append(line)
        text_outside = "\n".join(prose)
        self.outside = text_outside  # everything but the fenced blocks
        self.spans = [match.group(2).strip() for match in CODE_SPAN.finditer(text_outside)]
        self.prose = CODE_SPAN.sub(lambda match: " " * len(match.group(0)), text_outside)

    def links(self) -> list[str]:
        found = LINK.findall(self.prose) + REFERENCE.findall(self.prose) + HTML_LINK.findall(self.prose)
        return [link for link in found if link]

    def anchors(self) -> set[str]:
        """The #fragments GitHub gives this page: a slug per heading (-1, -2 ... for repeats), and HTML ids."""
        anchors: set[str] = set(HTML_ANCHOR.findall(self.prose))
        seen: dict[str, int] = {}
        for line in self.outside.splitlines():
            match = HEADING.match(line)
            if match:
                slug = github_slug(match.group(2))
                count = seen.get(slug, 0)
                seen[slug] = count + 1
                anchors.add(slug if count == 0 else f"{slug}-{count}")
        return anchors

    def commands(self) -> Iterator[list[str]]:
        """Each command line in the page's code: fenced blocks (comments dropped, continued lines joined) and
        code spans, split into words and at pipes and `&&`."""
        lines: list[str] = []
        for language, code in self.blocks:
            if language in ("json", "jsonl", "html", "css", "js", "javascript", "nginx", "python", "toml", "yaml"):
                continue
            lines += re.sub(r"\\\n\s*", " ", code).splitlines()
        lines += self.spans
        for line in lines:
            words = split_words(line)
            command: list[str] = []
            for word in [*words, ";"]:
                if word in SEPARATORS:
                    if command:
                        yield command
                    command = []
                else:
                    command.append(word)


def github_slug(heading: str) -> str:
    """The id GitHub gives a heading: its text as shown, lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link shows its text
    parts = re.split(r"`+([^`]*)`+", text)  # odd parts are code, shown as written; HTML tags elsewhere are not shown
    text = "".join(part if i % 2 else re.sub(r"<[^>]+>", "", part).replace("*", "") for i, part in enumerate(parts))
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def split_words(line: str) -> list[str]:
    """A shell line as words, without a `$ ` prompt or a # comment; [optional] parts unwrapped."""
    line = re.sub(r"^\s*\$\s+", "", line)
    quote = ""
    for i, char in enumerate(line):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            line = line[:i]
            break
    try:
        words = shlex.split(line)
    except ValueError:  # prose in a code span, with an apostrophe
        words = line.split()
    return [word.strip("[]") for word in words if word.strip("[]")]


def is_placeholder(word: str) -> bool:
    return bool(PLACEHOLDER.match(word)) or "..." in word or "…" in word or word.startswith(("$", "<", "{"))


def makefile_targets(makefile: Path = ROOT / "Makefile") -> set[str]:
    targets: set[str] = set()
    for line in makefile.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([^\s#:=][^:=]*?)\s*::?(?!=)", line)
        if match and "$" not in match.group(1):
            targets.update(name for name in match.group(1).split() if not name.startswith("."))
    return targets


def check_make(words: list[str], targets: set[str]) -> list[str]:
    problems = []
    for word in words[1:]:
        if word.startswith("-") or ASSIGNMENT.match(word) or is_placeholder(word):
            continue
        if word not in targets:
            problems.append(f"`make {word}`: no such target in the Makefile")
    return problems


def _options(command: click.Command) -> dict[str, click.Parameter]:
    context = click.Context(command, **{**main.context_settings, **command.context_settings})  # -h as well
    return {name: param for param in command.get_params(context) for name in (*param.opts, *param.secondary_opts)}


def _default_subcommand(group: click.Group, word: str) -> str | None:
    """The subcommand a group runs for a word that is none of its own: `citeqa eval Q.jsonl` runs `eval run`."""
    context = click.Context(group, resilient_parsing=True)
    try:
        group.parse_args(context, [word])
    except click.UsageError:  # an option the group does not know, and no default to hand it to
        return None
    taken = [*getattr(context, "_protected_args", []), *context.args]  # click 8 keeps the name apart; click 9 not
    return taken[0] if taken and taken[0] in group.commands else None


def check_citeqa(words: list[str], root: click.Group = main) -> list[str]:
    """Problems with one `citeqa ...` command line: an unknown subcommand, option, or choice of an option."""
    command: click.Command = root
    path = "citeqa"
    rest = words[1:]
    while isinstance(command, click.Group):
        options = _options(command)
        while rest and rest[0].split("=")[0] in options:  # the group's own: --help, --version
            rest = rest[1:]
        if not rest:
            return []
        name = rest[0] if rest[0] in command.commands else _default_subcommand(command, rest[0])
        if name is None and is_placeholder(rest[0]):
            return []  # `citeqa ...`, `citeqa COMMAND --help`: any command
        if name is None:
            what = "option" if rest[0].startswith("-") else "command"
            return [f"`{path} {rest[0]}`: no such {what} (it has {', '.join(sorted(command.commands))})"]
        if name == rest[0]:
            rest = rest[1:]
        command, path = command.commands[name], f"{path} {name}"
    return _check_options(command, path, rest)


def _check_options(command: click.Command, path: str, words: list[str]) -> list[str]:
    options = _options(command)
    problems = []
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if word == "--":
            break
        if not word.startswith("-") or word == "-" or word[1:2].isdigit():
            continue  # an argument
        name, equals, value = word.partition("=")
        if name not in options and not name.startswith("--") and name[:2] in options:
            name, equals, value = name[:2], "=", name[2:]  # -k5
        param = options.get(name)
        if not isinstance(param, click.Option):
            problems.append(f"`{path} {name}`: no such option")
            continue
        if param.is_flag or param.count:
            continue
        if not equals:
            value = words[i] if i < len(words) else ""
            i += param.nargs
        if isinstance(param.type, click.Choice) and value and not is_placeholder(value):
            choices = {str(choice) for choice in param.type.choices}
            wrong = [choice for choice in value.split("|") if choice not in choices]
            if wrong:
                problems.append(f"`{path} {name} {wrong[0]}`: not one of {', '.join(sorted(choices))}")
    return problems


def check_files(words: list[str]) -> list[str]:
    """A script that `python` runs, or a test file that `pytest` runs, must exist (../ is outside the project)."""
    program = words[0]
    if program in PYTHONS and len(words) > 1 and words[1].endswith(".py"):
        paths = [words[1]]
    elif program.endswith("pytest"):
        paths = [word.split("::")[0] for word in words[1:] if word.startswith("tests/")]
    else:
        return []
    return [
        f"`{' '.join(words[:2])}`: {path} does not exist"
        for path in paths
        if not path.startswith(("../", "/")) and not (ROOT / path).exists()
    ]


def check_commands(page: Page, targets: set[str]) -> list[str]:
    problems = []
    for words in page.commands():
        while words and ASSIGNMENT.match(words[0]):  # CITEQA_READER=/tmp/mine citeqa eval ...
            words = words[1:]
        if not words:
            continue
        if words[0] == "make":
            problems += check_make(words, targets)
        elif words[0] == "citeqa" or words[0].endswith("/bin/citeqa"):
            problems += check_citeqa(words)
        else:
            problems += check_files(words)
    return problems


def check_links(page: Page) -> list[str]:
    problems = []
    for link in page.links():
        if SCHEME.match(link) or link.startswith("//"):
            continue  # http:, https:, mailto: ...
        target, _, anchor = unquote(link).partition("#")
        path = (page.path.parent / target).resolve() if target else page.path
        if not path.exists():
            problems.append(f"[...]({link}): {target} does not exist")
        elif anchor and path.suffix == ".md" and anchor not in Page(path).anchors():
            problems.append(f"[...]({link}): {path.name} has no heading whose anchor is #{anchor}")
    return problems


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", PAGES, ids=_name)
def test_every_relative_link_leads_to_a_file_and_its_anchor_to_a_heading(path: Path) -> None:
    problems = check_links(Page(path))
    assert not problems, f"{_name(path)}:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", PAGES, ids=_name)
def test_every_make_and_citeqa_command_exists_with_its_options(path: Path) -> None:
    problems = check_commands(Page(path), makefile_targets())
    assert not problems, f"{_name(path)}:\n" + "\n".join(problems)


def test_the_readme_reads_in_three_minutes() -> None:
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; move reference into docs/ (at most 200)"


def test_the_readme_names_the_two_commands_and_ci_runs_the_test_one() -> None:
    spans = Page(README).spans + [line for _, code in Page(README).blocks for line in code.splitlines()]
    assert any(line.startswith("make run") for line in spans) and any(line.startswith("make test") for line in spans)
    assert {"run", "test", "screenshot"} <= makefile_targets()
    assert re.search(r"^make test$", (ROOT / ".ci" / "run").read_text(encoding="utf-8"), re.MULTILINE)


# The checks themselves, on pages written to fail them: a check that finds nothing wrong anywhere proves little.


def test_a_link_to_a_missing_file_or_heading_is_found(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other page\n\n## The `--root-path` option (nginx)\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n\nSee [gone](gone.md), [there](other.md#the---root-path-option-nginx), [ok](other.md),\n"
        "[a heading](other.md#nowhere), [here](#title), [not here](#elsewhere), [web](https://example.com/x),\n"
        "`[in code](missing.md)` and\n\n```md\n[in a block](missing.md)\n```\n",
        encoding="utf-8",
    )
    problems = check_links(Page(page))
    assert len(problems) == 3, problems
    assert "gone.md does not exist" in problems[0]
    assert "#nowhere" in problems[1] and "#elsewhere" in problems[2]


def test_a_removed_option_an_unknown_command_or_target_is_found(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "```bash\n"
        "citeqa eval Q.jsonl --out runs/b -k 5 --candidates 40   # an option that is gone\n"
        "citeqa eval compare runs/a runs/b && citeqa frobnicate\n"
        "citeqa ingest ~/docs --index=IDX --no-such-flag \\\n    --engine ray --actors 2\n"
        "make run test && make deploy\n"
        "python bench/nothing.py --flag\n"
        "```\n\n"
        "Then `citeqa ask --retrieval dense|bm25|hybrid -k 3 QUESTION`, `citeqa ask --retrieval fuzzy`,\n"
        "`citeqa feedback export [--format csv] [-o FILE]`, `citeqa train --without-shared`, "
        "`CITEQA_READER=DIR citeqa eval ... --reader DIR` and `citeqa ask --jsn`.\n",
        encoding="utf-8",
    )
    problems = check_commands(Page(page), makefile_targets())
    expected = [
        "`citeqa eval run --candidates`: no such option",
        "`citeqa frobnicate`: no such command (it has ask, ",
        "`citeqa ingest --no-such-flag`: no such option",
        "`make deploy`: no such target in the Makefile",
        "`python bench/nothing.py`: bench/nothing.py does not exist",
        "`citeqa ask --retrieval fuzzy`: not one of ",
        "`citeqa ask --jsn`: no such option",
    ]
    assert len(problems) == len(expected), problems
    assert all(problem.startswith(start) for problem, start in zip(problems, expected, strict=True)), problems


def test_headings_get_githubs_anchors() -> None:
    assert github_slug("Behind a reverse proxy (`--root-path`)") == "behind-a-reverse-proxy---root-path"
    assert github_slug("Ingest: precision, and where the time goes") == "ingest-precision-and-where-the-time-goes"
    assert github_slug("The widget: `<citeqa-chat>`") == "the-widget-citeqa-chat"
    page = Page(Path("x.md"), "# A\n\n## Load\n\n## Load\n")
    assert page.anchors() == {"a", "load", "load-1"}
