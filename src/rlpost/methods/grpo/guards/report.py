"""Guard reports: ``<run_dir>/guards/<name>.json``, written by rank 0."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rlpost.distributed import is_main
from rlpost.io import write_json


def write_report(run_dir: str | Path | None, name: str, payload: dict[str, Any]) -> None:
    """Write ``<run_dir>/guards/<name>.json`` on rank 0."""
    if run_dir is None or not is_main():
        return
    write_json(Path(run_dir) / "guards" / f"{name}.json", payload)
