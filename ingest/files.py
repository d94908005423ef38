"""Find the files to ingest under the given paths: folders walked, symlinks followed only where it is safe.

Whoever can drop a file into an ingested folder must not be able to publish anything else the ingesting user can
read, nor make one file many documents. So:

- a symlink whose target resolves outside the folder being ingested is skipped with a warning naming it, unless
  `follow_outside_links` says to follow it;
- `/proc`, `/sys` and `/dev` (live kernel views: endless, and nobody's documents) are never walked or read, even
  with `follow_outside_links`, even when named directly;
- each real file (device and inode) is taken once, however many links or given paths lead to it, and each real
  folder walked once: links are followed after the real tree is walked, so a file keeps the name it has without them.
"""

from __future__ import annotations

import errno
import functools
import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .formats import SUFFIXES

SYSTEM_FOLDERS = (Path("/proc"), Path("/sys"), Path("/dev"))
FOLLOW_HINT = "--follow-outside-links follows such links"

FileKey = tuple[int, int]  # (st_dev, st_ino): what a file is, whatever path leads to it


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


@dataclass(slots=True)
class _Seen:
    """The real files and folders met so far in this run, by device and inode."""

    files: dict[FileKey, str] = field(default_factory=dict)  # -> the source it was taken as
    folders: dict[FileKey, Path] = field(default_factory=dict)  # -> the path it was walked as


def find_files(paths: list[Path], skipped: list[Skipped], follow_outside_links: bool = False) -> list[SourceFile]:
    """Every file under `paths` with a supported suffix, in a stable order, each real file once; the others
    noted in `skipped`. Hidden files and folders (a leading dot) are left out silently."""
    seen = _Seen()
    found: list[SourceFile] = []
    for path in paths:
        if path.is_dir():
            found.extend(_Walk(path, skipped, seen, follow_outside_links).run())
        else:
            found.extend(_given_file(path, skipped, seen))
    return found


def system_folder(real: Path) -> Path | None:
    """The system folder (`/proc`, `/sys`, `/dev`) that holds the resolved path `real`, if one does."""
    return next((top for top in SYSTEM_FOLDERS if real.is_relative_to(top)), None)


