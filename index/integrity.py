"""A generation's files, fingerprinted when written and verified when loaded: damage is found, named and refused.

The manifest records each file's size and sha256. Loading compares sizes always (cheap), and hashes a file only
when its size and modification time differ from the last verified ones, remembered in `verified.json` beside it.
The writer remembers the files it has just hashed, so loads only stat them (hashing reads about 3 s per GB here: a
fresh generation of a million chunks would otherwise cost its first server ~10 s); a file copied or touched since
is hashed again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path
from typing import Any

from .errors import IndexDamagedError

VERIFIED_FILE = "verified.json"
_NOT_RECORDED = ("manifest.json", VERIFIED_FILE)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fingerprints(generation: Path) -> dict[str, dict[str, Any]]:
    """{relative path: {"bytes", "sha256"}} of every file of a generation but its manifest."""
    return {
        p.relative_to(generation).as_posix(): {"bytes": p.stat().st_size, "sha256": file_sha256(p)}
        for p in sorted(generation.rglob("*"))
        if p.is_file() and p.name not in _NOT_RECORDED
    }


def fingerprint_written(generation: Path) -> dict[str, dict[str, Any]]:
    """The fingerprints of a generation just written, remembered as verified: its files were hashed as they are."""
    before = _stamps(generation)
    recorded = fingerprints(generation)
    if _stamps(generation) == before:  # nothing changed while hashing (it is the writer's own folder)
        _remember(generation, {name: before[name] for name in recorded})
    return recorded


def _stamps(generation: Path) -> dict[str, list[int]]:
    stamps = {}
    for p in generation.rglob("*"):
        if p.is_file() and p.name not in _NOT_RECORDED:
            status = p.stat()
            stamps[p.relative_to(generation).as_posix()] = [status.st_size, status.st_mtime_ns]
    return stamps


def _remember(generation: Path, verified: dict[str, list[int]]) -> None:
    with contextlib.suppress(OSError):  # a read-only index is verified again next time, that is all
        (generation / VERIFIED_FILE).write_text(json.dumps(verified), encoding="utf-8")


def verify(generation: Path, recorded: dict[str, dict[str, Any]]) -> None:
    """IndexDamagedError naming the first file that is missing, resized or changed since it was written."""
    cache_path = generation / VERIFIED_FILE
    cache: dict[str, list[int]] = {}
    with contextlib.suppress(OSError, ValueError):
        cache = json.loads(cache_path.read_text(encoding="utf-8"))
    learned = False
    for name, expected in recorded.items():
        path = generation / name
        status = path.stat() if path.is_file() else None
        if status is None or status.st_size != expected["bytes"]:
            found = "missing" if status is None else f"{status.st_size:,} bytes, not {expected['bytes']:,}"
            raise _damaged(path, found)
        seen = [status.st_size, status.st_mtime_ns]
        if cache.get(name) == seen:
            continue
        if file_sha256(path) != expected["sha256"]:
            raise _damaged(path, "its contents changed since it was written")
        cache[name], learned = seen, True
    if learned:
        _remember(generation, cache)


def _damaged(path: Path, what: str) -> IndexDamagedError:
    return IndexDamagedError(f"{path} is damaged ({what})", "rebuild the index with citeqa ingest --rebuild PATH...")
