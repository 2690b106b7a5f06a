"""GRPO pipeline end to end on the tiny random model: weights move, metrics are logged and written."""

from __future__ import annotations

import json

import pytest
from safetensors.torch import load_file

from tests.conftest import changed_params, pipeline_cfg

pytestmark = pytest.mark.integration


def _cfg(tmp_path, extra=()):
    return pipeline_cfg("grpo", ["model=tiny_random", "logger=none", "+debug=cpu_smoke",
                                 "reward.funcs.accuracy._target_=rlpost.testing.DigitFractionReward",
                                 "~reward.funcs.accuracy.answer_format", "trainer.learning_rate=1e-2", *extra],
                        tmp_path)


def test_grpo_two_steps_moves_weights_and_writes_metrics(tmp_path):
    from rlpost.methods.grpo.pipeline import run
    from rlpost.runtime.model import load_policy

    cfg = _cfg(tmp_path)
    before, _ = load_policy(cfg.model)
    results = run(cfg)
    assert changed_params(before, tmp_path / "final" / "model.safetensors"), "no parameter changed after 2 steps"
    assert results["train"]["steps"] == 2
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert set(metrics) >= {"pipeline", "eval", "before", "after", "train", "grpo"}
    assert metrics["pipeline"] == "grpo" and metrics["eval"] == "math_qa"
    assert set(metrics["train"]) == {"steps", "runtime_s", "peak_memory_mb", "peak_memory_device"}
    assert metrics["train"]["runtime_s"] > 0
    assert "accuracy/add" in metrics["after"]
    assert (tmp_path / "eval_after" / "samples.jsonl").is_file()
    # dapo + kl 0: the zero-advantage rows are skipped (algo.skip_zero_advantage=auto) and the share is logged
    steps = [h for h in json.loads((tmp_path / "log_history.json").read_text()) if "step_time" in h]
    assert all(0.0 <= h["zero_adv_rows_skipped"] < 1.0 for h in steps), steps


def test_grpo_with_lora_keeps_base_weights(tmp_path):
    from rlpost.methods.grpo.pipeline import run

    cfg = _cfg(tmp_path, ["peft=lora", "peft.config.target_modules=[q_proj,v_proj]", "eval=none"])
    run(cfg)
    assert (tmp_path / "final" / "adapter_config.json").is_file()
    adapter = load_file(tmp_path / "final" / "adapter_model.safetensors")
    lora_b = [v for k, v in adapter.items() if "lora_B" in k]
    assert lora_b and any(v.abs().sum() > 0 for v in lora_b), "LoRA B matrices are still zero"


def test_rerun_reuses_the_before_evaluation(tmp_path):
    """A resumed run reads eval_before/metrics.json (same numbers) instead of evaluating the base model again."""
    from rlpost.methods.grpo.pipeline import run

    first = run(_cfg(tmp_path, ["trainer.max_steps=1"]))
    before = tmp_path / "eval_before" / "metrics.json"
    stamp, samples = before.stat().st_mtime_ns, (tmp_path / "eval_before" / "samples.jsonl").stat().st_mtime_ns
    again = run(_cfg(tmp_path, ["trainer.max_steps=1"]))
    assert before.stat().st_mtime_ns == stamp and (tmp_path / "eval_before" / "samples.jsonl").stat().st_mtime_ns \
        == samples
    assert again["before"] == first["before"] and again["after"] == first["after"]
    assert json.loads((tmp_path / "metrics.json").read_text())["before"] == first["before"]
