"""MajorityVoteReward: equivalence voting, threshold, soft reward, gold rows, unparsable answers, metrics."""

from __future__ import annotations

import pytest

from rlpost.errors import ConfigError, DataError
from rlpost.rewards.self_consistency import MajorityVoteReward
from rlpost.rewards.vote import vote


def chat(text: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": text}]


def call(reward: MajorityVoteReward, texts: list[str], pids: list[str], gold: list[str | None] | None = None,
         **columns):
    logged: dict[str, float] = {}
    out = reward(None, [chat(t) for t in texts], prompt_id=pids, answer=gold,
                 log_metric=lambda k, v: logged.__setitem__(k, v), **columns)
    return out, logged


def test_equivalent_answers_are_one_vote() -> None:
    result = vote(["0.5", "1/2", "\\frac{1}{2}", "2", "2"])
    assert result.majority == "0.5" and result.share == pytest.approx(0.6)
    out, _ = call(MajorityVoteReward(answer_format="boxed"),
                  ["\\boxed{0.5}", "\\boxed{1/2}", "\\boxed{\\frac{1}{2}}", "\\boxed{2}", "\\boxed{2}"], ["p"] * 5)
    assert out == [1.0, 1.0, 1.0, 0.0, 0.0]


def test_min_agreement_abstains_below_threshold() -> None:
    texts = ["1", "2", "3", "3", "5", "5", "5", "5"]
    pids = ["a"] * 4 + ["b"] * 4
    out, logged = call(MajorityVoteReward(min_agreement=0.6), texts, pids)
    assert out[:4] == [None] * 4  # share 0.5 < 0.6
    assert out[4:] == [1.0] * 4
    assert logged["self_consistency/labeled_fraction"] == 0.5


def test_soft_reward_is_vote_share() -> None:
    out, _ = call(MajorityVoteReward(soft=True), ["4", "4", "4", "7"], ["p"] * 4)
    assert out == [0.75, 0.75, 0.75, 0.25]


def test_unparsable_answers_do_not_vote_and_get_zero() -> None:
    out, logged = call(MajorityVoteReward(min_agreement=0.6), ["no idea", "hmm", "6", "6"], ["p"] * 4)
    assert out == [0.0, 0.0, 1.0, 1.0]  # share 2/2 = 1.0 among parsable answers
    assert logged["self_consistency/parsable_fraction"] == 0.5
    out, _ = call(MajorityVoteReward(), ["x", "y"], ["q", "q"])
    assert out == [None, None]  # nothing parsable: the group abstains


def test_gold_rows_use_gold_answer() -> None:
    texts = ["5", "5", "4", "3", "3", "9"]
    pids = ["g"] * 3 + ["u"] * 3
    gold = ["4", "4", "4", "9", "9", "9"]
    out, logged = call(MajorityVoteReward(), texts, pids, gold, labeled=[True] * 3 + [False] * 3)
    assert out[:3] == [0.0, 0.0, 1.0]  # gold row: the majority "5" is ignored
    assert out[3:] == [1.0, 1.0, 0.0]  # unlabelled row: the hidden gold 9 is not used for the reward
    assert logged["self_consistency/label_accuracy"] == 0.0
    assert logged["self_consistency/gold_row_fraction"] == 0.5


def test_label_quality_metrics_logged() -> None:
    texts = ["4", "4", "5", "5", "7", "7", "7", "1"]
    pids = ["a"] * 4 + ["b"] * 4
    gold = ["4"] * 4 + ["8"] * 4
    _, m = call(MajorityVoteReward(), texts, pids, gold)
    assert m["self_consistency/label_accuracy"] == 0.5  # a -> "4" (tie, first seen) right, b -> "7" wrong
    assert m["self_consistency/majority_share"] == pytest.approx((0.5 + 0.75) / 2)
    assert m["self_consistency/maj@G"] == 0.5
    assert m["self_consistency/mean@G"] == pytest.approx((0.5 + 0.0) / 2)
    # a: rewards 1,1,0,0 equal gold rewards; b: rewards 1,1,1,0 vs gold 0,0,0,0 -> 1 of 4 right
    assert m["self_consistency/reward_accuracy"] == pytest.approx(5 / 8)
    assert m["self_consistency/pass_rate/0.0-0.2"] == 0.5
    assert m["self_consistency/pass_rate/0.4-0.6"] == 0.5


def test_n_train_rewards_only_first_members() -> None:
    out, _ = call(MajorityVoteReward(n_train=2), ["3", "3", "3", "4"], ["p"] * 4)
    assert out == [1.0, 1.0, None, None]


def test_no_hidden_gold_logs_no_accuracy() -> None:
    _, m = call(MajorityVoteReward(), ["3", "3"], ["p", "p"])
    assert "self_consistency/label_accuracy" not in m and m["self_consistency/majority_share"] == 1.0


@pytest.mark.parametrize("value", [-0.1, 1.5])
def test_min_agreement_outside_unit_interval(value: float) -> None:
    with pytest.raises(ConfigError, match="min_agreement"):
        MajorityVoteReward(min_agreement=value)


def test_group_of_size_one_is_an_error() -> None:
    with pytest.raises(DataError, match="size 1"):
        call(MajorityVoteReward(), ["3", "4"], ["p", "q"])


def test_missing_prompt_id_is_an_error() -> None:
    with pytest.raises(DataError, match="prompt_id"):
        MajorityVoteReward()(None, ["3", "3"])


def test_trl_passes_the_kwargs_the_reward_reads() -> None:
    """Fails if TRL stops handing reward functions ``log_metric`` or stops treating None as an abstention."""
    import inspect

    from trl import GRPOTrainer

    src = inspect.getsource(GRPOTrainer._calculate_rewards)
    assert 'reward_kwargs["log_metric"]' in src
    assert "unscorable_mask" in inspect.getsource(GRPOTrainer._generate_and_score_completions)


def test_build_rewards_surfaces_the_config_error() -> None:
    from omegaconf import OmegaConf

    from rlpost.rewards.build import build_rewards

    cfg = OmegaConf.create({"funcs": {"self_consistency": {
        "_target_": "rlpost.rewards.self_consistency.MajorityVoteReward", "min_agreement": 1.5}},
        "weights": {"self_consistency": 1.0}})
    with pytest.raises(ConfigError, match="min_agreement=1.5"):
        build_rewards(cfg)
    cfg.funcs.self_consistency.min_agreement = 0.5
    funcs, weights = build_rewards(cfg)
    assert funcs[0].__name__ == "self_consistency" and weights == [1.0]


def test_duplicate_prompt_ids_stay_separate_groups() -> None:
    """Groups are positions in TRL's group-contiguous layout: the same question twice in a batch is two groups."""
    texts = ["3", "3", "3", "4", "4", "4", "4", "3"]
    out, logged = call(MajorityVoteReward(num_generations=4), texts, ["p"] * 8)
    assert out == [1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0]
    assert logged["self_consistency/majority_share"] == 0.75
    out, _ = call(MajorityVoteReward(num_generations=4, n_train=2), texts, ["p"] * 8)
    assert out == [1.0, 1.0, None, None, 1.0, 1.0, None, None]  # the second copy is rewarded too


def test_question_repeated_later_in_the_batch_is_its_own_group() -> None:
    """Without the group size, a run of one prompt id is a group: p's second run votes on its own."""
    pids = ["p"] * 2 + ["q"] * 2 + ["p"] * 4
    out, logged = call(MajorityVoteReward(), ["3", "3", "5", "5", "4", "4", "4", "3"], pids)
    assert out == [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0]
    assert logged["self_consistency/majority_share"] == pytest.approx((1 + 1 + 0.75) / 3)


def test_groups_not_contiguous_in_the_batch_are_an_error() -> None:
    with pytest.raises(DataError, match="num_generations=4"):
        call(MajorityVoteReward(num_generations=4), ["3"] * 6 + ["4"] * 2, ["p"] * 6 + ["q"] * 2)


def test_string_gold_flag_is_an_error() -> None:
    """'False' is truthy: a string flag must never select the gold reward (the loaders parse it to a bool)."""
    with pytest.raises(DataError, match="column 'labeled'.*'False'.*data.bool_columns"):
        call(MajorityVoteReward(), ["5", "5", "5", "4"], ["p"] * 4, ["4"] * 4, labeled=["False"] * 4)
