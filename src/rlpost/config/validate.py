"""Cross-group checks run at startup; every error names the config key to change."""

from __future__ import annotations

from typing import Any

from rlpost.errors import ConfigError


def validate(cfg: Any, world_size: int = 1, cuda_available: bool | None = None) -> None:
    """Raise :class:`ConfigError` for settings that would fail later (or silently do the wrong thing)."""
    if cuda_available is None:
        import torch

        cuda_available = torch.cuda.is_available()
    if "algo" in cfg and "num_generations" in cfg.algo:
        validate_grpo(cfg, world_size)
    rollout = cfg.get("rollout")
    if rollout is not None and rollout.get("use_vllm") and not cuda_available:
        raise ConfigError("rollout.use_vllm=true needs a CUDA GPU; on CPU use rollout=hf")
    if rollout is not None and "temperature" in rollout and not 0 < rollout.temperature:
        raise ConfigError(f"rollout.temperature={rollout.temperature} must be > 0")
    ev = cfg.get("eval")
    if ev is not None and ev.get("k", 1) < 1:
        raise ConfigError(f"eval.k={ev.k} must be >= 1")


def validate_grpo(cfg: Any, world_size: int) -> None:
    """GRPO batch geometry: a step's completions must split into whole groups."""
    g = cfg.algo.num_generations
    if g < 2:
        raise ConfigError(f"algo.num_generations={g} must be >= 2 (GRPO advantages compare completions of a group)")
    tr = cfg.trainer
    per_step = tr.per_device_train_batch_size * tr.gradient_accumulation_steps * world_size
    if per_step % g:
        raise ConfigError(
            f"trainer.per_device_train_batch_size ({tr.per_device_train_batch_size}) x gradient_accumulation_steps "
            f"({tr.gradient_accumulation_steps}) x world size ({world_size}) = {per_step} completions per step must "
            f"be divisible by algo.num_generations={g}"
        )
