"""The trained span reader: its weights and manifest, verbatim offsets, the null answer, and its training script."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from citeqa.chat.answerer import Answerer
from citeqa.chat.confidence import CONFIDENCE_FILE, ConfidenceModel
from citeqa.chat.reader import (
    MANIFEST_FILE,
    MAX_QUESTION_PIECES,
    READER_DIR,
    WEIGHTS_FILE,
    ReaderError,
    ReaderManifest,
    SpanReader,
    Window,
    decode,
    encode,
)
from citeqa.chat.settings import AnswerSettings
from citeqa.eval.questions import QuestionItem
from citeqa.eval.reader_data import Corpus, chunk_corpus, make_examples
from citeqa.eval.reader_sources import SOURCE_NAMES
from citeqa.index.integrity import file_sha256
from citeqa.ingest.sentences import split_sentences

MAX_WEIGHTS_BYTES = 50 * 1024 * 1024


@pytest.fixture(scope="module")
def reader() -> SpanReader:
    return SpanReader(READER_DIR)


def test_shipped_weights_match_their_manifest() -> None:
    manifest = ReaderManifest.read(READER_DIR / MANIFEST_FILE)
    weights = READER_DIR / WEIGHTS_FILE
    assert file_sha256(weights) == manifest.sha256
    assert weights.stat().st_size <= MAX_WEIGHTS_BYTES
    assert manifest.dtype == "float16"
    assert manifest.training["settings"]["seed"] is not None
    assert manifest.training["precision"] in ("bf16", "fp32")
    for source in SOURCE_NAMES:
        data = manifest.training["data"][source]
        assert data["train"]["documents"] and data["test"]["documents"], "trained and tested on separate documents"
        assert manifest.validation[source]["gold_paragraph"]["f1"] > 0, "validation recorded per source"
    confidence = ConfidenceModel.load(READER_DIR / CONFIDENCE_FILE)
    assert confidence.threshold is not None and 0.0 < confidence.threshold < 1.0, "a threshold fitted held out"


def _copy_reader(tmp_path: Path) -> Path:
    target = tmp_path / "reader"
    shutil.copytree(READER_DIR, target)
    return target


def test_missing_weights_name_the_fix(tmp_path: Path) -> None:
    directory = _copy_reader(tmp_path)
    (directory / WEIGHTS_FILE).unlink()
    with pytest.raises(ReaderError, match="missing") as caught:
        SpanReader(directory)
    assert "make train" in (caught.value.hint or "")


def test_corrupt_weights_are_refused(tmp_path: Path) -> None:
    directory = _copy_reader(tmp_path)
    weights = directory / WEIGHTS_FILE
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ReaderError, match="do not match their manifest"):
        SpanReader(directory)


def test_unreadable_manifest_is_refused(tmp_path: Path) -> None:
    directory = _copy_reader(tmp_path)
    (directory / MANIFEST_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(ReaderError, match="unreadable"):
        SpanReader(directory)


def test_truncated_weights_with_a_matching_manifest_are_refused(tmp_path: Path) -> None:
    directory = _copy_reader(tmp_path)
    weights = directory / WEIGHTS_FILE
    weights.write_bytes(weights.read_bytes()[:1000])
    manifest = json.loads((directory / MANIFEST_FILE).read_text(encoding="utf-8"))
    manifest["sha256"] = file_sha256(weights)
    (directory / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(ReaderError, match="cannot be read"):
        SpanReader(directory)


_WORDS = st.sampled_from(
    "the ferry carries 1,200 passengers daily Baku Karachi Zürich naïve café €7.50 38 tonnes "
    "in 2023 rose by 47% 東京 Ελλάδα — “quoted” (brackets) e.g. CO₂ emissions fell".split()
)
_SENTENCE = st.lists(_WORDS, min_size=3, max_size=25).map(lambda words: " ".join(words).capitalize() + ".")
_DOCUMENT = st.lists(st.tuples(_SENTENCE, st.sampled_from([" ", "\n", "\r\n", "\r\n\r\n", "  "])), min_size=1).map(
    lambda parts: "".join(s + gap for s, gap in parts)
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=_DOCUMENT, question=st.lists(_WORDS, min_size=1, max_size=12).map(" ".join), first=st.integers(0))
def test_every_span_is_a_verbatim_slice_of_its_window(
    reader: SpanReader, document: str, question: str, first: int
) -> None:
    sentences = split_sentences(document)
    start = sentences[first % len(sentences)].start
    inside = tuple(s.start for s in sentences if start < s.start)
    window = Window("doc.txt", start, len(document), document[start:], inside)
    (read,) = reader.read([(question + "?", window)])
    assert window.start <= read.start < read.end <= window.end
    assert not window.crosses_sentences(read.start, read.end), "a fact is read inside one sentence"
    held = [window.sentence_of(r.start) for r in (read, *read.others)]
    assert len(set(held)) == len(held), "one span per sentence"
    assert [r.score for r in read.others] == sorted((r.score for r in read.others), reverse=True)
    answer = document[read.start : read.end]
    assert answer == answer.strip() and answer, "a span starts and ends on a word piece, never on space"
    pieces = reader.tokenizer(answer, add_special_tokens=False)["input_ids"]
    assert pieces, "the span holds whole word pieces"


@pytest.mark.parametrize("length", [MAX_QUESTION_PIECES - 2, MAX_QUESTION_PIECES + 1, 120, 400])
def test_a_question_of_any_length_in_word_pieces_is_read(reader: SpanReader, length: int) -> None:
    """Unknown words make many word pieces: a question too long for the reader is cut, never a tokenizer error."""
    words = " ".join(["zorblat reactr comissioned"] * 60)
    pieces = reader.tokenizer(words, add_special_tokens=False, return_offsets_mapping=True)
    question = words[: pieces["offset_mapping"][length - 1][1]]
    text = "The reactor was commissioned in 1998. It was closed in 2011."
    (read,) = reader.read([(question, Window("a", 0, len(text), text, (text.index("It"),)))])
    assert 0 <= read.start < read.end <= len(text)
    assert reader.question_cut(question) == (length > MAX_QUESTION_PIECES)


def test_decode_keeps_every_span_inside_the_context(reader: SpanReader) -> None:
    """Whatever the logits, the chosen span is in the window's text (never in the question or padding), and a
    window too long for one feature is read in overlapping features that map back to one span per window."""
    import random

    rng = random.Random(7)
    long_text = " ".join(f"Sentence {i} says the value was {i * 3} tonnes in {1990 + i}." for i in range(60))
    pairs = [
        ("How many tonnes?", Window("a", 100, 100 + len(long_text), long_text)),
        ("Who?", Window("b", 0, 5, "Alice")),
    ]
    features = encode(reader.tokenizer, [q for q, _ in pairs], [w.text for _, w in pairs])
    assert len(features["input_ids"]) > len(pairs), "the long window overflows into several features"
    for _ in range(20):
        starts = [[rng.uniform(-5, 5) for _ in row] for row in features["input_ids"]]
        ends = [[rng.uniform(-5, 5) for _ in row] for row in features["input_ids"]]
        reads = decode(pairs, features, starts, ends)
        assert len(reads) == len(pairs)
        for (_, window), read in zip(pairs, reads, strict=True):
            assert window.start <= read.start < read.end <= window.end


def test_decode_never_crosses_a_sentence_start(reader: SpanReader) -> None:
    text = "The fleet grew to 80 ships in 2024. It had 46 ships in 2023."
    second = text.index("It had")
    window = Window("a", 0, len(text), text, (second,))
    features = encode(reader.tokenizer, ["How many ships?"], [text])
    pieces = len(features["input_ids"][0])
    high = [[0.0] + [5.0] * (pieces - 1)]  # every piece an equally good start and end: spans could run anywhere
    (read,) = decode([("How many ships?", window)], features, high, high)
    assert not window.crosses_sentences(read.start, read.end)
    assert {window.sentence_of(r.start) for r in (read, *read.others)} == {0, 1}


def test_a_year_the_question_states_picks_the_figure_given_for_it(answerer: Answerer) -> None:
    # The interview gives 80,924 for 2024 and, in the next sentence, 46,000 for the first months of 2025.
    choosing = Answerer(answerer.index, answerer.embedder, AnswerSettings(min_confidence=0.0))
    answer = choosing.answer("How many Pakistani citizens visited Azerbaijan in 2024?")
    assert answer.text is not None and "80,924" in answer.text and "2024" in answer.citations[0].quote


def test_training_passages_are_the_chunks_ingest_cuts() -> None:
    """The reader learns on passages cut as ingest cuts them: whole sentences, the document's own characters."""
    windows = chunk_corpus(Corpus("tiny", [], _TINY_DOCUMENTS), fits=None)
    for source, text in _TINY_DOCUMENTS.items():
        starts = {s.start for s in split_sentences(text)}
        assert windows[source], "every document is read"
        for w in windows[source]:
            assert w.text == text[w.start : w.end] and w.start in starts
            assert set(w.sentence_starts) <= starts and all(w.start < s < w.end for s in w.sentence_starts)


