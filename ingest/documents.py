"""Read documents from files and folders: text exactly as stored, with a title and a stated date."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .errors import IngestError

SUPPORTED_SUFFIXES = (".txt", ".md")
MAX_FILE_BYTES = 50 * 1024 * 1024
_TITLE_CHARS = 120


@dataclass(frozen=True, slots=True)
class Document:
    """One source document. `text` is the file decoded as UTF-8, unchanged: every offset indexes it."""

    source: str  # path relative to the ingested root, with forward slashes
    text: str
    title: str
    date: str | None = None  # ISO date the document states, if it states one
    checksum: str = field(default="")

    def __post_init__(self) -> None:
        if not self.checksum:
            object.__setattr__(self, "checksum", text_checksum(self.text))


@dataclass(frozen=True, slots=True)
class Skipped:
    """A file that was not ingested, and why."""

    path: str
    reason: str


@dataclass(frozen=True, slots=True)
class LoadResult:
    documents: list[Document]
    skipped: list[Skipped]


def text_checksum(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_documents(paths: Iterable[str | os.PathLike[str]]) -> LoadResult:
    """Read every supported file under `paths` (folders are walked; files are taken as given).

    Unreadable files are skipped and reported, never fatal. Raises IngestError when a path does not exist,
    when two files would share a source name, or when nothing at all could be read.
    """
    documents: dict[str, Document] = {}
    origins: dict[str, Path] = {}
    skipped: list[Skipped] = []
    given = [Path(p) for p in paths]
    if not given:
        raise IngestError("no path given", "name at least one file or folder to ingest")
    for path in given:
        if not path.exists():
            raise IngestError(f"no such file or folder: {path}", "check the path and try again")
    for path in given:
        for file, source in _files_under(path, skipped):
            doc = _read(file, source, skipped)
            if doc is None:
                continue
            if source in documents:
                raise IngestError(
                    f"two files would share the source name {source!r}: {origins[source]} and {file}",
                    "ingest them from their common parent folder so their sources differ",
                )
            documents[source] = doc
            origins[source] = file
    if not documents:
        reasons = "; ".join(f"{s.path}: {s.reason}" for s in skipped[:5])
        raise IngestError(
            "no readable .txt or .md document found" + (f" ({reasons})" if reasons else ""),
            "point citeqa at UTF-8 .txt or .md files, or a folder that holds some",
        )
    return LoadResult(sorted(documents.values(), key=lambda d: d.source), skipped)


def _files_under(path: Path, skipped: list[Skipped]) -> Iterator[tuple[Path, str]]:
    if path.is_file():
        yield path, path.name
        return
    for folder, subfolders, names in os.walk(path):  # does not follow symlinked folders: no loops
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        for name in sorted(names):
            if name.startswith("."):
                continue
            file = Path(folder, name)
            if file.suffix.lower() not in SUPPORTED_SUFFIXES:
                skipped.append(Skipped(str(file), f"unsupported file type {file.suffix or '(none)'}"))
                continue
            yield file, file.relative_to(path).as_posix()


def _read(file: Path, source: str, skipped: list[Skipped]) -> Document | None:
    def skip(reason: str) -> None:
        skipped.append(Skipped(str(file), reason))

    if file.suffix.lower() not in SUPPORTED_SUFFIXES:
        skip(f"unsupported file type {file.suffix or '(none)'}")
        return None
    try:
        if file.stat().st_size > MAX_FILE_BYTES:
            skip(f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
            return None
        data = file.read_bytes()
    except OSError as exc:
        skip(f"cannot be read ({exc.strerror or exc})")
        return None
    if b"\x00" in data[:8192]:
        skip("binary content, not text")
        return None
    try:
        text = data.decode("utf-8")  # bytes, not read_text(): no newline translation, offsets stay exact
    except UnicodeDecodeError as exc:
        skip(f"not UTF-8 text (invalid byte at offset {exc.start}); save it as UTF-8")
        return None
    if not text.strip():
        skip("empty")
        return None
    return Document(source=source, text=text, title=find_title(text, fallback=file.stem), date=find_date(text))


_DATE_PREFIX = re.compile(r"^\s*date\s*[:=]?\s*\d{4}-\d{2}-\d{2}\s*", re.IGNORECASE)
_MONTHS = "january february march april may june july august september october november december".split()
_MONTH = r"(?P<month>" + "|".join(m.capitalize() for m in _MONTHS) + r")"
_DATE_PATTERNS = (
    re.compile(r"\b(?P<year>(?:19|20)\d\d)-(?P<mm>[01]\d)-(?P<day>[0-3]\d)\b"),
    re.compile(_MONTH + r"\s+(?P<day>[0-3]?\d),?\s+(?P<year>(?:19|20)\d\d)\b"),
    re.compile(r"\b(?P<day>[0-3]?\d)\s+" + _MONTH + r",?\s+(?P<year>(?:19|20)\d\d)\b"),
)


def find_date(text: str, within: int = 600) -> str | None:
    """The first full date stated near the top of the document, as YYYY-MM-DD."""
    head = text[:within]
    found: list[tuple[int, str]] = []
    for pattern in _DATE_PATTERNS:
        for m in pattern.finditer(head):
            groups = m.groupdict()
            month = int(groups["mm"]) if groups.get("mm") else _MONTHS.index(groups["month"].lower()) + 1
            try:
                day = dt.date(int(groups["year"]), month, int(groups["day"]))
            except ValueError:
                continue
            found.append((m.start(), day.isoformat()))
    return min(found)[1] if found else None


def find_title(text: str, fallback: str) -> str:
    """The first Markdown heading, else the first line that is more than a date, cut to a readable length."""
    lines = [line.strip() for line in text.splitlines()[:40]]
    for line in lines:
        if line.startswith("#"):
            return _shorten(line.lstrip("#").strip()) or fallback
    for line in lines:
        line = _DATE_PREFIX.sub("", line).strip()
        if line and not _is_only_date(line):
            return _shorten(line)
    return fallback


def _is_only_date(line: str) -> bool:
    return any(p.fullmatch(line.rstrip(".")) for p in _DATE_PATTERNS)


def _shorten(line: str) -> str:
    if len(line) <= _TITLE_CHARS:
        return line
    cut = line[:_TITLE_CHARS].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + "…"
