"""DivPO: diverse preference optimisation, online over ``algo.rounds`` rounds, with the DPO loss.

Stages per round r (files in ``<run_dir>/round_<r>/``, each skipped when it exists, so a killed run resumes):
  generate   candidates.jsonl  N = algo.n completions per prompt (current policy, HF engine), + the policy's
                               teacher-forced token log-probs when the diversity criterion needs them
  score      scored.jsonl      quality reward per completion (cfg.reward, e.g. persona JSON validity)
  diversity  diversity.jsonl   diversity per completion within its pool (algo.diversity)
  select     pairs.jsonl       most diverse of the top-rho band vs least diverse of the bottom-rho band
  train      policy/           trl.DPOTrainer (full or peft=lora); the next round generates from this policy
Fresh-sample diversity/quality of the base and the final policy: eval_before/, eval_after/ (metrics.json), as
``before``/``after`` in the run's metrics.json (rlpost.pipeline; rounds under ``divpo.rounds``).
Paper: Lanchantin et al., arXiv 2501.18101. Launch: ``python -m rlpost.train --config-name divpo [overrides]``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig

from rlpost.checkpoint.stages import run_stage
from rlpost.data.build import build_datasets
from rlpost.distributed import broadcast_object, is_main
from rlpost.eval.tasks.diversity import evaluate_diversity
from rlpost.eval.tasks.registry import eval_kind
from rlpost.io import read_json, read_jsonl, write_json, write_jsonl
from rlpost.methods.divpo import stages as st
from rlpost.methods.divpo.config import validate_divpo
from rlpost.methods.divpo.criteria import needs_policy_logprobs
from rlpost.pipeline import Evaluator, Method, Run, Trained, checkpoint_fingerprint, run_pipeline
from rlpost.rewards.build import build_rewards
from rlpost.rewards.pools import score_pools
from rlpost.rollout.sampling import SamplingSettings
from rlpost.runtime.trl_args import build_trl_args

logger = logging.getLogger(__name__)


@dataclass
class Task:
    """The objects every round and evaluation builds from the config once (the config itself is passed apart)."""

    template: Any
    funcs: list[Any]
    weights: list[float]
    diversity: Any
    keys: list[str] | None


def run(cfg: DictConfig) -> dict[str, Any]:
    """Run DivPO rounds; returns the results: per-round stats in ``divpo.rounds``, fresh-sample metrics in
    ``before``/``after``."""
    return run_pipeline(cfg, METHOD)


def setup(run: Run) -> Evaluator | None:
    """Process group, prompts, rewards, diversity criterion; the evaluator samples ``eval.k`` per eval prompt."""
    cfg = run.cfg
    kind = eval_kind(cfg.eval, ("diversity", "none"), "DivPO")
    build_trl_args(cfg.trainer)  # under torchrun this sets up the process group the stage barriers use
    prompts, eval_prompts = build_datasets(cfg.data, cfg.seed)
    funcs, weights = build_rewards(cfg.reward)
    task = Task(instantiate(cfg.data.template), funcs, weights, instantiate(cfg.algo.diversity),
                list(cfg.data.get("attribute_keys") or []) or None)
    run.state.update(task=task, prompts=prompts)
    if eval_prompts is None or "evaluate" not in cfg.stages:
        return None
    return Evaluator(kind, lambda policy, out_dir: evaluate(cfg, task, policy, eval_prompts, out_dir),
                     every_rank=False)


def train(run: Run) -> Trained:
    """The rounds; the trained policy is the last round's ``policy/`` (None when a stage stopped the run)."""
    task, rounds, policy = run.state["task"], [], None
    for r in range(run.cfg.algo.rounds):
        policy = run_round(run.cfg, task, r, policy, run.state["prompts"], run.run_dir / f"round_{r}")
        if policy is None:
            break
        summary = {"round": r, **read_json(policy.parent / "select_stats.json", default={}),
                   **read_json(policy.parent / "generate_stats.json", default={}),
                   "train": read_json(policy.parent / "train_stats.json", default={})}
        rounds.append(summary)
        run.tracker.log({"divpo/pairs_kept": summary["pairs_kept"], "divpo/tokens_per_s": summary["tokens_per_s"]},
                        step=r)
    steps = sum(x["train"]["steps"] for x in rounds)
    runtime = sum(x["train"].get("runtime_s") or 0.0 for x in rounds)
    return Trained(policy, {"steps": steps, "runtime_s": runtime}, {"rounds": rounds})


