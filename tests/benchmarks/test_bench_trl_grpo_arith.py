"""bench/experiments/trl_grpo_arith.py: the plain-TRL arm gets the recipe's settings, sampling included."""

from __future__ import annotations


def test_plain_trl_arm_samples_like_the_recipe(tmp_path):
    """Regression: the arm passed only the ``trainer`` group, so TRL's own sampling defaults applied (completions up
    to TRL's default length instead of the recipe's 48 tokens, and TRL's temperature): a slower, different baseline."""
    from bench.experiments.trl_grpo_arith import grpo_kwargs
    from bench.report import compose_config

    cfg = compose_config("grpo_smollm2_arith_20min", ["model=tiny_random", "sampling.max_new_tokens=40",
                                                       "sampling.temperature=0.9"])
    kwargs = grpo_kwargs(cfg, tmp_path)
    assert kwargs["max_completion_length"] == 40 and kwargs["temperature"] == 0.9
    assert kwargs["max_steps"] == 100000 and kwargs["save_strategy"] == "no"
