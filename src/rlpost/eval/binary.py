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
        ``auc``, ``accuracy``, ``log_loss``, ``n`` and ``positive_rate`` (share of gold positives).

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
    return {"auc": float(roc_auc_score(labels, clipped)), "accuracy": correct / len(labels),
            "log_loss": float(log_loss(labels, clipped, labels=[0, 1])), "n": float(len(labels)),
            "positive_rate": sum(labels) / len(labels)}
