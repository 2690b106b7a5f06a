"""Majority vote over answers with equivalence classes (math-verify), shared by rewards and evaluation."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rlpost.rewards.verify import math_equal


def cluster_answers(
    answers: Sequence[str | None], equal: Callable[[str, str], bool] = math_equal
) -> list[tuple[str, list[int]]]:
    """Group equivalent answers; returns ``(representative, member indices)`` in first-seen order.

    Example:
        >>> cluster_answers(["0.5", "1/2", "3", None])
        [('0.5', [0, 1]), ('3', [2])]
    """
    clusters: list[tuple[str, list[int]]] = []
    for i, ans in enumerate(answers):
        if ans is None:
            continue
        for rep, members in clusters:
            if equal(ans, rep):
                members.append(i)
                break
        else:
            clusters.append((ans, [i]))
    return clusters


def majority_vote(
    answers: Sequence[str | None], equal: Callable[[str, str], bool] = math_equal
) -> tuple[str | None, float]:
    """Most frequent parsable answer (by equivalence) and its share of the parsable votes.

    Self-consistency pseudo-label (SRT/TTRL). Unparsable answers (None) do not vote. Ties go to the
    answer seen first, so every rank voting over the same gathered list picks the same label.

    Example:
        >>> majority_vote(["4", "5", "4.0", None])
        ('4', 0.6666666666666666)
        >>> majority_vote([None, None])
        (None, 0.0)
    """
    clusters = cluster_answers(answers, equal)
    if not clusters:
        return None, 0.0
    total = sum(len(m) for _, m in clusters)
    rep, members = max(clusters, key=lambda c: len(c[1]))  # max keeps the first of equal counts
    return rep, len(members) / total
