"""Pure evaluation metrics."""

from __future__ import annotations

import math
from collections.abc import Sequence


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k estimator (Chen et al. 2021, Codex §2.1): 1 - C(n-c, k) / C(n, k).

    Args:
        n: samples drawn; c: correct samples; k: budget (k <= n).

    Example:
        >>> pass_at_k(4, 1, 1)
        0.25
        >>> pass_at_k(4, 0, 2), pass_at_k(4, 3, 2)
        (0.0, 1.0)
    """
    if k > n:
        raise ValueError(f"pass@k needs k <= n, got k={k}, n={n}")
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def mean(values: Sequence[float]) -> float:
    """Arithmetic mean; NaN for an empty sequence.

    Example:
        >>> mean([1.0, 0.0])
        0.5
    """
    return sum(values) / len(values) if values else float("nan")


def stderr_of_proportion(p: float, n: int) -> float:
    """Standard error of an accuracy ``p`` measured on ``n`` questions.

    Example:
        >>> round(stderr_of_proportion(0.5, 100), 3)
        0.05
    """
    return math.sqrt(p * (1 - p) / n) if n else float("nan")
