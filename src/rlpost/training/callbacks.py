"""Trainer callbacks shared by the pipelines."""

from __future__ import annotations

import logging
import time
from typing import Any

from transformers import TrainerCallback

logger = logging.getLogger(__name__)


class TimeBudgetCallback(TrainerCallback):
    """Stop training (and save) once ``max_minutes`` of training wall-clock time have passed.

    Benchmarks compare methods at equal CPU time rather than equal steps; users get a predictable run length.
    """

    def __init__(self, max_minutes: float) -> None:
        self.max_seconds = 60.0 * max_minutes
        self.start: float | None = None

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.start = time.monotonic()

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        if self.start is not None and time.monotonic() - self.start >= self.max_seconds:
            minutes = self.max_seconds / 60
            logger.info("time budget of %.1f min reached at step %d: stopping (max_train_minutes=null runs all "
                        "trainer.max_steps)", minutes, state.global_step)
            control.should_training_stop = True
            control.should_save = True
        return control


def build_callbacks(cfg: Any) -> list[Any]:
    """Callbacks selected by top-level config keys (``max_train_minutes``)."""
    callbacks: list[Any] = []
    if cfg.get("max_train_minutes"):
        callbacks.append(TimeBudgetCallback(cfg.max_train_minutes))
    return callbacks
