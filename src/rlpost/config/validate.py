"""Cross-group checks run at startup; every error names the config key to change."""

from __future__ import annotations

import logging
from typing import Any

from omegaconf import OmegaConf

from rlpost.errors import ConfigError

logger = logging.getLogger(__name__)


def validate(cfg: Any, world_size: int = 1, cuda_available: bool | None = None) -> None:
    """Raise :class:`ConfigError` for settings that would fail later (or silently do the wrong thing)."""
    if cuda_available is None:
        import torch

        cuda_available = torch.cuda.is_available()
    if "algo" in cfg and "num_generations" in cfg.algo:
        validate_grpo(cfg, world_size)
    if "algo" in cfg and "rho" in cfg.algo:
        validate_divpo(cfg)
    if cfg.get("trainer") is not None and cfg.trainer.get("deepspeed"):
        validate_deepspeed(cfg.trainer, world_size)
    rollout = cfg.get("rollout")
    if rollout is not None and rollout.get("use_vllm"):
        validate_vllm(cfg, cuda_available)
    for key in ("sampling", "eval.sampling"):
        node = OmegaConf.select(cfg, key)
        if node is not None:
            validate_sampling(node, key)
    ev = cfg.get("eval")
    if ev is not None and ev.get("k", 1) < 1:
        raise ConfigError(f"eval.k={ev.k} must be >= 1")
    from rlpost.runtime.hardware import default_device_type

    validate_precision(cfg, default_device_type())  # the device this process really has


def validate_sampling(node: Any, key: str) -> None:
    """A sampling node (``sampling``, ``eval.sampling``): values every engine accepts."""
    if node.get("temperature") is not None and not node.temperature > 0:
        raise ConfigError(f"{key}.temperature={node.temperature} must be > 0")
    if node.get("top_p") is not None and not 0 < node.top_p <= 1:
        raise ConfigError(f"{key}.top_p={node.top_p} must be in (0, 1]")
    if node.get("top_k") is not None and node.top_k < 1:
        raise ConfigError(f"{key}.top_k={node.top_k} must be >= 1 (or null: off)")
    if node.get("max_new_tokens") is not None and node.max_new_tokens < 1:
        raise ConfigError(f"{key}.max_new_tokens={node.max_new_tokens} must be >= 1")


def validate_precision(cfg: Any, device_type: str) -> dict[str, tuple[Any, Any]]:
    """Resolve every dtype setting for this hardware (src/rlpost/runtime/hardware.py) and log the choice in one line.

    Returns:
        ``{key: (requested, resolved)}`` for ``trainer.bf16``, ``eval.autocast_dtype``,
        ``eval.scorer.autocast_dtype`` and ``model.dtype`` where present.

    Raises:
        ConfigError: a dtype this hardware cannot run (bf16 on a GPU without bf16), naming the key.
    """
    from rlpost.runtime.hardware import describe_choices, resolve_dtype
    from rlpost.runtime.trl_args import mixed_precision_args

    choices: dict[str, tuple[Any, Any]] = {}
    trainer = cfg.get("trainer")
    if trainer is not None and "bf16" in trainer:
        prec = mixed_precision_args(trainer, device_type)
        resolved = "bfloat16" if prec["bf16"] else "float16" if prec.get("fp16") else "float32"
        choices["trainer.bf16"] = (trainer.bf16, resolved)
    ev = cfg.get("eval")
    for key, node in (("eval.autocast_dtype", ev), ("eval.scorer.autocast_dtype", ev and ev.get("scorer"))):
        if node is not None and "autocast_dtype" in node:
            choices[key] = (node.autocast_dtype, resolve_dtype(node.autocast_dtype, device_type=device_type, key=key))
    model = cfg.get("model")
    if model is not None and model.get("dtype") is not None:
        choices["model.dtype"] = (model.dtype, resolve_dtype(model.dtype, device_type=device_type, key="model.dtype"))
    if choices:
        logger.info(describe_choices(choices, device_type))
    return choices


def validate_vllm(cfg: Any, cuda_available: bool) -> None:
    """vLLM rollouts (docs/vllm.md): a known mode, a weight sync that can work on this hardware, vLLM installed."""
    import importlib.util

    from rlpost.rollout.vllm_settings import INSTALL_HINT

    mode = cfg.rollout.get("vllm_mode", "colocate")
    if mode not in ("colocate", "server"):
        raise ConfigError(f"rollout.vllm_mode={mode!r}: choose colocate or server")
    lora = bool(cfg.get("peft") and cfg.peft.get("enabled", False))
    if mode == "server" and not lora and not cuda_available and "num_generations" in cfg.get("algo", {}):
        raise ConfigError("rollout.vllm_mode=server without peft=lora needs TRL's full-weight sync over NCCL (CUDA "
                          "only); on CPU use rollout=vllm_colocate, or peft=lora (adapters synced via a directory)")
    if importlib.util.find_spec("vllm") is None:
        raise ConfigError(f"rollout.use_vllm=true but vLLM is not installed: {INSTALL_HINT}")


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


def validate_divpo(cfg: Any) -> None:
    """DivPO pool and band settings (Lanchantin et al., arXiv 2501.18101)."""
    from rlpost.methods.divpo.selection import check_rho

    algo = cfg.algo
    if algo.n < 2:
        raise ConfigError(f"algo.n={algo.n} must be >= 2 (a preference pair needs two completions of one prompt)")
    check_rho(algo.rho)
    if algo.rounds < 1:
        raise ConfigError(f"algo.rounds={algo.rounds} must be >= 1")
    if algo.get("diversity") is None or "_target_" not in algo.diversity:
        raise ConfigError("algo.diversity must be a node with _target_ "
                          "(e.g. rlpost.methods.divpo.criteria.word_rarity)")

def _ds_value(ds: Any, key: str) -> Any:
    """A DeepSpeed key's explicit value, or None when absent or ``"auto"`` (HF fills those from the trainer)."""
    value = ds.get(key)
    return None if value is None or value == "auto" else value


def validate_deepspeed(trainer: Any, world_size: int) -> None:
    """DeepSpeed keys set explicitly must agree with the trainer (``"auto"`` is always safe).

    Raises:
        ConfigError: a DeepSpeed batch or clipping value contradicts the trainer, or the world size does not
            divide DeepSpeed's global batch.
    """
    ds = trainer.deepspeed
    micro, accum = trainer.per_device_train_batch_size, trainer.gradient_accumulation_steps
    pairs = [("train_micro_batch_size_per_gpu", "per_device_train_batch_size", micro),
             ("gradient_accumulation_steps", "gradient_accumulation_steps", accum),
             ("gradient_clipping", "max_grad_norm", trainer.get("max_grad_norm"))]
    for ds_key, tr_key, tr_value in pairs:
        value = _ds_value(ds, ds_key)
        if value is not None and tr_value is not None and value != tr_value:
            raise ConfigError(f"launch.deepspeed.{ds_key}={value} contradicts trainer.{tr_key}={tr_value}; "
                              f"set it to \"auto\" (the trainer value is used)")
    total = _ds_value(ds, "train_batch_size")
    if total is None:
        return
    if total % world_size:
        raise ConfigError(f"launch.deepspeed.train_batch_size={total} is not divisible by the world size "
                          f"({world_size} processes)")
    if total != micro * accum * world_size:
        raise ConfigError(
            f"launch.deepspeed.train_batch_size={total} != trainer.per_device_train_batch_size ({micro}) x "
            f"gradient_accumulation_steps ({accum}) x world size ({world_size}) = {micro * accum * world_size}; "
            f"set it to \"auto\"")
