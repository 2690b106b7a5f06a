"""Skip the GRPO rows that carry no gradient: completions whose advantage is exactly zero.

A group whose rewards are all equal (every sample right, or every sample wrong) gets advantage 0 on each of its rows.
With no KL term and no entropy bonus, such a row adds exactly nothing to the policy gradient, yet TRL 1.16 still runs
the forward and backward pass on it. On small models this is most of the step: in the 20-minute arithmetic runs 55-88%
of the groups had zero reward spread after the first 20 steps (``frac_reward_zero_std``, docs/grpo_arith.md).

:func:`drop_zero_advantage_rows` removes those rows (and the padding columns only they needed) from the batch the
loss sees. For the loss types whose normaliser is the token count of the whole generation batch
(``num_items_in_batch``: ``dapo``, ``cispo``, ``vespo``), the loss and its gradient are unchanged, which
``tests/unit/training/test_informative_rows.py`` checks against TRL's own loss. This is the compute half of DAPO's
dynamic sampling: the uninformative groups are not trained on, without generating replacements.

One visible difference: TRL's per-step ``entropy`` and ``clip_ratio`` metrics are then averaged over the rows that were
trained on, not over every completion. ``zero_adv_rows_skipped`` logs the share of rows skipped.
"""

from __future__ import annotations

import logging
from typing import Any

from rlpost.errors import ConfigError

logger = logging.getLogger(__name__)

# loss types whose normaliser does not depend on which rows are in the micro-batch (TRL 1.16 GRPOTrainer._compute_loss)
EXACT_LOSS_TYPES = ("dapo", "cispo", "vespo")
SETTINGS = ("auto", "true", "false")
# tensors aligned with the completion tokens (B, T_completion) that TRL may put in a training batch
COMPLETION_KEYS = ("completion_ids", "completion_mask", "old_per_token_logps", "sampling_per_token_logps",
                   "ref_per_token_logps", "tool_mask", "importance_sampling_ratio")
PROMPT_KEYS = ("prompt_ids", "prompt_mask")
# batches with these keys are left whole (image tensors are not aligned with the rows)
MULTIMODAL_KEYS = ("pixel_values", "image_grid_thw", "pixel_attention_mask", "spatial_shapes", "image_sizes",
                   "num_images", "num_tiles", "token_type_ids", "mm_token_type_ids", "image_position_ids")


def inexact_reason(loss_type: str, beta: float, entropy_bonus: bool) -> str | None:
    """Why skipping zero-advantage rows would change the loss, or None when it is exact.

    Example:
        >>> inexact_reason("dapo", 0.0, False) is None
        True
        >>> inexact_reason("grpo", 0.0, False)
        "loss_type='grpo' averages over the rows of the micro-batch (exact only for dapo, cispo, vespo)"
        >>> inexact_reason("dapo", 0.04, False)
        'kl_coef=0.04 gives zero-advantage rows a KL gradient'
    """
    if loss_type not in EXACT_LOSS_TYPES:
        return (f"loss_type={loss_type!r} averages over the rows of the micro-batch "
                f"(exact only for {', '.join(EXACT_LOSS_TYPES)})")
    if beta:
        return f"kl_coef={beta} gives zero-advantage rows a KL gradient"
    if entropy_bonus:
        return "the entropy bonus gives zero-advantage rows a gradient"
    return None


def resolve_skip(setting: Any, loss_type: str, beta: float, entropy_bonus: bool) -> bool:
    """``algo.skip_zero_advantage`` -> on/off. ``auto``: on exactly when the loss is unchanged; ``true``: on, and a
    ConfigError naming the key when it would change the loss; ``false``: off.

    Example:
        >>> resolve_skip("auto", "dapo", 0.0, False), resolve_skip("auto", "grpo", 0.0, False)
        (True, False)
        >>> resolve_skip(True, "grpo", 0.0, False)
        Traceback (most recent call last):
        ...
        rlpost.errors.ConfigError: algo.skip_zero_advantage=true: loss_type='grpo' averages over the rows of the \
micro-batch (exact only for dapo, cispo, vespo); set it to auto or false
    """
    value = str(setting).lower()
    if value not in SETTINGS:
        raise ConfigError(f"algo.skip_zero_advantage={setting!r}: choose one of {list(SETTINGS)}")
    if value == "false":
        return False
    reason = inexact_reason(loss_type, beta, entropy_bonus)
    if reason is None:
        return True
    if value == "true":
        raise ConfigError(f"algo.skip_zero_advantage=true: {reason}; set it to auto or false")
    logger.info("algo.skip_zero_advantage=auto: off, because %s", reason)
    return False


def drop_zero_advantage_rows(batch: dict[str, Any]) -> dict[str, Any]:
    """A copy of a TRL GRPO training batch without its zero-advantage rows, padding trimmed to the rows kept.

    Keeps one row (the shortest) when every advantage is zero, so the step still runs a (zero-gradient) backward on
    every process, as distributed training needs. ``num_items_in_batch`` is left as it was: it normalises the loss.
    Batches with per-token advantages or image inputs are returned unchanged.
    """
    import torch

    advantages = batch["advantages"]
    if advantages.dim() != 1 or any(key in batch for key in MULTIMODAL_KEYS):
        return batch
    keep = advantages != 0
    if bool(keep.all()):
        return batch
    if not bool(keep.any()):
        keep[int(batch["completion_mask"].sum(1).argmin())] = True
    rows = keep.nonzero().squeeze(1)
    n = advantages.size(0)
    out = {key: value[rows] if torch.is_tensor(value) and value.dim() >= 1 and value.size(0) == n else value
           for key, value in batch.items()}
    width = batch["completion_ids"].size(1)
    used = max(1, int(out["completion_mask"].sum(1).max()))  # completions are right-padded
    for key in COMPLETION_KEYS:
        if key in out and out[key].dim() == 2 and out[key].size(1) == width:
            out[key] = out[key][:, :used]
    start = int(out["prompt_mask"].any(0).nonzero()[0])  # prompts are left-padded
    for key in PROMPT_KEYS:
        out[key] = out[key][:, start:]
    return out
