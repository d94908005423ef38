"""Plain text: decoded exactly, UTF-8 first; other encodings detected (charset-normalizer) rather than refused."""

from __future__ import annotations

import codecs
import re

from . import Extracted, UnreadableFileError

# C0 control characters that never occur in real text (tab, newline, form feed and carriage return do).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f]")
_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


# Codecs Python decodes "text" with that are not charsets a document is written in: punycode and IDNA encode host
# names (punycode's decoder takes time growing with the square of its input: 800 KB took 29 s), the others spell
# Unicode in ASCII (UTF-7 is refused by browsers for the scripts it can hide).
_NOT_CHARSETS = frozenset({"punycode", "idna", "utf-7", "unicode-escape", "raw-unicode-escape"})


def is_charset(name: str) -> bool:
    """Whether `name` is a text encoding a document may be decoded with (linear in the bytes decoded)."""
    try:
        codec = codecs.lookup(name)
    except LookupError:
        return False
    return codec._is_text_encoding and codec.name not in _NOT_CHARSETS


_TOO_SHORT_TO_TELL = 200  # bytes: below this, the detector's guess is noise and Windows-1252 is the better bet


def read(data: bytes) -> Extracted:
    text, note = decode(data)
    if not text.strip():
        raise UnreadableFileError("empty", "empty (no text)")
    return Extracted(text, note=note)


def decode(data: bytes) -> tuple[str, str]:
    """The text of `data` unchanged (no newline translation) and a note naming the encoding when not UTF-8.

    UTF-8 (with or without a BOM, which is kept) is taken as it is. Otherwise UTF-16/32 with a BOM, then the
    encoding charset-normalizer finds, preferring Windows-1252 whenever it is a candidate (or the text is too
    short to tell): the usual legacy encoding of Western text, which the detector tends to rank below its
    Baltic and Central European cousins on short texts. Bytes that decode to control characters are binary, not text.
    """
    for bom, encoding in _WIDE_BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), f"decoded as {encoding.upper()}"
            except UnicodeDecodeError:
                break
    if b"\x00" in data[:8192]:
        raise UnreadableFileError("binary", "binary content, not text")
    try:
        return data.decode("utf-8"), ""
    except UnicodeDecodeError:
        pass
    for encoding in _candidates(data):
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        if not _CONTROL.search(text):
            return text, f"not UTF-8: decoded as {encoding}"
    raise UnreadableFileError("encoding", "not UTF-8 and no text encoding fits it; save it as UTF-8")


def _candidates(data: bytes) -> list[str]:
    from charset_normalizer import from_bytes

    found = [match.encoding for match in from_bytes(data[:200_000])]
    found = [e for e in found if not e.startswith(("utf_16", "utf_32")) and is_charset(e)]  # (UTF-16/32: a BOM)
    western = [e for e in found if e in ("cp1252", "latin_1", "iso8859_15")]
    if western or len(data) < _TOO_SHORT_TO_TELL:
        return ["cp1252"] + [e for e in found if e not in western]
    return [*found, "cp1252"]
