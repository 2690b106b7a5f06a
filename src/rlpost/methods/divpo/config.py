"""DivPO's typed ``algo`` schema (:class:`DivPOAlgoConfig`, registered by rlpost.config.schema), its config checks
(run by rlpost.config.validate for ``pipeline: rlpost.methods.divpo.pipeline.run``) and the overrides that make any
DivPO config a seconds-long smoke run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rlpost.errors import ConfigError

# values only (conf/debug/divpo_smoke.yaml); pair with model=tiny_random reward=length
SMOKE = ["+debug=divpo_smoke"]


@dataclass
class DivPOAlgoConfig:
    """rlpost-owned DivPO knobs: pool size, band width, criterion, online rounds."""

    # completions per prompt (the pool, N)
    n: int = 16
    # reward band as a fraction of the pool's reward range, in [0, 0.5]; 0 = best-vs-worst DPO
    rho: float = 0.3
    # a (group) -> list[float] criterion node with _target_ and _partial_: true
    diversity: Any = None
    # online rounds (generate from the latest policy); 1 = offline DivPO
    rounds: int = 1
    # sequences per generate call
    generation_batch_size: int = 64


ALGO_SCHEMA = DivPOAlgoConfig  # registered as algo/divpo_schema (rlpost.config.schema)


def validate(cfg: Any, world_size: int = 1, cuda_available: bool = False) -> None:
    """Pool size, reward band, rounds and the diversity criterion (world size and device do not matter here)."""
    validate_divpo(cfg)


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
