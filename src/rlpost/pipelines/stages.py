"""Resumable pipeline stages: each writes one file (or directory) atomically and is skipped when it exists.

A stage that is killed halfway leaves only a ``*.tmp`` file behind, so the next run redoes that stage and keeps
every finished one.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from rlpost.distributed import barrier, broadcast_object, is_main

logger = logging.getLogger(__name__)


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a JSONL file written by :func:`write_jsonl`."""
    with Path(path).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def write_jsonl(path: str | Path, rows: Iterable[dict[str, Any]]) -> None:
    """Write rows to ``path`` atomically (a temp file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def write_json(path: str | Path, obj: Any) -> None:
    """Write one JSON document atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def run_stage(name: str, output: Path, build: Callable[[], None], main_only: bool = True) -> bool:
    """Run ``build`` (which must create ``output``) unless ``output`` exists; returns True if it ran.

    Args:
        name: stage name for the log.
        output: the file or directory the stage produces.
        build: writes ``output`` (atomically: write a temp path, then rename).
        main_only: run on rank 0 only (generation, scoring); other ranks wait at the barrier. Training runs on
            every rank (``main_only=False``).
    """
    # rank 0 decides, so every rank takes the same branch and calls the same collectives
    if broadcast_object(output.exists()):
        logger.info("stage %-9s skipped: %s exists", name, output)
        return False
    if is_main() or not main_only:
        logger.info("stage %-9s -> %s", name, output)
        build()
    barrier()
    return True


def save_dir_atomically(output: Path, save: Callable[[Path], None]) -> None:
    """Call ``save(tmp_dir)`` then rename the directory to ``output``."""
    tmp = output.with_name(output.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    save(tmp)
    os.replace(tmp, output)
