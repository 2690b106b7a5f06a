"""select_divpo_pair / select_bands: table tests of DivPO's band selection."""

from __future__ import annotations

import pytest

from rlpost.errors import ConfigError
from rlpost.methods.divpo.selection import select_bands, select_divpo_pair
from rlpost.types import Group, Sample


def pool(*texts: str) -> Group:
    return Group(Sample("p0", "q"), [{"role": "user", "content": "q"}], list(texts))


@pytest.mark.parametrize(("quality", "rho", "expected"), [
    ([1.0, 0.0, 0.8, 0.1], 0.0, ([0], [1])),
    ([1.0, 0.0, 0.8, 0.1], 0.25, ([0, 2], [1, 3])),
    ([1.0, 0.0, 0.5], 0.5, ([0, 2], [1])),          # the midpoint belongs to the chosen band only
    ([1.0, 1.0, 0.0, 0.0], 0.0, ([0, 1], [2, 3])),   # binary reward: valid vs invalid
    ([1.0, 1.0, 1.0], 0.3, None),                    # all valid: no spread
    ([0.0, 0.0], 0.0, None),                         # all invalid
    ([1.0, None, float("nan")], 0.3, None),          # fewer than two scored
    ([None, 2.0, 1.0], 0.0, ([1], [2])),
])
def test_select_bands(quality, rho, expected) -> None:
    assert select_bands(quality, rho) == expected


@pytest.mark.parametrize(("rho", "chosen", "rejected"), [
    (0.0, "a", "d"),       # best vs worst
    (0.5, "b", "c"),       # most diverse good vs least diverse bad
])
def test_select_pair_uses_diversity_within_bands(rho, chosen, rejected) -> None:
    g = pool("a", "b", "c", "d")
    pair = select_divpo_pair(g, [1.0, 0.7, 0.3, 0.0], [0.1, 0.9, 0.0, 0.5], rho)
    assert (pair.chosen, pair.rejected) == (chosen, rejected)
    assert pair.meta["chosen_reward"] > pair.meta["rejected_reward"]
    assert pair.prompt == g.prompt


def test_select_pair_ties_pick_first_index() -> None:
    pair = select_divpo_pair(pool("a", "b", "c", "d"), [1, 1, 0, 0], [0.5, 0.5, 0.5, 0.5], 0.0)
    assert (pair.chosen, pair.rejected) == ("a", "c")


def test_select_pair_skip_when_no_spread() -> None:
    assert select_divpo_pair(pool("a", "b"), [1.0, 1.0], [0.0, 1.0], 0.3) is None


@pytest.mark.parametrize("rho", [-0.1, 0.51, 1.0])
def test_rho_out_of_range(rho) -> None:
    with pytest.raises(ConfigError, match="algo.rho"):
        select_divpo_pair(pool("a", "b"), [1.0, 0.0], [0.0, 1.0], rho)


def test_length_mismatch_names_prompt() -> None:
    with pytest.raises(ValueError, match="p0"):
        select_divpo_pair(pool("a", "b"), [1.0], [0.0, 1.0], 0.0)
