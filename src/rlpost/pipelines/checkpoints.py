"""Resuming safely: find the newest committed checkpoint, refuse a checkpoint directory from another run.

A checkpoint counts only when ``rlpost_complete.json`` exists (written by
:class:`rlpost.training.checkpointing.CheckpointCommitCallback` after every rank finished saving). The checkpoint
directory also carries ``rlpost_fingerprint.json`` (pipeline, recipe, model): resuming another recipe's or model's
checkpoints is an error, never a silent restart from step 0 that overwrites them.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

from rlpost.errors import ConfigError

logger = logging.getLogger(__name__)

_CKPT = re.compile(r"^checkpoint-(\d+)$")
COMPLETE_MARKER = "rlpost_complete.json"  # same name as rlpost.training.checkpointing.COMPLETE_MARKER
FINGERPRINT = "rlpost_fingerprint.json"


def list_checkpoints(output_dir: str | Path) -> list[tuple[int, Path]]:
    """``(step, path)`` of every ``checkpoint-N`` directory under ``output_dir``, oldest first."""
    root = Path(output_dir)
    if not root.is_dir():
        return []
    return sorted((int(m.group(1)), p) for p in root.iterdir() if (m := _CKPT.match(p.name)) and p.is_dir())


def is_complete_checkpoint(path: Path) -> bool:
    """A checkpoint counts only once its commit marker exists (written atomically after all ranks saved)."""
    return (Path(path) / COMPLETE_MARKER).is_file()


def find_resume_checkpoint(output_dir: str | Path) -> str | None:
    """Newest committed ``checkpoint-N`` directory under ``output_dir``, or None."""
    for _, path in reversed(list_checkpoints(output_dir)):
        if is_complete_checkpoint(path):
            return str(path)
    return None


def current_recipe(cfg: Any) -> str:
    """The Hydra config name of this run (falls back to ``run_name`` outside a Hydra app)."""
    try:
        from hydra.core.hydra_config import HydraConfig

        return str(HydraConfig.get().job.config_name)
    except (ImportError, ValueError):
        return str(cfg.get("run_name"))


def run_fingerprint(cfg: Any, recipe: str) -> dict[str, str]:
    """What must match for a checkpoint directory to be resumed: pipeline, recipe name and model.

    Example:
        >>> run_fingerprint({"pipeline": "p.run", "model": {"name": "tiny", "path": None}}, "grpo")
        {'pipeline': 'p.run', 'recipe': 'grpo', 'model': 'tiny'}
    """
    model = cfg.get("model") or {}
    return {"pipeline": str(cfg.get("pipeline")), "recipe": str(recipe),
            "model": str(model.get("path") or model.get("name"))}


def check_fingerprint(output_dir: str | Path, fingerprint: dict[str, str]) -> None:
    """Raise if ``output_dir`` holds checkpoints from a different run; otherwise record ``fingerprint`` (rank 0).

    Raises:
        ConfigError: the directory holds checkpoints and its fingerprint is missing or differs.
    """
    from rlpost.distributed import barrier, is_main

    root = Path(output_dir)
    path = root / FINGERPRINT
    stored = json.loads(path.read_text()) if path.is_file() else None
    if stored is None and list_checkpoints(root):
        raise ConfigError(f"{root} holds checkpoint-N directories without {FINGERPRINT} (not written by this "
                          f"rlpost version); use a new run_dir (or RLPOST_RUN_DIR) or move them away")
    if stored is not None and stored != fingerprint and list_checkpoints(root):
        diff = "; ".join(f"{k}: {stored.get(k)!r} there, {v!r} now" for k, v in fingerprint.items()
                         if stored.get(k) != v)
        raise ConfigError(f"checkpoints in {root} belong to a different run ({diff}); use a new run_dir "
                          f"(or RLPOST_RUN_DIR) instead of resuming them")
    barrier()
    if is_main() and stored != fingerprint:
        from rlpost.training.checkpointing import write_json_atomic

        root.mkdir(parents=True, exist_ok=True)
        write_json_atomic(path, fingerprint)
    barrier()


def prepare_resume(cfg: Any, output_dir: str | Path) -> str | None:
    """Check the fingerprint, drop uncommitted checkpoint directories (rank 0) and return the resume point."""
    from rlpost.distributed import barrier, is_main
    from rlpost.training.checkpointing import remove_checkpoint

    check_fingerprint(output_dir, run_fingerprint(cfg, current_recipe(cfg)))
    resume = find_resume_checkpoint(output_dir)
    if is_main():
        for _, path in list_checkpoints(output_dir):
            if not is_complete_checkpoint(path):
                logger.warning("ignoring and removing incomplete checkpoint %s (interrupted save)", path)
                remove_checkpoint(path)
        if resume:
            logger.info("resuming from %s", resume)
    barrier()
    return resume
