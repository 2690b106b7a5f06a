"""``rlpost-train``: run a training pipeline from a Hydra config or recipe.

rlpost-train                                   # GRPO on SmolLM2 + arithmetic, CPU, a few minutes
rlpost-train --config-name <recipe> key=value  # a named recipe from recipes/
torchrun --nproc_per_node=2 -m rlpost.train --config-name <recipe> ...
"""

from __future__ import annotations

import logging
from typing import Any

from omegaconf import DictConfig

from rlpost.cli import hydra_main

logger = logging.getLogger("rlpost")


def train(cfg: DictConfig) -> dict[str, Any]:
    """Validate the config, then call ``cfg.pipeline`` and print a before/after summary."""
    from hydra.utils import get_method

    from rlpost.config.validate import validate
    from rlpost.distributed import is_main, world_size
    from rlpost.eval.tasks.math_qa import format_metrics
    from rlpost.runtime.trl_patches import compact_fused_head_on_cpu

    validate(cfg, world_size=world_size())
    compact_fused_head_on_cpu()
    results = get_method(cfg.pipeline)(cfg)
    if is_main():
        for stage in ("before", "after"):
            if stage in results:
                logger.info(format_metrics(f"held-out {stage:>6}", results[stage]))
        logger.info("run directory: %s", cfg.run_dir)
    return results


def main() -> None:
    """Console entry point."""
    hydra_main("grpo", train)


if __name__ == "__main__":
    main()
