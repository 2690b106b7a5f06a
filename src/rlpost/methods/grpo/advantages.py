"""Advantage estimators that replace TRL GRPO's group-normalised advantage (``algo.advantage_estimator``).

``grpo`` (default) keeps TRL's ``(r - mean_group) / std_group`` (or unscaled with ``scale_rewards: none``).
``rloo`` is REINFORCE leave-one-out (Ahmadian et al. 2024, "Back to Basics"): each completion's baseline is the mean
reward of the *other* scorable completions of its prompt, ``A_i = r_i - mean_{j != i} r_j``, which equals
``n / (n - 1) * (r_i - mean_group)`` for ``n`` scorable completions; unscorable completions (every reward ``None``)
get 0. It is the formula of TRL's ``RLOOTrainer``; rlpost applies it inside the GRPO trainer, so RLOO runs with every
rollout engine, loss type and dynamic sampling.
"""

from __future__ import annotations

from typing import Any

from rlpost.errors import ConfigError

ESTIMATORS = ("grpo", "rloo")


def check_estimator(estimator: str, scale_rewards: str) -> str:
    """Validate ``algo.advantage_estimator`` against ``algo.scale_rewards``; returns the estimator.

    Example:
        >>> check_estimator("rloo", "none")
        'rloo'
        >>> check_estimator("rloo", "group")
        Traceback (most recent call last):
        ...
        rlpost.errors.ConfigError: algo.advantage_estimator=rloo uses the raw leave-one-out difference, but \
algo.scale_rewards=group would be ignored; set algo.scale_rewards=none
    """
    if estimator not in ESTIMATORS:
        raise ConfigError(f"algo.advantage_estimator={estimator!r}: choose one of {list(ESTIMATORS)}")
    if estimator == "rloo" and scale_rewards != "none":
        raise ConfigError(f"algo.advantage_estimator=rloo uses the raw leave-one-out difference, but "
                          f"algo.scale_rewards={scale_rewards} would be ignored; set algo.scale_rewards=none")
    return estimator


def combined_rewards(rewards_per_func: Any, weights: Any) -> Any:
    """TRL's scalar reward per completion: the weighted sum over reward functions, NaN when every one abstained."""
    import torch

    rewards = (rewards_per_func * weights.to(rewards_per_func.device).unsqueeze(0)).nansum(dim=1)
    return torch.where(torch.isnan(rewards_per_func).all(dim=1), torch.full_like(rewards, float("nan")), rewards)


def leave_one_out(rewards: Any, num_generations: int) -> Any:
    """RLOO advantages for consecutive groups of ``num_generations`` rewards (NaN = unscorable -> advantage 0).

    Example:
        >>> import torch
        >>> leave_one_out(torch.tensor([1.0, 0.0, 0.0, 2.0, 2.0, float("nan")]), 3).tolist()
        [1.0, -0.5, -0.5, 0.0, 0.0, 0.0]
    """
    import torch

    grouped = rewards.view(-1, num_generations)
    scorable = (~torch.isnan(grouped)).sum(dim=1, keepdim=True)
    baseline = (torch.nansum(grouped, dim=1, keepdim=True) - grouped) / (scorable - 1)
    return torch.nan_to_num(grouped - baseline, nan=0.0, posinf=0.0, neginf=0.0).view(-1)
