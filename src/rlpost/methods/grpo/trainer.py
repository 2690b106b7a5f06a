"""rlpost's ``trl.GRPOTrainer``: TRL's trainer plus the row choices of :mod:`.informative_rows`, DAPO dynamic
sampling (:mod:`.dynamic_sampling`), the RLOO advantage (:mod:`.advantages`) and rlpost's vLLM generation
(:mod:`.vllm_sync`: hardware settings, adapter-only LoRA sync, staleness check)."""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterator
from typing import Any

from trl import GRPOTrainer as TRLGRPOTrainer
from trl.trainer import grpo_trainer as trl_grpo

from rlpost.methods.grpo.advantages import check_estimator, combined_rewards, leave_one_out
from rlpost.methods.grpo.dynamic_sampling import DynamicSampler
from rlpost.methods.grpo.informative_rows import (
    drop_rows,
    loss_token_count,
    mask_rows_out_of_loss,
    resolve_skip,
    rows_out_of_loss,
)


class GRPOTrainer(TRLGRPOTrainer):
    """``trl.GRPOTrainer`` that leaves unscored rows out of the loss and, when that leaves the loss unchanged, trains
    only on rows with a non-zero advantage.

    Args:
        skip_zero_advantage: ``auto`` (default: on when exact), ``true`` (on; a ConfigError when it would change the
            loss) or ``false``; see :func:`rlpost.methods.grpo.informative_rows.resolve_skip`.
        dynamic_sampling: a :class:`~rlpost.methods.grpo.dynamic_sampling.DynamicSampler`, or None (off).
        advantage_estimator: ``grpo`` (TRL's) or ``rloo`` (:mod:`rlpost.methods.grpo.advantages`).
        vllm_settings: :class:`~rlpost.methods.grpo.vllm_sync.VLLMRunSettings` used when ``args.use_vllm`` (None = the
            defaults for this hardware).
        *args, **kwargs: passed to ``trl.GRPOTrainer``.
    """

    def __init__(self, *args: Any, skip_zero_advantage: Any = "auto", dynamic_sampling: DynamicSampler | None = None,
                 advantage_estimator: str = "grpo", vllm_settings: Any = None, **kwargs: Any) -> None:
        args_obj = kwargs.get("args", args[2] if len(args) > 2 else None)
        if args_obj is not None and args_obj.use_vllm:
            from rlpost.methods.grpo.vllm_sync import VLLMRunSettings, generation_class

            with _swapped(trl_grpo, "VLLMGeneration", generation_class(vllm_settings or VLLMRunSettings())):
                super().__init__(*args, **kwargs)
            self.vllm_generation.trainer_ref = weakref.ref(self)
        else:
            super().__init__(*args, **kwargs)
        self._unscored_rows: Any = None
        self._last_rewards_per_func: Any = None
        self.advantage_estimator = check_estimator(advantage_estimator, str(self.scale_rewards))
        self.dynamic_sampler = dynamic_sampling
        if dynamic_sampling is not None:
            self.add_callback(dynamic_sampling)  # checkpoints its prompt-stream position
        self.skip_zero_advantage = resolve_skip(
            skip_zero_advantage, self.loss_type, self.beta,
            bool(getattr(self, "_entropy_bonus_enabled", self.args.entropy_coef)),
            top_entropy_quantile=self.top_entropy_quantile, router_aux_loss=bool(self.aux_loss_enabled))

    def _calculate_rewards(self, inputs: Any, prompts: Any, completions: Any, completion_ids_list: Any) -> Any:
        rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        self._unscored_rows = rewards_per_func.isnan().all(dim=1)  # every process's rows (gathered)
        self._last_rewards_per_func = rewards_per_func
        return rewards_per_func

    def _generate_and_score_completions(self, inputs: Any) -> dict[str, Any]:
        if self.dynamic_sampler is not None and self.model.training:
            return self.dynamic_sampler.generate(self, self._score_rows)
        return self._score_rows(inputs)

    def _score_rows(self, inputs: Any) -> dict[str, Any]:
        """TRL's batch, with the rows no reward scored taken out of every term of the loss and of its normaliser,
        and the RLOO advantage when chosen."""
        self._unscored_rows = None
        batch = super()._generate_and_score_completions(inputs)
        if self.advantage_estimator == "rloo":
            n, rank = len(inputs), self.accelerator.process_index
            advantages = leave_one_out(combined_rewards(self._last_rewards_per_func, self.reward_weights),
                                       self.num_generations if self.model.training else self.num_generations_eval)
            batch["advantages"] = advantages[rank * n:(rank + 1) * n].to(batch["advantages"])
        unscored, self._unscored_rows = self._unscored_rows, None
        if unscored is None or not bool(unscored.any()):  # the same answer on every process: the mask is gathered
            return batch
        n = batch["advantages"].size(0)
        rank = self.accelerator.process_index
        batch = mask_rows_out_of_loss(batch, unscored[rank * n:(rank + 1) * n])
        batch["num_items_in_batch"] = self.accelerator.gather(loss_token_count(batch)).sum()
        return batch

    def _prepare_inputs(self, generation_batch: dict[str, Any]) -> dict[str, Any]:
        """TRL's micro-batch without the rows out of the loss and, when skipping is on, the zero-advantage rows.

        Every process keeps the same number of rows (the largest kept count, padded with rows that add nothing to
        the loss: :func:`rlpost.methods.grpo.informative_rows.pad_kept`): TRL gathers per-row metrics across processes.
        """
        inputs = super()._prepare_inputs(generation_batch)
        if not self.model.training:
            return inputs
        drop = rows_out_of_loss(inputs)
        if self.skip_zero_advantage and inputs["advantages"].dim() == 1:
            drop = drop | (inputs["advantages"] == 0)
        # the same answer on every process (the unscored-row mask is gathered): all of them join the gather below
        if not (self.skip_zero_advantage or "tool_mask" in inputs):
            return inputs
        kept = drop_rows(inputs, drop, self._rows_to_keep(drop))
        rows = inputs["advantages"].size(0)
        self._metrics["train"]["zero_adv_rows_skipped"].append(1.0 - kept["advantages"].size(0) / max(1, rows))
        return kept

    def _rows_to_keep(self, drop: Any) -> int:
        """The most rows any process keeps of its micro-batch (at least 1)."""
        kept = (~drop).sum().reshape(1)
        if self.accelerator.num_processes > 1:
            kept = self.accelerator.gather(kept)
        return max(1, int(kept.max()))


@contextlib.contextmanager
def _swapped(module: Any, name: str, value: Any) -> Iterator[None]:
    """Replace ``module.name`` for the duration of the block (TRL builds its vLLM generation by that name)."""
    original = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, original)