def run_round(cfg: Any, task: Task, r: int, policy: Path | None, prompts: Any, rd: Path) -> Path | None:
    """generate -> score -> diversity -> select -> train for round ``r``; returns the new policy directory.

    Stops (returns None) at the first unfinished stage that is not in ``cfg.stages``: a split launch runs
    ``stages=[generate,score,diversity,select]`` in one process, then ``stages=[train]`` under torchrun.
    """
    model_cfg = st.policy_cfg(cfg.model, policy)
    plan = [
        ("generate", rd / "candidates.jsonl", partial(
            st.generate_stage, model_cfg, cfg.rollout, cfg.algo.generation_batch_size, prompts, task.template,
            rd / "candidates.jsonl", SamplingSettings.from_cfg(cfg.sampling, n=cfg.algo.n, seed=cfg.seed + r),
            needs_policy_logprobs(task.diversity))),
        ("score", rd / "scored.jsonl", partial(map_rows, rd / "candidates.jsonl", rd / "scored.jsonl", partial(
            score_pools, funcs=task.funcs, weights=task.weights))),
        ("diversity", rd / "diversity.jsonl", partial(map_rows, rd / "scored.jsonl", rd / "diversity.jsonl",
                                                      partial(st.score_diversity, diversity=task.diversity))),
        ("select", rd / "pairs.jsonl", partial(select_stage, rd, cfg.algo.rho)),
        ("train", rd / "policy", partial(train_stage, cfg, model_cfg, rd)),
    ]
    for name, output, build in plan:
        if name not in cfg.stages and not broadcast_object(output.exists()):
            logger.info("stage %s not in stages=%s: stopping at round %d", name, list(cfg.stages), r)
            return None
        run_stage(name, output, build, main_only=name != "train")
    return rd / "policy"


def map_rows(src: Path, dst: Path, fn: Any) -> None:
    """Read pool rows from ``src``, transform them with ``fn``, write ``dst``."""
    write_jsonl(dst, fn(read_jsonl(src)))


def train_stage(cfg: Any, model_cfg: Any, rd: Path) -> None:
    """DPO on ``pairs.jsonl`` (every rank); rank 0 saves ``policy/`` and ``train_stats.json``."""
    stats = st.train_dpo(cfg.trainer, cfg.get("peft"), model_cfg, read_jsonl(rd / "pairs.jsonl"), rd,
                         checkpoint_fingerprint(cfg))  # the run's base model, whichever round's policy trains
    if is_main():
        write_json(rd / "train_stats.json", stats)


def select_stage(round_dir: Path, rho: float) -> None:
    """Select pairs from ``diversity.jsonl``; stats are written first, ``pairs.jsonl`` last."""
    pairs, stats = st.select_pairs(read_jsonl(round_dir / "diversity.jsonl"), rho)
    write_json(round_dir / "select_stats.json", stats)
    write_jsonl(round_dir / "pairs.jsonl", pairs)
    logger.info("round %s: %d pairs from %d pools, skipped %s", round_dir.name, stats["pairs_kept"], stats["pools"],
                stats["skipped"])


def evaluate(cfg: Any, task: Task, policy: Path | None, dataset: Any, out_dir: Path) -> dict[str, float]:
    """Diversity and quality of ``eval.k`` fresh samples per eval prompt (rlpost.eval.tasks.diversity; scored pools
    in ``out_dir/pools.jsonl``)."""
    from rlpost.runtime.model import load_policy

    model, tokenizer = load_policy(st.policy_cfg(cfg.model, policy), for_training=False)
    return evaluate_diversity(model, tokenizer, dataset, task.template, cfg.eval, (task.funcs, task.weights),
                              task.keys, out_dir, cfg.seed, cfg.rollout, cfg.algo.generation_batch_size)


METHOD = Method("divpo", setup, train, validate=validate_divpo, cache_after=True)
