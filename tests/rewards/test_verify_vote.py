"""Verification (math-verify equality), the majority vote and the accuracy reward built on them."""

import pytest

from rlpost.rewards.accuracy import AccuracyReward
from rlpost.rewards.verify import math_equal
from rlpost.rewards.vote import vote


@pytest.mark.parametrize(
    ("pred", "gold", "equal"),
    [
        ("0.5", r"\frac{1}{2}", True),
        ("1/2", "0.5", True),
        ("42", "42.0", True),
        ("1,000", "1000", True),
        ("3", "4", False),
        (None, "4", False),
        (r"\frac{\pi}{2}", r"\frac{\pi}{2}", True),
        ("2x+1", "1+2x", True),
    ],
)
def test_math_equal(pred, gold, equal):
    assert math_equal(pred, gold) is equal


def test_majority_vote_counts_equivalent_answers_as_one():
    result = vote(["0.5", "1/2", r"\frac{1}{2}", "3", None])
    label, share = result.label, result.share
    assert label == "0.5" and share == pytest.approx(0.75)


def test_accuracy_reward_chat_completions_and_abstain():
    reward = AccuracyReward()
    comps = [
        [{"role": "assistant", "content": "7 * 8 = 56"}],
        [{"role": "assistant", "content": "54"}],
        [{"role": "assistant", "content": "9"}],
    ]
    assert reward(None, comps, answer=["56", "56", None]) == [1.0, 0.0, None]
