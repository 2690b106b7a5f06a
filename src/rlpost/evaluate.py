"""``rlpost-eval``: score a model (HF dir, hub id, LoRA adapter dir or training checkpoint) on a dataset.

    rlpost-eval                                         # SmolLM2 on 200 held-out arithmetic problems
    rlpost-eval model.path=outputs/.../final data.path=../shared/data/gsm8k/test.jsonl \\
        data.answer_parser=after_hashes eval.k=8

Writes ``metrics.json`` and per-question ``samples.jsonl`` into the run directory.
"""

from __future__ import annotations

import logging
from typing import Any

from omegaconf import DictConfig

from rlpost.cli import hydra_main

logger = logging.getLogger("rlpost")


def run(cfg: DictConfig) -> dict[str, float]:
    """Load the model and dataset and evaluate; returns the metrics."""
    from hydra.utils import instantiate
    from transformers import set_seed

    from rlpost.config.validate import validate
    from rlpost.data.build import build_eval_dataset
    from rlpost.eval.tasks.math_qa import evaluate_model
    from rlpost.runtime.model import load_policy

    validate(cfg)
    set_seed(cfg.seed)
    model, tokenizer = load_policy(cfg.model)
    dataset = build_eval_dataset(cfg.data, cfg.seed)
    return evaluate_model(model, tokenizer, dataset, instantiate(cfg.data.template), cfg.eval, cfg.run_dir, cfg.seed,
                          rollout_cfg=cfg.get("rollout"))


def _task(cfg: DictConfig) -> Any:
    from rlpost.eval.results import format_section
    from rlpost.eval.tasks.math_qa import task_kind

    metrics = run(cfg)
    logger.info(format_section(task_kind(cfg.eval), "eval", metrics))
    logger.info("metrics and samples in %s", cfg.run_dir)
    return metrics


def main() -> None:
    """Console entry point."""
    hydra_main("evaluate", _task)


if __name__ == "__main__":
    main()