def test_an_unanswerable_question_abstains(answerer: Answerer) -> None:
    # A question on what the interviews never discuss (0.04 against reader v6's threshold 0.199). A near miss such
    # as "How many weekly flights operate between Karachi and Baku?", which the interviews answer in form only, sat
    # near the threshold with v3 and v4 (0.206 against 0.205, 0.231 against 0.246); v5 gives it 0.113, v6 0.11.
    answer = answerer.answer("How many submarines does the Azerbaijani navy operate?")
    assert answer.abstained and answer.text is None and answer.passages
    assert 0.0 <= answer.confidence < answerer.min_confidence


def test_answer_batch_reads_all_questions_in_one_pass(answerer: Answerer, monkeypatch: pytest.MonkeyPatch) -> None:
    assert answerer.reader is not None
    calls: list[int] = []
    real = answerer.reader.read

    def counted(pairs: list[tuple[str, Window]]) -> object:
        calls.append(len(pairs))
        return real(pairs)

    monkeypatch.setattr(answerer.reader, "read", counted)
    questions = ["When was the Pakistan-Azerbaijan IT agreement signed?", "Who is the IT minister of Pakistan?"]
    batch = answerer.answer_batch(questions)
    assert len(calls) == 1 and calls[0] > len(questions), "every window of every question in one reader pass"
    monkeypatch.setattr(answerer.reader, "read", real)
    assert [a.to_dict() for a in batch] == [answerer.answer(q).to_dict() for q in questions]


