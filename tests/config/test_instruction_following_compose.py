"""reward=instruction_following / verif / verif_endpoint and data=if_constraints / ifeval compose and build."""

from __future__ import annotations

import pytest

from rlpost.errors import ConfigError
from tests.conftest import compose_recipe


@pytest.mark.parametrize(("reward", "verifier"), [("instruction_following", None), ("verif", "JudgeReward")])
def test_reward_groups_build(reward, verifier):
    from rlpost.rewards.build import build_rewards

    cfg = compose_recipe("grpo", ["model=tiny_random", f"reward={reward}", "data=if_constraints"])
    [func], [weight] = build_rewards(cfg.reward)
    assert func.__name__ == "instruction_following" and weight == 1.0
    assert type(func.verifier).__name__ == str(verifier) if verifier else func.verifier is None
    assert func.combine == ("product" if verifier else "hard_only")


def test_relevance_gate_builds_with_the_configured_thresholds():
    from rlpost.rewards.build import build_rewards

    cfg = compose_recipe("grpo", ["model=tiny_random", "reward=if_relevance", "data=if_constraints",
                                  "reward.funcs.instruction_following.gate.floor=0.15"])
    [func], _ = build_rewards(cfg.reward)
    assert type(func.gate).__name__ == "EmbeddingRelevance" and (func.gate.floor, func.gate.full) == (0.15, 0.25)
    assert func.verifier is None and func.combine == "hard_only"


def test_endpoint_verifier_needs_a_url():
    from rlpost.rewards.build import build_rewards

    with pytest.raises(ConfigError, match="base_url"):
        build_rewards(compose_recipe("grpo", ["reward=verif_endpoint"]).reward)
    cfg = compose_recipe("grpo", ["reward=verif_endpoint",
                                  "reward.funcs.instruction_following.verifier.base_url=http://judge:8000/v1"])
    [func], _ = build_rewards(cfg.reward)
    assert func.verifier.url == "http://judge:8000/v1/chat/completions"


def test_generated_data_splits_build_from_the_data_group():
    from rlpost.data.build import build_datasets

    cfg = compose_recipe("grpo", ["data=if_constraints", "data.source.size=6", "data.eval_source.size=3"])
    train, held_out = build_datasets(cfg.data, 0)
    assert len(train) == 6 and len(held_out) == 3
    assert set(train[0]["prompt_id"].split("-")[:2]) == {"ifgen", "train"}
    assert held_out[0]["prompt_id"].startswith("ifgen-validation-1234")


def test_unknown_eval_task_is_a_config_error(tiny_model_dir):
    from rlpost.eval.tasks.math_qa import evaluate_model
    from rlpost.runtime.model import load_policy

    cfg = compose_recipe("evaluate", ["model=tiny_random", "eval=instruction_following", "eval.kind=essays"])
    model, tok = load_policy(cfg.model)
    with pytest.raises(ConfigError, match="eval.kind='essays'"):
        evaluate_model(model, tok, [], None, cfg.eval, None)


@pytest.mark.parametrize("node", ["reward.funcs.judge.model", "reward.funcs.instruction_following.verifier.model"])
def test_the_judge_model_defaults_to_the_policy_and_can_be_set_apart(node):
    """The docs' ``reward.funcs.judge.model.path=DIR`` once failed: Hydra cannot override inside ``${model}``."""
    from omegaconf import OmegaConf

    reward = "judge" if ".judge." in node else "verif"
    default = compose_recipe("grpo", ["model=tiny_random", f"reward={reward}"])
    assert OmegaConf.select(default, f"{node}.tiny") is True and OmegaConf.select(default, f"{node}.path") is None
    apart = compose_recipe("grpo", ["model=tiny_random", f"reward={reward}", f"{node}.path=/models/judge",
                                    f"{node}.tiny=false"])
    assert OmegaConf.select(apart, f"{node}.path") == "/models/judge" and apart.model.path is None
    assert OmegaConf.select(apart, f"{node}.tiny") is False and apart.model.tiny is True


def test_arithmetic_replay_mix_builds_with_one_reward_per_source():
    from rlpost.data.build import build_datasets
    from rlpost.rewards.build import build_rewards

    cfg = compose_recipe("grpo", ["data=if_arith_mix", "reward=if_arith",
                                  "data.source.sources.instruction_following.size=9",
                                  "data.source.sources.arith.size=3", "data.eval_source.size=2"])
    train, held_out = build_datasets(cfg.data, 0)
    assert sorted(train["source"]) == ["arith"] * 3 + ["instruction_following"] * 9
    assert {r["op"] for r in train if r["source"] == "arith"} == {"sub"}  # not the held-out set's add/mul
    assert len(held_out) == 2 and held_out[0]["prompt_id"].startswith("ifgen-validation-1234")
    funcs, weights = build_rewards(cfg.reward)
    assert [f.__name__ for f in funcs] == ["instruction_following", "accuracy"] and weights == [1.0, 1.0]
