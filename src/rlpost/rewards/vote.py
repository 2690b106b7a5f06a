"""The one majority vote over answers with equivalence classes (math-verify), for rewards, guards and evaluation.

Self-consistency pseudo-labels (SRT, arXiv 2505.21444; TTRL, arXiv 2504.16084), base-model labels of the GRPO
guards and maj@k of math evaluation all call :func:`vote`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

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


@dataclass(frozen=True)
class GroupVote:
    """Outcome of voting over one group of answers.

    ``majority`` is the most voted answer (None when nothing is parsable); ``label`` is ``majority``, or None
    when its ``share`` of the parsable votes is below ``min_agreement`` (the group abstains); ``cluster_of[i]``
    is the index in ``reps`` of member ``i``'s answer (None when unparsable) and ``cluster_sizes`` the votes
    each cluster received.
    """

    label: str | None
    share: float
    majority: str | None
    cluster_of: tuple[int | None, ...]
    cluster_sizes: tuple[int, ...]
    reps: tuple[str, ...]

    @property
    def n_votes(self) -> int:
        """Number of parsable answers that voted."""
        return sum(self.cluster_sizes)


def vote(answers: Sequence[str | None], min_agreement: float = 0.0,
         equal: Callable[[str, str], bool] = math_equal) -> GroupVote:
    """Majority vote over one group, with SRT's confidence threshold ``min_agreement``.

    Unparsable answers (None) do not vote. Ties go to the answer seen first, so every rank voting over the same
    gathered list picks the same label.

    Example:
        >>> v = vote(["0.5", "1/2", "\\\\frac{1}{2}", "3"])
        >>> v.label, v.share, v.cluster_of
        ('0.5', 0.75, (0, 0, 0, 1))
        >>> vote(["1", "2", "3", None], min_agreement=0.5).label is None
        True
        >>> vote([None, None]).label, vote([None, None]).share
        (None, 0.0)
    """
    clusters = cluster_answers(answers, equal)
    cluster_of: list[int | None] = [None] * len(answers)
    for c, (_, members) in enumerate(clusters):
        for i in members:
            cluster_of[i] = c
    sizes = tuple(len(m) for _, m in clusters)
    if not clusters:
        return GroupVote(None, 0.0, None, tuple(cluster_of), sizes, ())
    best = max(range(len(clusters)), key=lambda c: sizes[c])  # max keeps the first of equal counts
    share = sizes[best] / sum(sizes)
    majority = clusters[best][0]
    label = majority if share >= min_agreement else None
    return GroupVote(label, share, majority, tuple(cluster_of), sizes, tuple(r for r, _ in clusters))


def score_member(result: GroupVote, i: int, soft: bool = False) -> float | None:
    """Reward of group member ``i``: None when the group abstains, else 1/0 (or its vote share when ``soft``).

    Example:
        >>> v = vote(["4", "4", "5", None])
        >>> [score_member(v, i) for i in range(4)]
        [1.0, 1.0, 0.0, 0.0]
        >>> [round(score_member(v, i, soft=True), 2) for i in range(4)]
        [0.67, 0.67, 0.33, 0.0]
    """
    if result.label is None:
        return None
    c = result.cluster_of[i]
    if c is None:
        return 0.0
    if soft:
        return result.cluster_sizes[c] / result.n_votes
    return 1.0 if result.reps[c] == result.label else 0.0
