"""Diversity evaluation (DivPO): ``eval.k`` fresh samples per prompt, scored for quality with the reward funcs;
diversity per prompt, averaged, and quality of the pools (metrics from rlpost.eval.diversity; Lanchantin et al.,
arXiv 2501.18101). DivPO's before/after evaluation and ``rlpost-eval eval=diversity`` both run
:func:`evaluate_diversity`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rlpost.distributed import is_main
from rlpost.errors import ConfigError
from rlpost.io import write_json, write_jsonl
from rlpost.rewards.pools import score_pools
from rlpost.rollout.pools import sample_pools
from rlpost.rollout.sampling import SamplingSettings

# evaluation pools are sampled with seed + this offset, apart from the training pools of round r (seed + r)
SEED_OFFSET = 10_000


def evaluate_pools(rows: list[dict[str, Any]], keys: list[str] | None, embeddings: bool = False) -> dict[str, float]:
    """Diversity (per prompt, averaged) and quality of scored pools (rows with ``completions`` and ``rewards``)."""
    from rlpost.eval.diversity import (
        average_metrics,
        compute_diversity_metrics,
        compute_quality_metrics,
        embedding_spread,
    )

    per_prompt = [compute_diversity_metrics(r["completions"], keys) for r in rows]
    if embeddings:
        for m, r in zip(per_prompt, rows, strict=True):
            m["embedding_spread"] = embedding_spread(r["completions"])
    metrics = average_metrics(per_prompt)
    metrics.update(compute_quality_metrics([x for r in rows for x in r["rewards"]]))
    return metrics


def evaluate_diversity(model: Any, tokenizer: Any, dataset: Any, template: Any, eval_cfg: Any, rewards: tuple,
                       keys: list[str] | None, out_dir: str | Path | None, seed: int = 0, rollout_cfg: Any = None,
                       batch_size: int = 64) -> dict[str, float]:
    """``eval.k`` samples per prompt of ``dataset`` with ``eval.sampling`` (seed + :data:`SEED_OFFSET`), scored with
    ``rewards`` = ``(funcs, weights)``; writes ``pools.jsonl`` (scored pools) and ``generate_stats.json`` into
    ``out_dir`` and returns the diversity and quality metrics."""
    params = SamplingSettings.from_cfg(eval_cfg.sampling, n=eval_cfg.k, seed=seed + SEED_OFFSET)
    rows, speed = sample_pools(model, tokenizer, dataset, template, params, batch_size, rollout_cfg=rollout_cfg)
    rows = score_pools(rows, *rewards)
    if out_dir is not None and is_main():
        write_json(Path(out_dir) / "generate_stats.json", speed)
        write_jsonl(Path(out_dir) / "pools.jsonl", rows)
    return evaluate_pools(rows, keys, eval_cfg.embedding_spread)


def evaluate_task(inputs: Any) -> dict[str, float]:
    """``rlpost-eval eval=diversity data=persona reward=persona_json``: the eval prompts of ``data`` (the held-out
    source, or ``data.path``), quality from ``reward``, attribute diversity over ``data.attribute_keys``; writes
    ``metrics.json`` too."""
    from hydra.utils import instantiate

    from rlpost.data.build import build_eval_dataset
    from rlpost.rewards.build import build_rewards

    check_inputs(inputs.eval_cfg, inputs.data_cfg, inputs.reward_cfg)
    rewards = build_rewards(inputs.reward_cfg)
    data_cfg = inputs.data_cfg
    metrics = evaluate_diversity(inputs.model, inputs.tokenizer, build_eval_dataset(data_cfg, inputs.seed),
                                 instantiate(data_cfg.template), inputs.eval_cfg, rewards,
                                 list(data_cfg.get("attribute_keys") or []) or None, inputs.out_dir, inputs.seed,
                                 inputs.rollout_cfg, inputs.eval_cfg.batch_size)
    if inputs.out_dir is not None and is_main():
        write_json(Path(inputs.out_dir) / "metrics.json", metrics)
    return metrics


def check_inputs(eval_cfg: Any, data_cfg: Any, reward_cfg: Any) -> None:
    """Fail before the model loads: quality needs a ``reward`` group."""
    if reward_cfg is None:
        raise ConfigError("eval=diversity scores quality with a reward: add reward=<option> (e.g. "
                          "reward=persona_json with data=persona)")


def format_metrics(name: str, metrics: dict[str, float]) -> str:
    """One line: the ``unique/*``, ``entropy/*`` and ``quality/*`` metrics, sorted.

    >>> format_metrics("after", {"quality/valid_rate": 0.5, "unique/answer": 0.25})
    'after: quality/valid_rate 0.500, unique/answer 0.250'
    """
    return f"{name}: " + ", ".join(f"{k} {v:.3f}" for k, v in sorted(metrics.items()) if isinstance(v, int | float))
