"""Read documents from files and folders, in any supported format, with a title, a stated date and pages."""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import IngestError
from .files import Skipped, SourceFile, find_files
from .formats import SUFFIXES, UnreadableFileError, reader_for, text_budget, too_much_text

SUPPORTED_SUFFIXES = SUFFIXES
MAX_FILE_BYTES = 50 * 1024 * 1024
_TITLE_CHARS = 120


@dataclass(frozen=True, slots=True)
class Document:
    """One source document. `text` is its document_text: every offset (chunks, answers, citations) indexes it.

    For a .txt file that is the file decoded, unchanged; for other formats the text their reader extracts
    (see `ingest.formats`). `pages[i]` is where page i + 1 starts in `text` (empty when the format has none).
    """

    source: str  # path relative to the ingested root, with forward slashes
    text: str
    title: str
    date: str | None = None  # ISO date the document states, if it states one
    checksum: str = field(default="")  # sha256 of `text`
    pages: tuple[int, ...] = ()
    file_checksum: str = ""  # sha256 of the file's bytes, as read ("" when not read from a file)

    def __post_init__(self) -> None:
        if not self.checksum:
            object.__setattr__(self, "checksum", text_checksum(self.text))
        if self.pages and (self.pages[0] != 0 or list(self.pages) != sorted(self.pages)):
            raise ValueError("page starts must begin at 0 and never decrease")

    def page_at(self, offset: int) -> int | None:
        """The page (from 1) that holds the character at `offset`; None when the document has no pages."""
        if not self.pages:
            return None
        return bisect.bisect_right(self.pages, offset)


@dataclass(frozen=True, slots=True)
class LoadResult:
    documents: list[Document]
    skipped: list[Skipped]
    notes: list[Skipped] = field(default_factory=list)  # read, but a person should know how (e.g. encoding)


def text_checksum(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_documents(
    paths: Iterable[str | os.PathLike[str]], max_bytes: int = MAX_FILE_BYTES, follow_outside_links: bool = False
) -> LoadResult:
    """Read every supported file under `paths` (folders are walked; files are taken as given).

    Unreadable files are skipped and reported, never fatal, as are symlinks out of the folder walked unless
    `follow_outside_links` (see `ingest.files`). Raises IngestError when a path does not exist, when two files
    would share a source name, or when nothing at all could be read.
    """
    skipped: list[Skipped] = []
    notes: list[Skipped] = []
    documents: list[Document] = []
    for file in list_files(paths, skipped, follow_outside_links):
        try:
            data = read_bytes(file, max_bytes)
            documents.append(parse_document(file, data, notes))
        except UnreadableFileError as exc:
            skipped.append(Skipped(str(file.path), exc.reason, exc.kind))
    if not documents:
        raise nothing_readable(skipped)
    return LoadResult(sorted(documents, key=lambda d: d.source), skipped, notes)


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def list_files(
    paths: Iterable[str | os.PathLike[str]], skipped: list[Skipped], follow_outside_links: bool = False
) -> list[SourceFile]:
    """The supported files under `paths`, each real file once; IngestError for a missing path or two files with one
    source name."""
    given = [Path(p) for p in paths]
    if not given:
        raise IngestError("no path given", "name at least one file or folder to ingest")
    for path in given:
        if not path.exists() and not path.is_symlink():
            raise IngestError(f"no such file or folder: {path}", "check the path and try again")
    files = []
    for file in find_files(given, skipped, follow_outside_links):
        try:
            file.source.encode("utf-8")
        except UnicodeEncodeError:  # a name in a legacy encoding: sources, chunk ids and the store are UTF-8
            where = os.fsencode(file.path).decode("utf-8", "backslashreplace")  # printable: caf\xe9.txt
            skipped.append(Skipped(where, "its file name is not valid UTF-8; rename it", "bad name"))
            continue
        if _CONTROL.search(file.source):  # a newline or escape in a name: no citation link could open it
            where = str(file.path).encode("unicode_escape").decode("ascii")
            skipped.append(Skipped(where, "its file name holds a control character; rename it", "bad name"))
            continue
        files.append(file)
    origins: dict[str, Path] = {}
    for file in files:
        if file.source in origins:
            raise IngestError(
                f"two files would share the source name {file.source!r}: {origins[file.source]} and {file.path}",
                "ingest them from their common parent folder so their sources differ",
            )
        origins[file.source] = file.path
    return files


def nothing_readable(skipped: list[Skipped]) -> IngestError:
    reasons = "; ".join(f"{s.path}: {s.reason}" for s in skipped[:5])
    return IngestError(
        "no readable .txt or .md document (nor .html, .pdf or .docx) found" + (f" ({reasons})" if reasons else ""),
        "point citeqa at files of those types, or a folder that holds some",
    )


def read_bytes(file: SourceFile, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The file's bytes; UnreadableFileError when it is too large, cannot be read, is empty, or is not a regular
    file: a device (`/dev/zero` behind a link) never ends and a FIFO blocks the reader, so neither is opened."""
    try:
        status = file.path.stat()
        if not stat.S_ISREG(status.st_mode):
            raise UnreadableFileError("not a file", "not a regular file (a device, pipe or socket); not read")
        if status.st_size > max_bytes:
            raise _too_large(status.st_size, max_bytes)
        with file.path.open("rb") as f:
            data = f.read(max_bytes + 1)  # a file that grew since stat() is still read no further than the limit
        if len(data) > max_bytes:
            raise _too_large(len(data), max_bytes)
    except OSError as exc:
        raise UnreadableFileError("unreadable", f"cannot be read ({exc.strerror or exc})") from exc
    if not data.strip():
        raise UnreadableFileError("empty", "empty")
    return data


def _too_large(size: int, max_bytes: int) -> UnreadableFileError:
    return UnreadableFileError(
        "too large",
        f"too large: {_megabytes(size)}, over the {_megabytes(max_bytes)} limit (raise it with --max-file-mb)",
    )


def parse_document(file: SourceFile, data: bytes, notes: list[Skipped] | None = None) -> Document:
    """The document in `data` (the bytes of `file`); UnreadableFileError when its format gives no text."""
    reader = reader_for(file.path.suffix.lower())
    if reader is None:
        raise UnreadableFileError("unsupported", f"unsupported file type {file.path.suffix or '(none)'}")
    try:
        extracted = reader(data)
    except UnreadableFileError:
        raise
    except Exception as exc:  # a reader tripped on a file it should have refused: skip it, keep the run going
        detail = (str(exc).strip().splitlines() or [""])[0][:160]
        raise UnreadableFileError("unreadable", f"could not be read ({type(exc).__name__}: {detail})") from exc
    if not extracted.text.strip():
        raise UnreadableFileError("empty", "empty")
    if len(extracted.text) > text_budget(len(data)):  # text no honest file of this size holds: an expansion bomb
        raise too_much_text(len(extracted.text), len(data))
    if extracted.note and notes is not None:
        notes.append(Skipped(str(file.path), extracted.note, "note"))
    text = extracted.text
    title = _shorten(extracted.title) if extracted.title else find_title(text, fallback=file.path.stem)
    return Document(
        source=file.source,
        text=text,
        title=title,
        date=find_date(text),
        pages=extracted.pages,
        file_checksum=hashlib.sha256(data).hexdigest(),
    )


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB".replace(".0 MB", " MB")


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
