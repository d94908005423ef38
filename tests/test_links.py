"""Nothing outside the collection gets in through a symlink, no link makes one file many documents, and the kernel's
own folders are never walked (issue 24)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from conftest import CliRun
from fakes import HashingEmbedder

from citeqa.index import IndexSettings, load_index
from citeqa.ingest import Skipped, load_documents
from citeqa.ingest.files import find_files

FAKE = IndexSettings(model=HashingEmbedder.MODEL_ID)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    """A dropped-into folder holding links to a secret file and to another folder, both outside it."""
    secret = write(tmp_path / "private" / "passwd.txt", "root:x:0:0:root:/root:/bin/bash\n")
    write(tmp_path / "other" / "plans.txt", "The other team's plans are secret.\n")
    folder = tmp_path / "shared"
    write(folder / "notes.txt", "The harbour opened in 1990.\n")
    os.symlink(secret, folder / "passwd.txt")
    os.symlink(tmp_path / "other", folder / "outside")
    return folder


def _by_name(skipped: list[Skipped]) -> dict[str, Skipped]:
    return {Path(s.path).name: s for s in skipped}


def test_links_out_of_the_folder_are_skipped_with_a_warning_naming_them(shared: Path) -> None:
    loaded = load_documents([shared])
    assert [d.source for d in loaded.documents] == ["notes.txt"]
    skipped = _by_name(loaded.skipped)
    assert set(skipped) == {"passwd.txt", "outside"}
    for name in ("passwd.txt", "outside"):
        assert skipped[name].kind == "outside link"
        assert "outside" in skipped[name].reason and "--follow-outside-links" in skipped[name].reason


def test_follow_outside_links_takes_them_when_asked(shared: Path) -> None:
    loaded = load_documents([shared], follow_outside_links=True)
    assert [d.source for d in loaded.documents] == ["notes.txt", "outside/plans.txt", "passwd.txt"]


def test_links_inside_the_folder_are_followed(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    write(folder / "2024" / "report.txt", "The depot opened in 1998.\n")
    os.symlink("2024", folder / "latest")  # relative, and inside
    os.symlink(folder / "2024" / "report.txt", folder / "current.txt")
    loaded = load_documents([folder])
    # One real file: taken once, under the name it has without links.
    assert [d.source for d in loaded.documents] == ["2024/report.txt"]
    assert {s.kind for s in loaded.skipped} == {"duplicate"}


@pytest.mark.parametrize("follow", [False, True])
def test_proc_sys_and_dev_are_never_walked_even_when_following_outside_links(tmp_path: Path, follow: bool) -> None:
    folder = tmp_path / "docs"
    write(folder / "notes.txt", "The harbour opened in 1990.\n")
    for name, target in (("tasks", "/proc/self/task"), ("sys", "/sys"), ("environ.txt", "/proc/self/environ")):
        if Path(target).exists():
            os.symlink(target, folder / name)
    done: list[object] = []
    walker = threading.Thread(target=lambda: done.append(load_documents([folder], follow_outside_links=follow)))
    walker.start()
    walker.join(20)
    assert done, "still walking: a kernel folder was entered"
    loaded = done[0]
    assert [d.source for d in loaded.documents] == ["notes.txt"]  # type: ignore[attr-defined]
    for skipped in loaded.skipped:  # type: ignore[attr-defined]
        assert skipped.kind == "outside link" and "never followed" in skipped.reason


def test_a_kernel_folder_or_file_named_directly_is_refused(tmp_path: Path) -> None:
    skipped: list[Skipped] = []
    assert find_files([Path("/proc/self"), Path("/proc/self/environ"), Path("/dev/null")], skipped) == []
    assert {s.kind for s in skipped} == {"system folder"} and len(skipped) == 3


def test_a_symlink_diamond_gives_each_real_file_once_walking_each_folder_once(tmp_path: Path) -> None:
    def diamond(levels: int) -> Path:
        root = tmp_path / f"diamond{levels}"
        for level in range(levels):
            (root / f"d{level}").mkdir(parents=True)
            for side in "ab":
                os.symlink(root / f"d{level + 1}", root / f"d{level}" / side)
        write(root / f"d{levels}" / "bottom.txt", "The one file at the bottom.\n")
        return root

    began = time.perf_counter()
    loaded = load_documents([diamond(16)])  # 65,536 paths lead to the file; it was 65,536 documents
    assert time.perf_counter() - began < 10
    assert len(loaded.documents) == 1 and loaded.documents[0].source.endswith("bottom.txt")
    assert sum(s.kind == "duplicate" for s in loaded.skipped) == 32  # each link, to a folder walked already, once


def test_the_same_file_given_twice_or_through_a_second_folder_is_taken_once(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    report = write(folder / "sub" / "report.txt", "The depot opened in 1998.\n")
    loaded = load_documents([folder, folder / "sub", report])
    assert [d.source for d in loaded.documents] == ["sub/report.txt"]
    assert len(loaded.skipped) == 2 and {s.kind for s in loaded.skipped} == {"duplicate"}


def test_a_hard_linked_copy_is_taken_once(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    write(folder / "a.txt", "The depot opened in 1998.\n")
    os.link(folder / "a.txt", folder / "b.txt")
    assert [d.source for d in load_documents([folder]).documents] == ["a.txt"]


def test_ingest_warns_about_each_outside_link_and_the_option_follows_them(
    shared: Path, tmp_path: Path, fake: HashingEmbedder, cli: CliRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("citeqa.index.update.Embedder", lambda model, **_: fake)
    directory = tmp_path / "idx"
    args = ("ingest", str(shared), "--index", str(directory), "--model", HashingEmbedder.MODEL_ID)
    code, out, err = cli(*args)
    assert code == 0, err
    for name in ("passwd.txt", "outside"):
        assert any(f"warning: skipped {shared / name}: a symlink to" in line for line in err.splitlines()), err
    assert "2 outside link" in out
    assert set(load_index(directory).documents) == {"notes.txt"}  # nothing of /api/documents/passwd.txt to serve
    code, _, err = cli(*args, "--follow-outside-links")
    assert code == 0, err
    assert set(load_index(directory).documents) == {"notes.txt", "outside/plans.txt", "passwd.txt"}
