"""Evaluate a policy on questions with gold answers: greedy accuracy, pass@k, maj@k, mean@k, majority share.

:func:`evaluate_model` is the entry for GRPO's evaluations and guards, :func:`evaluate_task` for
``rlpost-eval eval=math_qa|instruction_following`` (settings from ``cfg.eval``).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path
from typing import Any

from rlpost.data.templates import ChatTemplate
from rlpost.distributed import all_gather_object, rank, world_size
from rlpost.errors import DataError
from rlpost.eval.metrics import mean, pass_at_k
from rlpost.eval.results import save_evaluation
from rlpost.eval.tasks.registry import eval_kind
from rlpost.rewards.verify import math_equal
from rlpost.rewards.vote import vote
from rlpost.rollout.build import build_engine
from rlpost.rollout.sampling import RolloutEngine, SamplingSettings
from rlpost.runtime.modes import inference_mode
from rlpost.runtime.zero3 import full_parameters
from rlpost.text.answers import extract_answer, extractor
from rlpost.types import Sample

logger = logging.getLogger(__name__)
# the eval kinds evaluate_model serves
GENERATIVE = ("math_qa", "instruction_following", "none")


def score_question(gold: str, greedy: str, samples: list[str], answer_format: str) -> dict[str, Any]:
    """Per-question record: extracted answers, correctness, majority answer and its share.

    Example:
        >>> r = score_question("4", "2+2=4", ["4", "5", "4"], "auto")
        >>> r["greedy_correct"], r["n_correct"], r["maj_answer"], round(r["maj_share"], 2), r["maj_correct"]
        (True, 2, '4', 0.67, True)
    """
    answers = [extract_answer(s, answer_format) for s in samples]
    maj = vote(answers)
    return {
        "greedy_answer": extract_answer(greedy, answer_format),
        "greedy_correct": math_equal(extract_answer(greedy, answer_format), gold),
        "answers": answers,
        "n_correct": sum(math_equal(a, gold) for a in answers),
        "maj_answer": maj.majority,
        "maj_share": maj.share,
        "maj_correct": math_equal(maj.majority, gold),
    }


def aggregate(records: list[dict[str, Any]], k: int, group_by: str | None) -> dict[str, float]:
    """Dataset-level metrics from per-question records (see :func:`score_question`)."""
    metrics = {
        "accuracy": mean([float(r["greedy_correct"]) for r in records]),
        "completion_tokens": mean([r["greedy_tokens"] for r in records]),
        "n_questions": float(len(records)),
    }
    if k > 1:
        metrics.update(
            {
                f"pass@{k}": mean([pass_at_k(k, r["n_correct"], k) for r in records]),
                "pass@1": mean([pass_at_k(k, r["n_correct"], 1) for r in records]),
                f"maj@{k}": mean([float(r["maj_correct"]) for r in records]),
                f"mean@{k}": mean([r["n_correct"] / k for r in records]),
                "majority_share": mean([r["maj_share"] for r in records]),
            }
        )
    if group_by and records and group_by in records[0]:
        by: dict[str, list[float]] = defaultdict(list)
        for r in records:
            by[str(r[group_by])].append(float(r["greedy_correct"]))
        metrics.update({f"accuracy/{g}": mean(v) for g, v in sorted(by.items())})
    return metrics


def evaluate(
    engine: RolloutEngine,
    dataset: Any,
    template: ChatTemplate,
    sampling: SamplingSettings,
    answer_format: str = "auto",
    group_by: str | None = "op",
    out_dir: str | Path | None = None,
) -> dict[str, float]:
    """Run greedy (+ ``sampling.n`` = k samples) on every row with a gold ``answer``; write metrics.json and
    samples.jsonl. ``sampling.max_new_tokens`` caps the greedy completion too; ``group_by`` names the column to
    break greedy accuracy down by (e.g. ``op``, ``level``; skipped when absent)."""
    all_rows = [r for r in dataset if r.get("answer") is not None]
    if not all_rows:
        raise DataError("evaluation dataset has no rows with a gold 'answer'")
    rows = all_rows[rank() :: world_size()]  # each rank scores a shard; records are gathered below
    prompts = [template(r) for r in rows]
    samples = [Sample(prompt_id=r["prompt_id"], question=r["question"], answer=r["answer"]) for r in rows]
    greedy_params = SamplingSettings(greedy=True, max_new_tokens=sampling.max_new_tokens)
    greedy = engine.generate(prompts, greedy_params, samples=samples)
    sampled = engine.generate(prompts, sampling, samples=samples) if sampling.n > 1 else None
    records = []
    for i, row in enumerate(rows):
        texts = sampled[i].completions if sampled else []
        rec = score_question(row["answer"], greedy[i].completions[0], texts, answer_format)
        rec.update(
            {
                "prompt_id": row["prompt_id"],
                "question": row["question"],
                "gold": row["answer"],
                "greedy": greedy[i].completions[0],
                "greedy_tokens": greedy[i].lengths[0],
                "samples": texts,
            }
        )
        if group_by and group_by in row:
            rec[group_by] = row[group_by]
        records.append(rec)
    records = [r for part in all_gather_object(records) for r in part]
    metrics = aggregate(records, sampling.n, group_by)
    save_evaluation(out_dir, metrics, records)
    return metrics


def format_metrics(name: str, metrics: dict[str, float]) -> str:
    """One human-readable line: ``name: accuracy 52.0% (add 20.0%, mul 84.0%) | maj@8 ...``."""
    parts = [f"accuracy {100 * metrics['accuracy']:.1f}%"]
    groups = [f"{k.split('/', 1)[1]} {100 * v:.1f}%" for k, v in metrics.items() if k.startswith("accuracy/")]
    if groups:
        parts[0] += f" ({', '.join(groups)})"
    parts += [f"{k} {100 * v:.1f}%" for k, v in metrics.items() if k.startswith(("pass@", "maj@", "mean@"))]
    parts.append(f"{metrics['completion_tokens']:.0f} tokens/answer, n={metrics['n_questions']:.0f}")
    return f"{name}: " + " | ".join(parts)


def evaluate_model(
    model: Any, tokenizer: Any, dataset: Any, template: Any, eval_cfg: Any, out_dir: str | Path | None, seed: int = 0,
    rollout_cfg: Any = None,
) -> dict[str, float]:
    """Greedy accuracy (+ pass@k/maj@k when ``eval.k > 1``), or IFEval's accuracies with
    ``eval.kind=instruction_following``, of ``model`` on ``dataset``; restores train mode. ``eval.kind=none``
    (GRPO's validation guards without before/after evaluations) measures accuracy.

    Every rank must call it (rows are sharded over ranks; under ZeRO-3 the weights are gathered first).
    ``rollout_cfg`` picks the engine (:func:`rlpost.rollout.build.build_engine`; None = HF).
    """
    kind = eval_kind(eval_cfg, GENERATIVE, "math_qa.evaluate_model")
    extractor(eval_cfg.answer_format, "eval.answer_format")  # a bad name fails before any generation
    engine = None
    try:
        with inference_mode(model), full_parameters(model):
            engine = build_engine(model, tokenizer, rollout_cfg, batch_size=eval_cfg.batch_size,
                                  autocast_dtype=eval_cfg.autocast_dtype, seed=seed)
            if kind == "instruction_following":
                from rlpost.eval.tasks.ifeval import evaluate_instruction_following

                return evaluate_instruction_following(engine, dataset, template,
                                                      eval_cfg.sampling.max_new_tokens, out_dir)
            sampling = SamplingSettings.from_cfg(eval_cfg.sampling, n=eval_cfg.k, seed=seed)
            return evaluate(engine, dataset, template, sampling, eval_cfg.answer_format, eval_cfg.group_by, out_dir)
    finally:
        if engine is not None and rollout_cfg is not None and rollout_cfg.get("use_vllm"):
            free_engine(engine)


def evaluate_task(inputs: Any) -> dict[str, float]:
    """``rlpost-eval eval=math_qa|instruction_following``: every row of ``data`` (``data.path`` or the held-out
    source) through :func:`evaluate_model`."""
    from hydra.utils import instantiate

    from rlpost.data.build import build_eval_dataset

    return evaluate_model(inputs.model, inputs.tokenizer, build_eval_dataset(inputs.data_cfg, inputs.seed),
                          instantiate(inputs.data_cfg.template), inputs.eval_cfg, inputs.out_dir, inputs.seed,
                          rollout_cfg=inputs.rollout_cfg)


def free_engine(engine: Any) -> None:
    """Release an in-process vLLM engine's memory before training starts (a colocated vLLM holds a weight copy and
    its KV cache): drop the engine, collect, empty the CUDA cache (docs/vllm.md)."""
    import gc

    import torch

    engine.__dict__.clear()  # the LLM object goes with its last reference
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
