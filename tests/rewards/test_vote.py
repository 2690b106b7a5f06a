"""rewards/vote.py is the one majority vote: these cases were computed with the three implementations it replaced
(``majority_vote``, ``vote_group``/``score_member`` and ``vote_labels``) and must not change."""

import pytest

from rlpost.eval.tasks.math_qa import score_question
from rlpost.methods.grpo.guards.pseudo_labels import vote_labels
from rlpost.rewards.vote import score_member, vote

# answers, min_agreement -> label, share, cluster_of, cluster_sizes, reps, hard rewards, soft rewards
CASES = [
    (["0.5", "\\frac{1}{2}", "0.5", "2", "-2", "0.5"], 0.5,
     "0.5", 4 / 6, (0, 0, 0, 1, 2, 0), (4, 1, 1), ("0.5", "2", "-2"),
     [1.0, 1.0, 1.0, 0.0, 0.0, 1.0], [4 / 6, 4 / 6, 4 / 6, 1 / 6, 1 / 6, 4 / 6]),
    (["3", "2", "-2", "1", "2"], 0.5, None, 0.4, (0, 1, 2, 3, 1), (1, 2, 1, 1), ("3", "2", "-2", "1"),
     [None] * 5, [None] * 5),
    (["1", None, "\\frac{1}{2}", "2.00", "1"], 0.5, "1", 0.5, (0, None, 1, 2, 0), (2, 1, 1),
     ("1", "\\frac{1}{2}", "2.00"),
     [1.0, 0.0, 0.0, 0.0, 1.0], [0.5, 0.0, 0.25, 0.25, 0.5]),
    # tie 2-2: the answer seen first wins
    (["1", "0.5", "1.0", "1/2"], 0.0, "1", 0.5, (0, 1, 0, 1), (2, 2), ("1", "0.5"),
     [1.0, 0.0, 1.0, 0.0], [0.5, 0.5, 0.5, 0.5]),
    (["1", "0.5", "1.0", "0.5", "1/2"], 0.0, "0.5", 0.6, (0, 1, 0, 1, 1), (2, 3), ("1", "0.5"),
     [0.0, 1.0, 0.0, 1.0, 1.0], [0.4, 0.6, 0.4, 0.6, 0.6]),
    ([None, None], 0.0, None, 0.0, (None, None), (), (), [None, None], [None, None]),
    ([], 0.0, None, 0.0, (), (), (), [], []),
]


@pytest.mark.parametrize("answers,th,label,share,cluster_of,sizes,reps,hard,soft", CASES)
def test_vote_matches_the_implementations_it_replaced(answers, th, label, share, cluster_of, sizes, reps, hard, soft):
    result = vote(answers, th)
    assert (result.label, result.cluster_of, result.cluster_sizes, result.reps) == (label, cluster_of, sizes, reps)
    assert result.share == pytest.approx(share)
    assert [score_member(result, i) for i in range(len(answers))] == hard
    assert [score_member(result, i, soft=True) for i in range(len(answers))] == pytest.approx(soft)


def test_min_agreement_keeps_majority_but_abstains():
    result = vote(["3", "2", "-2", "1", "2"], min_agreement=0.5)
    assert (result.label, result.majority, result.share) == (None, "2", 0.4)
    assert vote(["3", "2", "-2", "1", "2"], min_agreement=0.4).label == "2"


def test_guard_labels_and_eval_maj_use_the_vote():
    assert vote_labels([["so 1", "0.5", "1.0", "1/2"], ["1", "2", "3"]], "auto", 0.5) == [("1", 0.5), (None, 1 / 3)]
    record = score_question("1/2", "0.5", ["1", "0.5", "1.0", "0.5", "1/2"], "auto")
    assert (record["maj_answer"], record["maj_share"], record["maj_correct"]) == ("0.5", 0.6, True)
    tie = score_question("1", "1", ["1", "0.5", "1.0", "1/2"], "auto")
    assert (tie["maj_answer"], tie["maj_share"], tie["maj_correct"]) == ("1", 0.5, True)
