"""Text from documents, shown on a terminal: control and bidi characters made visible, never obeyed.

A title or quote may carry escape sequences (OSC 0 sets the window title, OSC 52 writes the clipboard) or
bidi overrides ("‮txt.exe" shows as "exe.txt"); printed raw, the document would command the terminal.
"""

from __future__ import annotations

import re

# C0 controls but tab and newline, DEL, C1 controls, and the bidi embedding/override/isolate/mark characters.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """`text` with every unsafe character written as its escape (\\x1b, \\u202e)."""
    return _UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
