"""GRPO / RLVR pipeline: evaluate, train with trl.GRPOTrainer (rlpost.methods.grpo.trainer), save, evaluate again.

Stages: load policy -> build datasets and rewards -> held-out eval (before) -> GRPO -> save -> eval (after).
Self-consistency training is a reward choice (``reward=self_consistency``), not a separate pipeline.

Launch: ``rlpost-train`` (CPU quickstart) or ``launch/torchrun.sh N <recipe> [overrides]``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig

from rlpost.checkpoint.commit import commit_callback
from rlpost.checkpoint.resume import run_trainer
from rlpost.data.build import build_datasets
from rlpost.data.formats import to_grpo_rows
from rlpost.distributed import is_main
from rlpost.eval.tasks.math_qa import evaluate_model
from rlpost.io import write_json
from rlpost.methods.grpo.dynamic_sampling import build_dynamic_sampler
from rlpost.methods.grpo.rollout_func import build_rollout_func
from rlpost.methods.grpo.vllm_sync import settings_from_cfg
from rlpost.rewards.build import build_rewards
from rlpost.rollout.sampling import SamplingSettings
from rlpost.runtime.callbacks import build_callbacks
from rlpost.runtime.model import build_peft, load_policy
from rlpost.runtime.trl_args import build_trl_args, sampling_args
from rlpost.tracking import start_run

logger = logging.getLogger(__name__)


def run(cfg: DictConfig) -> dict[str, Any]:
    """Train with GRPO on ``cfg.data`` using ``cfg.reward``; returns before/after held-out metrics."""
    from transformers import set_seed

    from rlpost.methods.grpo.guards.setup import apply_guards, checkpoint_ranking, skip_zero_advantage_setting
    from rlpost.methods.grpo.trainer import GRPOTrainer

    set_seed(cfg.seed)
    run_dir = Path(cfg.run_dir)
    tracker = start_run(cfg.logger, cfg.run_dir, cfg.run_name, config=cfg)
    reward_funcs, reward_weights = build_rewards(cfg.reward)
    sampling = SamplingSettings.from_cfg(cfg.sampling)  # n = algo.num_generations, set by TRL per prompt
    args = build_trl_args(cfg.trainer, reward_weights=reward_weights,  # initialises torch.distributed if needed
                          **sampling_args(sampling))
    model, tokenizer = load_policy(cfg.model)
    template = instantiate(cfg.data.template)
    train_ds, eval_ds = build_datasets(cfg.data, cfg.seed)
    results: dict[str, Any] = {}
    if eval_ds is not None and cfg.eval.before:
        results["before"] = evaluate_model(model, tokenizer, eval_ds, template, cfg.eval, run_dir / "eval_before",
                                           cfg.seed)
        tracker.log({f"eval_before/{k}": v for k, v in results["before"].items()})
    train_ds, callbacks = apply_guards(cfg, model, tokenizer, template, train_ds, reward_funcs)  # default: no-op
    callbacks += [*build_callbacks(cfg.get("max_train_minutes"), cfg.get("snapshot_minutes"), run_dir),
                  commit_callback(args, checkpoint_ranking(cfg.trainer, cfg.get("guards"), callbacks, reward_funcs))]
    trainer = GRPOTrainer(model=model, reward_funcs=reward_funcs, args=args,
                          train_dataset=to_grpo_rows(train_ds, template), processing_class=tokenizer,
                          peft_config=build_peft(cfg.get("peft")),
                          rollout_func=build_rollout_func(cfg.rollout, sampling),
                          callbacks=callbacks,
                          skip_zero_advantage=skip_zero_advantage_setting(cfg),
                          dynamic_sampling=build_dynamic_sampler(cfg.algo),
                          advantage_estimator=cfg.algo.get("advantage_estimator", "grpo"),
                          vllm_settings=settings_from_cfg(cfg, args.output_dir) if args.use_vllm else None)
    run_trainer(trainer, cfg, args.output_dir, final_dir=run_dir / "final")  # resume, train, save; disk-full check
    results["train"] = {"steps": trainer.state.global_step, "train_runtime_s": trainer.state.log_history[-1].get(
        "train_runtime", float("nan"))}
    if eval_ds is not None and cfg.eval.after:
        results["after"] = evaluate_model(trainer.model, tokenizer, eval_ds, template, cfg.eval,
                                          run_dir / "eval_after", cfg.seed)
        tracker.log({f"eval_after/{k}": v for k, v in results["after"].items()})
    if is_main():
        write_json(run_dir / "metrics.json", results)
        write_json(run_dir / "log_history.json", trainer.state.log_history, indent=1)
    tracker.summary({f"{stage}/{k}": v for stage in ("before", "after") for k, v in results.get(stage, {}).items()})
    tracker.finish()
    return results
