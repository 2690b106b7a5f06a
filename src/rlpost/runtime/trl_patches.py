"""Workarounds for TRL behaviour that costs time on CPU, applied once by ``rlpost.train`` (TRL 1.16).

**Compact fused LM head on CPU.** TRL's fused LM head (``trl.trainer.utils.add_fused_lm_head``, used by SFT, DPO,
GRPO, KTO and RLOO losses) projects only the positions that carry a label on CUDA/XPU, but on every other device it
projects *every* position (a choice made for Neuron, where varying shapes recompile). On CPU that is pure waste: with
an answer-only SFT loss (TALLRec: ``"Yes."`` after a ~250-token prompt) over 98% of the vocabulary projections are
thrown away, and the head is ~half of the step time of SmolLM2-135M (measured: 10 s -> 5 s per step of 8 x 256
tokens; see docs/performance.md). The patch makes CPU take the compact branch too; the loss is the same (the
tiled log-softmax is computed on the same rows), which ``tests/runtime/test_trl_patches.py`` checks.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

_APPLIED = False


def compact_fused_head_on_cpu() -> bool:
    """Make TRL's fused LM head score only labelled positions on CPU as well; True if the patch is in place.

    Idempotent. If TRL's internals moved (another TRL version), nothing is patched and a debug line is logged: the
    training result is the same, only slower on CPU.
    """
    global _APPLIED
    if _APPLIED:
        return True
    try:
        from trl.trainer import utils as trl_utils
    except ImportError:  # pragma: no cover - TRL is a hard dependency
        return False
    original = getattr(trl_utils, "_use_triton", None)
    if original is None or not hasattr(trl_utils, "add_fused_lm_head"):
        logger.debug("TRL has no trl.trainer.utils._use_triton; CPU fused head left as is")
        return False

    def use_compact(device):  # only consulted by add_fused_lm_head's `compact` switch in this module
        return device.type == "cpu" or original(device)

    trl_utils._use_triton = use_compact
    _APPLIED = True
    return True
