"""Find the files to ingest under the given paths: folders walked (symlinked folders too, loops refused)."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .formats import SUFFIXES


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: Path  # where the file is
    source: str  # its name relative to the ingested root, with forward slashes: the document's `source`


@dataclass(frozen=True, slots=True)
class Skipped:
    """A file that was not ingested, why (`reason`, for people) and the kind of trouble (for the summary)."""

    path: str
    reason: str
    kind: str = "unreadable"


def find_files(paths: list[Path], skipped: list[Skipped]) -> list[SourceFile]:
    """Every file under `paths` with a supported suffix, in a stable order; the others noted in `skipped`.

    Hidden files and folders (a leading dot) are left out silently. Symlinked folders are followed unless
    they lead back into a folder being walked (a loop), which is reported once and not entered.
    """
    found: list[SourceFile] = []
    for path in paths:
        if path.is_dir():
            found.extend(_walk(path, path, frozenset({_real(path)}), skipped))
        else:
            found.extend(_file(path, path.name, skipped))
    return found


def _walk(root: Path, folder: Path, ancestors: frozenset[Path], skipped: list[Skipped]) -> Iterator[SourceFile]:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        skipped.append(Skipped(str(folder), f"folder cannot be read ({exc.strerror or exc})", "unreadable"))
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        source = path.relative_to(root).as_posix()
        if entry.is_symlink():
            try:
                target = path.resolve(strict=True)
            except (OSError, RuntimeError) as exc:
                loop = isinstance(exc, RuntimeError) or getattr(exc, "errno", None) == errno.ELOOP
                kind, reason = ("symlink loop", "a symlink loop") if loop else ("broken link", "a broken symlink")
                skipped.append(Skipped(str(path), f"{reason}; not followed", kind))
                continue
            if target.is_dir():
                if target in ancestors:
                    skipped.append(
                        Skipped(str(path), f"a symlink loop (it leads back to {target}); not followed", "symlink loop")
                    )
                    continue
                yield from _walk(root, path, ancestors | {target}, skipped)
                continue
        elif entry.is_dir(follow_symlinks=False):
            yield from _walk(root, path, ancestors | {_real(path)}, skipped)
            continue
        yield from _file(path, source, skipped)


def _file(path: Path, source: str, skipped: list[Skipped]) -> Iterator[SourceFile]:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        hint = " (save it as .docx)" if suffix == ".doc" else ""
        readable = ", ".join(SUFFIXES)
        skipped.append(
            Skipped(
                str(path), f"unsupported file type {suffix or '(none)'}{hint}; citeqa reads {readable}", "unsupported"
            )
        )
        return
    yield SourceFile(path, source)


def _real(path: Path) -> Path:
    try:
        return path.resolve(strict=True)
    except (OSError, RuntimeError):
        return path.absolute()
