"""The DivPO stages behind ``methods/divpo/pipeline.py``: generate, diversity, select, train (pools are sampled by
rlpost.rollout.pools and scored by rlpost.rewards.pools, shared with ``rlpost-eval eval=diversity``).

Rows flow through JSONL files in ``round_<r>/``; every row is one prompt's pool
(``prompt_id, question, prompt, completions, lengths``, ``token_logprobs`` when the diversity criterion needs them,
+ ``rewards`` + ``diversity``).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rlpost.errors import ConfigError, DataError
from rlpost.io import write_dir, write_json, write_jsonl
from rlpost.methods.divpo.selection import select_divpo_pair
from rlpost.rollout.pools import sample_pools
from rlpost.types import Group, Sample

logger = logging.getLogger(__name__)


def to_group(row: dict[str, Any]) -> Group:
    """A pool row -> :class:`Group`."""
    return Group(sample=Sample(prompt_id=row["prompt_id"], question=row["question"]), prompt=row["prompt"],
                 completions=row["completions"], lengths=row.get("lengths"), token_logprobs=row.get("token_logprobs"))


def add_policy_logprobs(model: Any, tokenizer: Any, rows: list[dict[str, Any]],
                        batch_size: int = 8) -> list[dict[str, Any]]:
    """Add ``token_logprobs``: log pi(y_t | x, y_<t) of each completion's tokens at temperature 1, teacher-forced.

    The prompt is rendered and tokenised as generation does (chat template, no extra special tokens); the
    completion's tokens are those of ``prompt + completion`` after the prompt, as TRL's DPO trainer will see them.
    """
    from rlpost.rollout.teacher_forcing import completion_logprobs

    texts = [tokenizer.apply_chat_template(r["prompt"], tokenize=False, add_generation_prompt=True) for r in rows]
    prompts = [t for t, r in zip(texts, rows, strict=True) for _ in r["completions"]]
    completions = [c for r in rows for c in r["completions"]]
    flat = iter(completion_logprobs(model, tokenizer, prompts, completions, batch_size=batch_size))
    return [{**r, "token_logprobs": [next(flat) for _ in r["completions"]]} for r in rows]


def score_diversity(rows: list[dict[str, Any]], diversity: Callable[[Group], list[float]]) -> list[dict[str, Any]]:
    """Add the ``diversity`` score of each completion within its pool.

    Raises:
        ConfigError: the criterion returned the wrong number of scores.
    """
    out = []
    for row in rows:
        scores = [float(s) for s in diversity(to_group(row))]
        if len(scores) != len(row["completions"]):
            raise ConfigError(f"algo.diversity returned {len(scores)} scores for {len(row['completions'])} "
                              f"completions (prompt {row['prompt_id']})")
        out.append({**row, "diversity": scores})
    return out


def select_pairs(rows: list[dict[str, Any]], rho: float) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One DivPO pair per pool; returns the pairs and counts of kept/skipped pools by reason.

    Raises:
        DataError: no pool produced a pair (e.g. every completion invalid, or all equally valid).
    """
    pairs, skipped = [], Counter()
    for row in rows:
        if row.get("skip"):
            skipped["reward_error"] += 1
            continue
        pair = select_divpo_pair(to_group(row), row["rewards"], row["diversity"], rho)
        if pair is None:
            skipped[skip_reason(row["rewards"])] += 1
            continue
        pairs.append({"prompt_id": row["prompt_id"], "prompt": pair.prompt, "chosen": pair.chosen,
                      "rejected": pair.rejected, "meta": pair.meta})
    stats = {"pools": len(rows), "pairs_kept": len(pairs), "skipped": dict(skipped)}
    if not pairs:
        raise DataError(f"DivPO select: none of {len(rows)} pools produced a pair (skipped: {dict(skipped)}); every "
                        "pool had equal rewards. Raise algo.n or sampling.temperature, or use a reward with spread")
    return pairs, stats


def skip_reason(rewards: list[float | None]) -> str:
    """Why a pool gave no pair: ``too_few_scored``, ``all_invalid`` (every reward 0) or ``equal_rewards``.

    Example:
        >>> skip_reason([0.0, 0.0]), skip_reason([1.0, 1.0]), skip_reason([None, 1.0])
        ('all_invalid', 'equal_rewards', 'too_few_scored')
    """
    scored = [r for r in rewards if r is not None]
    if len(scored) < 2:
        return "too_few_scored"
    return "all_invalid" if all(r == 0 for r in scored) else "equal_rewards"


