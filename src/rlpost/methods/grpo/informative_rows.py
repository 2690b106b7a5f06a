"""Which GRPO rows the loss sees: zero-advantage rows skipped when that is exact, unscored rows masked out.

**Zero-advantage rows.** A group whose rewards are all equal (every sample right, or every sample wrong) gets
advantage 0 on each of its rows. With no KL term and no entropy bonus, such a row adds exactly nothing to the policy
gradient, yet TRL 1.16 still runs the forward and backward pass on it. On small models this is most of the step: in
the 20-minute arithmetic runs 55-88% of the groups had zero reward spread after the first 20 steps
(``frac_reward_zero_std``, docs/grpo_arith.md).

:func:`drop_zero_advantage_rows` removes those rows (and the completion padding only they needed) from the batch the
loss sees. For the loss types whose normaliser is the token count of the whole generation batch
(``num_items_in_batch``: ``dapo``, ``cispo``, ``vespo``), the loss and its gradient are unchanged, unless the loss
also looks across rows (:func:`inexact_reason`: the entropy-quantile token mask, the MoE router loss), which
``tests/methods/grpo/test_informative_rows.py`` checks against TRL's own loss. The prompt padding is kept: TRL
passes no ``position_ids``, so positions count from the left edge of the padded batch and trimming it would shift
them (a different loss for absolute position embeddings, e.g. GPT-2). This is the compute half of DAPO's dynamic
sampling: the uninformative groups are not trained on, without generating replacements.

One visible difference: TRL's per-step ``entropy`` and ``clip_ratio`` metrics are then averaged over the rows that were
trained on, not over every completion. ``zero_adv_rows_skipped`` logs the share of rows skipped.

**Unscored rows.** A completion on which every reward function returned None (TTRL's vote-only completions,
``reward.funcs.self_consistency.n_train``; a group that abstains under ``min_agreement``) gets advantage 0 from TRL,
but still counts in the loss normaliser and still takes the KL and entropy terms. :func:`mask_rows_out_of_loss`
zeroes them in TRL's loss-only token mask, so they take no part in the loss at all, as in TTRL (arXiv 2504.16084) and
SRT (arXiv 2505.21444), which train only on the scored samples; in training they are then dropped from the
micro-batches too (:func:`rows_out_of_loss`, :func:`drop_rows`), so they cost no forward or backward pass.
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
# batches with these keys are left whole (image tensors are not aligned with the rows)
MULTIMODAL_KEYS = ("pixel_values", "image_grid_thw", "pixel_attention_mask", "spatial_shapes", "image_sizes",
                   "num_images", "num_tiles", "token_type_ids", "mm_token_type_ids", "image_position_ids")


def inexact_reason(loss_type: str, beta: float, entropy_bonus: bool, top_entropy_quantile: float = 1.0,
                   router_aux_loss: bool = False) -> str | None:
    """Why skipping zero-advantage rows would change the loss, or None when it is exact.

    Args:
        loss_type, beta: TRL's ``loss_type`` and ``beta`` (``algo.kl_coef``).
        entropy_bonus: TRL's entropy bonus is on (``entropy_coef`` != 0 or adaptive).
        top_entropy_quantile: TRL trains only the tokens above this entropy quantile of the micro-batch's tokens.
        router_aux_loss: the model is a mixture of experts and TRL adds its router load-balancing loss.

    Example:
        >>> inexact_reason("dapo", 0.0, False) is None
        True
        >>> inexact_reason("grpo", 0.0, False)
        "loss_type='grpo' averages over the rows of the micro-batch (exact only for dapo, cispo, vespo)"
        >>> inexact_reason("dapo", 0.04, False)
        'kl_coef=0.04 gives zero-advantage rows a KL gradient'
        >>> inexact_reason("dapo", 0.0, False, top_entropy_quantile=0.2)
        "top_entropy_quantile=0.2 masks tokens by an entropy quantile over the micro-batch's rows"
    """
    if loss_type not in EXACT_LOSS_TYPES:
        return (f"loss_type={loss_type!r} averages over the rows of the micro-batch "
                f"(exact only for {', '.join(EXACT_LOSS_TYPES)})")
    if beta:
        return f"kl_coef={beta} gives zero-advantage rows a KL gradient"
    if entropy_bonus:
        return "the entropy bonus gives zero-advantage rows a gradient"
    if top_entropy_quantile < 1.0:
        return (f"top_entropy_quantile={top_entropy_quantile} masks tokens by an entropy quantile over the "
                f"micro-batch's rows")
    if router_aux_loss:
        return "the MoE router aux loss (router_aux_loss_coef) is computed over every row of the micro-batch"
    return None


def resolve_skip(setting: Any, loss_type: str, beta: float, entropy_bonus: bool, top_entropy_quantile: float = 1.0,
                 router_aux_loss: bool = False) -> bool:
    """``algo.skip_zero_advantage`` -> on/off. ``auto``: on exactly when the loss is unchanged; ``true``: on, and a
    ConfigError naming the key when it would change the loss; ``false``: off. Arguments after ``setting``: see
    :func:`inexact_reason`.

    Example:
        >>> resolve_skip("auto", "dapo", 0.0, False), resolve_skip("auto", "grpo", 0.0, False)
        (True, False)
        >>> resolve_skip("auto", "dapo", 0.0, False, router_aux_loss=True)
        False
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
    reason = inexact_reason(loss_type, beta, entropy_bonus, top_entropy_quantile, router_aux_loss)
    if reason is None:
        return True
    if value == "true":
        raise ConfigError(f"algo.skip_zero_advantage=true: {reason}; set it to auto or false")
    logger.info("algo.skip_zero_advantage=auto: off, because %s", reason)
    return False


