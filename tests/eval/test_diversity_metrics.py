"""Diversity/quality metrics over fresh samples."""

from __future__ import annotations

import math

import pytest

from rlpost.eval import diversity as m


def test_attribute_metrics() -> None:
    texts = ['{"first_name": "Astrid", "city": "Oslo"}'] * 3 + ['{"first_name": "Kofi", "city": "Oslo"}', "junk"]
    out = m.compute_diversity_metrics(texts, keys=["first_name", "city"])
    assert out["unique/first_name"] == pytest.approx(2 / 4)
    assert out["unique/city"] == pytest.approx(1 / 4)
    assert out["entropy/city"] == 0.0
    assert out["entropy/first_name"] == pytest.approx(-(0.75 * math.log(0.75) + 0.25 * math.log(0.25)))
    assert out["unique/mean_attribute"] == pytest.approx(3 / 8)


def test_distinct_and_compression_order() -> None:
    same, varied = ["the cat sat"] * 20, [f"word{i} thing{i * 3} other{i * 7}" for i in range(20)]
    assert m.distinct_n(varied, 2) > m.distinct_n(same, 2)
    assert m.compression_ratio(same) > m.compression_ratio(varied)


def test_empty_inputs() -> None:
    assert m.unique_ratio([]) == 0.0 and m.entropy([]) == 0.0 and m.distinct_n([], 1) == 0.0
    assert m.compression_ratio([]) == 0.0


def test_quality_metrics() -> None:
    assert m.compute_quality_metrics([1.0, 0.0]) == {"quality/mean_reward": 0.5, "quality/valid_rate": 0.5}


@pytest.mark.slow
def test_embedding_spread_orders_pools() -> None:
    assert m.embedding_spread(["Oslo", "a cake recipe", "quantum physics"]) > m.embedding_spread(["Oslo"] * 3)
