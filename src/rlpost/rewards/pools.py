"""Rewards of pools (one prompt, several completions): the weighted reward per completion, a reward that raises
skips its pool (DivPO's score stage and evaluation, ``rlpost-eval eval=diversity``)."""

from __future__ import annotations

import logging
from typing import Any

from rlpost.errors import ConfigError

logger = logging.getLogger(__name__)


def compute_pool_rewards(row: dict[str, Any], funcs: list[Any], weights: list[float]) -> list[float | None]:
    """Weighted reward per completion of one pool (None where every reward abstained).

    Raises:
        ConfigError: a reward returned the wrong number of values (naming the reward and the prompt).
    """
    n = len(row["completions"])
    total: list[float | None] = [None] * n
    for func, weight in zip(funcs, weights, strict=True):
        values = func([row["prompt"]] * n, row["completions"], prompt_id=[row["prompt_id"]] * n,
                      question=[row["question"]] * n)
        if len(values) != n:
            raise ConfigError(f"reward.funcs.{func.__name__} returned {len(values)} rewards for {n} completions "
                              f"(prompt {row['prompt_id']})")
        for i, v in enumerate(values):
            if v is not None:
                total[i] = (total[i] or 0.0) + weight * float(v)
    return total


def score_pools(rows: list[dict[str, Any]], funcs: list[Any], weights: list[float]) -> list[dict[str, Any]]:
    """Add ``rewards`` to each pool; a reward that raises on a pool marks it skipped (``skip``) and logs why."""
    out = []
    for row in rows:
        try:
            rewards, skip = compute_pool_rewards(row, funcs, weights), None
        except ConfigError:
            raise
        except Exception as err:  # noqa: BLE001 - a user reward may raise anything; count it and move on
            logger.warning("reward failed on prompt %s: %r (pool skipped)", row["prompt_id"], err)
            rewards, skip = [None] * len(row["completions"]), f"reward_error: {type(err).__name__}: {err}"
        out.append({**row, "rewards": rewards, "skip": skip})
    return out
