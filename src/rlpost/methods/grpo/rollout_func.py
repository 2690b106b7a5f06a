"""GRPO rollouts through TRL's ``rollout_func`` with rlpost's decode loop (``rollout.engine: rlpost``).

TRL 1.16's ``GRPOTrainer`` generates with ``model.generate`` on the duplicated prompt batch: each prompt is prefilled
``num_generations`` times and finished completions keep their batch slot until the longest one ends. With
``rollout.engine: rlpost`` the trainer calls :func:`rlpost_rollout` instead, which decodes each distinct prompt once
and shares its KV cache among its samples, dropping finished rows (:mod:`rlpost.rollout.decode`).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from functools import partial
from typing import Any

logger = logging.getLogger(__name__)

ENGINES = ("trl", "rlpost")


def build_rollout_func(rollout_cfg: Any, sampling: Any) -> Any:
    """Return the ``rollout_func`` for ``GRPOTrainer`` (None = TRL's own generation), sampling with ``sampling``
    (the :class:`~rlpost.rollout.sampling.SamplingSettings` of the ``sampling`` group; ``n`` is set per prompt).

    Raises:
        ValueError: ``rollout.engine`` is unknown, or ``rlpost`` is combined with ``use_vllm``.
    """
    engine = rollout_cfg.get("engine", "trl")
    if engine not in ENGINES:
        raise ValueError(f"rollout.engine={engine!r}: choose one of {list(ENGINES)}")
    if engine == "trl":
        return None
    if rollout_cfg.get("use_vllm"):
        raise ValueError("rollout.engine=rlpost decodes with the policy itself; set rollout.use_vllm=false")
    return partial(rlpost_rollout, sampling=sampling)


def split_runs(prompts: list[Any]) -> list[tuple[Any, int]]:
    """Group consecutive equal prompts: ``[(prompt, count), ...]`` (TRL repeats each prompt G times in a row).

    Example:
        >>> split_runs(["a", "a", "b", "b", "b", "a"])
        [('a', 2), ('b', 3), ('a', 1)]
    """
    runs: list[tuple[Any, int]] = []
    for p in prompts:
        if runs and runs[-1][0] == p:
            runs[-1] = (p, runs[-1][1] + 1)
        else:
            runs.append((p, 1))
    return runs


def rlpost_rollout(prompts: list[Any], trainer: Any, sampling: Any) -> dict[str, list]:
    """TRL ``rollout_func``: one completion per entry of ``prompts``, decoded with a shared prefill per prompt.

    TRL 1.16 passes the process's prompt slice as its sampler made it, each prompt repeated G times in a row (observed
    in tests/methods/grpo/test_grpo_fast_rollout.py), and zips the result with that slice; so every entry gets
    exactly one completion, and consecutive equal prompts are decoded as one prompt with ``n`` = their count.

    Returns:
        ``prompt_ids``, ``completion_ids`` (ending with the stop token when the sample stopped) and per-token
        ``logprobs`` under the sampling distribution, one entry per completion.
    """
    import torch

    model = trainer.accelerator.unwrap_model(trainer.model)
    if trainer.repetition_penalty != 1.0 or trainer.min_p:
        raise ValueError("rollout.engine=rlpost supports temperature/top_p/top_k only (no repetition_penalty, min_p)")
    from rlpost.runtime.modes import inference_mode
    from rlpost.runtime.zero3 import full_parameters

    runs = split_runs(prompts)
    # the precision TRL trains in (trainer.bf16, resolved by rlpost.runtime.hardware); fp32 runs without autocast
    dtype = torch.bfloat16 if trainer.args.bf16 else torch.float16 if trainer.args.fp16 else None
    autocast = torch.autocast(model.device.type, dtype=dtype or torch.bfloat16, enabled=dtype is not None)
    # ZeRO-3: whole weights, each rank decodes its own; the trainer's tokenizer is left-padded only meanwhile
    with inference_mode(model, trainer.processing_class, padding_side="left"), autocast, full_parameters(model):
        by_run = _decode_runs(model, trainer, runs, sampling)
    out: dict[str, list] = {"prompt_ids": [], "completion_ids": [], "logprobs": []}
    for i, (_, count) in enumerate(runs):
        prompt_ids, tokens, logps = by_run[i]
        out["prompt_ids"] += [prompt_ids] * count
        out["completion_ids"] += tokens
        out["logprobs"] += logps
    return out


def _decode_runs(model: Any, trainer: Any, runs: list[tuple[Any, int]], sampling: Any,
                 ) -> dict[int, tuple[list, list, list]]:
    """Decode every run (prompt, count); one batched decode per distinct count (usually exactly one)."""
    from rlpost.rollout.decode import decode

    tok = trainer.processing_class
    texts = [tok.apply_chat_template(p, tokenize=False, add_generation_prompt=True) if isinstance(p, list) else p
             for p, _ in runs]
    eos = model.generation_config.eos_token_id
    stop_ids = {tok.eos_token_id, tok.pad_token_id, *([eos] if isinstance(eos, int) else (eos or []))}
    stop_ids.discard(None)
    by_run = {}
    for count in sorted({c for _, c in runs}):
        idx = [i for i, (_, c) in enumerate(runs) if c == count]
        enc = tok([texts[i] for i in idx], return_tensors="pt", padding=True, add_special_tokens=False)
        enc = enc.to(model.device)
        res = decode(model, enc["input_ids"], enc["attention_mask"], replace(sampling, n=count), sorted(stop_ids))
        for k, i in enumerate(idx):
            rows = slice(k * count, (k + 1) * count)
            prompt_ids = enc["input_ids"][k][enc["attention_mask"][k].bool()].tolist()
            by_run[i] = (prompt_ids, res.tokens[rows], res.token_logprobs[rows])
    return by_run
