"""Build reward functions and weights from ``cfg.reward`` (dicts keyed by name, so weights are CLI-overridable)."""

from __future__ import annotations

from typing import Any

from rlpost.errors import ConfigError


def build_rewards(reward_cfg: Any) -> tuple[list[Any], list[float]]:
    """Instantiate ``reward.funcs.<name>`` and return ``(funcs, weights)`` in the same order.

    Raises:
        ConfigError: a weight names no function, or a function has no weight.
    """
    from rlpost.instantiate import instantiate_node

    funcs_cfg, weights_cfg = reward_cfg.funcs, reward_cfg.weights
    extra = set(weights_cfg) - set(funcs_cfg)
    if extra:
        raise ConfigError(f"reward.weights has {sorted(extra)} but reward.funcs does not define them")
    funcs, weights = [], []
    for name, node in funcs_cfg.items():
        if name not in weights_cfg:
            raise ConfigError(f"reward.weights.{name} is missing (every reward.funcs entry needs a weight)")
        weight = weights_cfg[name]
        if weight == 0:
            continue
        func = instantiate_node(node)  # a reward's own ConfigError stays the one-line CLI error
        func.__name__ = name
        funcs.append(func)
        weights.append(float(weight))
    if not funcs:
        raise ConfigError("reward: every reward weight is 0; nothing to train on")
    return funcs, weights