def drop_rows(batch: dict[str, Any], drop: Any, keep_at_least: int = 1) -> dict[str, Any]:
    """A copy of a TRL GRPO training batch without the rows where ``drop`` (bool, one per row) is true, the trailing
    completion padding trimmed to the rows kept.

    When fewer than ``keep_at_least`` rows are left, the shortest dropped rows are kept as padding
    (:func:`pad_kept`): the step still runs a (zero-gradient) backward on every process, and with ``keep_at_least``
    the largest kept count over the processes, every process holds the same number of rows, which TRL's per-row
    ``accelerator.gather`` of the clip-ratio metrics needs. ``num_items_in_batch`` is left as it was: it normalises
    the loss. The prompt columns are kept whole: positions count from the batch's left edge (TRL passes no
    ``position_ids``). Batches with per-token advantages or image inputs are returned unchanged.
    """
    import torch

    advantages = batch["advantages"]
    if advantages.dim() != 1 or any(key in batch for key in MULTIMODAL_KEYS):
        return batch
    keep = pad_kept(~drop.to(device=advantages.device, dtype=torch.bool), batch["completion_mask"], keep_at_least)
    if bool(keep.all()):
        return batch
    rows = keep.nonzero().squeeze(1)
    n = advantages.size(0)
    out = {key: value[rows] if torch.is_tensor(value) and value.dim() >= 1 and value.size(0) == n else value
           for key, value in batch.items()}
    width = batch["completion_ids"].size(1)
    used = max(1, int(out["completion_mask"].sum(1).max()))  # completions are right-padded
    for key in COMPLETION_KEYS:
        if key in out and out[key].dim() == 2 and out[key].size(1) == width:
            out[key] = out[key][:, :used]
    return out


def pad_kept(keep: Any, completion_mask: Any, n: int) -> Any:
    """``keep`` (bool, one per row) with its shortest unkept rows kept as well, until ``n`` rows are kept.

    The rows taken back are rows :func:`drop_rows` was asked to drop, so they add exactly nothing to the loss and its
    gradient: zero-advantage rows (dropped only under the loss types of :func:`inexact_reason` where that is exact)
    and rows out of the loss (:func:`mask_rows_out_of_loss`, no token counts). A loss averaged over the rows
    (``loss_type=grpo``) does count such a row in its row mean; only unscored rows are dropped there.

    Example:
        >>> import torch
        >>> mask = torch.tensor([[1, 1, 1], [1, 0, 0], [1, 1, 0], [1, 1, 1]])
        >>> pad_kept(torch.tensor([True, False, False, False]), mask, 3).tolist()
        [True, True, True, False]
    """
    missing = n - int(keep.sum())
    if missing <= 0:
        return keep
    lengths = completion_mask.sum(1).masked_fill(keep, completion_mask.size(1) + 1)
    keep = keep.clone()
    keep[lengths.argsort(stable=True)[:missing]] = True
    return keep


def drop_zero_advantage_rows(batch: dict[str, Any]) -> dict[str, Any]:
    """:func:`drop_rows` of the rows whose advantage is zero."""
    return drop_rows(batch, batch["advantages"] == 0)


def mask_rows_out_of_loss(batch: dict[str, Any], rows: Any) -> dict[str, Any]:
    """A copy of a TRL GRPO batch whose ``rows`` (a bool tensor, one per row) count in no term of the loss.

    TRL's ``tool_mask`` is its loss-only token mask (``_compute_loss`` uses ``completion_mask * tool_mask`` for the
    policy term, the KL, the entropy terms and the metrics; the attention still sees ``completion_mask``): the rows
    are zeroed there, so their log-probs stay those the old/reference log-probs were computed with. The caller
    recounts ``num_items_in_batch`` (:func:`loss_token_count`), which spans every process. In training the rows can
    then be dropped from their micro-batch (:func:`rows_out_of_loss`): they contribute nothing to the token-normalised
    losses, and the row-averaged ones (``grpo``) and the MoE router loss then leave them out as well.

    Example:
        >>> import torch
        >>> b = {"completion_mask": torch.tensor([[1, 1, 0], [1, 1, 1]]), "advantages": torch.zeros(2)}
        >>> mask_rows_out_of_loss(b, torch.tensor([False, True]))["tool_mask"].tolist()
        [[1, 1, 1], [0, 0, 0]]
    """
    import torch

    mask = batch.get("tool_mask")
    mask = torch.ones_like(batch["completion_mask"]) if mask is None else mask.clone()
    mask[rows.to(mask.device)] = 0
    return {**batch, "tool_mask": mask}


def loss_token_count(batch: dict[str, Any]) -> Any:
    """Tokens of this process's batch that count in the loss (TRL's ``loss_mask``), as a 0-dim tensor."""
    mask = batch["completion_mask"]
    return (mask if "tool_mask" not in batch else mask * batch["tool_mask"]).sum()


def rows_out_of_loss(batch: dict[str, Any]) -> Any:
    """Rows taken out of the loss by :func:`mask_rows_out_of_loss`: a completion none of whose tokens counts.

    Rows TRL masked itself (``mask_truncated_completions`` zeroes ``completion_mask``) are not among them.

    Example:
        >>> import torch
        >>> b = {"completion_mask": torch.tensor([[1, 1], [1, 0], [0, 0]]),
        ...      "tool_mask": torch.tensor([[1, 1], [0, 1], [1, 1]])}
        >>> rows_out_of_loss(b).tolist(), rows_out_of_loss({"completion_mask": b["completion_mask"]}).tolist()
        ([False, True, False], [False, False, False])
    """
    mask = batch["completion_mask"]
    if "tool_mask" not in batch:
        return mask.new_zeros(mask.size(0), dtype=bool)
    return mask.bool().any(1) & ~(mask * batch["tool_mask"]).bool().any(1)
