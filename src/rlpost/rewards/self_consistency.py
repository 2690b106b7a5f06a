"""Self-consistency pseudo-label reward (SRT / TTRL): the group's majority answer is the label.

SRT (arXiv 2505.21444) and TTRL (arXiv 2504.16084) reward each completion by agreement with the majority answer
of its group. Two improvements over both releases: answers vote by mathematical equivalence (``0.5``, ``1/2`` and
``\\frac{1}{2}`` are one vote), and the vote sees the whole group under DDP, where TRL hands each rank only a slice
of a prompt's group: the extracted answers are gathered from every rank, rank 0 votes, and broadcasts the rewards.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rlpost.distributed import all_gather_object, broadcast_object, is_main, rank
from rlpost.errors import ConfigError, DataError
from rlpost.rewards.base import completion_text
from rlpost.rewards.label_quality import GroupRecord, compute_label_metrics
from rlpost.rewards.verify import math_equal
from rlpost.rewards.vote import score_member, vote
from rlpost.text.answers import extract_answer, extractor


def group_spans(prompt_ids: Sequence[str], group_size: int | None = None) -> list[tuple[int, int]]:
    """``[start, end)`` of each group, by position: TRL lays completions out group-contiguously.

    A group is a run of consecutive rows with one prompt id, cut into ``group_size`` chunks when given (TRL's
    ``num_generations``), so a question that appears twice in a batch stays two groups, even side by side.

    Example:
        >>> group_spans(["a", "a", "b", "b", "a", "a"])
        [(0, 2), (2, 4), (4, 6)]
        >>> group_spans(["a", "a", "a", "a"], group_size=2)
        [(0, 2), (2, 4)]
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for end in range(1, len(prompt_ids) + 1):
        if end < len(prompt_ids) and prompt_ids[end] == prompt_ids[start]:
            continue
        step = group_size or end - start
        if (end - start) % step:
            raise DataError(f"self_consistency: prompt_id {prompt_ids[start]!r} has {end - start} consecutive "
                            f"completions, not a multiple of algo.num_generations={group_size}; groups must be "
                            "contiguous in the batch, as TRL lays them out")
        spans.extend((s, s + step) for s in range(start, end, step))
        start = end
    return spans


def cross_rank_fraction(spans: Sequence[tuple[int, int]], part_sizes: Sequence[int]) -> float:
    """Fraction of groups (``[start, end)`` spans of the gathered rows) that straddle two ranks' parts.

    Example:
        >>> cross_rank_fraction([(0, 2), (2, 4), (4, 6)], [3, 3])
        0.3333333333333333
    """
    bounds = [sum(part_sizes[: r + 1]) for r in range(len(part_sizes) - 1)]
    return sum(any(s < b < e for b in bounds) for s, e in spans) / max(len(spans), 1)


def check_min_agreement(min_agreement: float) -> None:
    """Raise ConfigError unless ``0 <= min_agreement <= 1``."""
    if not 0.0 <= min_agreement <= 1.0:
        raise ConfigError(f"reward.funcs.self_consistency.min_agreement={min_agreement} must be in [0, 1]")