_TINY_DOCUMENTS = {
    "ferries.txt": "The Caspian ferry line opened in 2019. It carries 1,200 passengers a day between two ports. "
    "Tickets cost €7.50 for adults. The crossing takes eleven hours in calm weather.\n\n"
    "The operator plans a second ship. It will be built in Turkey and delivered in 2027.\n\n"
    + " ".join(
        f"Harbour note {i}: the quay was repainted and the cranes were serviced by the port staff." for i in range(8)
    ),
    "orchards.txt": "Apple orchards cover 38 hectares north of the town. The harvest begins in September. "
    "Most apples are sold in Baku. A cider press was installed by the cooperative in 2021.\n\n"
    + " ".join(
        f"Orchard note {i}: the rows were pruned and the fences were mended before the frost." for i in range(8)
    ),
}
_TINY_QUESTIONS = [
    ("When did the Caspian ferry line open?", "2019", "ferries.txt"),
    ("How many passengers does the ferry carry a day?", "1,200", "ferries.txt"),
    ("How much does an adult ticket cost?", "€7.50", "ferries.txt"),
    ("Where will the second ship be built?", "Turkey", "ferries.txt"),
    ("How long does the crossing take?", "eleven hours", "ferries.txt"),
    ("When does the harvest begin?", "September", "orchards.txt"),
    ("Where are most apples sold?", "Baku", "orchards.txt"),
    ("Who installed the cider press?", "the cooperative", "orchards.txt"),
]


@pytest.mark.slow
def test_training_smoke_loss_falls(tmp_path: Path) -> None:
    """A few steps of the real training loop on a tiny corpus: the loss falls and the files are written."""
    from citeqa.eval.train_reader import TrainSettings, train

    items = [
        QuestionItem(f"q{i}", q, (a,), source, answer_start=_TINY_DOCUMENTS[source].index(a))
        for i, (q, a, source) in enumerate(_TINY_QUESTIONS)
    ]
    examples = make_examples(Corpus("tiny", items, _TINY_DOCUMENTS), seed=1)
    assert any(e.answer is None for e in examples) and any(e.answer is not None for e in examples)
    for e in examples:
        text = _TINY_DOCUMENTS[e.window.source]
        assert e.window.text == text[e.window.start : e.window.end]
        if e.answer is not None:
            assert e.window.start <= e.answer[0] < e.answer[1] <= e.window.end
        else:
            asked = {q: a for q, a, _ in _TINY_QUESTIONS}
            assert asked[e.question] not in e.window.text, "a passage read as 'not here' does not hold the answer"
    settings = TrainSettings(epochs=6, batch_size=8, learning_rate=2e-4, warmup=0.0, max_features=None)
    manifest = train(
        examples, {"tiny": examples[:4]}, tmp_path, tmp_path / "work", settings, {"data": "tiny"}, lambda _: None
    )
    assert manifest.training["last_loss"] < 0.8 * manifest.training["first_loss"]
    assert file_sha256(tmp_path / WEIGHTS_FILE) == manifest.sha256
    assert SpanReader(tmp_path).manifest.sha256 == manifest.sha256, "what training writes, the reader loads"


