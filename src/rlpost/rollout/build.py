"""Pick the rollout engine for rlpost's own generation (eval, DivPO pools, pseudo-labels) from ``cfg.rollout``."""

from __future__ import annotations

from typing import Any


def build_engine(model: Any, tokenizer: Any, rollout_cfg: Any, *, batch_size: int = 64,
                 autocast_dtype: str | None = "auto", seed: int = 0, dtype_key: str = "eval.autocast_dtype") -> Any:
    """:class:`~rlpost.rollout.vllm_engine.VLLMEngine` when ``rollout.use_vllm`` is true, else
    :class:`~rlpost.rollout.hf.HFEngine`; both take the same :class:`~rlpost.rollout.sampling.SamplingSettings`.

    The vLLM engine runs in this process on a copy of ``model``'s current weights (``rollout.vllm_mode`` only
    concerns GRPO's generation), with the dtype of :func:`rlpost.rollout.vllm_settings.vllm_dtype`;
    ``autocast_dtype`` applies to the HF engine only.
    """
    if rollout_cfg is not None and rollout_cfg.get("use_vllm"):
        from rlpost.rollout.vllm_engine import VLLMEngine

        return VLLMEngine.from_model(model, tokenizer, rollout_cfg, seed=seed)
    from rlpost.rollout.hf import HFEngine

    return HFEngine(model, tokenizer, max_batch_size=batch_size, autocast_dtype=autocast_dtype, dtype_key=dtype_key)
