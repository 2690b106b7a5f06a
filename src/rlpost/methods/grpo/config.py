"""GRPO's typed ``algo`` schema (:class:`GRPOAlgoConfig`, registered by rlpost.config.schema), its config checks
(run by rlpost.config.validate for ``pipeline: rlpost.methods.grpo.pipeline.run``) and the overrides that make any
GRPO config a seconds-long smoke run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rlpost.errors import ConfigError

# a seconds-long run of any GRPO config or recipe (tests, smoke checks): values only, conf/debug/cpu_smoke.yaml
SMOKE = ["+debug=cpu_smoke"]


@dataclass
class GRPOAlgoConfig:
    """rlpost-owned GRPO knobs (TRL names where mirrored; ``kl_coef`` is TRL's ``beta``)."""

    num_generations: int = 8
    kl_coef: float = 0.0
    scale_rewards: str = "group"
    loss_type: str = "dapo"
    epsilon: float = 0.2
    epsilon_high: float | None = None
    entropy_coef: float = 0.0
    mask_truncated_completions: bool = False
    num_iterations: int = 1
    skip_zero_advantage: str = "auto"
    # token (GRPO) | sequence (GSPO: one length-normalised ratio per completion)
    importance_sampling_level: str = "token"
    # grpo | rloo (leave-one-out baseline, rlpost.methods.grpo.advantages)
    advantage_estimator: str = "grpo"
    # DAPO dynamic sampling (rlpost.methods.grpo.dynamic_sampling)
    dynamic_sampling: bool = False
    max_generation_rounds: int = 4
    max_uninformative_rounds: int = 32
    # vLLM rollouts: correct the rollout-vs-trainer log-prob mismatch (TRL's vllm_importance_sampling_*)
    vllm_importance_sampling_correction: bool = True
    vllm_importance_sampling_mode: str = "sequence_mask"
    vllm_importance_sampling_clip_max: float | None = 3.0


ALGO_SCHEMA = GRPOAlgoConfig  # registered as algo/grpo_schema (rlpost.config.schema)


def validate(cfg: Any, world_size: int = 1, cuda_available: bool = False) -> None:
    """Batch geometry, GRPO variants, and a vLLM weight sync this hardware can run."""
    validate_grpo(cfg, world_size)
    rollout = cfg.get("rollout") or {}
    lora = bool(cfg.get("peft") and cfg.peft.get("enabled", False))
    if rollout.get("use_vllm") and rollout.get("vllm_mode") == "server" and not lora and not cuda_available:
        raise ConfigError("rollout.vllm_mode=server without peft=lora needs TRL's full-weight sync over NCCL (CUDA "
                          "only); on CPU use rollout=vllm_colocate, or peft=lora (adapters synced via a directory)")


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
    skip = cfg.algo.get("skip_zero_advantage", "auto")
    if str(skip).lower() != "auto":  # auto never fails; an explicit true that would change the loss fails here, early
        from rlpost.methods.grpo.informative_rows import resolve_skip

        resolve_skip(skip, cfg.algo.get("loss_type", "dapo"), cfg.algo.get("kl_coef", 0.0),
                     bool(cfg.algo.get("entropy_coef", 0.0)) or bool(tr.get("use_adaptive_entropy")),
                     top_entropy_quantile=tr.get("top_entropy_quantile", 1.0),
                     router_aux_loss=bool(tr.get("router_aux_loss_coef")))  # a MoE default is checked by the trainer
    validate_grpo_variants(cfg.algo, tr)


IS_LEVELS = ("token", "sequence")
VLLM_IS_MODES = ("token_truncate", "token_mask", "sequence_truncate", "sequence_mask")


def validate_grpo_variants(algo: Any, trainer: Any) -> None:
    """GSPO / RLOO / vLLM correction / dynamic sampling keys: valid values and compatible combinations."""
    from rlpost.methods.grpo.advantages import check_estimator
    from rlpost.methods.grpo.dynamic_sampling import check_dynamic_sampling

    level = algo.get("importance_sampling_level", "token")
    if level not in IS_LEVELS:
        raise ConfigError(f"algo.importance_sampling_level={level!r}: choose one of {list(IS_LEVELS)}")
    mode = algo.get("vllm_importance_sampling_mode", "sequence_mask")
    if mode not in VLLM_IS_MODES:
        raise ConfigError(f"algo.vllm_importance_sampling_mode={mode!r}: choose one of {list(VLLM_IS_MODES)}")
    clip = algo.get("vllm_importance_sampling_clip_max", 3.0)
    if clip is not None and clip <= 0:
        raise ConfigError(f"algo.vllm_importance_sampling_clip_max={clip} must be > 0 (or null: no upper bound)")
    check_estimator(algo.get("advantage_estimator", "grpo"), str(algo.get("scale_rewards", "group")))
    check_dynamic_sampling(bool(algo.get("dynamic_sampling", False)), trainer.per_device_train_batch_size,
                           int(trainer.get("steps_per_generation") or trainer.gradient_accumulation_steps),
                           algo.num_generations, str(algo.get("scale_rewards", "group")),
                           algo.get("max_generation_rounds", 4), algo.get("max_uninformative_rounds", 32))
