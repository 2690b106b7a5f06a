"""Pools of samples: ``params.n`` completions per prompt from one engine, as JSON-ready rows (DivPO's rounds and
its evaluation, ``rlpost-eval eval=diversity``)."""

from __future__ import annotations

import time
from typing import Any

from rlpost.runtime.modes import inference_mode
from rlpost.types import Sample


def sample_pools(model: Any, tokenizer: Any, dataset: Any, template: Any, params: Any,
                 batch_size: int, rollout_cfg: Any = None) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Sample ``params.n`` completions per prompt (engine from ``rollout_cfg``); returns pool rows
    (``prompt_id, question, prompt, completions, lengths``) and speed (``generate_s``, ``generated_tokens``,
    ``tokens_per_s``)."""
    from rlpost.rollout.build import build_engine

    rows = dataset.to_list()
    prompts = [template(r) for r in rows]
    samples = [Sample(prompt_id=r["prompt_id"], question=r["question"]) for r in rows]
    engine = build_engine(model, tokenizer, rollout_cfg, batch_size=batch_size, seed=params.seed)
    start = time.perf_counter()
    with inference_mode(model):
        groups = engine.generate(prompts, params, samples=samples)
    seconds = time.perf_counter() - start
    tokens = sum(sum(g.lengths or []) for g in groups)
    out = [{"prompt_id": g.sample.prompt_id, "question": g.sample.question, "prompt": g.prompt,
            "completions": g.completions, "lengths": g.lengths} for g in groups]
    return out, {"generate_s": seconds, "generated_tokens": tokens, "tokens_per_s": tokens / max(seconds, 1e-9)}
