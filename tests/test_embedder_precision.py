"""What citeqa embeds runs in bf16 where the CPU computes it and in fp32 elsewhere: resolved once, overridable from
`citeqa ingest`, `ask` and `serve`, recorded in the manifest; an fp32 index keeps its vectors under a bf16 ingest,
and (where the CPU has bf16) every bf16 vector is within cosine 0.999 of its fp32 vector on real text."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import CliRun
from fakes import HashingEmbedder
from test_incremental import FAKE, TOPICS, write_collection

from citeqa import precision
from citeqa.errors import CiteqaError
from citeqa.index import Embedder, ingest, load_index
from citeqa.index.store import current_generation
from citeqa.ingest import load_documents
from citeqa.paths import BUNDLED_CORPUS


class _Model:
    """A stand-in sentence-transformers model that records the autocast it is called under."""

    def __init__(self) -> None:
        self.casts: list[Any] = []

    def encode(self, texts: Sequence[str], **options: Any) -> np.ndarray:
        import torch

        assert options["normalize_embeddings"] is False  # citeqa normalises in float32, after the cast
        enabled = torch.is_autocast_enabled("cpu")
        self.casts.append(torch.get_autocast_dtype("cpu") if enabled else None)
        return np.full((len(texts), 4), 2.0, dtype=np.float32)


def with_model(embedder: Embedder, model: _Model) -> Embedder:
    embedder._model = model  # type: ignore[assignment]
    return embedder


@pytest.mark.usefixtures("without_bf16")
def test_without_bf16_auto_embeds_in_fp32_and_bf16_is_refused() -> None:
    import torch

    model = _Model()
    embedder = with_model(Embedder(), model)
    vectors = embedder.encode_queries(["one", "two"])
    assert embedder.precision == "fp32" and model.casts == [None]
    assert vectors.dtype == np.float32 and np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    with pytest.raises(CiteqaError, match="does not compute bf16"):
        _ = Embedder(precision="bf16").precision
    assert torch.bfloat16 not in model.casts


@pytest.mark.usefixtures("with_bf16")
def test_with_bf16_auto_and_bf16_embed_under_bf16_autocast_and_fp32_stays_fp32() -> None:
    import torch

    for asked, expected in (("auto", torch.bfloat16), ("bf16", torch.bfloat16), ("fp32", None)):
        model = _Model()
        vectors = with_model(Embedder(precision=asked), model).encode_documents(["a chunk"])
        assert model.casts == [expected], asked
        assert vectors.dtype == np.float32 and np.allclose(np.linalg.norm(vectors, axis=1), 1.0)


def test_an_unknown_precision_is_refused_when_the_embedder_is_made() -> None:
    with pytest.raises(CiteqaError, match="unknown precision 'fp16'"):
        Embedder(precision="fp16")


def manifest_of(directory: Path) -> dict[str, Any]:
    return dict(json.loads((current_generation(directory) / "manifest.json").read_text()))


@pytest.mark.usefixtures("with_bf16")
def test_a_bf16_ingest_keeps_an_fp32_indexs_vectors_and_records_both(tmp_path: Path) -> None:
    docs, directory = write_collection(tmp_path / "docs", TOPICS[:3]), tmp_path / "idx"
    ingest([docs], directory, FAKE, HashingEmbedder(precision="fp32"))
    assert manifest_of(directory)["model"]["precisions"] == ["fp32"]
    before = np.asarray(load_index(directory).embeddings).copy()
    bf16 = HashingEmbedder(precision="auto")  # bf16 here, by the fixture
    assert ingest([docs], directory, FAKE, bf16)[0] is None  # another precision alone is no reason to embed again
    (docs / "museum.txt").write_text("The museum holds 4,000 paintings.\n", encoding="utf-8")
    index, report = ingest([docs], directory, FAKE, bf16)
    assert index is not None and (report.embedded, report.reused, report.precision) == (1, 3, "bf16")
    assert index.manifest.precisions == ("bf16", "fp32") == load_index(directory).manifest.precisions
    assert np.array_equal(np.asarray(load_index(directory).embeddings)[:3], before)  # the fp32 vectors, kept
    index, _ = ingest([docs], directory, FAKE, bf16, rebuild=True)
    assert index is not None and index.manifest.precisions == ("bf16",)


def test_a_run_with_nothing_to_embed_never_asks_the_cpu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Asking imports torch (2 s of an unchanged `citeqa ingest`, which otherwise takes half a second)."""
    docs, directory = write_collection(tmp_path / "docs", TOPICS[:3]), tmp_path / "idx"
    ingest([docs], directory, FAKE, HashingEmbedder(precision="fp32"))

    def asked() -> bool:
        raise AssertionError("the CPU was asked for bf16 with nothing to embed")

    monkeypatch.setattr(precision, "bf16_supported", asked)
    assert ingest([docs], directory, FAKE, HashingEmbedder(precision="auto"))[0] is None
    (docs / "ferry.txt").unlink()
    index, report = ingest([docs], directory, FAKE, HashingEmbedder(precision="auto"), prune=True)
    assert index is not None and report.embedded == 0 and index.manifest.precisions == ("fp32",)


