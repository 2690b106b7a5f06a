import math

import pytest

from rlpost.eval.metrics import pass_at_k
from rlpost.eval.tasks.math_qa import aggregate, score_question


def test_pass_at_k_matches_brute_force():
    from itertools import combinations

    n, c, k = 6, 2, 3
    items = [1] * c + [0] * (n - c)
    subsets = list(combinations(range(n), k))
    brute = sum(any(items[i] for i in s) for s in subsets) / len(subsets)
    assert pass_at_k(n, c, k) == pytest.approx(brute)


def test_pass_at_k_rejects_k_above_n():
    with pytest.raises(ValueError):
        pass_at_k(2, 1, 3)


def test_aggregate_metrics_and_groups():
    recs = []
    for gold, greedy, samples, op in [
        ("4", "4", ["4", "4", "5", "x"], "add"),
        ("9", "8", ["8", "9", "9", "9"], "mul"),
    ]:
        r = score_question(gold, greedy, samples, "auto")
        r.update(op=op, greedy_tokens=3)
        recs.append(r)
    m = aggregate(recs, k=4, group_by="op")
    assert m["accuracy"] == 0.5
    assert m["accuracy/add"] == 1.0 and m["accuracy/mul"] == 0.0
    assert m["maj@4"] == 1.0
    assert m["mean@4"] == pytest.approx((2 / 4 + 3 / 4) / 2)
    assert m["pass@4"] == 1.0
    assert m["majority_share"] == pytest.approx((2 / 3 + 3 / 4) / 2)
    assert not math.isnan(m["completion_tokens"])