def _tiny_question_set(tmp_path: Path) -> tuple[Path, Path]:
    """A citeqa question set over a folder of documents, with enough documents that the split by document leaves
    some to train on."""
    corpus = tmp_path / "docs"
    corpus.mkdir()
    lines = []
    for copy in range(4):
        for name, text in _TINY_DOCUMENTS.items():
            (corpus / f"{copy}-{name}").write_text(text, encoding="utf-8")
        for i, (q, a, source) in enumerate(_TINY_QUESTIONS):
            record = {"id": f"{copy}-{i}", "question": q, "answers": [a], "source": f"{copy}-{source}"}
            lines.append(json.dumps(record, ensure_ascii=False))
    questions = tmp_path / "questions.jsonl"
    questions.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return questions, corpus


def _train_command(questions: Path, corpus: Path, out: Path, work: Path) -> list[str]:
    import sys

    return [
        sys.executable, "-m", "citeqa.cli", "train", str(questions), "--corpus", str(corpus), "--without-shared",
        "--reader-only", "--out", str(out), "--work", str(work), "--epochs", "4", "--checkpoint-minutes", "0",
    ]  # fmt: skip


@pytest.mark.slow
def test_training_killed_mid_run_resumes_from_its_checkpoint(tmp_path: Path) -> None:
    """`citeqa train` killed after a checkpoint and run again goes on from it, and ends where an unbroken run of
    the same options ends: the same weights, byte for byte."""
    import os
    import signal
    import subprocess
    import time

    from citeqa.eval.train_reader import CHECKPOINT_FILE

    questions, corpus = _tiny_question_set(tmp_path)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}

    unbroken = subprocess.run(
        _train_command(questions, corpus, tmp_path / "unbroken", tmp_path / "w1"), env=env, capture_output=True,
        text=True, timeout=600, check=True,
    )  # fmt: skip
    assert "resuming" not in unbroken.stdout

    work = tmp_path / "w2"
    process = subprocess.Popen(
        _train_command(questions, corpus, tmp_path / "killed", work), env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 600
    while not (work / CHECKPOINT_FILE).is_file() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.poll() is None, "the run ended before its first checkpoint"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not (tmp_path / "killed" / WEIGHTS_FILE).exists()

    resumed = subprocess.run(
        _train_command(questions, corpus, tmp_path / "killed", work), env=env, capture_output=True, text=True,
        timeout=600, check=True,
    )  # fmt: skip
    assert "resuming at step" in resumed.stdout
    assert not (work / CHECKPOINT_FILE).exists(), "a finished run leaves no checkpoint behind"
    done = ReaderManifest.read(tmp_path / "killed" / MANIFEST_FILE)
    assert done.sha256 == ReaderManifest.read(tmp_path / "unbroken" / MANIFEST_FILE).sha256


def test_a_question_longer_than_the_reader_reads_is_answered_and_says_so(answerer: Answerer) -> None:
    long_question = "How many Pakistani citizens visited Azerbaijan in 2024, " + "and from which cities, " * 20 + "?"
    answer = answerer.answer(long_question)
    assert answer.notice is not None and answer.notice.code == "question_cut", answer.notice
    assert answer.to_dict()["notice"] == {"code": "question_cut", "message": answer.notice.message}
    short = answerer.answer("How many Pakistani citizens visited Azerbaijan in 2024?")
    assert short.notice is None


@pytest.mark.slow
def test_training_continues_a_reader_on_the_features_it_has_not_seen(tmp_path: Path) -> None:
    """`--continue-from` starts from a reader's weights and trains on the rest of the same seeded draw; the
    manifest records which reader it continued and how many features that one had seen."""
    import os
    import subprocess

    questions, corpus = _tiny_question_set(tmp_path)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}

    def train(out: str, *options: str) -> subprocess.CompletedProcess[str]:
        command = [*_train_command(questions, corpus, tmp_path / out, tmp_path / f"work-{out}"), *options]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)

    assert train("first", "--max-features", "8").returncode == 0
    first = ReaderManifest.read(tmp_path / "first" / MANIFEST_FILE)
    assert first.training["features"] == 8

    later = train("later", "--max-features", "14", "--continue-from", str(tmp_path / "first"))
    assert later.returncode == 0, later.stderr
    manifest = ReaderManifest.read(tmp_path / "later" / MANIFEST_FILE)
    assert manifest.training["settings"]["continued_from"] == first.sha256
    assert manifest.training["settings"]["features_seen"] == 8
    assert manifest.training["features"] == 6, "only the features the first reader has not seen"
    (stage,) = manifest.training["earlier_stages"]
    assert stage["sha256"] == first.sha256 and stage["features"] == 8 and stage["steps"] == first.training["steps"]
    assert manifest.sha256 != first.sha256

    available = manifest.training["features_available"]  # asked past all of them: the rest of this epoch, ...
    assert (
        train("rest", "--max-features", str(available + 5), "--continue-from", str(tmp_path / "later")).returncode == 0
    )
    assert ReaderManifest.read(tmp_path / "rest" / MANIFEST_FILE).training["features"] == available - 14
    again = train("again", "--max-features", str(available + 5), "--continue-from", str(tmp_path / "rest"))
    assert again.returncode == 0, again.stderr  # ... then, from a reader that has seen them all, a second epoch
    second_epoch = ReaderManifest.read(tmp_path / "again" / MANIFEST_FILE).training
    assert second_epoch["features"] == 5 and len(second_epoch["earlier_stages"]) == 3

    for options, said in (
        (("--max-features", "8"), "give --max-features above 8"),
        (("--max-features", "14", "--seed", "5"), "trained with seed 13"),
        (("--max-features", "14", "--limit", "3"), "trained on other data"),
    ):
        refused = train("refused", *options, "--continue-from", str(tmp_path / "first"))
        assert refused.returncode != 0 and said in refused.stderr and "Traceback" not in refused.stderr