@pytest.mark.usefixtures("without_bf16")
def test_the_commands_refuse_bf16_on_a_cpu_without_it_before_loading_anything(
    tmp_path: Path, cli: CliRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = write_collection(tmp_path / "docs", TOPICS[:2])
    for command in (
        ["ingest", str(docs), "--index", str(tmp_path / "idx"), "--precision", "bf16"],
        ["ask", "When did the ferry open?", "--index", str(tmp_path / "idx"), "--precision", "bf16"],
    ):
        code, _, err = cli(*command)
        assert code == 1 and "does not compute bf16" in err and "--precision fp32 or auto" in err, command
    assert not (tmp_path / "idx").exists()
    monkeypatch.setenv("CITEQA_PRECISION", "bf16")
    code, _, err = cli("serve", "--index", str(tmp_path / "idx"), "--port", "0")
    assert code == 1 and "does not compute bf16" in err


def test_citeqa_ingest_records_the_precision_it_embedded_in(
    tmp_path: Path, cli: CliRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[HashingEmbedder] = []

    def fake(model: str, precision: str = "auto") -> HashingEmbedder:
        made.append(HashingEmbedder(precision=precision))
        return made[-1]

    monkeypatch.setattr("citeqa.index.update.Embedder", fake)
    docs, directory = write_collection(tmp_path / "docs", TOPICS[:2]), tmp_path / "idx"
    code, out, err = cli("ingest", str(docs), "--index", str(directory), "--model", FAKE.model, "--precision", "fp32")
    assert code == 0, err
    assert [e.requested_precision for e in made] == ["fp32"] and manifest_of(directory)["model"]["precisions"] == [
        "fp32"
    ]
    assert "time by stage: read" in err and "embed" in err and "in fp32" in err and "Indexed 2 documents" in out


@pytest.mark.slow
def test_the_real_model_in_fp32_gives_sentence_transformers_own_unit_vectors(embedder: Embedder) -> None:
    """Normalising after the cast changes nothing in fp32: vectors stored before stay comparable."""
    texts = [d.text[:800] for d in load_documents([BUNDLED_CORPUS]).documents]
    fp32 = Embedder(precision="fp32")
    theirs = fp32.model.encode(texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
    assert np.allclose(fp32.encode_documents(texts), theirs, atol=1e-6)


@pytest.mark.slow
def test_bf16_vectors_are_within_cosine_0999_of_fp32_on_real_text() -> None:
    if not precision.bf16_supported():
        pytest.skip("this CPU does not compute bf16 natively (no AVX-512 BF16 or AMX): citeqa embeds in fp32 here")
    documents = load_documents([BUNDLED_CORPUS]).documents
    texts = [d.text[start : start + 1200] for d in documents for start in range(0, len(d.text), 1200)][:48]
    texts += ["How much cargo went through the Middle Corridor in 2024?", "Who met in Baku?"]
    fp32 = Embedder(precision="fp32").encode_documents(texts)
    bf16 = Embedder(precision="bf16").encode_documents(texts)
    cosines = np.sum(fp32 * bf16, axis=1)
    assert cosines.min() >= 0.999, f"lowest cosine {cosines.min():.6f}"
