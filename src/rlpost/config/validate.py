"""Checks run at startup, dispatched on ``cfg.pipeline`` (each method's own in ``methods/<m>/config.py``) plus the
shared ones here (DeepSpeed batch geometry, vLLM, sampling ranges, precision); every error names the config key."""

from __future__ import annotations

import importlib
import importlib.util
import logging
from types import ModuleType
from typing import Any

from omegaconf import OmegaConf

from rlpost.errors import ConfigError

logger = logging.getLogger(__name__)


def method_config(pipeline: Any) -> ModuleType | None:
    """The ``config`` module of the method whose pipeline ``cfg.pipeline`` names (``rlpost.methods.<m>.pipeline.run``
    -> ``rlpost.methods.<m>.config``: its ``validate(cfg, world_size, cuda_available)`` and ``SMOKE`` overrides);
    None for entry points outside ``rlpost.methods`` (``rlpost.evaluate.run``).

    Raises:
        ConfigError: ``pipeline`` is unset, or names a method package without a ``config`` module.
    """
    if not pipeline:
        raise ConfigError("pipeline is not set (e.g. rlpost.methods.grpo.pipeline.run): it names the method to run")
    parts = str(pipeline).split(".")
    if parts[:2] != ["rlpost", "methods"] or len(parts) < 3:
        return None
    name = ".".join([*parts[:3], "config"])
    try:
        spec = importlib.util.find_spec(name)
    except ModuleNotFoundError:  # the method package itself is missing
        spec = None
    if spec is None:
        raise ConfigError(f"pipeline={pipeline}: the method has no {name} module (its checks and smoke overrides)")
    return importlib.import_module(name)


def validate(cfg: Any, world_size: int = 1, cuda_available: bool | None = None) -> None:
    """Raise :class:`ConfigError` for settings that would fail later (or silently do the wrong thing): the checks
    of the method named by ``cfg.pipeline`` (:func:`method_config`), then the checks every config shares."""
    if cuda_available is None:
        import torch

        cuda_available = torch.cuda.is_available()
    method = method_config(cfg.get("pipeline"))
    if method is not None:
        method.validate(cfg, world_size, cuda_available)
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
    if ev is not None:
        from rlpost.eval.tasks.registry import eval_kind

        eval_kind(ev)  # a known task kind; each method checks the kinds it evaluates
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
    """vLLM rollouts (docs/vllm.md): a known mode, vLLM installed (GRPO's weight sync: methods/grpo/config.py)."""
    from rlpost.rollout.vllm_settings import INSTALL_HINT

    mode = cfg.rollout.get("vllm_mode", "colocate")
    if mode not in ("colocate", "server"):
        raise ConfigError(f"rollout.vllm_mode={mode!r}: choose colocate or server")
    if importlib.util.find_spec("vllm") is None:
        raise ConfigError(f"rollout.use_vllm=true but vLLM is not installed: {INSTALL_HINT}")


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
