"""Finding a checkpoint to resume from, ignoring half-written ones."""

from __future__ import annotations

import re
from pathlib import Path

_CKPT = re.compile(r"^checkpoint-(\d+)$")
# files HF Trainer writes last; a checkpoint without them was interrupted mid-save
_COMPLETE_MARKERS = ("trainer_state.json",)


def is_complete_checkpoint(path: Path) -> bool:
    """A checkpoint counts only if its final files exist (Trainer writes trainer_state.json last)."""
    return all((path / m).is_file() for m in _COMPLETE_MARKERS)


def find_resume_checkpoint(output_dir: str | Path) -> str | None:
    """Newest complete ``checkpoint-N`` directory under ``output_dir``, or None."""
    root = Path(output_dir)
    if not root.is_dir():
        return None
    found = sorted(
        (int(m.group(1)), p) for p in root.iterdir() if (m := _CKPT.match(p.name)) and p.is_dir()
    )
    for _, path in reversed(found):
        if is_complete_checkpoint(path):
            return str(path)
    return None