def train_dpo(trainer_cfg: Any, peft_cfg: Any, model_cfg: Any, pairs: list[dict[str, Any]], round_dir: Path,
              fingerprint: dict[str, str]) -> dict[str, Any]:
    """DPO on the pairs with ``trl.DPOTrainer`` (``trainer`` group; LoRA when ``peft`` is enabled), starting from
    ``model_cfg``; saves a full model in ``policy/``.

    The reference model is the round's starting policy (a copy, or the adapter-disabled base under LoRA).
    Checkpoints (``trainer.save_strategy``) go to ``round_dir/checkpoints``: a round killed mid-training resumes
    from the newest committed one whose ``fingerprint`` (the run's, :func:`rlpost.checkpoint.resume.run_fingerprint`)
    matches; they are deleted once ``policy/`` is saved.
    """
    import shutil

    from trl import DPOTrainer

    from rlpost.checkpoint.commit import commit_callback
    from rlpost.checkpoint.resume import disk_full_as_user_error, run_trainer
    from rlpost.data.formats import to_dpo_rows
    from rlpost.runtime.adapters import merged
    from rlpost.runtime.model import build_peft, load_policy
    from rlpost.runtime.trl_args import build_trl_args

    args = build_trl_args(trainer_cfg, output_dir=str(round_dir / "checkpoints"))
    model, tokenizer = load_policy(model_cfg)
    trainer = DPOTrainer(model=model, args=args, train_dataset=to_dpo_rows(pairs), processing_class=tokenizer,
                         peft_config=build_peft(peft_cfg), callbacks=[commit_callback(args)])
    run_trainer(trainer, args.output_dir, fingerprint)
    final = merged(trainer.model)  # LoRA folded in: policy/ is a plain model for the next round
    if trainer.is_world_process_zero():
        with disk_full_as_user_error(round_dir):
            write_dir(round_dir / "policy", lambda d: (final.save_pretrained(d), tokenizer.save_pretrained(d)))
        shutil.rmtree(args.output_dir, ignore_errors=True)  # the round's result is policy/ now
    logs = [h for h in trainer.state.log_history if "loss" in h]
    runtime = next((h["train_runtime"] for h in reversed(trainer.state.log_history) if "train_runtime" in h), None)
    return {"steps": trainer.state.global_step, "runtime_s": runtime, "loss_first": logs[0]["loss"] if logs else None,
            "loss_last": logs[-1]["loss"] if logs else None,
            "reward_margin_last": logs[-1].get("rewards/margins") if logs else None}


def write_stats(path: Path, stats: dict[str, Any]) -> None:
    """Write a stage's side statistics (before its main output, so a resumed run finds both)."""
    write_json(path, stats)


def generate_stage(model_cfg: Any, rollout_cfg: Any, batch_size: int, dataset: Any, template: Any, out: Path,
                   params: Any, policy_logprobs: bool = False) -> dict[str, float]:
    """Load the policy, sample ``params.n`` completions per prompt with ``params`` (a
    :class:`~rlpost.rollout.sampling.SamplingSettings`) on the ``rollout_cfg`` engine, write ``out`` (+ speed stats).

    With ``policy_logprobs`` the rows also get the policy's teacher-forced ``token_logprobs`` at temperature 1
    (:func:`add_policy_logprobs`; DivPO's model-probability criterion), timed as ``logprob_s``.
    """
    from rlpost.runtime.model import load_policy

    model, tokenizer = load_policy(model_cfg, for_training=False)
    rows, speed = sample_pools(model, tokenizer, dataset, template, params, batch_size, rollout_cfg=rollout_cfg)
    if policy_logprobs:
        start = time.perf_counter()
        rows = add_policy_logprobs(model, tokenizer, rows)
        speed["logprob_s"] = time.perf_counter() - start
    write_stats(out.with_name("generate_stats.json"), speed)
    write_jsonl(out, rows)
    logger.info("generated %d pools x %d in %.1f s (%.0f tok/s)", len(rows), params.n, speed["generate_s"],
                speed["tokens_per_s"])
    return speed


def policy_cfg(model_cfg: Any, policy_dir: Path | None) -> Any:
    """``cfg.model`` pointing at a round's saved policy (the base model when ``policy_dir`` is None)."""
    from omegaconf import OmegaConf

    return model_cfg if policy_dir is None else OmegaConf.merge(model_cfg, {"path": str(policy_dir)})
