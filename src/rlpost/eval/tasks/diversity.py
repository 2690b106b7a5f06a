"""Diversity evaluation (DivPO): diversity per prompt, averaged, and quality of scored pools of fresh samples
(metrics from rlpost.eval.diversity; Lanchantin et al., arXiv 2501.18101)."""

from __future__ import annotations

from typing import Any

KIND = "diversity"


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


def format_metrics(name: str, metrics: dict[str, float]) -> str:
    """One line: the ``unique/*``, ``entropy/*`` and ``quality/*`` metrics, sorted.

    >>> format_metrics("after", {"quality/valid_rate": 0.5, "unique/answer": 0.25})
    'after: quality/valid_rate 0.500, unique/answer 0.250'
    """
    return f"{name}: " + ", ".join(f"{k} {v:.3f}" for k, v in sorted(metrics.items()) if isinstance(v, int | float))
