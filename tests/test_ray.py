"""`citeqa ingest --engine ray` on a local Ray: the index equals the local engine's, and answers the same."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import CliRun

from citeqa.chat import Answerer
from citeqa.eval import load_questions
from citeqa.index import Embedder, IndexSettings, ingest, load_index
from citeqa.paths import BUNDLED_CORPUS, BUNDLED_QUESTIONS

ray = pytest.importorskip("ray", reason="the scale extra (make setup installs it)")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def collection(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The interviews, a note in a subfolder, and a file that cannot be read."""
    folder = tmp_path_factory.mktemp("collection")
    for file in BUNDLED_CORPUS.iterdir():
        (folder / file.name).write_bytes(file.read_bytes())
    (folder / "notes").mkdir()
    (folder / "notes" / "ferry.md").write_text("# Ferry\n\nThe ferry to Baku leaves at **9:40** daily.\n")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    return folder


def test_the_ray_engine_builds_the_index_the_local_engine_builds(
    local_ray: None, collection: Path, tmp_path: Path, embedder: Embedder
) -> None:
    from citeqa.index.ray_engine import ray_ingest

    local, local_report = ingest([collection], tmp_path / "local", IndexSettings(), embedder)
    remote, report = ray_ingest([collection], tmp_path / "ray", IndexSettings())
    assert local is not None and report.written
    assert (
        [s.path for s in report.skipped] == [s.path for s in local_report.skipped] == [str(collection / "broken.pdf")]
    )
    on_disk = load_index(tmp_path / "ray")
    assert on_disk.manifest.documents == local.manifest.documents
    assert [(c.id, c.source, c.start, c.end) for c in on_disk.chunks.values()] == [
        (c.id, c.source, c.start, c.end) for c in local.chunks.values()
    ]
    assert on_disk.sentences == local.sentences
    assert np.allclose(np.asarray(on_disk.embeddings), np.asarray(local.embeddings), atol=1e-5)
    assert on_disk.manifest.precisions == local.manifest.precisions == (embedder.precision,)
    assert report.precision == local_report.precision == embedder.precision
    questions = [q.question for q in load_questions(BUNDLED_QUESTIONS)]
    ours = [a.to_dict() for a in Answerer(on_disk, embedder).answer_batch(questions)]
    theirs = [a.to_dict() for a in Answerer(local, embedder).answer_batch(questions)]
    assert [a["answer"] for a in ours] == [a["answer"] for a in theirs]
    assert [a["citations"] for a in ours] == [a["citations"] for a in theirs]
    assert remote.manifest.vector_plan == local.manifest.vector_plan


def test_the_cli_runs_the_ray_engine_and_reports(
    local_ray: None, collection: Path, tmp_path: Path, cli: CliRun
) -> None:
    code, out, err = cli("ingest", str(collection), "--index", str(tmp_path / "idx"), "--engine", "ray")
    assert code == 0 and "Indexed 3 documents" in out and "broken.pdf" in err
    assert len(load_index(tmp_path / "idx").documents) == 3
