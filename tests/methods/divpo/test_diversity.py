"""Diversity criteria: rarer completions score higher within their pool."""

from __future__ import annotations

import math

import pytest

from rlpost.errors import ConfigError
from rlpost.eval.diversity import compute_mean_distance
from rlpost.methods.divpo import criteria as dv
from rlpost.text.embedder import find_minilm_dir
from rlpost.types import Group, Sample


def pool(texts, token_logprobs=None) -> Group:
    return Group(Sample("p", "q"), [], list(texts), token_logprobs=token_logprobs)


def test_word_rarity_ranks_unique_highest() -> None:
    scores = dv.word_rarity(pool(["Anna", "Anna", "Anna", "Zelda"]))
    assert scores[3] == pytest.approx(math.log(4)) and scores[0] == pytest.approx(math.log(4 / 3))


def test_attribute_rarity_counts_values_per_key() -> None:
    texts = ['{"first_name": "Astrid", "city": "Oslo"}', '{"first_name": "astrid", "city": "Oslo"}',
             '{"first_name": "Kofi", "city": "Oslo"}', "not json at all"]
    scores = dv.attribute_rarity(pool(texts), keys=["first_name", "city"])
    assert scores[2] > scores[0] == scores[1]
    assert scores[3] > 0  # falls back to words


def test_logprob_rarity_sums_or_averages_policy_logprobs_and_needs_them() -> None:
    g = pool(["a b c", "d", ""], [[-1.0, -1.0, -1.0], [-2.5], []])
    assert dv.logprob_rarity(g) == [3.0, 2.5, 0.0]  # the paper's -log pi(y|x): the long response is rarest
    assert dv.logprob_rarity(g, length_normalised=True) == [1.0, 2.5, 0.0]  # per token: the short one is
    with pytest.raises(ConfigError, match="algo.diversity=logprob needs the policy's teacher-forced log-prob"):
        dv.logprob_rarity(pool(["a", "b"]))
    assert dv.needs_policy_logprobs(dv.logprob_rarity) and not dv.needs_policy_logprobs(dv.attribute_rarity)


def test_random_score_is_seeded_and_pool_specific() -> None:
    g = pool(["a", "b", "c"])
    assert dv.random_score(g, seed=1) == dv.random_score(g, seed=1) != dv.random_score(g, seed=2)


def test_compute_mean_distance_orthogonal() -> None:
    assert compute_mean_distance([[1, 0], [0, 1]]) == [1.0, 1.0]
    assert compute_mean_distance([[1, 0]]) == [0.0]


def test_find_minilm_dir_is_packaged() -> None:
    assert (find_minilm_dir() / "config.json").is_file()


@pytest.mark.slow
def test_embedding_distance_semantic() -> None:
    scores = dv.embedding_distance(pool(["Oslo", "Bergen", "Stockholm", "a recipe for chocolate cake"]))
    assert max(range(4), key=scores.__getitem__) == 3
