"""Offline pseudo-labels and agreement curricula: label the training set once with a fixed (base) model.

SRT (arXiv 2505.21444) shows that online self-training eventually collapses onto confidently wrong answers, and
that two mitigations help: labels computed once by a fixed model (they cannot drift with the policy) and a
curriculum of the prompts the base model agrees with most (its easiest third of DAPO). Both need one pass of
maj@k sampling with the base model, done here with rlpost's rollout engine before training starts.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from typing import Any

from rlpost.data.templates import ChatTemplate
from rlpost.distributed import all_gather_object, rank, world_size
from rlpost.errors import ConfigError, DataError
from rlpost.rewards.verify import math_equal
from rlpost.rewards.vote import vote
from rlpost.rollout.sampling import RolloutEngine, SamplingSettings
from rlpost.text.answers import extract_answer

logger = logging.getLogger(__name__)


def vote_labels(groups: Sequence[Sequence[str]], answer_format: str = "auto",
                min_agreement: float = 0.0) -> list[tuple[str | None, float]]:
    """``(label, majority share)`` per group of completions; label None below ``min_agreement``.

    Example:
        >>> vote_labels([["so 4", "4", "5"], ["1", "2", "3"]], min_agreement=0.5)
        [('4', 0.6666666666666666), (None, 0.3333333333333333)]
    """
    results = [vote([extract_answer(t, answer_format) for t in texts], min_agreement) for texts in groups]
    return [(r.label, r.share) for r in results]


def compute_base_labels(engine: RolloutEngine, dataset: Any, template: ChatTemplate, params: SamplingSettings,
                        answer_format: str = "auto", min_agreement: float = 0.0) -> list[tuple[str | None, float]]:
    """maj@k labels of every row with ``engine``; rows are sharded over ranks and gathered (same list everywhere)."""
    if params.n < 2:
        raise ConfigError(f"guards.base_labels.k={params.n} must be >= 2 (a majority needs several samples)")
    rows = list(range(len(dataset)))[rank() :: world_size()]
    prompts = [template(dataset[i]) for i in rows]
    groups = engine.generate(prompts, params) if prompts else []
    local = list(zip(rows, vote_labels([g.completions for g in groups], answer_format, min_agreement), strict=True))
    merged = dict(item for part in all_gather_object(local) for item in part)
    return [merged[i] for i in range(len(dataset))]


def attach_labels(dataset: Any, labels: Sequence[tuple[str | None, float]], freeze: bool) -> Any:
    """Add ``agreement`` (base-model majority share) and, when ``freeze``, replace ``answer`` by the pseudo-label.

    The true answer moves to ``gold_answer`` (hidden: no reward reads it) so label accuracy can still be measured.
    """
    if len(labels) != len(dataset):
        raise DataError(f"pseudo-labels: {len(labels)} labels for {len(dataset)} rows")
    ds = dataset.add_column("agreement", [float(s) for _, s in labels])
    if freeze:
        gold = ds["answer"] if "answer" in ds.column_names else [None] * len(ds)
        ds = ds.remove_columns([c for c in ("answer", "gold_answer") if c in ds.column_names])
        ds = ds.add_column("gold_answer", list(gold)).add_column("answer", [lab for lab, _ in labels])
    return ds


def label_accuracy(labels: Sequence[str | None], gold: Sequence[str | None]) -> dict[str, float]:
    """Accuracy of frozen labels against hidden gold (where both exist) and the fraction of rows labelled.

    Example:
        >>> label_accuracy(["4", None, "6"], ["4", "5", "7"])
        {'labeled_fraction': 0.6666666666666666, 'label_accuracy': 0.5}
    """
    pairs = [(lab, g) for lab, g in zip(labels, gold, strict=True) if lab is not None and g is not None]
    out = {"labeled_fraction": sum(lab is not None for lab in labels) / max(len(labels), 1)}
    if pairs:
        out["label_accuracy"] = sum(math_equal(lab, g) for lab, g in pairs) / len(pairs)
    return out


def select_by_agreement(agreement: Sequence[float], keep_fraction: float = 1.0, order: bool = True) -> list[int]:
    """Row indices for an easy-first curriculum: highest base-model agreement first, top ``keep_fraction`` kept.

    Ties keep dataset order (stable sort), so the selection is deterministic.

    Example:
        >>> select_by_agreement([0.25, 1.0, 0.5, 1.0], keep_fraction=0.5)
        [1, 3]
        >>> select_by_agreement([0.25, 1.0, 0.5, 1.0], keep_fraction=0.75, order=False)
        [1, 2, 3]
    """
    if not 0.0 < keep_fraction <= 1.0:
        raise ConfigError(f"guards.curriculum.keep_fraction={keep_fraction} must be in (0, 1]")
    ranked = sorted(range(len(agreement)), key=lambda i: -agreement[i])
    kept = ranked[: max(1, round(keep_fraction * len(agreement)))]
    return kept if order else sorted(kept)


def split_validation(dataset: Any, size: int, seed: int = 0) -> tuple[Any, Any]:
    """Hold out ``size`` gold-labelled training rows as the early-stopping validation set (removed from training)."""
    answers = dataset["answer"] if "answer" in dataset.column_names else []
    labelled = [i for i, a in enumerate(answers) if a is not None]
    if len(labelled) <= size:
        raise DataError(f"guards.early_stopping.val_size={size}: the training set has only {len(labelled)} rows "
                        "with a gold 'answer' (early stopping needs a small labelled validation set)")
    val = sorted(random.Random(seed).sample(labelled, size))
    chosen = set(val)
    return dataset.select([i for i in range(len(dataset)) if i not in chosen]), dataset.select(val)
