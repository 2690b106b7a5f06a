"""Build trl.*Config objects from the ``trainer`` group plus runtime facts (device, precision, reward weights)."""

from __future__ import annotations

from typing import Any


def mixed_precision_args(trainer_cfg: Any, device_type: str | None = None) -> dict[str, bool]:
    """``bf16``/``fp16`` for TRL from ``trainer.bf16`` (``auto`` | true | false), by runtime/hardware.py's rule.

    ``auto``: bf16 where the CPU or GPU runs it natively, fp16 on a GPU without bf16, fp32 otherwise (an AVX2 CPU
    emulates bf16 about 11x slower than fp32). An explicit ``trainer.fp16=true`` is left alone (``auto`` then
    means no bf16). DeepSpeed on CPU needs fp32 (see launch/README.md).

    Raises:
        ConfigError: ``trainer.bf16=true`` on a GPU without bf16, or an unknown value.
    """
    from rlpost.runtime.hardware import default_device_type, resolve_dtype

    device_type = device_type or default_device_type()
    requested = trainer_cfg.get("bf16", "auto")
    if device_type == "cpu" and trainer_cfg.get("deepspeed"):
        return {"bf16": False, "fp16": False}
    if trainer_cfg.get("fp16") and str(requested).lower() == "auto":
        return {"bf16": False}
    dtype = resolve_dtype(requested, device_type=device_type, key="trainer.bf16")
    out = {"bf16": dtype == "bfloat16"}
    if dtype == "float16":
        out["fp16"] = True
    return out


def runtime_device_args(trainer_cfg: Any) -> dict[str, Any]:
    """Device facts decided at runtime: ``use_cpu`` without CUDA (TRL refuses bf16 otherwise), and the precision.

    DeepSpeed on CPU needs ``use_cpu=False`` and fp32 (see launch/README.md).
    """
    import torch

    precision = mixed_precision_args(trainer_cfg)
    if torch.cuda.is_available():
        return precision
    if trainer_cfg.get("deepspeed"):
        return {"use_cpu": False, **precision}
    return {"use_cpu": True, **precision}


def sampling_args(sampling: Any) -> dict[str, Any]:
    """TRL's names for a :class:`~rlpost.rollout.sampling.SamplingSettings` (``trl.GRPOConfig`` kwargs).

    Example:
        >>> from rlpost.rollout.sampling import SamplingSettings
        >>> sampling_args(SamplingSettings(temperature=0.7, max_new_tokens=48))
        {'temperature': 0.7, 'top_p': 1.0, 'top_k': None, 'max_completion_length': 48}
    """
    return {"temperature": sampling.temperature, "top_p": sampling.top_p, "top_k": sampling.top_k,
            "max_completion_length": sampling.max_new_tokens}


def build_trl_args(trainer_cfg: Any, **runtime: Any) -> Any:
    """Instantiate ``trainer._target_`` (e.g. ``trl.GRPOConfig``) with runtime kwargs added.

    Every pipeline builds its TRL config here, so every one first gets the process-group setup of
    :func:`rlpost.runtime.accelerator.prepare_trainer_runtime` (DeepSpeed on CPU; a no-op otherwise).
    """
    from hydra.utils import instantiate

    from rlpost.runtime.accelerator import prepare_trainer_runtime

    return instantiate(trainer_cfg, **{**runtime_device_args(trainer_cfg), **prepare_trainer_runtime(trainer_cfg),
                                       **runtime})
