"""Validation AUC during SFT, best-adapter saving and early stopping (TALLRec's model selection).

TALLRec evaluates AUC on valid.json every few steps, keeps the best checkpoint and stops after 10 evaluations
without improvement (``EarlyStoppingCallback(patience=10)``, ../shared/PAPERS.md "TALLRec"). Here the AUC comes
from :class:`rlpost.eval.yes_no.YesNoScorer`, the same scorer used for the test split.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from rlpost.distributed import is_main
from rlpost.eval.binary import binary_metrics

logger = logging.getLogger(__name__)


class AucEarlyStopping(TrainerCallback):
    """Score the validation prompts every ``eval_steps``; save the best adapter; stop after ``patience`` misses.

    Args:
        eval_steps: optimiser steps between validation passes.
        patience: evaluations without a new best AUC before training stops (0 = never stop early).
        eval_at_start: also score before the first step (the zero-shot model; LoRA starts as the identity).
        scorer: a :class:`~rlpost.eval.yes_no.YesNoScorer`.
        tokenizer: the model's tokenizer.
        prompts: rendered validation prompts.
        labels: their 0/1 labels (both classes required).
        save_dir: where the best adapter is written (``save_pretrained`` of the peft model).
        log_fn: optional metrics sink (e.g. the tracker's ``log``).
    """

    def __init__(self, eval_steps: int = 10, patience: int = 10, eval_at_start: bool = True, *, scorer: Any,
                 tokenizer: Any, prompts: Sequence[str], labels: Sequence[int], save_dir: str | Path,
                 log_fn: Callable[[dict[str, float]], None] | None = None) -> None:
        self.eval_steps, self.patience, self.eval_at_start = eval_steps, patience, eval_at_start
        self.scorer, self.tokenizer, self.prompts, self.labels = scorer, tokenizer, list(prompts), list(labels)
        self.save_dir, self.log_fn = Path(save_dir), log_fn
        self.best_auc, self.best_step, self.misses = float("-inf"), -1, 0
        self.history: list[dict[str, float]] = []

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        if self.eval_at_start:
            self.evaluate(model, state, control)

    def on_step_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        if state.global_step % self.eval_steps == 0 or state.global_step >= state.max_steps:
            self.evaluate(model, state, control)

    def evaluate(self, model: Any, state: Any, control: Any) -> None:
        """One validation pass; update best / patience and request a stop when patience runs out."""
        if self.history and self.history[-1]["step"] == state.global_step:
            return
        start = time.perf_counter()
        scores = self.scorer.score(model, self.tokenizer, self.prompts, desc="valid AUC")
        metrics = {"step": float(state.global_step), **binary_metrics(self.labels, scores, split="valid"),
                   "seconds": time.perf_counter() - start}
        self.history.append(metrics)
        logger.info("step %d: valid AUC %.4f, accuracy %.4f", state.global_step, metrics["auc"], metrics["accuracy"])
        if self.log_fn is not None:
            self.log_fn({f"sft/valid_{k}": v for k, v in metrics.items()})
        if metrics["auc"] > self.best_auc:
            self.best_auc, self.best_step, self.misses = metrics["auc"], state.global_step, 0
            if is_main():
                model.save_pretrained(self.save_dir)
        else:
            self.misses += 1
            if self.patience and self.misses >= self.patience:
                logger.info("early stopping at step %d: no valid AUC gain for %d evaluations (best %.4f at step %d)",
                            state.global_step, self.misses, self.best_auc, self.best_step)
                control.should_training_stop = True
