"""Where an evaluation task writes its results: ``metrics.json`` and ``samples.jsonl`` in its output directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rlpost.distributed import is_main
from rlpost.io import write_json, write_jsonl


def save_evaluation(out_dir: str | Path | None, metrics: dict[str, Any], records: list[dict[str, Any]]) -> None:
    """Write ``metrics.json`` and ``samples.jsonl`` (one record per question) atomically, on the main process."""
    if out_dir is not None and is_main():
        write_json(Path(out_dir) / "metrics.json", metrics)
        write_jsonl(Path(out_dir) / "samples.jsonl", records)
