"""Keep a long-running process's memory from creeping: large buffers go back to the system when freed.

glibc serves an allocation of at least its mmap threshold (128 KiB) with its own mmap, unmapped on free; but each
time such a block is freed it raises the threshold to that block's size (up to 32 MiB). After the first batches
of model inference, torch's activation buffers (hundreds of kB to MBs, a different size for every batch shape)
are carved from the heap instead, and the heap, fragmented by them, is not given back. Measured on the bundled
interviews, the answerer alone answering batches of 1–8 questions: resident memory 721 → 1,059 MB over 400
batches with glibc's default, 691 → 703 MB with the threshold fixed at 128 KiB (which also stops it moving);
fixed at 4 MiB it still crept (761 → 893 MB over 300). The price: every large buffer is a fresh mapping whose
pages are faulted in again, about 10% of the answerer's throughput (10.2–11.1 → 8.4–9.2 questions/s, answer_batch
of 1–8 questions, three runs each).
"""

from __future__ import annotations

import ctypes
import sys

M_MMAP_THRESHOLD = -3  # mallopt's parameter number, from glibc's malloc.h
MMAP_THRESHOLD_BYTES = 128 * 1024  # glibc's own starting value, kept fixed


def return_large_buffers_to_the_system() -> bool:
    """Fix glibc's mmap threshold; True when it took effect (False on other C libraries, where nothing changes)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc (musl, ...)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
