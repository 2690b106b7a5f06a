"""Crash-safe checkpoints for HF/TRL trainers: a commit marker written after every rank finished, then rotation.

transformers 5.23 writes ``checkpoint-N/`` in place (``Trainer._save_checkpoint``: weights, optimizer, scheduler,
per-rank RNG states, then ``trainer_state.json`` opened with ``"w"``) with no temporary name and no barrier before
``trainer_state.json``. A ``kill -9`` mid-save can therefore leave a directory that looks complete (a truncated
``trainer_state.json``, or rank 1's RNG state missing), and HF's own rotation may already have deleted the older
checkpoints. So rlpost:

1. takes rotation away from HF (``save_total_limit`` is moved into :class:`CheckpointCommitCallback`);
2. after HF's save returns on every rank (a barrier), rank 0 writes ``checkpoint-N/rlpost_complete.json`` atomically
   (temporary file, fsync, ``os.replace``): the checkpoint's commit point, equivalent to write-then-rename. The
   marker lists the checkpoint's files and sizes (:mod:`rlpost.checkpoint.manifest`), checked again on resume;
3. only then rotates: keeps the newest ``keep_last`` committed checkpoints plus the best one (:class:`BestBy`: by
   default ``trainer.metric_for_best_model``; the guards' validation metric when early stopping is on, and no best
   at all when the reward is a pseudo-reward, see :func:`rlpost.methods.grpo.guards.setup.checkpoint_ranking`); a
   deleted checkpoint loses its marker first, so a half-deleted one is never mistaken for a complete one.

Callbacks with state of their own (guards, validation AUC) write it into ``checkpoint-N`` in their ``on_save``,
which runs before this callback's (it is last in the list), so the marker's file list covers it
(:func:`save_callback_state`, :func:`load_callback_state`).

:func:`rlpost.checkpoint.resume.find_resume_checkpoint` only accepts checkpoints with the marker.
"""

from __future__ import annotations

import logging
import math
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from rlpost.checkpoint.manifest import COMPLETE_MARKER, build_manifest, list_checkpoints, read_marker
from rlpost.io import read_json, write_json

logger = logging.getLogger(__name__)

__all__ = ["COMPLETE_MARKER", "BestBy", "CheckpointCommitCallback", "commit_callback", "load_callback_state",
           "save_callback_state"]


def checkpoint_dir(args: Any, state: Any) -> Path:
    """``<output_dir>/checkpoint-<global_step>``: the checkpoint HF is saving (in ``on_save``) or resumed from."""
    return Path(args.output_dir) / f"checkpoint-{state.global_step}"


def save_callback_state(args: Any, state: Any, name: str, payload: dict[str, Any]) -> Path:
    """Write a callback's state as ``checkpoint-N/<name>`` atomically (call from ``on_save``, on rank 0)."""
    path = checkpoint_dir(args, state) / name
    write_json(path, payload, sort_keys=True)
    return path


def load_callback_state(args: Any, state: Any, name: str) -> dict[str, Any] | None:
    """The state a callback saved in the checkpoint this run resumed from (call from ``on_train_begin``).

    None on a fresh run (``global_step`` 0) and, with a warning, when the checkpoint has no such file.
    """
    if not state.global_step:
        return None
    path = checkpoint_dir(args, state) / name
    if not path.is_file():
        logger.warning("%s has no %s: that state starts afresh", path.parent, name)
        return None
    return read_json(path)


def remove_checkpoint(path: Path) -> None:
    """Delete a checkpoint, marker first: an interrupted delete leaves an (ignored) incomplete directory."""
    (path / COMPLETE_MARKER).unlink(missing_ok=True)
    shutil.rmtree(path, ignore_errors=True)


