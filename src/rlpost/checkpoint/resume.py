"""Resuming safely: find the newest committed checkpoint, refuse a checkpoint directory from another run.

A checkpoint counts only when ``rlpost_complete.json`` exists (written by
:class:`rlpost.checkpoint.commit.CheckpointCommitCallback` after every rank finished saving); the checkpoint
picked for resuming must still match the file list in that marker. The checkpoint directory also carries
``rlpost_fingerprint.json`` (pipeline, recipe, model): resuming another recipe's or model's checkpoints is an
error, never a silent restart from step 0 that overwrites them. :func:`run_trainer` is how every pipeline trains:
resume + ``trainer.train`` + final save, with a full disk reported as one line (:func:`disk_full_as_user_error`).
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rlpost.checkpoint.manifest import COMPLETE_MARKER, checkpoint_step, find_checkpoint_problem, list_checkpoints
from rlpost.errors import ConfigError, DataError, StorageError
from rlpost.io import read_json, write_json

logger = logging.getLogger(__name__)

FINGERPRINT = "rlpost_fingerprint.json"
# Pipeline paths before the package move (docs/ARCHITECTURE.md, section 10): fingerprints written by older
# versions store these, and their checkpoints still resume under the new names.
MOVED_PIPELINES = {"rlpost.pipelines.grpo.run": "rlpost.methods.grpo.pipeline.run",
                   "rlpost.pipelines.divpo.run": "rlpost.methods.divpo.pipeline.run",
                   "rlpost.pipelines.sft.run": "rlpost.methods.sft.pipeline.run"}


def is_complete_checkpoint(path: Path) -> bool:
    """A checkpoint counts only once its commit marker exists (written atomically after all ranks saved)."""
    return (Path(path) / COMPLETE_MARKER).is_file()


def find_resume_checkpoint(output_dir: str | Path) -> str | None:
    """Newest committed ``checkpoint-N`` directory under ``output_dir``, or None."""
    for _, path in reversed(list_checkpoints(output_dir)):
        if is_complete_checkpoint(path):
            return str(path)
    return None


def current_recipe(fallback: str | None) -> str:
    """The Hydra config name of this run (``fallback``, the run name, outside a Hydra app)."""
    try:
        from hydra.core.hydra_config import HydraConfig

        return str(HydraConfig.get().job.config_name)
    except (ImportError, ValueError):
        return str(fallback)


def run_fingerprint(pipeline: str | None, recipe: str, model_cfg: Any) -> dict[str, str]:
    """What must match for a checkpoint directory to be resumed: pipeline, recipe name and model.

    Example:
        >>> run_fingerprint("p.run", "grpo", {"name": "tiny", "path": None})
        {'pipeline': 'p.run', 'recipe': 'grpo', 'model': 'tiny'}
    """
    model = model_cfg or {}
    return {"pipeline": str(pipeline), "recipe": str(recipe), "model": str(model.get("path") or model.get("name"))}


def check_fingerprint(output_dir: str | Path, fingerprint: dict[str, str]) -> None:
    """Raise if ``output_dir`` holds checkpoints from a different run; otherwise record ``fingerprint`` (rank 0).

    Raises:
        ConfigError: the directory holds checkpoints and its fingerprint is missing or differs.
    """
    from rlpost.distributed import barrier, is_main

    root = Path(output_dir)
    path = root / FINGERPRINT
    try:
        stored = read_json(path, default=None)
    except DataError as err:
        raise ConfigError(f"{err}; delete it if {root} holds this run's checkpoints, "
                          "or use a new run_dir (or RLPOST_RUN_DIR)") from err
    if isinstance(stored, dict) and stored.get("pipeline") in MOVED_PIPELINES:
        stored = {**stored, "pipeline": MOVED_PIPELINES[stored["pipeline"]]}
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
        write_json(path, fingerprint, sort_keys=True)
    barrier()


def prepare_resume(output_dir: str | Path, fingerprint: dict[str, str]) -> str | None:
    """Check ``fingerprint`` (:func:`run_fingerprint`), drop uncommitted checkpoint directories (rank 0) and return
    the resume point."""
    from rlpost.checkpoint.commit import remove_checkpoint
    from rlpost.distributed import barrier, is_main

    check_fingerprint(output_dir, fingerprint)
    resume = find_resume_checkpoint(output_dir)
    if resume:
        check_resume_checkpoint(output_dir, Path(resume))
    if is_main():
        for _, path in list_checkpoints(output_dir):
            if not is_complete_checkpoint(path):
                logger.warning("ignoring and removing incomplete checkpoint %s (interrupted save)", path)
                remove_checkpoint(path)
        if resume:
            logger.info("resuming from %s", resume)
    barrier()
    return resume


def check_resume_checkpoint(output_dir: str | Path, checkpoint: Path) -> None:
    """Raise if the committed ``checkpoint`` no longer matches the file list in its marker.

    Raises:
        ConfigError: naming the checkpoint, the bad file, and the previous committed checkpoint to fall back to.
    """
    problem = find_checkpoint_problem(checkpoint)
    if problem is None:
        return
    step_now = checkpoint_step(checkpoint)
    older = [p for step, p in list_checkpoints(output_dir) if step < step_now and is_complete_checkpoint(p)]
    fallback = (f"delete {checkpoint} to resume from {older[-1]} (the previous committed checkpoint)" if older
                else f"delete {checkpoint} to start again from step 0 (no other committed checkpoint)")
    raise ConfigError(f"checkpoint {checkpoint} is damaged: {problem}; {fallback}, or use a new run_dir "
                      "(or RLPOST_RUN_DIR)")


LOW_SPACE_BYTES = 1 << 20  # less free space than this after a failed write: the disk is full
_FULL_PHRASES = (os.strerror(errno.ENOSPC), os.strerror(errno.EDQUOT), f"os error {errno.ENOSPC}",
                 f"os error {errno.EDQUOT}")


def is_disk_full(err: BaseException) -> bool:
    """Whether ``err`` (or an exception it was raised from) says the disk or the quota is full.

    Covers ``OSError(ENOSPC | EDQUOT)`` and libraries that re-wrap it: safetensors raises ``SafetensorError(...
    No space left on device (os error 28))``. ``torch.save`` on a full disk raises a ``RuntimeError`` that names
    no cause (``unexpected pos ...``), which :func:`disk_full_as_user_error` recognises by the free space left.

    Example:
        >>> is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
        True
        >>> is_disk_full(RuntimeError("Error while serializing: I/O error: No space left on device (os error 28)"))
        True
        >>> is_disk_full(OSError(errno.EACCES, "Permission denied"))
        False
    """
    seen: set[int] = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if any(phrase in str(err) for phrase in _FULL_PHRASES):
            return True
        err = err.__cause__ or err.__context__
    return False


def free_bytes(path: str | Path) -> int | None:
    """Bytes free for unprivileged writes on the filesystem holding ``path`` (its nearest existing parent)."""
    path = Path(path).resolve()
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None


@contextmanager
def disk_full_as_user_error(output_dir: str | Path) -> Iterator[None]:
    """Turn a full disk (or quota) inside the block into one :class:`StorageError` line; other errors pass.

    The message names ``output_dir`` and its last committed checkpoint, which the failed save cannot have touched:
    a checkpoint is committed only after it is complete, and rotation runs only after a commit.
    """
    try:
        yield
    except Exception as err:
        free = free_bytes(output_dir)
        low_space = isinstance(err, (OSError, RuntimeError)) and free is not None and free < LOW_SPACE_BYTES
        if not (is_disk_full(err) or low_space):
            raise
        last = find_resume_checkpoint(output_dir)
        kept = (f"the last committed checkpoint {last} is intact" if last
                else "no checkpoint was committed yet (a re-run starts from step 0)")
        detail = (str(err).splitlines() or [""])[0][:200]
        raise StorageError(f"disk full while writing under {output_dir} ({type(err).__name__}: {detail}); {kept}, "
                           "and the half-written checkpoint is ignored and removed on resume. Free space (or lower "
                           "trainer.save_total_limit) and re-run the same command to resume") from err


def run_trainer(trainer: Any, output_dir: str | Path, fingerprint: dict[str, str],
                final_dir: str | Path | None = None, resume: bool = True) -> Any:
    """Train with crash-safe resume: every pipeline's ``trainer.train`` goes through here.

    Resumes from the newest committed, intact checkpoint in ``output_dir`` (:func:`prepare_resume`; checkpoints
    whose run ``fingerprint`` differs are refused), trains, then saves the model to ``final_dir`` when given. A full
    disk while training or saving becomes a :class:`StorageError` (one line), never a traceback. The trainer should
    carry :func:`rlpost.checkpoint.commit.commit_callback` so its checkpoints get commit markers.

    Returns:
        What ``trainer.train`` returned (HF's ``TrainOutput``).
    """
    with disk_full_as_user_error(output_dir):
        output = trainer.train(resume_from_checkpoint=prepare_resume(output_dir, fingerprint) if resume else None)
        if final_dir is not None:
            trainer.save_model(str(final_dir))
    return output
