"""Run by torchrun with 2 processes: rlpost's GRPOTrainer where the two ranks keep different numbers of rows.

Rank 0's reward is the same for every completion (both its groups of 2 have zero advantage: skipped), rank 1's
differs within its first group only (2 of its 4 rows kept). TRL then gathers per-row clip-ratio metrics across the
ranks, which needs the same row count on both. argv: the tiny model directory, the output directory.
"""

from __future__ import annotations

import json
import os
import sys

import torch
from datasets import Dataset
from transformers import AutoTokenizer
from trl import GRPOConfig

from rlpost.methods.grpo.trainer import GRPOTrainer


def rank_reward(completions, **kwargs):
    """Rank 0: a constant (zero advantage everywhere); rank 1: 0, 1, 0, 0 (a spread in its first group only)."""
    if int(os.environ["RANK"]) == 0:
        return [0.0] * len(completions)
    return [float(i == 1) for i in range(len(completions))]


def main() -> None:
    model_dir, out_dir = sys.argv[1], sys.argv[2]
    torch.manual_seed(0)
    args = GRPOConfig(output_dir=out_dir, per_device_train_batch_size=4, num_generations=2, max_completion_length=4,
                      max_steps=2, learning_rate=1e-2, loss_type="dapo", beta=0.0, use_cpu=True, report_to=[],
                      bf16=False, logging_steps=1, save_strategy="no", seed=0)
    trainer = GRPOTrainer(model=model_dir, reward_funcs=[rank_reward], args=args,
                          processing_class=AutoTokenizer.from_pretrained(model_dir),
                          train_dataset=Dataset.from_list([{"prompt": f"q{i} a b"} for i in range(16)]))
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    trainer.train()
    moved = sum(not torch.equal(before[n], p.detach()) for n, p in trainer.model.named_parameters())
    rank = trainer.accelerator.process_index
    with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as fh:
        json.dump({"moved": moved, "skipped": [h["zero_adv_rows_skipped"] for h in trainer.state.log_history
                                               if "zero_adv_rows_skipped" in h]}, fh)


if __name__ == "__main__":
    sys.exit(main())
