"""Reward-model and LLM-judge rewards on tiny offline models: shapes, batch invariance, config errors."""

from __future__ import annotations

import math

import pytest

from rlpost.errors import ConfigError

torch = pytest.importorskip("torch")

QUESTIONS = ["Name a city.", "Name a city.", "Write five keywords for 'The Storm'."]
COMPLETIONS = ["Oslo", "Paris, the capital of France, on the Seine", "storm, sea, ship, night, fear"]


@pytest.fixture(scope="module")
def reward_model_dir(tmp_path_factory):
    from transformers import Qwen2Config, Qwen2ForSequenceClassification

    from rlpost.runtime.tiny_model import make_byte_tokenizer

    out = tmp_path_factory.mktemp("rm")
    tok = make_byte_tokenizer()
    config = Qwen2Config(vocab_size=len(tok), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1, num_labels=1, pad_token_id=tok.pad_token_id)
    torch.manual_seed(0)
    Qwen2ForSequenceClassification(config).save_pretrained(out)
    tok.save_pretrained(out)
    return out


def test_reward_model_scores_each_pair_independently_of_its_batch(reward_model_dir):
    from rlpost.rewards.model_based import RewardModelReward

    rm = RewardModelReward(str(reward_model_dir), batch_size=3)
    batched = rm(["p"] * 3, COMPLETIONS, question=QUESTIONS)
    one_by_one = [rm(["p"], [c], question=[q])[0] for q, c in zip(QUESTIONS, COMPLETIONS, strict=True)]
    assert len(batched) == 3 and all(math.isfinite(x) for x in batched)
    assert batched == pytest.approx(one_by_one, abs=1e-5)  # right padding does not leak into the score
    assert len({round(x, 6) for x in batched}) == 3  # different texts, different rewards
    # chat completions (TRL's conversational format) score like plain strings
    chat = rm(["p"], [[{"role": "assistant", "content": COMPLETIONS[0]}]], question=[QUESTIONS[0]])
    assert chat == pytest.approx(batched[:1], abs=1e-6)


def test_reward_model_config_errors(tmp_path):
    from rlpost.rewards.model_based import RewardModelReward

    with pytest.raises(ConfigError, match="path"):
        RewardModelReward(None)
    with pytest.raises(ConfigError, match="could not be loaded"):
        RewardModelReward(str(tmp_path / "missing"))(["p"], ["x"], question=["q"])


def test_judge_reads_p_yes_of_a_prompt_holding_question_and_completion(tiny_model_dir):
    from omegaconf import OmegaConf

    from rlpost.rewards.model_based import JudgeReward

    judge = JudgeReward(OmegaConf.create({"path": str(tiny_model_dir), "dtype": "float32"}), multi_token="first",
                        batch_size=2)
    scores = judge(["p"] * 3, COMPLETIONS, question=QUESTIONS)
    assert len(scores) == 3 and all(0.0 < s < 1.0 for s in scores)
    one_by_one = [judge(["p"], [c], question=[q])[0] for q, c in zip(QUESTIONS, COMPLETIONS, strict=True)]
    assert scores == pytest.approx(one_by_one, abs=1e-4)
    _, tok = judge.load()
    prompt = judge.judge_prompts(tok, QUESTIONS[:1], COMPLETIONS[:1])[0]
    assert QUESTIONS[0] in prompt and COMPLETIONS[0] in prompt and prompt.endswith("assistant\n")
    with pytest.raises(ConfigError, match="completion"):
        JudgeReward(OmegaConf.create({"path": "x"}), template="Is {question} good?")


def test_reward_configs_compose_into_divpo():
    from tests.conftest import compose_recipe

    cfg = compose_recipe("divpo", ["reward=judge"])
    assert cfg.reward.funcs.judge.model.name == cfg.model.name
    cfg = compose_recipe("divpo", ["reward=reward_model", "reward.funcs.reward_model.path=/models/armorm"])
    assert cfg.reward.funcs.reward_model.path == "/models/armorm"
