"""Validation AUC during SFT, best-adapter saving and early stopping (TALLRec's model selection).

TALLRec evaluates AUC on valid.json every few steps, keeps the best checkpoint and stops after 10 evaluations
without improvement (``EarlyStoppingCallback(patience=10)``, Bao et al., RecSys 2023). Here the AUC comes
from :class:`rlpost.rollout.label_scores.YesNoScorer`, the same scorer used for the test split.

Resume: each trainer checkpoint gets the callback's state (``rlpost_auc_state.json``: best AUC and step, misses,
history) and a copy of the best adapter so far (``adapter_best/``, hard links where possible), written before the
commit marker. A run resumed from ``checkpoint-N`` restores both, so ``adapter_best`` and the early-stopping
counters are exactly those of step N, and the replayed steps decide the rest as an uninterrupted run would.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from rlpost.distributed import is_main
from rlpost.errors import DataError
from rlpost.eval.binary import binary_metrics
from rlpost.io import copy_dir, read_json, write_dir, write_json
from rlpost.runtime.callbacks import PatienceStopper
from rlpost.runtime.zero3 import full_parameters

logger = logging.getLogger(__name__)

AUC_STATE = "rlpost_auc_state.json"  # in each checkpoint-N
BEST_INFO = "rlpost_best.json"  # in adapter_best: which step and AUC the adapter is from
# The best adapter's copy inside checkpoint-N sits two levels down: transformers < 5.23 takes any direct subfolder
# holding adapter weights for an extra adapter of a multi-adapter checkpoint, and then does not restore the trained
# ("default") adapter on resume, so the resumed run silently trained from the initial LoRA weights.
CHECKPOINT_BEST = Path("rlpost_auc") / "adapter_best"


class AucEarlyStopping(PatienceStopper, TrainerCallback):
    """Score the validation prompts every ``eval_steps``; save the best adapter; stop after ``patience`` misses.

    Args:
        eval_steps: optimiser steps between validation passes.
        patience: evaluations without a new best AUC before training stops (0 = never stop early).
        eval_at_start: also score before the first step (the zero-shot model; LoRA starts as the identity).
        scorer: a :class:`~rlpost.rollout.label_scores.YesNoScorer`.
        tokenizer: the model's tokenizer.
        prompts: rendered validation prompts.
        labels: their 0/1 labels (both classes required).
        save_dir: where the best adapter is written (``save_pretrained`` of the peft model).
        log_fn: optional metrics sink (e.g. the tracker's ``log``).
    """

    def __init__(self, eval_steps: int = 10, patience: int = 10, eval_at_start: bool = True, *, scorer: Any,
                 tokenizer: Any, prompts: Sequence[str], labels: Sequence[int], save_dir: str | Path,
                 log_fn: Callable[[dict[str, float]], None] | None = None) -> None:
        super().__init__(eval_steps, patience)
        self.eval_steps, self.eval_at_start = eval_steps, eval_at_start
        self.scorer, self.tokenizer, self.prompts, self.labels = scorer, tokenizer, list(prompts), list(labels)
        self.save_dir, self.log_fn = Path(save_dir), log_fn
        self.history: list[dict[str, float]] = []

    @property
    def best_auc(self) -> float:
        """The best validation AUC so far (-inf before the first evaluation)."""
        return self.best_value

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        if state.global_step > 0:  # HF resumed from checkpoint-<global_step>
            self.restore(Path(args.output_dir) / f"checkpoint-{state.global_step}")
        elif self.eval_at_start:
            self.evaluate(model, state, control)

    def on_step_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        if self.out_of_patience:  # resumed after patience ran out: stop, score no more
            control.should_training_stop = True
        elif self.due(state.global_step, last_step=state.max_steps):
            self.evaluate(model, state, control)

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """Put the state and the best adapter into the checkpoint (runs before the commit callback's marker)."""
        if not is_main():
            return
        checkpoint = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if self.has_best and self.save_dir.is_dir():
            copy_dir(self.save_dir, checkpoint / CHECKPOINT_BEST)
        write_json(checkpoint / AUC_STATE, {
            "best_auc": self.best_value if self.has_best else None, "best_step": self.best_step,
            "misses": self.misses, "history": self.history}, sort_keys=True)

    def restore(self, checkpoint: Path) -> None:
        """Load the state saved in ``checkpoint``; put its best adapter back if ``save_dir`` holds another."""
        path = checkpoint / AUC_STATE
        if not path.is_file():
            logger.warning("%s has no %s: validation AUC history starts afresh", checkpoint, AUC_STATE)
            return
        saved = read_json(path)
        self.best_step, self.misses, self.history = saved["best_step"], saved["misses"], saved["history"]
        self.best_value = float("-inf") if saved["best_auc"] is None else saved["best_auc"]
        logger.info("restored validation AUC state at %s: best %.4f at step %d, %d evaluations without gain",
                    checkpoint.name, self.best_auc, self.best_step, self.misses)
        saved_best = checkpoint / CHECKPOINT_BEST
        if is_main() and saved_best.is_dir() and read_best_step(self.save_dir) != self.best_step:
            # adapter_best was overwritten after checkpoint-N by steps this run is about to replay
            write_dir(self.save_dir, lambda tmp: copy_dir(saved_best, tmp))

    def evaluate(self, model: Any, state: Any, control: Any) -> None:
        """One validation pass; update best / patience and request a stop when patience runs out."""
        if self.history and self.history[-1]["step"] == state.global_step:
            return
        start = time.perf_counter()
        with full_parameters(model):  # ZeRO-3: whole weights for scoring and for saving the best adapter
            scores = self.scorer.score(model, self.tokenizer, self.prompts, desc="valid AUC")
            metrics = {"step": float(state.global_step),
                       **binary_metrics(self.labels, scores, split="valid", logits=True),
                       "seconds": time.perf_counter() - start}
            self.history.append(metrics)
            logger.info("step %d: valid AUC %.4f, accuracy %.4f", state.global_step, metrics["auc"],
                        metrics["accuracy"])
            if self.log_fn is not None:
                self.log_fn({f"sft/valid_{k}": v for k, v in metrics.items()})
            improved = self.record(state.global_step, metrics["auc"])
            if improved and is_main():
                self.save_best(model)
        if not improved:
            if self.out_of_patience:
                logger.info("early stopping at step %d: no valid AUC gain for %d evaluations (best %.4f at step %d)",
                            state.global_step, self.misses, self.best_auc, self.best_step)
                control.should_training_stop = True

    def save_best(self, model: Any) -> None:
        """Write the adapter and its step/AUC to a temporary directory, then swap it in for ``save_dir``."""
        def save(tmp: Path) -> None:
            model.save_pretrained(tmp)
            write_json(tmp / BEST_INFO, {"step": self.best_step, "auc": self.best_auc}, sort_keys=True)

        write_dir(self.save_dir, save)


def read_best_step(adapter_dir: Path) -> int | None:
    """The training step an ``adapter_best`` directory was saved at (None if unknown)."""
    try:
        return int(read_json(adapter_dir / BEST_INFO)["step"])
    except (OSError, ValueError, KeyError, TypeError, DataError):
        return None
