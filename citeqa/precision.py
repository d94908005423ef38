"""Which float precision the models compute in: bf16 where the CPU computes it natively, fp32 elsewhere.

Detected once, never assumed: a CPU without native bf16 would emulate it, slower than fp32. Weights stay fp32;
`torch.autocast` runs the matrix products in bf16 (about 2.8x faster on an AVX-512 BF16 CPU, answers unchanged).
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from functools import cache
from typing import Any, Literal, get_args

from citeqa.errors import CiteqaError

Precision = Literal["auto", "bf16", "fp32"]
PRECISIONS: tuple[str, ...] = get_args(Precision)


@cache
def bf16_supported() -> bool:
    """Whether this CPU computes bf16 natively (AVX-512 BF16 or AMX), as torch's oneDNN backend reports it."""
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve(precision: str) -> Literal["bf16", "fp32"]:
    """The precision in force: `auto` picks bf16 where supported; an explicit bf16 on a CPU without it is refused."""
    if precision not in PRECISIONS:
        raise CiteqaError(f"unknown precision {precision!r}", f"use one of {', '.join(PRECISIONS)}")
    if precision == "fp32" or (precision == "auto" and not bf16_supported()):
        return "fp32"
    if not bf16_supported():
        raise CiteqaError("this CPU does not compute bf16", "use --precision fp32 or auto")
    return "bf16"


def autocast(precision: Literal["bf16", "fp32"]) -> AbstractContextManager[Any]:
    """The context a forward pass runs in for `precision`."""
    if precision == "fp32":
        return nullcontext()
    import torch

    return torch.autocast("cpu", dtype=torch.bfloat16)
