"""Trainer callbacks shared by the pipelines."""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from rlpost.io import write_json

logger = logging.getLogger(__name__)


class TimeBudgetCallback(TrainerCallback):
    """Stop training (and save) once ``max_minutes`` of training wall-clock time have passed; optionally save the
    weights at the first step end after each of ``snapshot_minutes`` (``snapshot_dir/min<M>/``, listed with their
    exact time and step in ``snapshot_dir/snapshots.json``). Saving a snapshot does not count as training time.

    Benchmarks compare methods at equal CPU time rather than equal steps (accuracy-vs-wall-clock curves from the
    snapshots); users get a predictable run length.
    """

    def __init__(self, max_minutes: float | None, snapshot_minutes: Any = (), snapshot_dir: Any = None) -> None:
        self.max_seconds = 60.0 * max_minutes if max_minutes else math.inf
        self.marks = sorted(float(m) for m in (snapshot_minutes or ()))
        self.snapshot_dir = Path(snapshot_dir) if snapshot_dir else None
        self.taken: list[dict[str, Any]] = []
        self.start: float | None = None

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.start = time.monotonic()

    def _snapshot(self, mark: float, elapsed: float, state: Any, model: Any, tokenizer: Any) -> None:
        began = time.monotonic()
        if state.is_world_process_zero and self.snapshot_dir is not None and model is not None:
            out = self.snapshot_dir / f"min{mark:g}"
            model.save_pretrained(out)
            if tokenizer is not None:
                tokenizer.save_pretrained(out)
            self.taken.append({"minutes": mark, "elapsed_s": round(elapsed, 2), "step": state.global_step,
                               "path": str(out)})
            write_json(self.snapshot_dir / "snapshots.json", self.taken, indent=1)
        self.start += time.monotonic() - began  # the pause is not training time

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        if self.start is None:
            return control
        while self.marks and time.monotonic() - self.start >= 60.0 * self.marks[0]:
            self._snapshot(self.marks.pop(0), time.monotonic() - self.start, state, kwargs.get("model"),
                           kwargs.get("processing_class"))
        if time.monotonic() - self.start >= self.max_seconds:
            minutes = self.max_seconds / 60
            logger.info("time budget of %.1f min reached at step %d: stopping (max_train_minutes=null runs all "
                        "trainer.max_steps)", minutes, state.global_step)
            control.should_training_stop = True
            control.should_save = True
        return control


class PatienceStopper:
    """Early-stopping bookkeeping: evaluate every ``every`` steps, keep the best value and its step, stop after
    ``patience`` evaluations without a gain of more than ``min_delta`` (``patience=0``: never stop).

    The base of GRPO's validation stopper (:mod:`rlpost.methods.grpo.guards.early_stopping`) and SFT's AUC stopper
    (:mod:`rlpost.methods.sft.auc_stopping`); each keeps the keys its checkpoints were written with and resumes by
    setting ``best_step``, ``best_value`` and ``misses`` back.

    Example:
        >>> stopper = PatienceStopper(every=2, patience=2)
        >>> [stopper.record(step, v) for step, v in [(0, 0.5), (2, 0.7), (4, 0.6), (6, 0.7)]]
        [True, True, False, False]
        >>> stopper.best_step, stopper.best_value, stopper.misses, stopper.out_of_patience
        (2, 0.7, 2, True)
        >>> stopper.due(4), stopper.due(5), stopper.due(5, last_step=5)
        (True, False, True)
    """

    def __init__(self, every: int, patience: int, min_delta: float = 0.0) -> None:
        self.every, self.patience, self.min_delta = every, patience, min_delta
        self.best_step, self.best_value, self.misses = -1, -math.inf, 0

    @property
    def has_best(self) -> bool:
        """Whether any evaluation was recorded."""
        return self.best_step >= 0

    @property
    def out_of_patience(self) -> bool:
        """``patience`` evaluations in a row brought no gain (never when ``patience`` is 0)."""
        return bool(self.patience) and self.misses >= self.patience

    def due(self, step: int, last_step: int | None = None) -> bool:
        """An evaluation is due at ``step``: every ``every`` steps, and at ``last_step`` when given."""
        return step % self.every == 0 or (last_step is not None and step >= last_step)

    def record(self, step: int, value: float) -> bool:
        """Count one evaluation; True when ``value`` is the new best (more than ``min_delta`` above it)."""
        if value > self.best_value + self.min_delta:
            self.best_step, self.best_value, self.misses = step, value, 0
            return True
        self.misses += 1
        return False


def build_callbacks(max_train_minutes: float | None, snapshot_minutes: Any, run_dir: str | Path) -> list[Any]:
    """The wall-clock callback when a budget (``max_train_minutes``) or snapshots (``snapshot_minutes``) are set."""
    callbacks: list[Any] = []
    if max_train_minutes or snapshot_minutes:
        callbacks.append(TimeBudgetCallback(max_train_minutes, snapshot_minutes, Path(run_dir) / "snapshots"))
    return callbacks
