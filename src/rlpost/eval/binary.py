"""Pure metrics for yes/no scoring: ROC-AUC (TALLRec's headline metric), accuracy and log-loss."""

from __future__ import annotations

from collections.abc import Sequence

from rlpost.errors import DataError


def binary_metrics(labels: Sequence[int], scores: Sequence[float], split: str = "eval",
                   threshold: float = 0.5) -> dict[str, float]:
    """AUC, accuracy and log-loss of P(positive) scores against 0/1 labels (scikit-learn).

    Args:
        labels: gold labels, 1 = positive (Yes).
        scores: P(positive) in [0, 1], one per label.
        split: name used in error messages.
        threshold: a score >= threshold predicts positive (for accuracy).

    Returns:
        ``auc``, ``auc_se`` (its standard error, :func:`auc_standard_error`), ``accuracy``, ``log_loss``, ``n``
        and ``positive_rate`` (share of gold positives).

    Raises:
        DataError: lengths differ, the split is empty, or it has a single class (AUC undefined: never a silent 0.5).

    Example:
        >>> m = binary_metrics([1, 0, 1, 0], [0.9, 0.2, 0.6, 0.7])
        >>> m["auc"], m["accuracy"]
        (0.75, 0.75)
        >>> binary_metrics([1, 1], [0.3, 0.8])
        Traceback (most recent call last):
        ...
        rlpost.errors.DataError: eval: all 2 labels are 1; AUC is undefined for a single class
    """
    from sklearn.metrics import log_loss, roc_auc_score

    if len(labels) != len(scores):
        raise DataError(f"{split}: {len(labels)} labels but {len(scores)} scores")
    if not labels:
        raise DataError(f"{split}: no rows to score")
    classes = set(labels)
    if len(classes) < 2:
        raise DataError(f"{split}: all {len(labels)} labels are {labels[0]}; AUC is undefined for a single class")
    clipped = [min(max(float(s), 1e-7), 1 - 1e-7) for s in scores]
    correct = sum((s >= threshold) == bool(y) for s, y in zip(clipped, labels, strict=True))
    auc = float(roc_auc_score(labels, clipped))
    positives = sum(labels)
    return {"auc": auc, "auc_se": auc_standard_error(auc, positives, len(labels) - positives),
            "accuracy": correct / len(labels), "log_loss": float(log_loss(labels, clipped, labels=[0, 1])),
            "n": float(len(labels)), "positive_rate": positives / len(labels)}


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
