"""GRPO / RLVR: train with trl.GRPOTrainer (rlpost.methods.grpo.trainer) inside the pipeline skeleton.

Stages: load policy -> build datasets and rewards -> held-out eval (before) -> GRPO -> save -> eval (after); the
evaluations, ``metrics.json`` and the summary come from :mod:`rlpost.pipeline`. The evaluations generate with the
engine ``rollout=`` picks (rlpost.rollout.build.build_engine: vLLM with ``rollout.use_vllm``).
Self-consistency training is a reward choice (``reward=self_consistency``), not a separate pipeline.

Launch: ``rlpost-train`` (CPU quickstart) or ``launch/torchrun.sh N <recipe> [overrides]``.
"""

from __future__ import annotations

import logging
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig

from rlpost.checkpoint.commit import commit_callback
from rlpost.checkpoint.resume import run_trainer
from rlpost.data.build import build_datasets
from rlpost.data.formats import to_grpo_rows
from rlpost.distributed import is_main
from rlpost.eval.tasks.math_qa import GENERATIVE, evaluate_model
from rlpost.eval.tasks.registry import eval_kind
from rlpost.io import write_json
from rlpost.methods.grpo.dynamic_sampling import build_dynamic_sampler
from rlpost.methods.grpo.rollout_func import build_rollout_func
from rlpost.methods.grpo.vllm_sync import settings_from_cfg
from rlpost.pipeline import Evaluator, Method, Run, Trained, run_pipeline
from rlpost.rewards.build import build_rewards
from rlpost.rollout.sampling import SamplingSettings
from rlpost.runtime.callbacks import build_callbacks
from rlpost.runtime.model import build_peft, load_policy
from rlpost.runtime.trl_args import build_trl_args, sampling_args

logger = logging.getLogger(__name__)


def run(cfg: DictConfig) -> dict[str, Any]:
    """Train with GRPO on ``cfg.data`` using ``cfg.reward``; returns the results (before/after held-out metrics)."""
    return run_pipeline(cfg, METHOD)


def setup(run: Run) -> Evaluator | None:
    """Rewards, trainer arguments, policy, template and datasets; the held-out evaluator on ``eval_ds``."""
    cfg, s = run.cfg, run.state
    kind = eval_kind(cfg.eval, GENERATIVE, "GRPO")
    s["reward_funcs"], reward_weights = build_rewards(cfg.reward)
    s["sampling"] = SamplingSettings.from_cfg(cfg.sampling)  # n = algo.num_generations, set by TRL per prompt
    s["args"] = build_trl_args(cfg.trainer, reward_weights=reward_weights,  # initialises torch.distributed if needed
                               **sampling_args(s["sampling"]))
    s["model"], s["tokenizer"] = load_policy(cfg.model)
    s["template"] = instantiate(cfg.data.template)
    s["train_ds"], eval_ds = build_datasets(cfg.data, cfg.seed)
    if eval_ds is None:
        return None

    def evaluate(policy: Any, out_dir: Any) -> dict[str, float]:
        return evaluate_model(s["model"] if policy is None else policy, s["tokenizer"], eval_ds, s["template"],
                              cfg.eval, out_dir, cfg.seed, rollout_cfg=cfg.rollout)

    return Evaluator(kind, evaluate)


def train(run: Run) -> Trained:
    """Guards, GRPOTrainer, train (resuming), save ``final/``; ``log_history.json`` next to ``metrics.json``."""
    from rlpost.methods.grpo.guards.setup import apply_guards, checkpoint_ranking, skip_zero_advantage_setting
    from rlpost.methods.grpo.trainer import GRPOTrainer

    cfg, s, args = run.cfg, run.state, run.state["args"]
    model, tokenizer = s["model"], s["tokenizer"]
    train_ds, callbacks = apply_guards(cfg.get("guards"), cfg.eval, cfg.seed, cfg.get("run_dir"), model, tokenizer,
                                       s["template"], s["train_ds"], s["reward_funcs"], sampling_cfg=cfg.sampling,
                                       rollout_cfg=cfg.get("rollout"),
                                       answer_format=cfg.data.get("answer_format"))  # default: no-op
    callbacks += [*build_callbacks(cfg.get("max_train_minutes"), cfg.get("snapshot_minutes"), run.run_dir),
                  commit_callback(args, checkpoint_ranking(cfg.trainer, cfg.get("guards"), callbacks,
                                                           s["reward_funcs"]))]
    trainer = GRPOTrainer(model=model, reward_funcs=s["reward_funcs"], args=args,
                          train_dataset=to_grpo_rows(train_ds, s["template"]), processing_class=tokenizer,
                          peft_config=build_peft(cfg.get("peft")),
                          rollout_func=build_rollout_func(cfg.rollout, s["sampling"]), callbacks=callbacks,
                          skip_zero_advantage=skip_zero_advantage_setting(cfg.algo, cfg.get("guards")),
                          dynamic_sampling=build_dynamic_sampler(cfg.algo),
                          advantage_estimator=cfg.algo.get("advantage_estimator", "grpo"),
                          vllm_settings=(settings_from_cfg(cfg.rollout, cfg.get("peft"), args.output_dir)
                                         if args.use_vllm else None))
    run_trainer(trainer, args.output_dir, run.fingerprint, final_dir=run.run_dir / "final")  # resume, train, save
    if is_main():
        write_json(run.run_dir / "log_history.json", trainer.state.log_history, indent=1)
    return Trained(trainer.model, {"steps": trainer.state.global_step,
                                   "runtime_s": trainer.state.log_history[-1].get("train_runtime", float("nan"))})


METHOD = Method("grpo", setup, train)
