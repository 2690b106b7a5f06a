import pytest

from rlpost.rewards.accuracy import AccuracyReward
from rlpost.rewards.verify import math_equal
from rlpost.rewards.vote import majority_vote
from rlpost.text.answers import extract_answer, parse_gold


@pytest.mark.parametrize(
    ("text", "fmt", "expected"),
    [
        (r"thus \boxed{\frac{3}{4}}", "auto", r"\frac{3}{4}"),
        (r"\boxed{x^{2}} and later \boxed{5}", "boxed", "5"),
        ("work\n#### 1,234", "auto", "1234"),
        ("12 + 30 = 42. The answer is 42.", "auto", "42"),
        ("The answer is: -7", "auto", "-7"),
        ("3.5 apples", "last_number", "3.5"),
        ("no number here", "auto", None),
        ("unfinished \\boxed{12", "boxed", None),
    ],
)
def test_extract_answer(text, fmt, expected):
    assert extract_answer(text, fmt) == expected


def test_extract_answer_rejects_unknown_format():
    with pytest.raises(ValueError, match="answer_format"):
        extract_answer("1", "nope")


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


def test_parse_gold_formats():
    assert parse_gold("a\n#### 72", "after_hashes") == "72"
    assert parse_gold(r"so \boxed{7}", "boxed") == "7"
    with pytest.raises(ValueError, match="answer_parser"):
        parse_gold("1", "weird")


def test_majority_vote_counts_equivalent_answers_as_one():
    label, share = majority_vote(["0.5", "1/2", r"\frac{1}{2}", "3", None])
    assert label == "0.5" and share == pytest.approx(0.75)


def test_accuracy_reward_chat_completions_and_abstain():
    reward = AccuracyReward()
    comps = [
        [{"role": "assistant", "content": "7 * 8 = 56"}],
        [{"role": "assistant", "content": "54"}],
        [{"role": "assistant", "content": "9"}],
    ]
    assert reward(None, comps, answer=["56", "56", None]) == [1.0, 0.0, None]
