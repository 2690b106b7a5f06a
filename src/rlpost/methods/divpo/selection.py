"""DivPO pair selection: the most diverse good completion vs the least diverse bad one (pure).

DivPO (Lanchantin et al., arXiv 2501.18101, Algorithm 1): within one prompt's pool,
the chosen response is the most diverse member of the top-rho reward band and the rejected response the least
diverse member of the bottom-rho band. The bands are read as fractions of the pool's reward range:
``r >= r_max - rho (r_max - r_min)`` and ``r <= r_min + rho (r_max - r_min)``. ``rho=0`` keeps only the best
and the worst rewards (standard DPO pairs; ties are broken by the diversity score, so pass
``selection.diversity.random_score`` for the plain DPO baseline), ``rho=0.5`` puts every completion in a band.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rlpost.errors import ConfigError
from rlpost.types import Group, PreferencePair

MAX_RHO = 0.5


def check_rho(rho: float) -> float:
    """Return ``rho`` if it lies in [0, 0.5].

    Raises:
        ConfigError: naming ``algo.rho``.

    Example:
        >>> check_rho(0.3)
        0.3
    """
    if not 0.0 <= rho <= MAX_RHO:
        raise ConfigError(f"algo.rho={rho} must be in [0, {MAX_RHO}] (fraction of the pool's reward range)")
    return rho


def select_bands(quality: Sequence[float | None], rho: float) -> tuple[list[int], list[int]] | None:
    """Indices of the top-rho (chosen) and bottom-rho (rejected) reward bands, or None if the pool has no spread.

    Completions whose reward is None or not finite (abstained, or the reward failed) belong to neither band.

    Example:
        >>> select_bands([1.0, 0.0, 0.8, 0.1, None], rho=0.25)
        ([0, 2], [1, 3])
        >>> select_bands([1.0, 1.0, None], rho=0.3) is None
        True
    """
    scored = [(i, q) for i, q in enumerate(quality) if q is not None and math.isfinite(q)]
    if len(scored) < 2:
        return None
    r_max = max(q for _, q in scored)
    r_min = min(q for _, q in scored)
    if r_max <= r_min:
        return None
    span = r_max - r_min
    top = [i for i, q in scored if q >= r_max - rho * span]
    bottom = [i for i, q in scored if q <= r_min + rho * span and i not in top]
    if not bottom:
        return None
    return top, bottom


def select_divpo_pair(group: Group, quality: Sequence[float | None], diversity: Sequence[float],
                      rho: float) -> PreferencePair | None:
    """Build one DivPO preference pair from a pool, or None (a counted skip) when the pool has no reward spread.

    Args:
        group: the prompt and its N completions.
        quality: reward per completion (None = abstained / unusable).
        diversity: diversity score per completion within the pool (higher = more diverse).
        rho: band width as a fraction of the reward range, in [0, 0.5].

    Returns:
        The pair, with chosen/rejected reward and diversity in ``meta``; None if every scored completion has the
        same reward (e.g. all valid or all invalid) or fewer than two are scored.

    Raises:
        ConfigError: ``rho`` outside [0, 0.5]; ValueError: score lists of the wrong length.

    Example:
        >>> from rlpost.types import Sample
        >>> g = Group(Sample("p", "q"), [], ["Anna", "Zelda", "bad", "worse"])
        >>> pair = select_divpo_pair(g, [1.0, 1.0, 0.0, 0.0], [0.1, 0.9, 0.5, 0.2], rho=0.0)
        >>> pair.chosen, pair.rejected
        ('Zelda', 'worse')
    """
    check_rho(rho)
    n = len(group.completions)
    if len(quality) != n or len(diversity) != n:
        raise ValueError(f"prompt {group.sample.prompt_id}: {n} completions but {len(quality)} rewards and "
                         f"{len(diversity)} diversity scores")
    bands = select_bands(quality, rho)
    if bands is None:
        return None
    top, bottom = bands
    # max/min keep the first index on ties, so selection is deterministic
    chosen = max(top, key=lambda i: diversity[i])
    rejected = min(bottom, key=lambda i: diversity[i])
    meta = {"chosen_reward": float(quality[chosen]), "rejected_reward": float(quality[rejected]),
            "chosen_diversity": float(diversity[chosen]), "rejected_diversity": float(diversity[rejected]),
            "chosen_index": float(chosen), "rejected_index": float(rejected)}
    return PreferencePair(prompt=group.prompt, chosen=group.completions[chosen],
                          rejected=group.completions[rejected], meta=meta)
