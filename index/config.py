"""Settings chosen for an index after it was built, kept beside its generations in DIR/config.json.

The calibrated abstention threshold lives here: `citeqa eval --calibrate --save` writes it and every
command that answers from the index reads it. It outlives re-ingests, like any setting a person chose.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from .errors import IndexDamagedError
from .store import CONFIG, current_generation, locked, write_atomically


@dataclass(frozen=True, slots=True)
class IndexConfig:
    min_confidence: float | None = None  # abstain below this; None: the answerer's default
    calibrated_on: str | None = None  # the question set the threshold was chosen on

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"


def read_config(directory: Path) -> IndexConfig:
    """The index's config; the defaults when it has none."""
    path = directory / CONFIG
    if not path.is_file():
        return IndexConfig()
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise IndexDamagedError(f"cannot read {path} ({exc})", "fix or delete that file") from exc
    threshold = data.get("min_confidence") if isinstance(data, dict) else "?"
    if threshold is not None and not (isinstance(threshold, (int, float)) and 0.0 <= threshold <= 1.0):
        raise IndexDamagedError(f"{path}: min_confidence must be a number from 0 to 1", "fix or delete that file")
    calibrated_on = data.get("calibrated_on")
    return IndexConfig(
        min_confidence=None if threshold is None else float(threshold),
        calibrated_on=calibrated_on if isinstance(calibrated_on, str) else None,
    )


def update_config(directory: Path, **changes: Any) -> Path:
    """Change some settings of the index at `directory` (which must hold one) and save them atomically."""
    current_generation(directory)  # IndexNotFoundError with a hint when there is no index to configure
    with locked(directory):
        config = replace(read_config(directory), **changes)
        path = directory / CONFIG
        write_atomically(path, config.to_json())
    return path
