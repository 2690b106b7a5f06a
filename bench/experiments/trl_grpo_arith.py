"""The plain-TRL arm of grpo_tta.py: ``trl.GRPOTrainer`` as shipped, with an rlpost recipe's settings.

Same prompts (rlpost's data builder and chat template), same reward (the recipe's reward functions and weights) and
the recipe's ``trl.GRPOConfig`` keyword arguments, passed to TRL's own trainer: TRL's generation, no rlpost trainer
code (no row skipping, no dynamic sampling, no rollout engine). Only the time budget and the snapshots at
training-time marks come from rlpost (:class:`rlpost.runtime.callbacks.TimeBudgetCallback`), so every arm is timed
and snapshotted alike.

    python -m bench.experiments.trl_grpo_arith --config-name grpo_smollm2_arith_20min --seed 0 --minutes 20 \\
        --snapshot-minutes 2 4 6 8 10 12 14 16 18 20 --run-dir bench/runs/grpo_tta/TAG/trl_s0/train

Writes ``final/``, ``snapshots/min<M>/`` + ``snapshots/snapshots.json``, ``log_history.json`` and ``metrics.json``
(steps, train runtime, the GRPOConfig used) into ``--run-dir``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bench.report import compose_config

# rlpost-only trainer keys with no meaning for a plain TRL run (none today; kept explicit for when one appears)
RLPOST_ONLY: tuple[str, ...] = ()


def grpo_kwargs(cfg: Any, out: Path) -> dict[str, Any]:
    """The recipe's ``trainer`` group and its sampling (as the GRPO pipeline passes them) as ``trl.GRPOConfig``
    kwargs, with a time budget instead of steps and no checkpoints or logging service."""
    from omegaconf import OmegaConf

    from rlpost.rollout.sampling import SamplingSettings
    from rlpost.runtime.trl_args import runtime_device_args, sampling_args

    cfg.run_dir, cfg.run_name = str(out), "trl_grpo_arith"
    trainer = OmegaConf.to_container(cfg.trainer, resolve=True)
    for key in ("_target_", "_convert_", *RLPOST_ONLY):
        trainer.pop(key, None)
    trainer.update(max_steps=100000, save_strategy="no", report_to=[], output_dir=str(out / "checkpoints"),
                   deepspeed=None)
    return {**trainer, **runtime_device_args(cfg.trainer), **sampling_args(SamplingSettings.from_cfg(cfg.sampling))}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config-name", default="grpo_smollm2_arith_20min")
    parser.add_argument("--model", default="smollm2_135m")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--snapshot-minutes", type=float, nargs="*", default=[])
    parser.add_argument("--run-dir", type=Path, required=True, help="the run directory (as RLPOST_RUN_DIR)")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides applied to the recipe before reading it")
    args = parser.parse_intermixed_args(argv)

    from hydra.utils import instantiate
    from transformers import set_seed
    from trl import GRPOConfig, GRPOTrainer

    from rlpost.data.build import build_datasets
    from rlpost.data.formats import to_grpo_rows
    from rlpost.rewards.build import build_rewards
    from rlpost.runtime.callbacks import TimeBudgetCallback
    from rlpost.runtime.model import load_policy

    out = args.run_dir
    out.mkdir(parents=True, exist_ok=True)
    cfg = compose_config(args.config_name, [f"model={args.model}", f"seed={args.seed}", "logger=none",
                                            *args.overrides])
    set_seed(args.seed)
    reward_funcs, reward_weights = build_rewards(cfg.reward)
    kwargs = grpo_kwargs(cfg, out)
    model, tokenizer = load_policy(cfg.model)
    train_ds, _ = build_datasets(cfg.data, args.seed)
    budget = TimeBudgetCallback(args.minutes, args.snapshot_minutes, out / "snapshots")
    trainer = GRPOTrainer(model=model, reward_funcs=reward_funcs,
                          args=GRPOConfig(**kwargs, reward_weights=reward_weights),
                          train_dataset=to_grpo_rows(train_ds, instantiate(cfg.data.template)),
                          processing_class=tokenizer, callbacks=[budget])
    trainer.train()
    trainer.save_model(str(out / "final"))
    tokenizer.save_pretrained(out / "final")
    history = trainer.state.log_history
    (out / "log_history.json").write_text(json.dumps(history, indent=1))
    settings = {k: v for k, v in kwargs.items() if isinstance(v, str | int | float | bool | type(None))}
    (out / "metrics.json").write_text(json.dumps({"train": {"steps": trainer.state.global_step,
                                                            "train_runtime_s": history[-1].get("train_runtime")},
                                                  "grpo_config": settings}, indent=2))


if __name__ == "__main__":
    main()
