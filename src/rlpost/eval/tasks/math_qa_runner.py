"""Evaluate an in-memory model with settings from ``cfg.eval`` (used by training pipelines and rlpost-eval)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rlpost.errors import ConfigError
from rlpost.eval.tasks.math_qa import EvalSettings, evaluate
from rlpost.rollout.build import build_engine
from rlpost.runtime.zero3 import full_parameters


def settings_from_cfg(eval_cfg: Any, seed: int = 0) -> EvalSettings:
    """Map the ``eval`` config group onto :class:`EvalSettings`."""
    return EvalSettings(
        k=eval_cfg.k,
        temperature=eval_cfg.temperature,
        top_p=eval_cfg.top_p,
        max_new_tokens=eval_cfg.max_new_tokens,
        answer_format=eval_cfg.answer_format,
        group_by=eval_cfg.group_by,
        seed=seed,
    )


def evaluate_model(
    model: Any, tokenizer: Any, dataset: Any, template: Any, eval_cfg: Any, out_dir: str | Path | None, seed: int = 0,
    rollout_cfg: Any = None,
) -> dict[str, float]:
    """Greedy accuracy (+ pass@k/maj@k when ``eval.k > 1``), or IFEval's accuracies with
    ``eval.task=instruction_following``, of ``model`` on ``dataset``; restores train mode.

    Every rank must call it (rows are sharded over ranks; under ZeRO-3 the weights are gathered first).
    ``rollout_cfg`` picks the engine (:func:`rlpost.rollout.build.build_engine`; None = HF).
    """
    task = eval_cfg.get("task", "answers")
    if task not in ("answers", "instruction_following"):
        raise ConfigError(f"eval.task={task!r}: choose answers or instruction_following")
    was_training = model.training
    model.eval()
    try:
        with full_parameters(model):
            engine = build_engine(model, tokenizer, rollout_cfg, batch_size=eval_cfg.batch_size,
                                  autocast_dtype=eval_cfg.autocast_dtype, seed=seed)
            if task == "instruction_following":
                from rlpost.eval.tasks.ifeval import evaluate_instruction_following

                return evaluate_instruction_following(engine, dataset, template, eval_cfg.max_new_tokens, out_dir)
            return evaluate(engine, dataset, template, settings_from_cfg(eval_cfg, seed), out_dir)
    finally:
        model.train(was_training)
