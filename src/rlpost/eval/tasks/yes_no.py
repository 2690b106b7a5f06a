"""Yes/no evaluation (TALLRec): AUC, accuracy and log-loss of a scorer's ``logit(Yes) - logit(No)`` on labelled
prompts (rlpost.rollout.label_scores.YesNoScorer, rlpost.eval.binary)."""

from __future__ import annotations

import time
from typing import Any

from rlpost.errors import ConfigError
from rlpost.eval.binary import binary_metrics
from rlpost.eval.results import save_evaluation
from rlpost.runtime.zero3 import full_parameters


def score_rows(scorer: Any, model: Any, tokenizer: Any, rows: list[dict[str, str]], labelled: list[dict[str, Any]],
               split: str) -> dict[str, float]:
    """AUC / accuracy / log-loss of ``scorer`` on prompt rows with gold labels from ``labelled``, plus ``seconds``.

    Every rank must call it under ZeRO-3 (the whole weights are gathered first).
    """
    start = time.perf_counter()
    with full_parameters(model):  # ZeRO-3: whole weights, scored outside the engine
        scores = scorer.score(model, tokenizer, [r["prompt"] for r in rows], desc=f"{split} AUC")
    return {**binary_metrics([r["label"] for r in labelled], scores, split=split, logits=True),
            "seconds": time.perf_counter() - start}


def format_metrics(name: str, m: dict[str, float]) -> str:
    """One line: ``name: AUC 0.7500 ± 0.0100, accuracy 0.6000, log-loss 0.6500 (n=100)``.

    >>> format_metrics("after", {"auc": 0.75, "auc_se": 0.01, "accuracy": 0.6, "log_loss": 0.65, "n": 100})
    'after: AUC 0.7500 ± 0.0100, accuracy 0.6000, log-loss 0.6500 (n=100)'
    """
    se = f" ± {m['auc_se']:.4f}" if "auc_se" in m else ""
    return (f"{name}: AUC {m['auc']:.4f}{se}, accuracy {m['accuracy']:.4f}, log-loss {m['log_loss']:.4f} "
            f"(n={m['n']:.0f})")


def check_inputs(eval_cfg: Any, data_cfg: Any, reward_cfg: Any) -> None:
    """Fail before the model loads: the test split comes from ``data.splits`` (TALLRec-format files)."""
    if data_cfg.get("splits") is None:
        raise ConfigError("eval=yes_no scores the test split of data.splits: use data=tallrec_movie or "
                          "data=tallrec_book")


def evaluate_task(inputs: Any) -> dict[str, float]:
    """``rlpost-eval eval=yes_no data=tallrec_*``: :func:`evaluate_test_split`, written as ``metrics.json``."""
    metrics = evaluate_test_split(inputs.model, inputs.tokenizer, inputs.data_cfg, inputs.eval_cfg.scorer, inputs.seed)
    save_evaluation(inputs.out_dir, metrics, [])
    return metrics


def evaluate_test_split(model: Any, tokenizer: Any, data_cfg: Any, scorer_cfg: Any, seed: int) -> dict[str, float]:
    """The scorer's metrics on the test split of ``data.splits``."""
    from hydra.utils import instantiate

    from rlpost.data.sources.tallrec import to_prompt_completion

    splits = instantiate(data_cfg.splits, seed=seed)
    rows = to_prompt_completion(splits["test"], instantiate(data_cfg.prompt), tokenizer)
    return score_rows(instantiate(scorer_cfg), model, tokenizer, rows, splits["test"], "test")
