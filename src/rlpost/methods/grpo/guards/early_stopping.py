"""Early stopping on a small labelled validation set (SRT, arXiv 2505.21444: performance peaks before a collapse).

Resume: the callback writes its state into each ``checkpoint-N`` before its commit marker
(``rlpost_early_stopping.json`` with the best weights in ``rlpost_early_stopping_best.safetensors``) and reads it
back when the run resumes from that checkpoint, so a resumed run keeps the best step and validation history.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from rlpost.checkpoint.commit import checkpoint_dir, load_callback_state, save_callback_state
from rlpost.distributed import is_main
from rlpost.errors import ConfigError
from rlpost.io import write_file
from rlpost.methods.grpo.guards.report import write_report
from rlpost.runtime.callbacks import PatienceStopper
from rlpost.runtime.zero3 import full_parameters

logger = logging.getLogger(__name__)

EARLY_STATE = "rlpost_early_stopping.json"  # in each checkpoint-N
BEST_WEIGHTS = "rlpost_early_stopping_best.safetensors"


class EarlyStopping(PatienceStopper, TrainerCallback):
    """Evaluate on a small labelled validation set every ``eval_steps`` (and before training), keep the best
    weights, stop after ``patience`` evaluations without improvement and restore the best at the end.

    The validation rows are split off the training set by :func:`rlpost.methods.grpo.guards.setup.apply_guards`.
    Holds a CPU copy of the best weights (whole: under ZeRO-3 they are gathered for the evaluation and the copy).
    """

    def __init__(self, eval_steps: int = 10, patience: int = 3, val_size: int = 64, metric: str = "accuracy",
                 min_delta: float = 0.0, restore_best: bool = True) -> None:
        if patience < 1:
            raise ConfigError(f"guards.early_stopping.patience={patience} must be >= 1 (evaluations without gain)")
        super().__init__(eval_steps, patience, min_delta)
        self.eval_steps, self.val_size, self.metric, self.restore_best = eval_steps, val_size, metric, restore_best
        self.history: list[tuple[int, float]] = []
        self.best_state: dict[str, Any] | None = None
        self.stopped_early = False
        self.context: dict[str, Any] = {}  # val_ds, template, eval_cfg, run_dir, seed (set by apply_guards)
        self._best_file: tuple[int, Path] | None = None  # (step, file) of the best weights last saved

    @property
    def best(self) -> tuple[int, float] | None:
        """``(step, value)`` of the best evaluation so far."""
        return (self.best_step, self.best_value) if self.has_best else None

    @property
    def bad_evals(self) -> int:
        """Evaluations since the best (the name in the checkpoint state)."""
        return self.misses

    def value_at(self, step: int) -> float | None:
        """The validation value measured at exactly ``step`` (None if there was no evaluation then).

        Example:
            >>> es = EarlyStopping(); es.history = [(0, 0.25), (10, 0.5)]
            >>> es.value_at(10), es.value_at(5)
            (0.5, None)
        """
        return next((value for s, value in reversed(self.history) if s == step), None)

    def _evaluate(self, step: int, model: Any, tokenizer: Any) -> None:
        from rlpost.eval.tasks.math_qa import evaluate_model

        c = self.context
        with full_parameters(model):
            metrics = evaluate_model(model, tokenizer, c["val_ds"], c["template"], c["eval_cfg"], None, c["seed"])
            value = metrics[self.metric]
            self.history.append((step, value))
            logger.info("early stopping: step %d validation %s %.4f", step, self.metric, value)
            if self.record(step, value):
                self.best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, processing_class: Any = None,
                       **kwargs: Any):
        self.restore(args, state)
        if not self.history:
            self._evaluate(state.global_step, model, processing_class)
        return control

    def on_step_end(self, args: Any, state: Any, control: Any, model: Any = None, processing_class: Any = None,
                    **kwargs: Any):
        if self.stopped_early:  # resumed from a checkpoint written after patience ran out
            control.should_training_stop = True
        elif self.due(state.global_step):
            self._evaluate(state.global_step, model, processing_class)
            if self.out_of_patience:
                self.stopped_early = True
                logger.warning("early stopping at step %d: no %s gain for %d evaluations (best %.4f at step %d)",
                               state.global_step, self.metric, self.bad_evals, self.best[1], self.best[0])
                control.should_training_stop = True
        return control

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any):
        """Put the history, best step and best weights into the checkpoint (before the commit callback's marker)."""
        if not is_main():
            return control
        best_file = None
        if self.restore_best and self.best_state is not None and self.best is not None:
            best_file = self._save_best_weights(checkpoint_dir(args, state) / BEST_WEIGHTS)
        save_callback_state(args, state, EARLY_STATE, {
            "history": self.history, "best": self.best, "bad_evals": self.bad_evals,
            "stopped_early": self.stopped_early, "best_weights": best_file and best_file.name})
        return control

    def _save_best_weights(self, path: Path) -> Path:
        """Write the best weights to ``path`` atomically; a hard link to the last file when the best is unchanged."""
        from safetensors.torch import save_file

        last = self._best_file
        if last is not None and last[0] == self.best[0] and last[1].is_file():
            try:
                os.link(last[1], path)
                self._best_file = (self.best[0], path)
                return path
            except OSError:
                pass
        write_file(path, lambda tmp: save_file({k: v.contiguous() for k, v in self.best_state.items()}, str(tmp)))
        self._best_file = (self.best[0], path)
        return path

    def restore(self, args: Any, state: Any) -> None:
        """Load the state saved in the checkpoint this run resumed from (nothing on a fresh run)."""
        saved = load_callback_state(args, state, EARLY_STATE)
        if saved is None:
            return
        self.history = [(int(s), float(v)) for s, v in saved["history"]]
        if saved["best"] is not None:
            self.best_step, self.best_value = int(saved["best"][0]), float(saved["best"][1])
        self.misses, self.stopped_early = int(saved["bad_evals"]), bool(saved["stopped_early"])
        if saved.get("best_weights"):
            from safetensors.torch import load_file

            path = checkpoint_dir(args, state) / saved["best_weights"]
            self.best_state, self._best_file = load_file(str(path)), (self.best[0], path)
        logger.info("early stopping: restored %d evaluations from %s (best %s)", len(self.history),
                    checkpoint_dir(args, state).name, self.best)

    def on_train_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any):
        if self.restore_best and self.best_state is not None and self.best is not None:
            with full_parameters(model, modify=True):
                model.load_state_dict(self.best_state)
            logger.info("early stopping: restored the best weights (step %d, %s %.4f)", self.best[0], self.metric,
                        self.best[1])
        write_report(self.context.get("run_dir"), "early_stopping", self.summary())
        return control

    def summary(self) -> dict[str, Any]:
        """Validation history, the kept step and whether training stopped early."""
        return {"metric": self.metric, "history": self.history, "best_step": self.best and self.best[0],
                "best_value": self.best and self.best[1], "stopped_early": self.stopped_early,
                "restored_best": bool(self.restore_best and self.best_state is not None)}
