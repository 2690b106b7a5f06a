"""``rlpost-eval``: score a model (HF dir, hub id, LoRA adapter dir or training checkpoint) with the task that
``eval=`` names (``eval.kind``, rlpost.eval.tasks.registry).

    rlpost-eval                                         # SmolLM2 on 200 held-out arithmetic problems
    rlpost-eval model.path=outputs/.../final data.path=../shared/data/gsm8k/test.jsonl \\
        data.answer_parser=hashes eval.k=8
    rlpost-eval eval=yes_no data=tallrec_movie          # test AUC
    rlpost-eval eval=diversity data=persona reward=persona_json
    rlpost-eval eval=icl_probe data=tallrec_movie       # gold / random / abstract label probes

Writes ``metrics.json`` (and the task's records: ``samples.jsonl``, ``pools.jsonl``, ``points.jsonl``) into the
run directory.
"""

from __future__ import annotations

import logging
from typing import Any

from omegaconf import DictConfig

from rlpost.cli import hydra_main

logger = logging.getLogger("rlpost")


def run(cfg: DictConfig) -> dict[str, float]:
    """Load the model and evaluate it with the task of ``eval.kind``; returns the metrics.

    Raises:
        ConfigError: an unknown ``eval.kind``, ``none``, or inputs the task cannot use (checked before loading).
    """
    from transformers import set_seed

    from rlpost.config.validate import validate
    from rlpost.eval.tasks.registry import EvalInputs, eval_kind, task_module
    from rlpost.runtime.model import load_policy

    validate(cfg)
    task = task_module(eval_kind(cfg.eval))
    if hasattr(task, "check_inputs"):
        task.check_inputs(cfg.eval, cfg.data, cfg.get("reward"))
    set_seed(cfg.seed)
    model, tokenizer = load_policy(cfg.model)
    return task.evaluate_task(EvalInputs(model, tokenizer, cfg.data, cfg.eval, cfg.run_dir, cfg.seed,
                                         rollout_cfg=cfg.get("rollout"), reward_cfg=cfg.get("reward")))


def _task(cfg: DictConfig) -> Any:
    from rlpost.eval.results import format_section

    metrics = run(cfg)
    logger.info(format_section(cfg.eval.kind, "eval", metrics))
    logger.info("metrics and samples in %s", cfg.run_dir)
    return metrics


def main() -> None:
    """Console entry point."""
    hydra_main("evaluate", _task)


if __name__ == "__main__":
    main()
