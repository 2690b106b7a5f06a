"""DAPO's dynamic sampling (Yu et al. 2025): refill the generation batch until every group carries a gradient.

A group whose completions all get the same reward (all right, all wrong, or all abstaining) has advantage 0 on every
row and adds nothing to the policy gradient. :mod:`rlpost.methods.grpo.informative_rows` skips such rows, which makes a
step cheaper but trains on fewer groups. With ``algo.dynamic_sampling: true`` the trainer instead generates and scores
another round of prompts, keeping only groups with non-zero reward variance, until the generation batch holds its
full count of groups (``per_device_train_batch_size x steps_per_generation / num_generations`` per process) or
``algo.max_generation_rounds`` rounds were generated. A batch still short after the last round is filled with
uninformative groups of the last rounds (zero advantage: no gradient under the exact loss types, and row skipping
drops them), so the batch keeps the geometry TRL needs; the shortfall is logged as ``dynamic_sampling/filler_groups``.

Prompts come from one stream (:class:`~rlpost.methods.grpo.prompt_stream.PromptStream`): the seeded per-epoch
permutation of the training set that TRL's ``RepeatSampler`` walks, read through a cursor. Every round takes the next
prompts; dropped groups' prompts count as consumed and are never drawn again within the epoch. The cursor is saved in
``trainer_state.json`` with every checkpoint (an HF ``ExportableState`` callback), so a resumed run draws the same
prompts as an uninterrupted one. The trainer's own dataloader batch is then only the clock of the step.

Every process draws the same global prompt list and takes its slice, as TRL's sampler does; rewards are gathered
across processes by TRL, so every process computes the same keep decision for every process without extra
communication. Group-level rewards (self-consistency votes) see whole groups, because groups are scored whole.

Logged per generation (``dynamic_sampling/*``): ``rounds``, ``groups_drawn``, ``groups_kept`` (informative, trained
on), ``groups_uniform`` (dropped: zero reward variance), ``groups_surplus`` (informative but over the batch),
``filler_groups``, ``prompts_consumed`` (cumulative stream position).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from transformers import TrainerCallback
from transformers.trainer_callback import ExportableState

from rlpost.errors import ConfigError
from rlpost.methods.grpo.prompt_stream import PromptStream

logger = logging.getLogger(__name__)

# tensors of a TRL GRPO batch padded on the right (completion side) / left (prompt side), with their pad values;
# ``None`` = the tokenizer's pad token
RIGHT_PADDED = {"completion_ids": None, "completion_mask": 0, "old_per_token_logps": 0.0,
                "sampling_per_token_logps": 0.0, "ref_per_token_logps": 0.0, "tool_mask": 1,
                "importance_sampling_ratio": 0.0}
LEFT_PADDED = {"prompt_ids": None, "prompt_mask": 0}
MULTIMODAL_KEYS = ("pixel_values", "image_grid_thw", "pixel_attention_mask", "spatial_shapes", "image_sizes",
                   "num_images", "num_tiles", "token_type_ids", "mm_token_type_ids", "image_position_ids")


@dataclass(frozen=True)
class DynamicSamplingSettings:
    """``algo.max_generation_rounds`` and ``algo.max_uninformative_rounds``, validated."""

    max_rounds: int = 4
    max_uninformative_rounds: int = 32

    def __post_init__(self) -> None:
        if int(self.max_rounds) < 1:
            raise ConfigError(f"algo.max_generation_rounds={self.max_rounds} must be >= 1")
        if int(self.max_uninformative_rounds) < 1:
            raise ConfigError(f"algo.max_uninformative_rounds={self.max_uninformative_rounds} must be >= 1")


def informative_groups(rewards: Any, num_generations: int) -> Any:
    """Which consecutive groups of ``num_generations`` scalar rewards (NaN = abstained) vary: a bool per group.

    A group with fewer than two scorable rewards, or all scorable rewards equal, is uninformative.

    Example:
        >>> import torch
        >>> nan = float("nan")
        >>> informative_groups(torch.tensor([1., 1., 0., 1., nan, nan, 2., 2., 0.3, 0.3]), 2).tolist()
        [False, True, False, False, False]
    """
    import torch

    grouped = rewards.view(-1, num_generations)
    scorable = ~torch.isnan(grouped)
    low = torch.where(scorable, grouped, torch.full_like(grouped, float("inf"))).min(dim=1).values
    high = torch.where(scorable, grouped, torch.full_like(grouped, float("-inf"))).max(dim=1).values
    return (scorable.sum(dim=1) >= 2) & ~torch.isclose(high, low)


def select_groups(informative: list[bool], world_size: int, quota: int, kept: list[int]) -> list[list[int]]:
    """Per process, the local indices of the groups to keep from one round, given how many it already kept.

    ``informative`` covers the round's global groups, process ``r`` owning ``[r * quota, (r + 1) * quota)``.

    Example:
        >>> select_groups([True, False, True, True, True, True], world_size=2, quota=3, kept=[0, 2])
        [[0, 2], [0]]
    """
    out = []
    for rank in range(world_size):
        mine = [i for i in range(quota) if informative[rank * quota + i]]
        out.append(mine[:max(0, quota - kept[rank])])
    return out


def concat_rows(parts: list[tuple[dict[str, Any], list[int]]], pad_token_id: int) -> dict[str, Any]:
    """Concatenate selected rows of several TRL GRPO batches, re-padding prompts (left) and completions (right).

    ``parts``: ``(batch, row indices)``. Row-aligned 1-D tensors (advantages) are concatenated; scalar entries
    (``num_items_in_batch``) are dropped for the caller to recompute.
    """
    import torch

    first = parts[0][0]
    if any(key in first for key in MULTIMODAL_KEYS):
        raise ConfigError("algo.dynamic_sampling supports text prompts only (this batch has image inputs)")
    if any("tool_mask" in batch for batch, _ in parts):  # a round with rows out of the loss carries a tool_mask
        parts = [(batch if "tool_mask" in batch else {**batch, "tool_mask": torch.ones_like(batch["completion_mask"])},
                  rows) for batch, rows in parts]
        first = parts[0][0]
    out: dict[str, Any] = {}
    for key, value in first.items():
        if not (torch.is_tensor(value) and value.dim() >= 1):
            continue
        pieces = [batch[key][rows] for batch, rows in parts]
        if value.dim() == 2 and key in {**RIGHT_PADDED, **LEFT_PADDED}:
            pad = {**RIGHT_PADDED, **LEFT_PADDED}[key]
            pad = pad_token_id if pad is None else pad
            width = max(p.size(1) for p in pieces)
            left = key in LEFT_PADDED
            pieces = [torch.nn.functional.pad(p, (width - p.size(1), 0) if left else (0, width - p.size(1)),
                                              value=pad) for p in pieces]
        out[key] = torch.cat(pieces, dim=0)
    return out


class DynamicSampler(TrainerCallback, ExportableState):
    """Generates rounds of groups until the batch is full of informative ones; its stream cursor is checkpointed.

    Registered as a trainer callback: HF saves :meth:`state` into every checkpoint's ``trainer_state.json``
    (``stateful_callbacks``), and :meth:`on_train_begin` restores the cursor from a resumed state.
    """

    def __init__(self, max_rounds: int = 4, max_uninformative_rounds: int = 32) -> None:
        self.settings = DynamicSamplingSettings(int(max_rounds), int(max_uninformative_rounds))
        self.stream: PromptStream | None = None
        self.cursor = 0
        self.generation_start = 0
        self.dry_rounds = 0

    # -- checkpointed state ------------------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {"args": {"max_rounds": self.settings.max_rounds,
                         "max_uninformative_rounds": self.settings.max_uninformative_rounds},
                "attributes": {"cursor": self.stream.cursor if self.stream else self.cursor,
                               "generation_start": self.generation_start, "dry_rounds": self.dry_rounds}}

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        saved = (state.stateful_callbacks or {}).get(type(self).__name__)
        if isinstance(saved, list):
            saved = saved[0] if saved else None
        if saved and state.global_step > 0:  # resumed: continue the stream where the checkpoint left it
            attrs = saved.get("attributes", {})
            self.cursor, self.generation_start = int(attrs.get("cursor", 0)), int(attrs.get("generation_start", 0))
            self.dry_rounds = int(attrs.get("dry_rounds", 0))
            if self.stream is not None:
                self.stream.cursor = self.cursor
            logger.info("dynamic sampling: resuming the prompt stream at position %d", self.cursor)
        state.stateful_callbacks.setdefault(type(self).__name__, self.state())

    # -- generation --------------------------------------------------------------------------------------------------
    def _stream(self, trainer: Any) -> PromptStream:
        if self.stream is None:
            if not hasattr(trainer.train_dataset, "__getitem__") or not hasattr(trainer.train_dataset, "__len__"):
                raise ConfigError("algo.dynamic_sampling needs a map-style training dataset (not an iterable one)")
            shuffle = trainer.shuffle_dataset if hasattr(trainer, "shuffle_dataset") else True
            self.stream = PromptStream(len(trainer.train_dataset), trainer.args.seed, bool(shuffle))
            self.stream.cursor = self.cursor
        return self.stream

    def generate(self, trainer: Any, score: Any) -> dict[str, Any]:
        """One generation batch for this process: rounds of ``score(rows)`` (TRL's generate-and-score on a local list
        of dataset rows) until every process holds its quota of informative groups, or the round limit."""
        from rlpost.methods.grpo.advantages import combined_rewards
        from rlpost.methods.grpo.informative_rows import loss_token_count

        g = trainer.num_generations
        world, rank = trainer.accelerator.num_processes, trainer.accelerator.process_index
        local_rows = trainer.args.per_device_train_batch_size * trainer.args.steps_per_generation
        quota = local_rows // g
        stream = self._stream(trainer)
        self.generation_start = stream.cursor
        kept_count = [0] * world
        kept: list[tuple[dict[str, Any], list[int]]] = []
        uniform: list[tuple[dict[str, Any], list[int]]] = []
        stats = {"groups_drawn": 0, "groups_kept": 0, "groups_uniform": 0, "groups_surplus": 0}
        rounds = 0
        while rounds < self.settings.max_rounds and min(kept_count) < quota:
            rounds += 1
            prompts = stream.take(world * quota)
            rows = [dict(trainer.train_dataset[i]) for i in prompts for _ in range(g)]
            batch = score(rows[rank * local_rows:(rank + 1) * local_rows])
            mask = informative_groups(combined_rewards(trainer._last_rewards_per_func, trainer.reward_weights), g)
            mask = [bool(x) for x in mask.tolist()]
            chosen = select_groups(mask, world, quota, kept_count)
            n_informative = sum(mask)
            stats["groups_drawn"] += len(mask)
            stats["groups_uniform"] += len(mask) - n_informative
            stats["groups_kept"] += sum(len(c) for c in chosen)
            stats["groups_surplus"] += n_informative - sum(len(c) for c in chosen)
            kept_count = [k + len(c) for k, c in zip(kept_count, chosen, strict=True)]
            if chosen[rank]:
                kept.append((batch, _rows_of(chosen[rank], g)))
            mine_uniform = [i for i in range(quota) if not mask[rank * quota + i]]
            if mine_uniform:
                uniform.append((batch, _rows_of(mine_uniform, g)))
            self._check_informative(n_informative, trainer)
        filler = _take_groups(list(reversed(uniform)), quota - kept_count[rank], g)
        stats["filler_groups"] = sum(quota - k for k in kept_count)
        if stats["filler_groups"]:
            logger.info("dynamic sampling: %d of %d groups still uninformative after %d rounds "
                        "(algo.max_generation_rounds); training with them as filler",
                        stats["filler_groups"], world * quota, rounds)
        out = concat_rows(kept + filler, trainer._tokenizer.pad_token_id)
        out["num_items_in_batch"] = trainer.accelerator.gather(loss_token_count(out)).sum()
        metrics = trainer._metrics["train"]
        for key, value in {"rounds": rounds, **stats, "prompts_consumed": stream.cursor}.items():
            metrics[f"dynamic_sampling/{key}"].append(float(value))
        self.cursor = stream.cursor
        return out

    def _check_informative(self, n_informative: int, trainer: Any) -> None:
        """Count consecutive rounds without any informative group; too many is an error naming the reward."""
        self.dry_rounds = 0 if n_informative else self.dry_rounds + 1
        if self.dry_rounds >= self.settings.max_uninformative_rounds:
            names = ", ".join(trainer.reward_func_names)
            raise ConfigError(
                f"algo.dynamic_sampling: reward {names} gave every group equal rewards for {self.dry_rounds} "
                f"generation rounds in a row (algo.max_uninformative_rounds): it is not informative on this data; "
                f"check the reward and data, or set algo.dynamic_sampling=false")


def _rows_of(groups: list[int], g: int) -> list[int]:
    return [i * g + j for i in groups for j in range(g)]


def _take_groups(parts: list[tuple[dict[str, Any], list[int]]], groups: int, g: int) -> list[tuple[dict, list]]:
    """The first ``groups`` groups (``g`` rows each) of ``parts``."""
    out, need = [], groups * g
    for batch, rows in parts:
        if need <= 0:
            break
        out.append((batch, rows[:need]))
        need -= len(out[-1][1])
    return out


def build_dynamic_sampler(algo_cfg: Any) -> DynamicSampler | None:
    """The :class:`DynamicSampler` for ``algo.dynamic_sampling: true``, else None."""
    if not algo_cfg.get("dynamic_sampling", False):
        return None
    return DynamicSampler(algo_cfg.get("max_generation_rounds", 4), algo_cfg.get("max_uninformative_rounds", 32))


def check_dynamic_sampling(enabled: bool, per_device_batch: int, steps_per_generation: int, num_generations: int,
                           scale_rewards: str, max_rounds: int, max_uninformative_rounds: int) -> None:
    """Startup checks for ``algo.dynamic_sampling`` (each error names the key to change).

    Example:
        >>> check_dynamic_sampling(True, 16, 1, 8, "group", 4, 32)
        >>> check_dynamic_sampling(True, 12, 1, 8, "group", 4, 32)
        Traceback (most recent call last):
        ...
        rlpost.errors.ConfigError: algo.dynamic_sampling keeps whole groups per process: \
trainer.per_device_train_batch_size (12) x steps_per_generation (1) must be divisible by algo.num_generations=8
    """
    DynamicSamplingSettings(max_rounds, max_uninformative_rounds)
    if not enabled:
        return
    if (per_device_batch * steps_per_generation) % num_generations:
        raise ConfigError(f"algo.dynamic_sampling keeps whole groups per process: trainer.per_device_train_batch_size "
                          f"({per_device_batch}) x steps_per_generation ({steps_per_generation}) must be divisible "
                          f"by algo.num_generations={num_generations}")
    if scale_rewards == "batch":
        raise ConfigError("algo.dynamic_sampling with algo.scale_rewards=batch would normalise each round by a "
                          "different batch std; set algo.scale_rewards=group or none")
