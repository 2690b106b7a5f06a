"""``rlpost-eval``: score a model (HF dir, hub id, LoRA adapter dir or training checkpoint) on a dataset.

    rlpost-eval                                         # SmolLM2 on 200 held-out arithmetic problems
    rlpost-eval model.path=outputs/.../final data.path=../shared/data/gsm8k/test.jsonl \\
        data.answer_parser=hashes eval.k=8

Writes ``metrics.json`` and per-question ``samples.jsonl`` into the run directory.
"""

from __future__ import annotations

import logging
from typing import Any

from omegaconf import DictConfig

from rlpost.cli import hydra_main

logger = logging.getLogger("rlpost")


def run(cfg: DictConfig) -> dict[str, float]:
    """Load the model and dataset and evaluate with the task ``eval=`` picks; returns the metrics."""
    from transformers import set_seed

    from rlpost.config.validate import validate
    from rlpost.runtime.model import load_policy

    validate(cfg)
    set_seed(cfg.seed)
    model, tokenizer = load_policy(cfg.model)
    if eval_kind(cfg.eval) == "yes_no":
        from rlpost.eval.results import save_evaluation
        from rlpost.eval.tasks.yes_no import evaluate_test_split

        metrics = evaluate_test_split(model, tokenizer, cfg.data, cfg.eval.scorer, cfg.seed)
        save_evaluation(cfg.run_dir, metrics, [])
        return metrics
    from hydra.utils import instantiate

    from rlpost.data.build import build_eval_dataset
    from rlpost.eval.tasks.math_qa import evaluate_model

    dataset = build_eval_dataset(cfg.data, cfg.seed)
    return evaluate_model(model, tokenizer, dataset, instantiate(cfg.data.template), cfg.eval, cfg.run_dir, cfg.seed,
                          rollout_cfg=cfg.get("rollout"))


def eval_kind(eval_cfg: DictConfig) -> str:
    """``yes_no``, ``math_qa`` or ``instruction_following``: the task the ``eval`` config group describes."""
    from rlpost.eval.tasks.math_qa import task_kind
    from rlpost.eval.tasks.yes_no import is_yes_no

    return "yes_no" if is_yes_no(eval_cfg) else task_kind(eval_cfg)


def _task(cfg: DictConfig) -> Any:
    from rlpost.eval.results import format_section

    metrics = run(cfg)
    logger.info(format_section(eval_kind(cfg.eval), "eval", metrics))
    logger.info("metrics and samples in %s", cfg.run_dir)
    return metrics


def main() -> None:
    """Console entry point."""
    hydra_main("evaluate", _task)


if __name__ == "__main__":
    main()
