"""Self-consistency pseudo-label reward (SRT / TTRL): the group's majority answer is the label.

SRT (arXiv 2505.21444) and TTRL (arXiv 2504.16084) reward each completion by agreement with the majority answer
of its group. Two improvements over both releases: answers vote by mathematical equivalence (``0.5``, ``1/2`` and
``\\frac{1}{2}`` are one vote), and the vote sees the whole group under DDP, where TRL hands each rank only a slice
of a prompt's group (STYLE.md §8): ``(prompt_id, answer)`` pairs are gathered from every rank before voting.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rlpost.distributed import all_gather_object, rank
from rlpost.errors import ConfigError, DataError
from rlpost.rewards.base import completion_text
from rlpost.rewards.extract import extract_answer
from rlpost.rewards.label_quality import GroupRecord, compute_label_metrics
from rlpost.rewards.verifiers import math_equal
from rlpost.rewards.voting import cluster_answers


@dataclass(frozen=True)
class GroupVote:
    """Outcome of voting over one prompt's gathered group.

    ``label`` is None when the group abstains (nothing parsable, or majority share below ``min_agreement``);
    ``share`` is the majority's fraction of the parsable votes; ``cluster_of[i]`` is the index in ``clusters``
    of member ``i``'s answer (None when unparsable) and ``cluster_sizes`` the votes each cluster received.
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