class MajorityVoteReward:
    """TRL reward: 1 when a completion's answer is equivalent to its group's majority answer (pseudo-label).

    Rows flagged as gold-labelled (``gold_flag_column`` true) are scored against their gold ``answer``; on the
    other rows ``answer`` is hidden gold, used only for label-quality metrics (``self_consistency/*``).

    Under DDP every rank extracts its own completions' answers, the rows are gathered, rank 0 alone votes and
    scores them, and broadcasts the rewards and metrics: the labels are the same on every rank by construction,
    even when a verifier's wall-clock timeout fires on one rank only. Groups are identified by position (see
    :func:`group_spans`), not by ``prompt_id``, so duplicate questions in one batch stay separate groups.

    Args:
        answer_format: how to extract the final answer (see :func:`rlpost.text.answers.extract_answer`).
        min_agreement: groups whose majority share is below this abstain (None, hence zero advantage in TRL).
        soft: reward = the vote share of the completion's answer (SRT's soft reward) instead of 0/1.
        gold_flag_column: boolean dataset column marking gold-labelled rows; absent column = all rows unlabelled.
            Its values must be bools (rlpost's loaders parse the ``data.bool_columns`` strictly).
        n_train: TTRL's vote/train split: vote over the whole group, reward only its first ``n_train`` members
            (the rest abstain: TRL gives them zero advantage and leaves them out of the group baseline).
            Needs every other reward to abstain on those rows too. None = train on all.
        num_generations: completions per group (``algo.num_generations``); consecutive rows with one prompt id
            are cut into groups of this size. None = each run of equal consecutive prompt ids is one group.
    """

    __name__ = "self_consistency"
    # the reward is a vote among the model's own completions (a pseudo-label): guards ask this, not the class name
    votes = True

    def __init__(self, answer_format: str = "auto", min_agreement: float = 0.0, soft: bool = False,
                 gold_flag_column: str | None = "labeled", n_train: int | None = None,
                 num_generations: int | None = None) -> None:
        check_min_agreement(min_agreement)
        extractor(answer_format, "reward.funcs.self_consistency.answer_format")
        if n_train is not None and n_train < 1:
            raise ConfigError(f"reward.funcs.self_consistency.n_train={n_train} must be >= 1 (or null)")
        if num_generations is not None and num_generations < 2:
            raise ConfigError(f"reward.funcs.self_consistency.num_generations={num_generations}: voting needs "
                              "groups of at least 2 (algo.num_generations >= 2)")
        self.answer_format = answer_format
        self.min_agreement = min_agreement
        self.soft = soft
        self.gold_flag_column = gold_flag_column
        self.n_train = n_train
        self.num_generations = num_generations

    def __call__(self, prompts: Any, completions: list[Any], prompt_id: list[str] | None = None,
                 answer: list[str | None] | None = None, log_metric: Callable[[str, float], None] | None = None,
                 **columns: Any) -> list[float | None]:
        if prompt_id is None:
            raise DataError("reward=self_consistency needs a 'prompt_id' column in the training data "
                            "(rlpost loaders derive one; add it to custom datasets)")
        n = len(completions)
        gold = list(answer) if answer is not None else [None] * n
        is_gold = [flag and gold[i] is not None for i, flag in enumerate(self._gold_flags(columns, n))]
        local = [(str(prompt_id[i]), extract_answer(completion_text(completions[i]), self.answer_format), gold[i],
                  is_gold[i]) for i in range(n)]
        parts = all_gather_object(local)  # every rank calls the reward each step, so the collectives are safe
        voter = len(parts) == 1 or is_main()
        offset = sum(len(p) for p in parts[: rank()]) if len(parts) > 1 else 0
        result = self._score_gathered(parts, with_metrics=log_metric is not None) if voter else None
        result = broadcast_object(result)  # rank 0's labels, on every rank
        if isinstance(result, DataError):
            raise result
        rewards, metrics = result
        if log_metric is not None:
            for name, value in metrics.items():
                log_metric(f"self_consistency/{name}", value)
        return rewards[offset : offset + n]

    def _gold_flags(self, columns: dict[str, Any], n: int) -> list[bool]:
        """The gold-row flags; a non-boolean value (e.g. the string "False", which is truthy) is a DataError."""
        flags = columns.get(self.gold_flag_column) if self.gold_flag_column else None
        if flags is None:
            return [False] * n
        bad = next((f for f in flags if f is not None and not isinstance(f, bool) and f not in (0, 1)), None)
        if bad is not None:
            raise DataError(f"self_consistency: column {self.gold_flag_column!r} (gold_flag_column) holds {bad!r}, "
                            "not a boolean; add it to data.bool_columns so the loader parses it")
        return [bool(f) for f in flags]

    def _score_gathered(self, parts: list[list[tuple[str, str | None, str | None, bool]]],
                        with_metrics: bool) -> tuple[list[float | None], dict[str, float]] | DataError:
        """Rewards of all gathered rows and the batch metrics; a DataError is returned so every rank raises it."""
        rows = [r for part in parts for r in part]
        try:
            spans = group_spans([r[0] for r in rows], self.num_generations)
            rewards, records = self._score_all(rows, spans)
        except DataError as err:
            return err
        metrics = compute_label_metrics(records) if with_metrics else {}
        if with_metrics and len(parts) > 1:  # how often TRL split a group across ranks (the reason for the gather)
            metrics["cross_rank_groups"] = cross_rank_fraction(spans, [len(p) for p in parts])
        return rewards, metrics

    def _score_all(self, rows: list[tuple[str, str | None, str | None, bool]],
                   spans: list[tuple[int, int]]) -> tuple[list[float | None], list[GroupRecord]]:
        """Vote per group (``[start, end)`` spans of ``rows``); returns every row's reward and one record per group."""
        rewards: list[float | None] = [None] * len(rows)
        records = []
        for start, end in spans:
            idx = range(start, end)
            if len(idx) < 2:
                raise DataError(f"self_consistency: prompt_id {rows[start][0]!r} has a group of size 1; voting needs "
                                "algo.num_generations >= 2")
            answers = [rows[i][1] for i in idx]
            hidden = rows[start][2]
            gold_row = rows[start][3]
            result = vote(answers, self.min_agreement)
            for j, i in enumerate(idx):
                if self.n_train is not None and j >= self.n_train:
                    continue
                if gold_row:
                    rewards[i] = 1.0 if math_equal(answers[j], hidden) else 0.0
                else:
                    rewards[i] = score_member(result, j, self.soft)
            records.append(GroupRecord(result.majority, result.share, result.label, tuple(answers), hidden, gold_row))
        return rewards, records
