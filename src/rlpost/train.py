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
    """Validate the config, then call ``cfg.pipeline`` (which prints the summary, rlpost.eval.results)."""
    from hydra.utils import get_method

    from rlpost.config.validate import validate
    from rlpost.distributed import is_main, world_size
    from rlpost.runtime.trl_patches import compact_fused_head_on_cpu

    validate(cfg, world_size=world_size())
    compact_fused_head_on_cpu()
    results = get_method(cfg.pipeline)(cfg)
    if is_main():
        logger.info("run directory: %s", cfg.run_dir)
    return results


def main() -> None:
    """Console entry point."""
    hydra_main("grpo", train)


if __name__ == "__main__":
    main()