def test_each_stage_draws_the_features_that_follow_the_ones_seen_before() -> None:
    """The draws `make train`'s stages take (18,000, 26,000, 40,000, all 55,965 of the features) and stages of a
    second epoch after them: each is the one before it, extended; the second pass sees each feature once more, in
    another order."""
    from itertools import pairwise

    from citeqa.eval.train_reader import drawn

    features = list(range(55_965))
    sizes = (18_000, 26_000, 40_000, 55_965, 70_000, 2 * 55_965, 2 * 55_965 + 10)
    draws = [drawn(features, size, seed=13) for size in sizes]
    for size, draw in zip(sizes, draws, strict=True):
        assert len(draw) == size
    for smaller, larger in pairwise(draws):
        assert larger[: len(smaller)] == smaller
    first, second = draws[3], draws[5][55_965:]
    assert sorted(first) == features and sorted(second) == features, "each pass: all of them, each once"
    assert first[:100] != features[:100], "not the features' own order"
    assert second[:100] != first[:100], "a second pass in an order of its own"
    assert drawn(features, None, seed=13) == features


def test_a_stage_trains_at_most_to_the_end_of_the_epoch_it_starts_in() -> None:
    """A small set under the default --max-features is read once, not over and over; a stage continuing a reader
    that has seen every feature goes on into the next epoch, and stops at its end."""
    from citeqa.eval.train_reader import DEFAULT_MAX_FEATURES, drawn, stage_features

    features = list(range(25))
    assert sorted(stage_features(features, DEFAULT_MAX_FEATURES, 0, seed=13)) == features
    assert stage_features(features, 14, 8, seed=13) == drawn(features, 14, seed=13)[8:]
    assert stage_features(features, 40, 14, seed=13) == drawn(features, 25, seed=13)[14:], "the rest of epoch 1"
    second = stage_features(features, 40, 25, seed=13)
    assert second == drawn(features, 40, seed=13)[25:] and len(second) == 15
    assert len(stage_features(features, DEFAULT_MAX_FEATURES, 30, seed=13)) == 20, "the rest of epoch 2"
    assert stage_features(features, None, 0, seed=13) == features
