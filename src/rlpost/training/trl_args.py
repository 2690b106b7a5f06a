"""Build trl.*Config objects from the ``trainer`` group plus runtime facts (device, reward weights)."""

from __future__ import annotations

from typing import Any


def runtime_device_args(trainer_cfg: Any) -> dict[str, Any]:
    """Device facts decided at runtime: ``use_cpu`` without CUDA (TRL refuses bf16 otherwise).

    DeepSpeed on CPU needs ``use_cpu=False`` and fp32 (see launch/README.md).
    """
    import torch

    if torch.cuda.is_available():
        return {}
    if trainer_cfg.get("deepspeed"):
        return {"use_cpu": False, "bf16": False}
    return {"use_cpu": True}


def build_trl_args(trainer_cfg: Any, **runtime: Any) -> Any:
    """Instantiate ``trainer._target_`` (e.g. ``trl.GRPOConfig``) with runtime kwargs added."""
    from hydra.utils import instantiate

    return instantiate(trainer_cfg, **{**runtime_device_args(trainer_cfg), **runtime})
