"""DivPO stage logic without a model: scoring errors, diversity length checks, selection counts."""

from __future__ import annotations

import pytest

from rlpost.errors import ConfigError, DataError
from rlpost.methods.divpo import stages as st
from rlpost.methods.divpo.criteria import word_rarity
from rlpost.rewards.pools import score_pools


def row(pid: str, completions: list[str]) -> dict:
    return {"prompt_id": pid, "question": "q", "prompt": [{"role": "user", "content": "q"}],
            "completions": completions, "logprobs": [-1.0] * len(completions), "lengths": [1] * len(completions)}


class Short:
    __name__ = "short"

    def __call__(self, prompts, completions, **_):
        return [1.0]


class Boom:
    __name__ = "boom"

    def __call__(self, prompts, completions, prompt_id, **_):
        if prompt_id[0] == "bad":
            raise RuntimeError("judge timed out")
        return [float(len(c)) for c in completions]


def test_reward_wrong_length_names_reward_and_prompt() -> None:
    with pytest.raises(ConfigError, match=r"reward.funcs.short returned 1 rewards for 2 completions \(prompt p1\)"):
        score_pools([row("p1", ["a", "b"])], [Short()], [1.0])


def test_reward_raising_is_a_counted_skip() -> None:
    scored = score_pools([row("ok", ["a", "bbb"]), row("bad", ["a", "b"])], [Boom()], [2.0])
    assert scored[0]["rewards"] == [2.0, 6.0] and scored[0]["skip"] is None
    assert scored[1]["skip"].startswith("reward_error")
    pairs, stats = st.select_pairs(st.score_diversity(scored, word_rarity), rho=0.0)
    assert stats == {"pools": 2, "pairs_kept": 1, "skipped": {"reward_error": 1}}
    assert pairs[0]["chosen"] == "bbb"


def test_all_invalid_pools_raise_with_counts() -> None:
    rows = [{**row("p", ["x", "y"]), "rewards": [0.0, 0.0], "diversity": [0.0, 1.0]}]
    with pytest.raises(DataError, match="all_invalid"):
        st.select_pairs(rows, rho=0.3)


def test_diversity_wrong_length() -> None:
    with pytest.raises(ConfigError, match="algo.diversity returned 1 scores"):
        st.score_diversity([row("p", ["a", "b"])], lambda g: [0.0])
