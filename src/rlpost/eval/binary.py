"""Pure metrics for yes/no scoring: ROC-AUC (TALLRec's headline metric), accuracy and log-loss."""

from __future__ import annotations

import math
from collections.abc import Sequence

from rlpost.errors import DataError


def binary_metrics(labels: Sequence[int], scores: Sequence[float], split: str = "eval",
                   threshold: float = 0.5, logits: bool = False) -> dict[str, float]:
    """AUC, accuracy and log-loss of scores against 0/1 labels.

    AUC ranks the scores as given (scikit-learn), never clipped, so close scores stay apart. Log-loss comes from
    the same numbers: from log-odds exactly (``log(1 + exp(-m))``), from probabilities clipped to [1e-7, 1 - 1e-7].

    Args:
        labels: gold labels, 1 = positive (Yes).
        scores: P(positive) in [0, 1], or with ``logits=True`` the log-odds of P(positive), any real number (the
            yes/no scorer's ``logit(Yes) - logit(No)``).
        split: name used in error messages.
        threshold: a P(positive) >= threshold predicts positive (for accuracy; log-odds >= logit(threshold)).
        logits: the scores are log-odds.

    Returns:
        ``auc``, ``auc_se`` (its standard error, :func:`auc_standard_error`), ``accuracy``, ``log_loss``, ``n``
        and ``positive_rate`` (share of gold positives).

    Raises:
        DataError: lengths differ, the split is empty, it has a single class (AUC undefined: never a silent 0.5),
            or probabilities lie outside [0, 1] (log-odds passed without ``logits=True``).

    Example:
        >>> m = binary_metrics([1, 0, 1, 0], [0.9, 0.2, 0.6, 0.7])
        >>> m["auc"], m["accuracy"]
        (0.75, 0.75)
        >>> round(binary_metrics([1, 0], [40.0, 0.0], logits=True)["log_loss"], 4)  # (0 + log 2) / 2
        0.3466
        >>> binary_metrics([1, 1], [0.3, 0.8])
        Traceback (most recent call last):
        ...
        rlpost.errors.DataError: eval: all 2 labels are 1; AUC is undefined for a single class
    """
    import numpy as np
    from sklearn.metrics import roc_auc_score

    check_rows(labels, scores, split)
    y = np.asarray(labels, dtype=float)
    s = np.asarray(scores, dtype=float)
    if logits:
        margin, predicted = s, s >= math.log(threshold) - math.log1p(-threshold)
    else:
        if ((s < 0) | (s > 1)).any():
            raise DataError(f"{split}: scores must be probabilities in [0, 1] (got {s.min():.4g}..{s.max():.4g}); "
                            "pass logits=True for log-odds")
        p = np.clip(s, 1e-7, 1 - 1e-7)
        margin, predicted = np.log(p) - np.log1p(-p), s >= threshold
    correct = int((predicted == (y == 1)).sum())
    log_loss = float(np.mean(np.logaddexp(0.0, np.where(y == 1, -margin, margin))))
    auc = float(roc_auc_score(labels, s))
    positives = sum(labels)
    return {"auc": auc, "auc_se": auc_standard_error(auc, positives, len(labels) - positives),
            "accuracy": correct / len(labels), "log_loss": log_loss,
            "n": float(len(labels)), "positive_rate": positives / len(labels)}



def check_rows(labels: Sequence[int], scores: Sequence[float], split: str) -> None:
    """One label per score, at least one row, both classes present (else AUC is undefined): a one-line DataError."""
    if len(labels) != len(scores):
        raise DataError(f"{split}: {len(labels)} labels but {len(scores)} scores")
    if not labels:
        raise DataError(f"{split}: no rows to score")
    if len(set(labels)) < 2:
        raise DataError(f"{split}: all {len(labels)} labels are {labels[0]}; AUC is undefined for a single class")

def auc_standard_error(auc: float, positives: int, negatives: int) -> float:
    """Standard error of an AUC from its class counts (Hanley & McNeil, Radiology 1982).

    Read an AUC measured on a few dozen rows against it: 40 balanced rows at AUC 0.5 give about 0.09.

    Example:
        >>> round(auc_standard_error(0.5, 20, 20), 4)
        0.0924
        >>> auc_standard_error(1.0, 10, 10)
        0.0
    """
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    var = (auc * (1 - auc) + (positives - 1) * (q1 - auc * auc) + (negatives - 1) * (q2 - auc * auc))
    return max(var, 0.0) ** 0.5 / (positives * negatives) ** 0.5
