"""The process setting that keeps `citeqa serve`'s memory steady under load (citeqa/memory.py), shown on the
allocation pattern that made it creep: large buffers of changing sizes freed between small objects that live on."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from citeqa.memory import return_large_buffers_to_the_system

_PATTERN = textwrap.dedent(
    """
    import sys
    from citeqa.memory import return_large_buffers_to_the_system
    if sys.argv[1] == "fixed":
        assert return_large_buffers_to_the_system()

    def rss_mb():
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS"):
                return int(line.split()[1]) // 1024

    released = bytearray(8 << 20)
    del released  # glibc's default: freeing this mmapped block raises its threshold to 8 MiB
    before = rss_mb()
    survivors = []
    buffers = [bytearray((1 << 20) + i * 4096) for i in range(100)]  # a batch's activations, each size new
    for _ in range(100):
        survivors.append(bytearray(2048))  # malloc'd objects that outlive the batch
    del buffers
    print(rss_mb() - before)
    """
)


def _retained_mb(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", _PATTERN, mode], capture_output=True, text=True, check=True)
    return int(done.stdout)


@pytest.mark.skipif(not return_large_buffers_to_the_system(), reason="not glibc: its allocator is not in play")
def test_freed_large_buffers_go_back_to_the_system() -> None:
    assert _retained_mb("default") > 50  # the creep: ~100 MB of freed buffers kept by the heap
    assert _retained_mb("fixed") < 10


def test_every_citeqa_command_sets_it_before_anything_loads() -> None:
    from citeqa.cli import main

    assert main.callback is not None and "return_large_buffers_to_the_system" in main.callback.__code__.co_names
