"""The index directory on disk, written atomically.

    DIR/CURRENT          name of the generation in use (replaced atomically, last)
    DIR/gen-<stamp>/     manifest.json, vectors.faiss, embeddings.npy, bm25/, members.json, chunks.npy
    DIR/store-<stamp>.sqlite  the documents' text, sentences and metadata, shared by generations (index.docstore)
    DIR/config.json      settings chosen for this index after it was built (e.g. a calibrated threshold)
    DIR/.lock            held while a writer works

A writer builds a new generation beside the old one, syncs it, then points CURRENT at it: a reader sees the
old index or the new one, never half of either, and a writer killed at any point leaves the old one in use.
The next writer removes what a killed one left behind, and store files no generation names. The document store
is appended to in one SQLite transaction before CURRENT is swapped; rows a killed writer added are unreferenced
garbage, deleted by the next writer. Readers that keep an index in memory can watch
`generation_id` (see `index.reload`) to load a newer one when a writer has swapped CURRENT.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from .docstore import is_store_file
from .errors import IndexBusyError, IndexDamagedError, IndexNotFoundError

CURRENT = "CURRENT"
LOCK = ".lock"
GENERATION_PREFIX = "gen-"
CONFIG = "config.json"
UNREADABLE = "(unreadable)"  # what generation_id gives for a CURRENT that cannot be read
_OWN_NAMES = (CURRENT, LOCK, CURRENT + ".tmp", CONFIG, CONFIG + ".tmp")


def current_generation(directory: Path) -> Path:
    """The folder of the generation in use; IndexNotFoundError when there is none."""
    pointer = directory / CURRENT
    if not pointer.is_file():
        hint = "build one with: citeqa ingest PATH... --index " + str(directory)
        if directory.is_dir() and any(p.name.startswith(GENERATION_PREFIX) for p in directory.iterdir()):
            raise IndexNotFoundError(f"{directory} holds no finished index (an ingest did not complete)", hint)
        raise IndexNotFoundError(f"no citeqa index at {directory}", hint)
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise IndexDamagedError(f"{pointer} cannot be read ({exc})", "rebuild it with citeqa ingest --rebuild") from exc
    generation = directory / name
    if not name.startswith(GENERATION_PREFIX) or "/" in name or not generation.is_dir():
        raise IndexDamagedError(f"{pointer} names no index generation", "rebuild it with citeqa ingest")
    return generation


def generation_id(directory: Path) -> str | None:
    """The name of the generation in use, read from CURRENT (cheap: one small file); None when there is none."""
    try:
        return (directory / CURRENT).read_text(encoding="utf-8").strip() or None
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, UnicodeDecodeError):
        return UNREADABLE  # a damaged CURRENT names no generation a loader can open: loading says why


@contextlib.contextmanager
def writing(directory: Path, lock: bool = True) -> Iterator[Path]:
    """Yield an empty folder to write a new generation into; on success it becomes the current one.

    `lock=False` when the caller already holds `locked(directory)` (an ingest holds it for its whole run).
    """
    check_writable(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with locked(directory) if lock else contextlib.nullcontext():
        remove_unused_generations(directory)
        generation = directory / f"{GENERATION_PREFIX}{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(4)}"
        generation.mkdir()
        try:
            yield generation
            for file in generation.rglob("*"):
                _fsync(file)
            _fsync(generation)
            pointer = directory / (CURRENT + ".tmp")
            pointer.write_text(generation.name + "\n", encoding="utf-8")
            _fsync(pointer)
            os.replace(pointer, directory / CURRENT)
            _fsync(directory)
        except BaseException:
            shutil.rmtree(generation, ignore_errors=True)
            raise
        remove_unused_generations(directory)


def check_writable(directory: Path) -> None:
    """Refuse to write an index into a file or into a folder that holds anything but a citeqa index."""
    if directory.exists() and not directory.is_dir():
        raise IndexNotFoundError(f"{directory} is a file, not an index folder", "choose another --index path")
    if directory.is_dir():
        strangers = [
            p.name
            for p in directory.iterdir()
            if p.name not in _OWN_NAMES and not p.name.startswith(GENERATION_PREFIX) and not is_store_file(p.name)
        ]
        if strangers:
            raise IndexNotFoundError(
                f"{directory} is not a citeqa index folder (it holds {strangers[0]!r}); refusing to write there",
                "choose an empty or new folder for --index",
            )


@contextlib.contextmanager
def locked(directory: Path) -> Iterator[None]:
    with open(directory / LOCK, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise IndexBusyError(
                f"another citeqa process is writing the index at {directory}", "wait for it to finish"
            ) from exc
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def remove_unused_generations(directory: Path) -> None:
    """Drop generations that are not current: leftovers of killed writers or replaced indexes."""
    pointer = directory / CURRENT
    try:
        current = pointer.read_text(encoding="utf-8").strip() if pointer.is_file() else None
    except (OSError, UnicodeDecodeError):
        return  # a damaged CURRENT: which generation it meant is unknown, so none is deleted (the next write fixes it)
    for path in directory.iterdir():
        if path.name.startswith(GENERATION_PREFIX) and path.name != current:
            shutil.rmtree(path, ignore_errors=True)
    store = _store_of(directory / current) if current else None
    if store is None and current and (directory / current / "members.json").exists():
        return  # the current generation names a store that cannot be read: keep them all
    for path in directory.iterdir():
        if is_store_file(path.name) and path.name.split(".sqlite")[0] != (store or "").split(".sqlite")[0]:
            path.unlink(missing_ok=True)


def _store_of(generation: Path) -> str | None:
    """The store file a generation names (None: it names none, being of format 3, or its list is unreadable)."""
    try:
        data = json.loads((generation / "members.json").read_text(encoding="utf-8"))
        return str(data["store"])
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
        return None


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` by `text` in one step: a reader sees the old file or the new one."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        _fsync(tmp)
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)  # a full disk leaves no half-written .tmp behind
        raise
    _fsync(path.parent)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