def vote_group(answers: Sequence[str | None], min_agreement: float = 0.0,
               equal: Callable[[str, str], bool] = math_equal) -> GroupVote:
    """Majority vote over one group with SRT's confidence threshold.

    Unparsable answers (None) do not vote. Ties go to the answer seen first, so ranks voting over the same
    gathered list agree.

    Example:
        >>> v = vote_group(["0.5", "1/2", "\\\\frac{1}{2}", "3"])
        >>> v.label, v.share, v.cluster_of
        ('0.5', 0.75, (0, 0, 0, 1))
        >>> vote_group(["1", "2", "3", None], min_agreement=0.5).label is None
        True
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


def score_member(vote: GroupVote, i: int, soft: bool = False) -> float | None:
    """Reward of group member ``i``: None when the group abstains, else 1/0 (or its vote share when ``soft``).

    Example:
        >>> v = vote_group(["4", "4", "5", None])
        >>> [score_member(v, i) for i in range(4)]
        [1.0, 1.0, 0.0, 0.0]
        >>> [round(score_member(v, i, soft=True), 2) for i in range(4)]
        [0.67, 0.67, 0.33, 0.0]
    """
    if vote.label is None:
        return None
    c = vote.cluster_of[i]
    if c is None:
        return 0.0
    if soft:
        return vote.cluster_sizes[c] / vote.n_votes
    return 1.0 if vote.reps[c] == vote.label else 0.0


def group_indices(prompt_ids: Sequence[str]) -> dict[str, list[int]]:
    """Positions of each prompt id in first-seen order.

    Example:
        >>> group_indices(["a", "b", "a"])
        {'a': [0, 2], 'b': [1]}
    """
    groups: dict[str, list[int]] = {}
    for i, pid in enumerate(prompt_ids):
        groups.setdefault(pid, []).append(i)
    return groups


def cross_rank_fraction(parts: Sequence[Sequence[tuple[Any, ...]]]) -> float:
    """Fraction of prompt ids whose rows (first field) sit on more than one rank.

    Example:
        >>> cross_rank_fraction([[("a",), ("b",)], [("a",), ("c",)]])
        0.3333333333333333
    """
    ranks: dict[Any, set[int]] = {}
    for r, part in enumerate(parts):
        for row in part:
            ranks.setdefault(row[0], set()).add(r)
    return sum(len(v) > 1 for v in ranks.values()) / max(len(ranks), 1)


def check_min_agreement(min_agreement: float) -> None:
    """Raise ConfigError unless ``0 <= min_agreement <= 1``."""
    if not 0.0 <= min_agreement <= 1.0:
        raise ConfigError(f"reward.funcs.self_consistency.min_agreement={min_agreement} must be in [0, 1]")


class MajorityVoteReward:
    """TRL reward: 1 when a completion's answer is equivalent to its group's majority answer (pseudo-label).

    Rows flagged as gold-labelled (``gold_flag_column`` true) are scored against their gold ``answer``; on the
    other rows ``answer`` is hidden gold, used only for label-quality metrics (``self_consistency/*``).

    Args:
        answer_format: how to extract the final answer (see :func:`rlpost.rewards.extract.extract_answer`).
        min_agreement: groups whose majority share is below this abstain (None, hence zero advantage in TRL).
        soft: reward = the vote share of the completion's answer (SRT's soft reward) instead of 0/1.
        gold_flag_column: boolean dataset column marking gold-labelled rows; absent column = all rows unlabelled.
        n_train: TTRL's vote/train split: vote over the whole group, reward only its first ``n_train`` members
            (the rest abstain: TRL gives them zero advantage and leaves them out of the group baseline).
            Needs every other reward to abstain on those rows too. None = train on all.
    """

    __name__ = "self_consistency"

    def __init__(self, answer_format: str = "auto", min_agreement: float = 0.0, soft: bool = False,
                 gold_flag_column: str | None = "labeled", n_train: int | None = None) -> None:
        check_min_agreement(min_agreement)
        if n_train is not None and n_train < 1:
            raise ConfigError(f"reward.funcs.self_consistency.n_train={n_train} must be >= 1 (or null)")
        self.answer_format = answer_format
        self.min_agreement = min_agreement
        self.soft = soft
        self.gold_flag_column = gold_flag_column
        self.n_train = n_train

    def __call__(self, prompts: Any, completions: list[Any], prompt_id: list[str] | None = None,
                 answer: list[str | None] | None = None, log_metric: Callable[[str, float], None] | None = None,
                 **columns: Any) -> list[float | None]:
        if prompt_id is None:
            raise DataError("reward=self_consistency needs a 'prompt_id' column in the training data "
                            "(rlpost loaders derive one; add it to custom datasets)")
        n = len(completions)
        gold = list(answer) if answer is not None else [None] * n
        flags = columns.get(self.gold_flag_column) if self.gold_flag_column else None
        is_gold = [bool(flags[i]) and gold[i] is not None for i in range(n)] if flags is not None else [False] * n
        local = [(str(prompt_id[i]), extract_answer(completion_text(completions[i]), self.answer_format), gold[i],
                  is_gold[i]) for i in range(n)]
        parts = all_gather_object(local)  # every rank calls the reward each step, so the collective is safe
        offset = sum(len(p) for p in parts[: rank()]) if len(parts) > 1 else 0
        rows = [r for part in parts for r in part]
        rewards, records = self._score_all(rows)
        if log_metric is not None:
            for name, value in compute_label_metrics(records).items():
                log_metric(f"self_consistency/{name}", value)
            if len(parts) > 1:  # how often TRL split a group across ranks (the reason for the gather)
                log_metric("self_consistency/cross_rank_groups", cross_rank_fraction(parts))
        return rewards[offset : offset + n]

    def _score_all(self, rows: list[tuple[str, str | None, str | None, bool]]) -> tuple[list[float | None],
                                                                                          list[GroupRecord]]:
        """Vote per prompt over the gathered rows; returns every row's reward and one record per group."""
        rewards: list[float | None] = [None] * len(rows)
        records = []
        for pid, idx in group_indices([r[0] for r in rows]).items():
            if len(idx) < 2:
                raise DataError(f"self_consistency: prompt_id {pid!r} has a group of size 1; voting needs "
                                "algo.num_generations >= 2 and unique prompt_id values per prompt")
            answers = [rows[i][1] for i in idx]
            hidden = rows[idx[0]][2]
            gold_row = rows[idx[0]][3]
            vote = vote_group(answers, self.min_agreement)
            for j, i in enumerate(idx):
                if self.n_train is not None and j >= self.n_train:
                    continue
                if gold_row:
                    rewards[i] = 1.0 if math_equal(answers[j], hidden) else 0.0
                else:
                    rewards[i] = score_member(vote, j, self.soft)
            records.append(GroupRecord(vote.majority, vote.share, vote.label, tuple(answers), hidden, gold_row))
        return rewards, records