class _Walk:
    """One given folder: its real tree first, depth first in name order; then the links met, in the order met."""

    def __init__(self, root: Path, skipped: list[Skipped], seen: _Seen, follow_outside_links: bool) -> None:
        self.root = root
        self.real_root = _real(root)
        self.skipped = skipped
        self.seen = seen
        self.follow_outside_links = follow_outside_links
        self.links: deque[tuple[Path, frozenset[Path]]] = deque()  # (a link, the real folders above it)
        self.found: list[SourceFile] = []

    def run(self) -> list[SourceFile]:
        if self._refused_folder(self.root, self.real_root, frozenset()):
            return []
        self._folder(self.root, self.real_root, frozenset({self.real_root}))
        while self.links:
            link, ancestors = self.links.popleft()
            self._link(link, ancestors)
        return self.found

    def _folder(self, folder: Path, real: Path, ancestors: frozenset[Path]) -> None:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            self.skipped.append(Skipped(str(folder), f"folder cannot be read ({exc.strerror or exc})", "unreadable"))
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            try:
                if entry.is_symlink():
                    self.links.append((path, ancestors))
                elif entry.is_dir(follow_symlinks=False):
                    child = real / entry.name
                    if not self._refused_folder(path, child, ancestors):
                        self._folder(path, child, ancestors | {child})
                else:
                    self._file(path, functools.partial(entry.stat, follow_symlinks=False))
            except OSError as exc:  # gone or unreadable since scandir listed it
                self.skipped.append(Skipped(str(path), f"cannot be read ({exc.strerror or exc})", "unreadable"))

    def _link(self, path: Path, ancestors: frozenset[Path]) -> None:
        try:
            target = path.resolve(strict=True)
            is_dir = target.is_dir()
        except (OSError, RuntimeError) as exc:
            loop = isinstance(exc, RuntimeError) or getattr(exc, "errno", None) == errno.ELOOP
            kind, reason = ("symlink loop", "a symlink loop") if loop else ("broken link", "a broken symlink")
            self.skipped.append(Skipped(str(path), f"{reason}; not followed", kind))
            return
        system = system_folder(target)
        if system is not None:
            self.skipped.append(
                Skipped(str(path), f"a symlink into {system} ({target}); never followed", "outside link")
            )
            return
        if not self.follow_outside_links and not target.is_relative_to(self.real_root):
            reason = f"a symlink to {target}, outside {self.root}; not followed ({FOLLOW_HINT})"
            self.skipped.append(Skipped(str(path), reason, "outside link"))
            return
        if not is_dir:
            self._file(path, target.stat)
        elif target in ancestors:
            reason = f"a symlink loop (it leads back to {target}); not followed"
            self.skipped.append(Skipped(str(path), reason, "symlink loop"))
        elif not self._refused_folder(path, target, ancestors):
            self._folder(path, target, ancestors | {target})

    def _refused_folder(self, path: Path, real: Path, ancestors: frozenset[Path]) -> bool:
        """Whether the folder at `path` (really `real`) is not to be walked, noting why; else it is marked walked."""
        system = system_folder(real)
        if system is not None:
            self.skipped.append(Skipped(str(path), f"{system} is never walked", "system folder"))
            return True
        try:
            key = _key(real.stat())
        except OSError as exc:
            self.skipped.append(Skipped(str(path), f"folder cannot be read ({exc.strerror or exc})", "unreadable"))
            return True
        walked = self.seen.folders.setdefault(key, path)
        if walked != path:
            reason = f"the same folder as {walked}, already walked; its files are taken once"
            self.skipped.append(Skipped(str(path), reason, "duplicate"))
            return True
        return False

    def _file(self, path: Path, status: Callable[[], os.stat_result]) -> None:
        source = path.relative_to(self.root).as_posix()
        if _supported(path, self.skipped):  # (an unsupported file is not even looked at)
            taken = _take(path, source, _key(status()), self.seen, self.skipped)
            if taken is not None:
                self.found.append(taken)


def _given_file(path: Path, skipped: list[Skipped], seen: _Seen) -> list[SourceFile]:
    """A file named on the command line: taken as given (a link too), except from the system folders."""
    system = system_folder(_real(path))
    if system is not None:
        skipped.append(Skipped(str(path), f"a file in {system}; never read", "system folder"))
        return []
    if not _supported(path, skipped):
        return []
    try:
        key = _key(path.stat())
    except OSError:
        return [SourceFile(path, path.name)]  # a broken link or a vanished file: reading it says why
    taken = _take(path, path.name, key, seen, skipped)
    return [taken] if taken is not None else []


def _take(path: Path, source: str, key: FileKey, seen: _Seen, skipped: list[Skipped]) -> SourceFile | None:
    first = seen.files.setdefault(key, source)
    if first != source:
        skipped.append(Skipped(str(path), f"the same file as {first}, which is ingested; taken once", "duplicate"))
        return None
    return SourceFile(path, source)


def _supported(path: Path, skipped: list[Skipped]) -> bool:
    suffix = path.suffix.lower()
    if suffix in SUFFIXES:
        return True
    hint = " (save it as .docx)" if suffix == ".doc" else ""
    readable = ", ".join(SUFFIXES)
    reason = f"unsupported file type {suffix or '(none)'}{hint}; citeqa reads {readable}"
    skipped.append(Skipped(str(path), reason, "unsupported"))
    return False


def _key(status: os.stat_result) -> FileKey:
    return status.st_dev, status.st_ino


def _real(path: Path) -> Path:
    try:
        return path.resolve(strict=True)
    except (OSError, RuntimeError):
        return path.absolute()
