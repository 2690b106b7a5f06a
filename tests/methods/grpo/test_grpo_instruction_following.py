"""GRPO with reward=instruction_following on the tiny model: constraint rows reach the reward, weights move."""

from __future__ import annotations

import json

import pytest

from tests.conftest import changed_params, pipeline_cfg

pytestmark = pytest.mark.integration

# constraints a random model meets some of the time, so groups have reward variance
TYPES = "[change_case:english_lowercase,punctuation:no_comma,keywords:letter_frequency]"


def test_grpo_on_generated_constraint_prompts_moves_weights_and_logs_per_type_rates(tmp_path):
    from rlpost.methods.grpo.pipeline import run
    from rlpost.runtime.model import load_policy

    cfg = pipeline_cfg("grpo", ["model=tiny_random", "logger=none", "+debug=cpu_smoke", "data=if_constraints",
                                "reward=instruction_following", "eval=instruction_following",
                                "data.source.size=16", "data.eval_source.size=4", f"data.source.types={TYPES}",
                                "data.source.min_constraints=3", "data.source.max_constraints=3",
                                "eval.sampling.max_new_tokens=8", "trainer.max_steps=3", "trainer.learning_rate=1e-2",
                                "trainer.warmup_steps=0", "algo.num_generations=4", "sampling.max_new_tokens=16",
                                "sampling.temperature=1.5"],
                       tmp_path)
    before, _ = load_policy(cfg.model)
    results = run(cfg)
    history = [h for h in json.loads((tmp_path / "log_history.json").read_text()) if "step_time" in h]
    assert len(history) == 3
    assert all("if_rate/punctuation:no_comma" in h and h["if/constraint_errors"] == 0 for h in history)
    rewards = [h["rewards/instruction_following/mean"] for h in history]
    assert all(0.0 <= r <= 1.0 for r in rewards) and any(r > 0 for r in rewards), rewards
    assert any(h["frac_reward_zero_std"] < 1 for h in history), "no group with reward variance: nothing to learn"
    assert changed_params(before, tmp_path / "final" / "model.safetensors"), "no parameter changed"
    assert {"prompt_strict", "instruction_loose", "prompt_strict_se"} <= set(results["after"])
    samples = (tmp_path / "eval_after" / "samples.jsonl").read_text().splitlines()
    assert len(samples) == 4 and "strict" in json.loads(samples[0])


def test_rlpost_eval_scores_a_constraint_file_and_names_a_bad_row(tmp_path):
    from rlpost.errors import DataError
    from rlpost.evaluate import run

    rows = [{"key": 1, "prompt": "Write a haiku.", "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]},
            {"key": 2, "prompt": "Write a list.", "instruction_id_list": ["detectable_format:number_bullet_lists",
                                                                          "startend:end_checker"],
             "kwargs": [{"num_bullets": 2}, {"end_phrase": "Done."}]}]
    path = tmp_path / "constraints.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    overrides = ["model=tiny_random", "data=ifeval", f"data.eval_source.path={path}", "eval=instruction_following",
                 "eval.sampling.max_new_tokens=4"]
    metrics = run(pipeline_cfg("evaluate", overrides, tmp_path / "run"))
    assert metrics["n_prompts"] == 2 and metrics["n_instructions"] == 3
    assert metrics["n/startend:end_checker"] == 1
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["prompt_strict"] == metrics["prompt_strict"]
    rows[1]["kwargs"][1] = {"end_phrasing": "Done."}
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(DataError, match=r"constraints.jsonl: row 2: constraint 1 \(startend:end_checker\): kwargs"):
        run(pipeline_cfg("evaluate", overrides, tmp_path / "run2"))


def test_grpo_on_the_arithmetic_replay_mix_scores_each_source_with_its_reward(tmp_path):
    from rlpost.methods.grpo.pipeline import run
    from rlpost.runtime.model import load_policy

    cfg = pipeline_cfg("grpo", ["model=tiny_random", "logger=none", "+debug=cpu_smoke", "data=if_arith_mix",
                                "reward=if_arith", "eval=none", "data.source.sources.instruction_following.size=24",
                                f"data.source.sources.instruction_following.types={TYPES}",
                                "data.source.sources.instruction_following.min_constraints=3",
                                "data.source.sources.instruction_following.max_constraints=3",
                                "data.source.sources.arith.size=8", "data.eval_source.size=2",
                                "trainer.max_steps=16", "trainer.learning_rate=1e-2", "trainer.warmup_steps=0",
                                "algo.num_generations=4", "sampling.max_new_tokens=16", "sampling.temperature=1.5"],
                       tmp_path)
    before, _ = load_policy(cfg.model)
    run(cfg)
    history = [h for h in json.loads((tmp_path / "log_history.json").read_text()) if "step_time" in h]
    assert len(history) == 16
    for name in ("instruction_following", "accuracy"):  # both sources drawn and scored (None: none in that batch)
        assert [h for h in history if h.get(f"rewards/{name}/mean") is not None], name
    assert all(h["reward"] == h["reward"] for h in history)  # every row scored by one reward: no NaN batch reward
    assert changed_params(before, tmp_path / "final" / "model.safetensors"), "no parameter changed"
