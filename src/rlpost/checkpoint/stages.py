"""Resumable pipeline stages: each writes one file (or directory) atomically and is skipped when it exists.

A stage that is killed halfway leaves only a ``*.tmp`` file behind, so the next run redoes that stage and keeps
every finished one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from rlpost.distributed import barrier, broadcast_object, is_main

logger = logging.getLogger(__name__)


def run_stage(name: str, output: Path, build: Callable[[], None], main_only: bool = True) -> bool:
    """Run ``build`` (which must create ``output``) unless ``output`` exists; returns True if it ran.

    Args:
        name: stage name for the log.
        output: the file or directory the stage produces.
        build: writes ``output`` atomically (:func:`rlpost.io.write_json`, :func:`rlpost.io.write_dir`...).
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
