"""Instruction-following evaluation (``eval.kind=instruction_following``): IFEval's four accuracies, per type.

IFEval (Zhou et al. 2023, arXiv 2311.07911, §3) reports prompt-level accuracy (all of a prompt's instructions
followed) and instruction-level accuracy (each instruction counted on its own), each strict and loose. rlpost adds
standard errors: binomial over prompts for prompt-level accuracy; for instruction-level accuracy, a ratio estimator
clustered by prompt (instructions of one prompt share a response, so they are not independent). Per instruction
type: strict and loose rates and counts. Greedy decoding, one response per prompt, checked by
:func:`rlpost.text.instruction_checks.check_response`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rlpost.distributed import all_gather_object, rank, world_size
from rlpost.errors import DataError
from rlpost.eval.metrics import mean, stderr_of_proportion
from rlpost.eval.results import save_evaluation
from rlpost.rollout.sampling import RolloutEngine, SamplingSettings
from rlpost.text.instruction_checks import check_response, parse_kwargs
from rlpost.types import Sample

LEVELS = ("prompt_strict", "prompt_loose", "instruction_strict", "instruction_loose")


def clustered_stderr(hits: Sequence[float], sizes: Sequence[int]) -> float:
    """Standard error of ``sum(hits) / sum(sizes)`` with clusters of ``sizes`` items (hits per cluster).

    Example:
        >>> round(clustered_stderr([1, 0, 2, 1], [1, 1, 2, 2]), 3)
        0.203
    """
    n, total = len(sizes), sum(sizes)
    if n < 2 or total == 0:
        return float("nan")
    p = sum(hits) / total
    resid = sum((h - p * m) ** 2 for h, m in zip(hits, sizes, strict=True))
    return math.sqrt(n / (n - 1) * resid) / total


def score_record(response: str, instruction_ids: Sequence[str], kwargs: Any, prompt: str) -> dict[str, Any]:
    """Per-prompt record: strict/loose verdict per instruction, the two prompt-level verdicts, errors."""
    checks = check_response(response, list(instruction_ids), parse_kwargs(kwargs, len(instruction_ids)), prompt)
    strict, loose = [c.strict for c in checks], [c.loose for c in checks]
    return {"instruction_id_list": list(instruction_ids), "strict": strict, "loose": loose,
            "prompt_strict": bool(strict) and all(strict), "prompt_loose": bool(loose) and all(loose),
            "errors": [c.error for c in checks if c.error]}


def aggregate(records: list[dict[str, Any]]) -> dict[str, float]:
    """IFEval's four accuracies with standard errors, per-type strict/loose rates, counts."""
    n = len(records)
    metrics: dict[str, float] = {"n_prompts": float(n), "n_questions": float(n)}
    for level in ("strict", "loose"):
        p = mean([float(r[f"prompt_{level}"]) for r in records])
        metrics[f"prompt_{level}"], metrics[f"prompt_{level}_se"] = p, stderr_of_proportion(p, n)
        hits = [float(sum(r[level])) for r in records]
        sizes = [len(r[level]) for r in records]
        metrics[f"instruction_{level}"] = sum(hits) / max(1, sum(sizes))
        metrics[f"instruction_{level}_se"] = clustered_stderr(hits, sizes)
    metrics["n_instructions"] = float(sum(len(r["strict"]) for r in records))
    metrics["accuracy"] = metrics["prompt_strict"]
    metrics["constraint_errors"] = float(sum(len(r["errors"]) for r in records))
    if records and "greedy_tokens" in records[0]:
        metrics["completion_tokens"] = mean([r["greedy_tokens"] for r in records])
    by_type: dict[str, dict[str, list[float]]] = defaultdict(lambda: {"strict": [], "loose": []})
    for r in records:
        for instruction_id, s, lo in zip(r["instruction_id_list"], r["strict"], r["loose"], strict=True):
            by_type[instruction_id]["strict"].append(float(s))
            by_type[instruction_id]["loose"].append(float(lo))
    for instruction_id, v in sorted(by_type.items()):
        metrics[f"strict/{instruction_id}"] = mean(v["strict"])
        metrics[f"loose/{instruction_id}"] = mean(v["loose"])
        metrics[f"n/{instruction_id}"] = float(len(v["strict"]))
    return metrics


def evaluate_instruction_following(engine: RolloutEngine, dataset: Any, template: Any, max_new_tokens: int,
                                   out_dir: str | Path | None = None) -> dict[str, float]:
    """Greedy responses to every row with ``instruction_id_list``; writes metrics.json and samples.jsonl."""
    all_rows = [r for r in dataset if r.get("instruction_id_list")]
    if not all_rows:
        raise DataError("eval.kind=instruction_following: the evaluation dataset has no rows with "
                        "instruction_id_list (use data=ifeval or data=if_constraints)")
    rows = all_rows[rank():: world_size()]
    samples = [Sample(prompt_id=r["prompt_id"], question=r["question"], answer=None) for r in rows]
    greedy = engine.generate([template(r) for r in rows], SamplingSettings(greedy=True, max_new_tokens=max_new_tokens),
                             samples=samples)
    records = []
    for row, out in zip(rows, greedy, strict=True):
        response = out.completions[0]
        rec = score_record(response, row["instruction_id_list"], row.get("kwargs"), row["question"])
        rec.update({"prompt_id": row["prompt_id"], "question": row["question"], "response": response,
                    "greedy_tokens": out.lengths[0]})
        records.append(rec)
    records = [r for part in all_gather_object(records) for r in part]
    metrics = aggregate(records)
    save_evaluation(out_dir, metrics, records)
    return metrics


def format_if_metrics(name: str, m: dict[str, float]) -> str:
    """One line: ``name: prompt strict 20.1% ± 1.7 | prompt loose ... | instruction strict ... | n=541``."""
    parts = [f"{level.replace('_', ' ')} {100 * m[level]:.1f}% ± {100 * m[level + '_se']:.1f}" for level in LEVELS]
    counts = f"n={m['n_prompts']:.0f} prompts, {m['n_instructions']:.0f} instructions"
    return f"{name}: " + " | ".join([*parts, counts])


format_metrics = format_if_metrics  # the section printer rlpost.eval.results dispatches to