def checkpoints_to_keep(committed: list[tuple[int, float | None]], keep_last: int | None,
                        greater_is_better: bool = True) -> set[int]:
    """Steps to keep: the newest ``keep_last`` plus the best by metric (``keep_last=None`` keeps all).

    Example:
        >>> sorted(checkpoints_to_keep([(10, 0.5), (20, 0.9), (30, 0.1), (40, 0.2)], keep_last=2))
        [20, 30, 40]
        >>> sorted(checkpoints_to_keep([(10, 0.5), (20, None)], keep_last=1, greater_is_better=False))
        [10, 20]
    """
    steps = sorted(step for step, _ in committed)
    if keep_last is None or keep_last <= 0:
        return set(steps)
    keep = set(steps[-keep_last:])
    scored = [(m, step) for step, m in committed if m is not None and not math.isnan(m)]
    if scored:
        keep.add((max if greater_is_better else min)(scored)[1])
    return keep


def marker_value(checkpoint: Path) -> float | None:
    """The best-checkpoint metric recorded in a commit marker (None when absent or the marker is unreadable)."""
    try:
        value = read_marker(checkpoint).get("value")
    except ValueError:
        return None  # resume reports the damaged marker; rotation just treats it as unscored
    return value if isinstance(value, (int, float)) else None


def _barrier() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


@dataclass(frozen=True)
class BestBy:
    """Which checkpoint rotation keeps as "best": the one with the best ``metric`` (``metric=None``: none).

    ``score(step)`` gives the value of checkpoint ``step`` (None: unscored); without it, the latest logged value of
    ``metric`` is used (e.g. GRPO's mean ``reward``).
    """

    metric: str | None
    greater_is_better: bool = True
    score: Callable[[int], float | None] | None = None


class CheckpointCommitCallback(TrainerCallback):
    """Commit each checkpoint with a marker once every rank has saved, then rotate (keep-last-N plus best)."""

    def __init__(self, keep_last: int | None, metric: str | None = None, greater_is_better: bool = True,
                 score: Callable[[int], float | None] | None = None) -> None:
        self.keep_last = keep_last
        self.metric = metric
        self.greater_is_better = greater_is_better
        self.score = score
        self._last_value: float | None = None

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, float] | None = None, **kwargs: Any):
        """Remember the latest value of the best-checkpoint metric."""
        # a step where every reward abstained logs None: keep the last real value
        if self.metric and logs and isinstance(logs.get(self.metric), (int, float)):
            self._last_value = float(logs[self.metric])

    def value(self, step: int) -> float | None:
        """The best-checkpoint metric of the checkpoint at ``step`` (None: unscored)."""
        if self.metric is None:
            return None
        return self.score(step) if self.score is not None else self._last_value

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any):
        """All ranks have returned from HF's save once the barrier passes; rank 0 commits and rotates."""
        _barrier()
        if state.is_world_process_zero:
            path = checkpoint_dir(args, state)
            write_json(path / COMPLETE_MARKER, {"step": state.global_step, "metric": self.metric,
                                                "value": self.value(state.global_step),
                                                "files": build_manifest(path)}, sort_keys=True)
            self.rotate(Path(args.output_dir), current=path)
        _barrier()

    def rotate(self, output_dir: Path, current: Path) -> None:
        """Delete committed checkpoints outside keep-last-N plus best, and stale uncommitted directories."""
        committed, stale = [], []
        for step, path in list_checkpoints(output_dir):
            marker = path / COMPLETE_MARKER
            if marker.is_file():
                committed.append((step, marker_value(path)))
            elif path != current:
                stale.append(path)
        keep = checkpoints_to_keep(committed, self.keep_last, self.greater_is_better)
        for step, _ in committed:
            if step not in keep:
                remove_checkpoint(output_dir / f"checkpoint-{step}")
        for path in stale:
            logger.warning("removing incomplete checkpoint %s (interrupted save)", path)
            remove_checkpoint(path)


def commit_callback(args: Any, best: BestBy | None = None) -> CheckpointCommitCallback:
    """Build the callback from the trainer args and turn off HF's own rotation (it would run before the commit).

    ``best`` overrides ``metric_for_best_model`` / ``greater_is_better`` of ``args``.
    """
    if best is None:
        best = BestBy(getattr(args, "metric_for_best_model", None), bool(getattr(args, "greater_is_better", True)))
    callback = CheckpointCommitCallback(args.save_total_limit, best.metric, best.greater_is_better, best.score)
    args.save_total_limit = None
    return callback
