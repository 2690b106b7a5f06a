"""rlpost's ``trl.GRPOTrainer``: TRL's trainer plus skipping of zero-advantage rows (:mod:`.informative_rows`)."""

from __future__ import annotations

from typing import Any

from trl import GRPOTrainer as TRLGRPOTrainer

from rlpost.training.informative_rows import drop_zero_advantage_rows, resolve_skip


class GRPOTrainer(TRLGRPOTrainer):
    """``trl.GRPOTrainer`` that trains only on rows with a non-zero advantage when that leaves the loss unchanged.

    Args:
        skip_zero_advantage: ``auto`` (default: on when exact), ``true`` (on; a ConfigError when it would change the
            loss) or ``false``; see :func:`rlpost.training.informative_rows.resolve_skip`.
        *args, **kwargs: passed to ``trl.GRPOTrainer``.
    """

    def __init__(self, *args: Any, skip_zero_advantage: Any = "auto", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.skip_zero_advantage = resolve_skip(skip_zero_advantage, self.loss_type, self.beta,
                                                bool(getattr(self, "_entropy_bonus_enabled", self.args.entropy_coef)))

    def _prepare_inputs(self, generation_batch: dict[str, Any]) -> dict[str, Any]:
        inputs = super()._prepare_inputs(generation_batch)
        if not (self.skip_zero_advantage and self.model.training):
            return inputs
        rows = inputs["advantages"].size(0)
        kept = drop_zero_advantage_rows(inputs)
        self._metrics["train"]["zero_adv_rows_skipped"].append(1.0 - kept["advantages"].size(0) / max(1, rows))
        return kept
