"""GRPO with ``rollout.engine=rlpost``: TRL's rollout_func path runs 2 steps on the tiny model and moves weights."""

from __future__ import annotations

import pytest
from safetensors.torch import load_file

from tests.conftest import changed_params
from tests.methods.grpo.test_grpo_pipeline import _cfg

pytestmark = pytest.mark.integration


def test_grpo_rlpost_engine_two_steps_moves_weights(tmp_path, monkeypatch):
    from rlpost.methods.grpo import rollout_func as fast_rollout
    from rlpost.methods.grpo.pipeline import run
    from rlpost.runtime.model import load_policy

    calls = []
    real = fast_rollout.rlpost_rollout

    def spy(prompts, trainer, sampling):
        out = real(prompts, trainer, sampling)
        calls.append((len(prompts), len(out["completion_ids"]), max(c for _, c in fast_rollout.split_runs(prompts))))
        assert len(out["prompt_ids"]) == len(out["completion_ids"]) == len(out["logprobs"])
        assert all(len(c) == len(lp) >= 1 for c, lp in zip(out["completion_ids"], out["logprobs"], strict=True))
        return out

    monkeypatch.setattr(fast_rollout, "rlpost_rollout", spy)
    cfg = _cfg(tmp_path, ["rollout.engine=rlpost", "eval.before=false", "eval.after=false"])
    before, _ = load_policy(cfg.model)
    results = run(cfg)
    assert changed_params(before, tmp_path / "final" / "model.safetensors"), "no parameter changed after 2 steps"
    assert results["train"]["steps"] == 2
    # one completion per prompt entry; TRL hands the G copies of a prompt in a row (shared prefill applies)
    assert calls and all(n_prompts == n_out and run == 2 for n_prompts, n_out, run in calls), calls


def test_unknown_engine_and_vllm_combination_are_rejected() -> None:
    from omegaconf import OmegaConf

    from rlpost.methods.grpo.rollout_func import build_rollout_func, rlpost_rollout
    from rlpost.rollout.sampling import SamplingSettings

    sampling = SamplingSettings(temperature=0.7, max_new_tokens=48)
    assert build_rollout_func(OmegaConf.create({"engine": "trl"}), sampling) is None
    func = build_rollout_func(OmegaConf.create({"engine": "rlpost"}), sampling)
    assert func.func is rlpost_rollout and func.keywords == {"sampling": sampling}
    with pytest.raises(ValueError, match="rollout.engine"):
        build_rollout_func(OmegaConf.create({"engine": "vllm2"}), sampling)
    with pytest.raises(ValueError, match="use_vllm"):
        build_rollout_func(OmegaConf.create({"engine": "rlpost", "use_vllm": True}), sampling)


def test_grpo_rlpost_engine_with_lora(tmp_path):
    from rlpost.methods.grpo.pipeline import run

    cfg = _cfg(tmp_path, ["rollout.engine=rlpost", "peft=lora", "peft.config.target_modules=[q_proj,v_proj]",
                          "eval=none"])
    run(cfg)
    adapter = load_file(tmp_path / "final" / "adapter_model.safetensors")
    assert any(v.abs().sum() > 0 for k, v in adapter.items() if "lora_B" in k), "LoRA B matrices are still zero"
