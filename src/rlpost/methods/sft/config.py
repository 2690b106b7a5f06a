"""TALLRec-style SFT's config checks (run by rlpost.config.validate for ``pipeline: rlpost.methods.sft.pipeline.run``)
and the overrides that make any SFT config a seconds-long smoke run."""

from __future__ import annotations

from typing import Any

# values only (conf/debug/sft_smoke.yaml); pair with model=tiny_random
SMOKE = ["+debug=sft_smoke"]


def validate(cfg: Any, world_size: int = 1, cuda_available: bool = False) -> None:
    """No SFT-only checks yet: the shared ones (DeepSpeed geometry, precision) cover its keys."""
