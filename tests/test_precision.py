"""The models' precision: bf16 only where the CPU computes it, detected rather than assumed, and a reader that
answers the same in either."""

from __future__ import annotations

import pytest

from citeqa import precision
from citeqa.errors import CiteqaError


@pytest.mark.usefixtures("without_bf16")
def test_auto_is_fp32_on_a_cpu_without_bf16_and_bf16_is_refused() -> None:
    assert precision.resolve("auto") == "fp32" and precision.resolve("fp32") == "fp32"
    with pytest.raises(CiteqaError, match="does not compute bf16") as caught:
        precision.resolve("bf16")
    assert "fp32" in caught.value.hint


@pytest.mark.usefixtures("with_bf16")
def test_auto_is_bf16_where_the_cpu_computes_it() -> None:
    assert precision.resolve("auto") == "bf16" and precision.resolve("fp32") == "fp32"


def test_an_unknown_precision_names_the_choices() -> None:
    with pytest.raises(CiteqaError, match="unknown precision 'fp8'"):
        precision.resolve("fp8")


def test_detection_asks_torch_and_gives_a_bool() -> None:
    import torch

    precision.bf16_supported.cache_clear()
    assert precision.bf16_supported() is bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def test_the_reader_answers_the_same_in_bf16_where_the_cpu_has_it() -> None:
    """On a CPU with bf16 the reader's spans agree with fp32's; elsewhere there is nothing to compare."""
    if not precision.bf16_supported():
        pytest.skip("this CPU does not compute bf16 (fp32 is used, as tested above)")
    from citeqa.chat.reader import READER_DIR, SpanReader, Window

    text = "The ferry line opened in 2019. It carries 1,200 passengers a day. Tickets cost €7.50 for adults."
    window = Window("a", 0, len(text), text, (text.index("It"), text.index("Tickets")))
    questions = ["When did the ferry line open?", "How many passengers a day?", "What do tickets cost?"]
    spans = {}
    for chosen in ("fp32", "bf16"):
        reader = SpanReader(READER_DIR, chosen)
        spans[chosen] = [(r.start, r.end) for r in reader.read([(q, window) for q in questions])]
    assert spans["bf16"] == spans["fp32"]
